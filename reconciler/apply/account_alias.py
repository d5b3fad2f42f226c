"""Sets (or deletes) an account's IAM account alias, from inside the account.

``CreateAccountAlias`` replaces an account's alias ("Your AWS account can have only one alias. If
you create a new alias for your AWS account, the new alias overwrites the previous alias", IAM User
Guide, "Using an alias for your AWS account ID"), so a changed alias is one call; the alias is
listed first, so a re-run after a crash changes nothing that is already as wanted. A member
account is entered through its access role (``after.role_name``), waiting for it when the account
or the role is new (reachability.py); the management account uses its own credentials.
``EntityAlreadyExists`` means another AWS account holds the alias (aliases are unique across AWS):
a failed step that says so.
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import AccountAliasAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.apply.reachability import is_new_account, wait_until_assumable
from reconciler.aws import paginate
from reconciler.errors import AwsError
from reconciler.plan import Action, Change

_CALLS = ("iam:ListAccountAliases", "iam:CreateAccountAlias", "iam:DeleteAccountAlias")
PERMISSIONS: dict[str, tuple[str, ...]] = {"management": _CALLS, "member": _CALLS}

ALREADY_EXISTS = frozenset({"EntityAlreadyExists", "EntityAlreadyExistsException"})


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action not in (Action.CREATE, Action.UPDATE, Action.DELETE):
        raise StepFailed(f"account_alias changes cannot be {change.action.value}")
    data = cast(AccountAliasAfter, ctx.resolve(
        (change.after if change.after is not None else change.before) or {}))
    account_id = str(data["account_id"])
    role = data.get("role_name")
    wanted = None if change.action is Action.DELETE else str(data["alias"])
    if role is None and account_id != ctx.management_account_id:
        raise StepFailed(f"account {account_id}: no role to enter it with")
    if role is None:
        iam = ctx.aws.client("iam")
    else:
        new = is_new_account(ctx, account_id)
        if new or any(d == f"access_role.{change.key}" for d in change.depends_on):
            wait_until_assumable(ctx, change, account_id=account_id, role_name=role,
                                 new_account=new)
        iam = ctx.aws.member_client("iam", account_id=account_id, role_name=role)
    current = [str(a) for a in paginate(iam, "list_account_aliases", "AccountAliases")]
    if wanted is None:
        for alias in current:
            iam.delete_account_alias(AccountAlias=alias)
        return f"deleted alias {', '.join(current)}" if current else "had no alias"
    if current == [wanted]:
        return f"alias {wanted} already as wanted"
    try:
        iam.create_account_alias(AccountAlias=wanted)
    except AwsError as error:
        if error.code in ALREADY_EXISTS:
            raise StepFailed(f"alias {wanted} is taken by another AWS account (an alias is "
                             "unique across AWS): choose another in the file") from error
        raise
    return (f"alias {current[0]} replaced by {wanted}" if current
            else f"created alias {wanted}")
