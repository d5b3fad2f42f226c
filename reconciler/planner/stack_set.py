"""Invited accounts reached through orgsync's service-managed StackSet (``invited_bootstrap:
stackset``).

Which accounts the stack set serves is decided here once: every active invited account of the
file without a ``bootstrap_profile``. Such an account whose access role orgsync cannot assume gets
an ``access_role`` create change carried out through the stack set (never a ``bootstrap`` step);
CloudFormation's trusted access with Organizations is an organization change planned before it;
and a stack instance of an account the stack set no longer serves is removed with
``RetainStacks`` (a ``stack_set`` change), which keeps the role so that a cleanup never locks the
organization out of the account.
"""

from __future__ import annotations

from reconciler.afters import TRUSTED_ACCESS_CLOUDFORMATION, AccessRoleAfter, StackSetAfter
from reconciler.plan import Action, AttributeDiff, Change
from reconciler.planner.context import AccountMatch, PlanContext
from reconciler.planner.organization import ADDRESS as ORGANIZATION
from reconciler.planner.organization import turn_on
from reconciler.stackset import ADOPT_ROLE, STACK_SET_NAME


def enabled(ctx: PlanContext) -> bool:
    return ctx.desired.organization.invited_bootstrap == "stackset"


def served(ctx: PlanContext, match: AccountMatch) -> bool:
    """Whether the stack set is how this account gets its access role."""
    spec = match.spec
    return (enabled(ctx) and spec.source == "invited" and spec.bootstrap_profile is None
            and spec.state == "active" and not ctx.is_management(match))


def stack_set_name(ctx: PlanContext) -> str:
    return ctx.observed.stack_set.name if ctx.observed.stack_set else STACK_SET_NAME


def region(ctx: PlanContext) -> str | None:
    return ctx.observed.stack_set.region if ctx.observed.stack_set else None


def plan_trusted_access(ctx: PlanContext) -> None:
    """Add "activate trusted access for StackSets" to the organization change when an account
    will need the stack set (now, or once its invitation is accepted)."""
    observed = ctx.observed.stack_set
    if not enabled(ctx) or observed is None or observed.trusted_access:
        return
    needing = [m for m in ctx.matches.values() if served(ctx, m)
               and m.disposition in ("present", "invite", "deferred")
               and _role_missing(ctx, m)]
    if not needing:
        return
    if ctx.observed.organization.feature_set != "ALL":
        ctx.errors.append(
            "organization.invited_bootstrap: stackset needs an organization with all features "
            f"enabled (this one has {ctx.observed.organization.feature_set}); use manual or a "
            "bootstrap_profile")
        return
    reason = (f"trusted access for CloudFormation StackSets is off (stack set "
              f"{stack_set_name(ctx)} deploys the access role of "
              f"{', '.join(sorted(m.spec.name for m in needing))})")
    turn_on(ctx, TRUSTED_ACCESS_CLOUDFORMATION, reason=reason)


def _role_missing(ctx: PlanContext, match: AccountMatch) -> bool:
    if match.disposition != "present":
        return True
    role = ctx.observed.roles.get(match.id_expr)
    return role is None or role.status != "ok"


def role_change(ctx: PlanContext, match: AccountMatch, *, after: AccessRoleAfter,
                why: str) -> Change:
    """The access role of a served account, deployed through the stack set."""
    name = stack_set_name(ctx)
    instance = ctx.observed.stack_set.instance(match.id_expr) if ctx.observed.stack_set else None
    state = ""
    if instance is not None:
        state = f"; its stack instance is {instance.status}/{instance.detailed_status}"
        if instance.status_reason:
            state += f" ({instance.status_reason})"
    running = ctx.observed.stack_set.running_operation if ctx.observed.stack_set else None
    if running:
        state += f"; operation {running} of the stack set is still running (apply follows it)"
    deployed = after.copy()
    deployed["stack_set"] = {"name": name, "region": region(ctx)}
    return Change(
        kind="access_role", key=match.spec.name, action=Action.CREATE, before=None,
        after=deployed,
        reason=(f"role {match.spec.access_role.name} is not assumable ({why}); deploy it "
                f"through the service-managed stack set {name}{state}"),
        depends_on=ctx.needs(ORGANIZATION))


def plan_retired_instances(ctx: PlanContext) -> None:
    """Stack instances of accounts the stack set no longer serves: removed, role kept."""
    observed = ctx.observed.stack_set
    if observed is None or not observed.exists or not observed.instances:
        return
    keep = {m.account_id for m in ctx.matches.values() if served(ctx, m) and m.account_id}
    current = sorted({i.account_id for i in observed.instances})
    retired = [a for a in current if a not in keep]
    if not retired:
        return
    names = {m.account_id: m.spec.name for m in ctx.matches.values() if m.account_id}
    described = ", ".join(f"{a} ({names[a]})" if a in names else a for a in retired)
    before: StackSetAfter = {"name": observed.name, "region": observed.region,
                             "accounts": current}
    after: StackSetAfter = {"name": observed.name, "region": observed.region,
                            "accounts": [a for a in current if a not in retired],
                            "remove": retired, "retain_stacks": True}
    ctx.changes.append(Change(
        kind="stack_set", key=observed.name, action=Action.UPDATE, before=before, after=after,
        reason=(f"stack instances of accounts the stack set no longer serves: {described}; "
                "removed with RetainStacks (their access roles stay)"),
        diff=(AttributeDiff("accounts", current, [a for a in current if a not in retired]),)))


def plan_unfinished_takeovers(ctx: PlanContext) -> None:
    """A takeover an earlier run did not finish leaves the helper role in the account (the
    instance is still in ``Mode: adopt``): finish it, which removes the helper."""
    observed = ctx.observed.stack_set
    if observed is None or not observed.exists:
        return
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        address = f"access_role.{name}"
        instance = observed.instance(match.id_expr) if match.account_id else None
        if instance is None or instance.mode != "adopt" or not served(ctx, match) \
                or match.disposition != "present" or ctx.planned(address):
            continue
        from reconciler.planner.access_role import desired_role

        after = desired_role(ctx, match, via_role=None, bootstrap_profile=None).copy()
        after["stack_set"] = {"name": observed.name, "region": observed.region}
        ctx.changes.append(Change(
            kind="access_role", key=name, action=Action.UPDATE, before=None,
            after=after,
            reason=(f"an earlier run did not finish taking role {match.spec.access_role.name} "
                    f"over: the helper role {ADOPT_ROLE} of stack set {observed.name} is still "
                    "in the account; finish and remove it")))
