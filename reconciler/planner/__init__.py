"""The pure planning core: ``plan(desired, observed) -> Plan``, with no I/O and no boto3.

Like kopf's cause detection, planning is a purely computational function: the same inputs always
give the same plan, which is what lets a saved plan be reviewed and a re-plan after apply be
checked for emptiness. One module per resource kind decides that kind's changes; the
planner's registry (``reconciler.planner.registry``) orders their steps (organization, OUs
parents first, account create/invite, account updates, IAM's delegated administrator, access
roles, groups, Identity Center, root credentials, account aliases, alternate contacts, account
closures); this module runs them in that order and collects what cannot happen yet.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import Action, Deferred, Plan
from reconciler.planner.account import unmanaged_accounts
from reconciler.planner.context import PlanContext, match_accounts
from reconciler.planner.delegated_admin import restrict_to_delegated_runner
from reconciler.planner.ou import unmanaged_ous
from reconciler.planner.quotas import check_quotas
from reconciler.planner.registry import plan_steps

__all__ = ["plan"]


def plan(desired: DesiredState, observed: ObservedState) -> Plan:
    """The ordered changes that make ``observed`` what ``desired`` says (pure, deterministic)."""
    ctx = PlanContext(desired=desired, observed=observed)
    if observed.organization.management_account_id != desired.organization.management_account_id:
        wanted = desired.organization.management_account_id
        ctx.errors.append(
            f"organization: the file manages the organization of {wanted}, but these "
            f"credentials see the one of {observed.organization.management_account_id}")
        return Plan(management_account_id=desired.organization.management_account_id,
                    errors=tuple(ctx.errors))
    match_accounts(ctx)
    for step in plan_steps():
        # IAM's delegated administrator's credentials cannot read roles, groups, aliases...
        if not (step.management_iam and observed.delegated_runner):
            step.run(ctx)
    _rename_after_new_role(ctx)
    restrict_to_delegated_runner(ctx)
    check_quotas(ctx)
    unmanaged = [*unmanaged_accounts(ctx), *unmanaged_ous(ctx), *ctx.unmanaged]
    return Plan(
        management_account_id=desired.organization.management_account_id,
        changes=tuple(ctx.changes),
        deferred=_unique_deferred(ctx.deferred),
        unmanaged=tuple(unmanaged),
        errors=tuple(dict.fromkeys(ctx.errors)),
        warnings=tuple(dict.fromkeys(ctx.warnings)),
    )


def _rename_after_new_role(ctx: PlanContext) -> None:
    """A rename goes through the account's access role (``account:PutAccountName`` from inside
    the account); when this plan creates that role (an invited account that has just joined), the
    rename waits for it instead of failing before it exists."""
    roles = {c.key for c in ctx.changes if c.kind == "access_role"
             and c.action in (Action.CREATE, Action.BOOTSTRAP)}
    for index, change in enumerate(ctx.changes):
        if (change.kind == "account" and change.action is Action.UPDATE and change.key in roles
                and any(d.path == "name" for d in change.diff)):
            ctx.changes[index] = replace(change, depends_on=tuple(dict.fromkeys(
                (*change.depends_on, f"access_role.{change.key}"))))


def _unique_deferred(items: list[Deferred]) -> tuple[Deferred, ...]:
    """``items`` without repeats, first occurrence kept (an item's ``after`` is not hashable)."""
    seen: set[tuple[str, str, str | None]] = set()
    unique: list[Deferred] = []
    for item in items:
        key = (item.address, item.waiting_for, item.action.value if item.action else None)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return tuple(unique)
