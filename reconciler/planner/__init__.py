"""The pure planning core: ``plan(desired, observed) -> Plan``, with no I/O and no boto3.

Like kopf's cause detection, planning is a purely computational function: the same inputs always
give the same plan, which is what lets a saved plan be reviewed and a re-plan after apply be
checked for emptiness. One module per resource kind decides that kind's changes; this module only
fixes the order (organization, OUs parents first, account create/invite, account updates, access
roles, groups, root credentials, account closures) and collects what cannot happen yet.
"""

from __future__ import annotations

from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import Plan
from reconciler.planner.access_role import plan_access_roles
from reconciler.planner.account import (
    plan_account_closures,
    plan_account_creation,
    plan_account_updates,
    unmanaged_accounts,
)
from reconciler.planner.context import PlanContext, match_accounts
from reconciler.planner.group import plan_groups
from reconciler.planner.organization import plan_organization
from reconciler.planner.ou import plan_ous, unmanaged_ous
from reconciler.planner.root_credentials import plan_root_credentials

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
    plan_organization(ctx)
    plan_ous(ctx)
    plan_account_creation(ctx)
    plan_account_updates(ctx)
    plan_access_roles(ctx)
    plan_groups(ctx)
    plan_root_credentials(ctx)
    plan_account_closures(ctx)
    unmanaged = [*unmanaged_accounts(ctx), *unmanaged_ous(ctx)]
    return Plan(
        management_account_id=desired.organization.management_account_id,
        changes=tuple(ctx.changes),
        deferred=tuple(dict.fromkeys(ctx.deferred)),
        unmanaged=tuple(unmanaged),
        errors=tuple(dict.fromkeys(ctx.errors)),
        warnings=tuple(dict.fromkeys(ctx.warnings)),
    )
