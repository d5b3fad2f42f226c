"""Registers (or deregisters) IAM's delegated administrator for centralized root access.

Ensures the after-state: the registration is read first, so a re-run after a crash does not call
RegisterDelegatedAdministrator twice (AWS answers AccountAlreadyRegisteredException) nor
deregister an account that is no longer registered (AccountNotRegisteredException).
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import DelegatedAdminAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.observe.delegated_admin import IAM_SERVICE_PRINCIPAL, read_iam_delegated_admins
from reconciler.plan import Action, Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("organizations:ListDelegatedAdministrators",
                   "organizations:RegisterDelegatedAdministrator",
                   "organizations:DeregisterDelegatedAdministrator"),
}


def apply_change(change: Change, ctx: StepContext) -> str:
    org = ctx.aws.client("organizations")
    registered = read_iam_delegated_admins(org)
    if change.action is Action.CREATE:
        after = cast(DelegatedAdminAfter, change.after or {})
        account_id = str(ctx.resolve(after["account_id"]))
        if account_id == ctx.management_account_id:
            raise StepFailed("the management account cannot be IAM's delegated administrator")
        if account_id in registered:
            return f"{account_id} is already IAM's delegated administrator"
        org.register_delegated_administrator(AccountId=account_id,
                                             ServicePrincipal=IAM_SERVICE_PRINCIPAL)
        return f"registered {account_id} as IAM's delegated administrator"
    if change.action is Action.DELETE:
        account_id = str(cast(DelegatedAdminAfter, change.before or {})["account_id"])
        if account_id not in registered:
            return f"{account_id} was no longer IAM's delegated administrator"
        org.deregister_delegated_administrator(AccountId=account_id,
                                               ServicePrincipal=IAM_SERVICE_PRINCIPAL)
        return f"deregistered {account_id} as IAM's delegated administrator"
    raise StepFailed(f"delegated_admin changes cannot be {change.action.value}")
