"""IAM groups in the management account: membership and the grants to assume member roles.

Groups under orgsync's paths are owned by orgsync: exact membership, exact grant policies, and a
group that leaves the file is deleted. Grants are packed by ``reconciler.policy.pack_grants``
within IAM's quotas; managed policies attached to a group that orgsync does not own are left alone
but count against the group's quota of ten.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler import policy
from reconciler.model import GroupSpec
from reconciler.observed import ObservedGroup, ObservedManagedPolicy
from reconciler.plan import JSON, Action, AttributeDiff, Change, Deferred
from reconciler.planner.context import PlanContext


def _owned_managed(ctx: PlanContext, group: ObservedGroup) -> tuple[list[ObservedManagedPolicy],
                                                                   int]:
    """(orgsync's grant policies attached to the group, how many other policies are attached)."""
    by_arn = {p.arn: p for p in ctx.observed.managed_policies}
    owned: list[ObservedManagedPolicy] = []
    foreign = 0
    for arn in group.attached_policies:
        managed = by_arn.get(arn)
        if managed is not None and policy.is_managed_grant_policy_name(group.name, managed.name):
            owned.append(managed)
        else:
            foreign += 1
    return sorted(owned, key=lambda p: p.name), foreign


def observed_shape(ctx: PlanContext, group: ObservedGroup) -> dict[str, JSON]:
    owned, _ = _owned_managed(ctx, group)
    return {
        "name": group.name,
        "path": group.path,
        "members": sorted(group.members),
        "inline_policies": {k: dict(v) for k, v in sorted(group.inline_policies.items())},
        "managed_policies": [{"name": p.name, "path": p.path, "document": dict(p.document)}
                             for p in owned],
    }


def _grants(ctx: PlanContext, spec: GroupSpec) -> tuple[list[policy.Grant], list[str]]:
    """The grants that can be written now, and the account addresses they wait for."""
    grants: list[policy.Grant] = []
    waits: list[str] = []
    for target in spec.grants:
        match = ctx.matches.get(target.account)
        if match is None:
            ctx.errors.append(f"group {spec.name}: grant names unknown account {target.account}")
            continue
        if match.disposition == "deferred":
            if match.account_id is None:
                ctx.deferred.append(Deferred(
                    f"group.{spec.name}",
                    f"{match.address} ({match.waiting_for}) before its grant can be written"))
                continue
        elif not match.usable:
            if match.disposition in ("close", "gone"):
                ctx.errors.append(f"group {spec.name}: grant names account {target.account}, "
                                  "which the file closes")
            continue
        if match.disposition == "create":
            # an invited account's id is known: its grant is written now rather than holding the
            # whole group back until the invitation is accepted (which may take days)
            waits.append(match.address)
        grants.append(policy.Grant(
            account_name=target.account, account_id=match.id_expr, role=target.role,
            require_mfa=target.require_mfa, source_ips=tuple(target.source_ips)))
    return grants, waits


def plan_groups(ctx: PlanContext) -> None:
    observed = {g.name: g for g in ctx.observed.groups}
    existing_users = set(ctx.observed.existing_users)
    for spec in sorted(ctx.desired.groups, key=lambda g: g.name):
        missing = [u for u in spec.members if u not in existing_users]
        for user in missing:
            ctx.errors.append(f"group {spec.name}: IAM user {user} does not exist in the "
                              "management account")
        current = observed.get(spec.name)
        foreign = _owned_managed(ctx, current)[1] if current is not None else 0
        grants, waits = _grants(ctx, spec)
        packed = policy.pack_grants(spec.name, spec.path, grants, foreign_managed=foreign)
        if packed.error is not None:
            ctx.errors.append(packed.error)
            continue
        after: dict[str, JSON] = {
            "name": spec.name,
            "path": spec.path,
            "members": sorted(spec.members),
            "inline_policies": {k: dict(v) for k, v in packed.inline_policies.items()},
            "managed_policies": [{"name": p.name, "path": p.path, "document": dict(p.document)}
                                 for p in packed.managed_policies],
        }
        depends = ctx.needs(*(a for a in sorted(set(waits))))
        if current is None:
            ctx.changes.append(Change(
                kind="group", key=spec.name, action=Action.CREATE, before=None, after=after,
                reason=f"not in IAM under {spec.path}", depends_on=depends))
            continue
        before = observed_shape(ctx, current)
        diff, what = _compare(before, after)
        if diff:
            ctx.changes.append(Change(
                kind="group", key=spec.name, action=Action.UPDATE, before=before, after=after,
                reason=", ".join(what), diff=tuple(diff), depends_on=depends))
    wanted = {g.name for g in ctx.desired.groups}
    managed_paths = set(ctx.desired.managed_group_paths)
    for group in sorted(ctx.observed.groups, key=lambda g: g.name):
        if group.name in wanted or group.path not in managed_paths:
            continue
        ctx.changes.append(Change(
            kind="group", key=group.name, action=Action.DELETE,
            before=observed_shape(ctx, group), after=None, destructive=True,
            reason=f"under orgsync's path {group.path} but no longer in the file"))


def _normalized_policies(policies: Mapping[str, JSON], *,
                         fold_case: bool = True) -> dict[str, JSON]:
    """By policy name: the canonical documents to compare, or (``fold_case=False``) the
    normalized ones to show."""
    return {name: policy.canonical(doc) if fold_case else policy.normalize(doc, fold_case=False)
            for name, doc in sorted(policies.items())}


def _managed(policies: list[JSON], *, fold_case: bool = True) -> dict[str, JSON]:
    return {p["name"]: {"path": p["path"],
                        "document": policy.canonical(p["document"]) if fold_case
                        else policy.normalize(p["document"], fold_case=False)}
            for p in policies}


def _compare(before: Mapping[str, JSON],
             after: Mapping[str, JSON]) -> tuple[list[AttributeDiff], list[str]]:
    diff: list[AttributeDiff] = []
    what: list[str] = []
    if before["path"] != after["path"]:
        diff.append(AttributeDiff("path", before["path"], after["path"]))
        what.append("path differs")
    if before["members"] != after["members"]:
        diff.extend(policy.attribute_diffs(before["members"], after["members"], prefix="members"))
        what.append("members differ")
    if _normalized_policies(before["inline_policies"]) != \
            _normalized_policies(after["inline_policies"]):
        diff.extend(policy.attribute_diffs(
            _normalized_policies(before["inline_policies"], fold_case=False),
            _normalized_policies(after["inline_policies"], fold_case=False),
            prefix="inline_policies"))
        what.append("grants differ")
    if _managed(before["managed_policies"]) != _managed(after["managed_policies"]):
        diff.extend(policy.attribute_diffs(
            _managed(before["managed_policies"], fold_case=False),
            _managed(after["managed_policies"], fold_case=False), prefix="managed_policies"))
        if "grants differ" not in what:
            what.append("grants differ")
    return diff, what
