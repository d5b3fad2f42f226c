"""IAM groups in the management account: membership and the grants to assume member roles.

Groups under orgsync's paths are owned by orgsync: exact membership, exact grant policies, and a
group that leaves the file is deleted. Grants are packed by ``reconciler.policy.pack_grants``
within IAM's quotas; managed policies attached to a group that orgsync does not own are left alone
but count against the group's quota of ten. A member that is not an IAM user yet is deferred,
not an error: the rest of the plan stays reviewable and the user is added once it exists.

A grant policy can outlive its use: a crash between CreatePolicy and AttachGroupPolicy, a group
deleted by hand, a detached policy of a group whose grants shrank. Every
``orgsync-<group>-assume-N`` under the managed paths that is attached to no observed group is a
*loose* policy of ``<group>``.
Loose policies are shown in ``before`` with ``"attached": false``: one the group still wants gets
attached, any other is deleted, by the group's own create/update when the group is in the file,
else by a ``group.<name>`` delete (whose ``before.path`` is null when there is no group of
orgsync's to delete), so nothing orgsync made is left behind forever.

Grants another tool wrote (a group built by Terraform, with an inline policy ``assume-prod`` and
a managed policy attached) are *adopted*, never deleted: the group's policies that orgsync did not
write are kept exactly as they are, and when the file's grants are all among the grants those
policies make already, orgsync writes no policy of its own (export then plan shows no change).
When orgsync must write its grant policy, it holds every grant of the file, the adopted ones
included. A grant such a policy makes that the file does not is reported (a warning), since
orgsync does not edit policies it did not write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler import policy
from reconciler.afters import GroupAfter, GroupPolicyValue
from reconciler.model import GroupSpec
from reconciler.observed import ObservedGroup, ObservedManagedPolicy
from reconciler.plan import JSON, Action, AttributeDiff, Change, Deferred
from reconciler.planner.context import PlanContext

# ``.+`` is greedy: the group is everything up to the *last* ``-assume-N``, the only reading under
# which the name is a grant policy of that group (group names may themselves contain "-assume-").
_GRANT_POLICY = re.compile(r"orgsync-(.+)-assume-\d+")


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


def observed_shape(ctx: PlanContext, group: ObservedGroup) -> GroupAfter:
    owned, _ = _owned_managed(ctx, group)
    return {
        "name": group.name,
        "path": group.path,
        "members": sorted(group.members),
        "inline_policies": {k: dict(v) for k, v in sorted(group.inline_policies.items())},
        "managed_policies": [{"name": p.name, "path": p.path, "document": dict(p.document)}
                             for p in owned],
    }


@dataclass(frozen=True)
class _Foreign:
    """What policies orgsync did not write give a group: their inline documents (kept as they
    are) and the grants they make, by the policy that makes each."""

    inline: dict[str, JSON]
    grants: dict[policy.GrantAtom, str]


def _foreign(ctx: PlanContext, group: ObservedGroup) -> _Foreign:
    inline = {name: dict(doc) for name, doc in sorted(group.inline_policies.items())
              if not policy.is_grant_policy_name(group.name, name)}
    documents: list[tuple[str, Mapping[str, JSON]]] = [
        (f"inline policy {name}", doc) for name, doc in inline.items()]
    by_arn = {p.arn: p for p in ctx.observed.managed_policies}
    for arn in group.attached_policies:
        managed = by_arn.get(arn)
        if managed is not None and not policy.is_managed_grant_policy_name(group.name,
                                                                            managed.name):
            documents.append((f"managed policy {arn}", managed.document))
    grants: dict[policy.GrantAtom, str] = {}
    for where, document in documents:
        for atom in sorted(policy.grant_atoms(document)[0]):
            grants.setdefault(atom, where)
    return _Foreign(inline=inline, grants=grants)


def _atoms(grants: list[policy.Grant]) -> set[policy.GrantAtom]:
    return {(g.account_id, g.role, g.require_mfa, tuple(sorted(g.source_ips))) for g in grants}


def _adopt(ctx: PlanContext, spec: GroupSpec, current: ObservedGroup, after: GroupAfter,
           grants: list[policy.Grant]) -> None:
    """Keep the policies orgsync did not write in ``after``; write none of orgsync's when they
    already make every grant of the file (see the module docstring)."""
    foreign = _foreign(ctx, current)
    if not foreign.inline and not foreign.grants:
        return
    owned_inline = [n for n in current.inline_policies if n not in foreign.inline]
    owned_managed = _owned_managed(ctx, current)[0]
    wanted = _atoms(grants)
    if not owned_inline and not owned_managed and wanted <= set(foreign.grants):
        after["inline_policies"] = {}
        after["managed_policies"] = []
    after["inline_policies"] = {**dict(after["inline_policies"]), **foreign.inline}
    partition = policy.partition_of(ctx.observed.organization.arn)
    for atom, where in sorted(foreign.grants.items()):
        if atom not in wanted:
            account_id, role, _mfa, _ips = atom
            ctx.warnings.append(
                f"group {spec.name}: {where} (not orgsync's) grants sts:AssumeRole on "
                f"{policy.role_arn(account_id, role, partition=partition)} in a way the file "
                "does not; orgsync never edits policies it did not write: change it there")


def _loose_policies(ctx: PlanContext) -> dict[str, list[ObservedManagedPolicy]]:
    """By group name: orgsync's grant policies (by name, under a managed path) that no observed
    group has attached. A grant policy attached to another group is that group's (foreign) and
    is left alone."""
    attached = {arn for g in ctx.observed.groups for arn in g.attached_policies}
    loose: dict[str, list[ObservedManagedPolicy]] = {}
    for managed in ctx.observed.managed_policies:
        found = _GRANT_POLICY.fullmatch(managed.name)
        if found is None or managed.arn in attached:
            continue
        loose.setdefault(found.group(1), []).append(managed)
    return {name: sorted(policies, key=lambda p: (p.name, p.path))
            for name, policies in loose.items()}


def _loose_shape(policies: list[ObservedManagedPolicy]) -> list[GroupPolicyValue]:
    return [{"name": p.name, "path": p.path, "document": dict(p.document), "attached": False}
            for p in policies]


def _no_group_shape(name: str, policies: list[ObservedManagedPolicy]) -> GroupAfter:
    """``before`` when orgsync has no group of that name: only its loose policies exist."""
    return {"name": name, "path": None, "members": [], "inline_policies": {},
            "managed_policies": _loose_shape(policies)}


def _unwanted(policies: list[ObservedManagedPolicy],
              wanted: list[GroupPolicyValue]) -> list[ObservedManagedPolicy]:
    keys = {(p["path"], p["name"]) for p in wanted}
    return [p for p in policies if (p.path, p.name) not in keys]


def _names(policies: list[ObservedManagedPolicy]) -> str:
    return ", ".join(f"{p.path}{p.name}" for p in policies)


def _grants(ctx: PlanContext, spec: GroupSpec) -> tuple[list[policy.Grant], list[str]]:
    """The grants that can be written now, and the account addresses they wait for."""
    grants: list[policy.Grant] = []
    waits: list[str] = []
    for target in spec.grants:
        match = ctx.matches.get(target.account)
        if match is None:
            ctx.errors.append(f"group {spec.name}: grant names unknown account {target.account}")
            continue
        if match.account_id is not None and match.account_id in (
                ctx.management_account_id, ctx.observed.organization.management_account_id):
            # the file may list the management account by email only: the config check (by
            # id) cannot see it, the match with AWS does. A grant never names it.
            if not target.wildcard:
                ctx.errors.append(
                    f"group {spec.name}: grant names account {target.account}, which is the "
                    f"management account ({match.account_id}, matched by its email "
                    f"{match.spec.email}): a grant never names the management account; remove "
                    "it from the grant")
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


def _defer_missing_users(ctx: PlanContext, spec: GroupSpec, existing: set[str]) -> None:
    """Members that are not IAM users (yet) do not hold the rest of the plan back: the group is
    planned with the members that exist, and the others are added by the plan after they do."""
    missing = sorted(u for u in spec.members if u not in existing)
    if not missing:
        return
    similar = dict(ctx.observed.similar_users)
    users = ", ".join(f"{u} (did you mean {' or '.join(similar[u])}?)" if similar.get(u) else u
                      for u in missing)
    ctx.deferred.append(Deferred(
        f"group.{spec.name}",
        f"IAM user(s) {users} to exist in the management account; they are added to the group "
        "once they do"))
    ctx.warnings.append(
        f"group {spec.name}: IAM user(s) {users} do not exist in the management account; the "
        "group is planned without them")


def _members_reason(ctx: PlanContext, spec: GroupSpec, before: GroupAfter,
                    after: GroupAfter) -> str:
    """Who joins and who leaves the group, plainly: a user removed because the file lists a
    name that is not an IAM user (a typo) must not hide behind "members differ"."""
    old, new = set(before["members"]), set(after["members"])
    similar = dict(ctx.observed.similar_users)
    parts: list[str] = []
    removed = sorted(old - new)
    if removed:
        typos = [f"the file lists {m}, which is not an IAM user: did you mean {r}?"
                 for m in sorted(spec.members) for r in similar.get(m, ()) if r in removed]
        parts.append(f"REMOVES existing member(s) {', '.join(removed)} from the group"
                     + (f" ({'; '.join(typos)})" if typos else ""))
    added = sorted(new - old)
    if added:
        parts.append(f"adds member(s) {', '.join(added)}")
    return "; ".join(parts) or "members differ"


def clash_error(name: str, path: str) -> str:
    """A group of the file whose name IAM already has at a path that is not orgsync's: the create
    could only fail (group names are unique per account whatever the path), so the plan says so.
    Same remedies as apply's refusal: "/" cannot be adopted (the file may not use it)."""
    head = (f"group {name}: an IAM group of that name already exists at path {path} (not "
            "orgsync's); rename it in the file, or ")
    if path == "/":
        return head + "move that group and set its path"
    return head + f"adopt it: set path: {path} for it in the file"


def plan_groups(ctx: PlanContext) -> None:
    observed = {g.name: g for g in ctx.observed.groups}
    foreign_paths = dict(ctx.observed.foreign_groups)
    existing_users = set(ctx.observed.existing_users)
    loose = _loose_policies(ctx)
    partition = policy.partition_of(ctx.observed.organization.arn)
    for spec in sorted(ctx.desired.groups, key=lambda g: g.name):
        if spec.name not in observed and spec.name in foreign_paths:
            ctx.errors.append(clash_error(spec.name, foreign_paths[spec.name]))
            continue
        members = sorted(u for u in spec.members if u in existing_users)
        _defer_missing_users(ctx, spec, existing_users)
        current = observed.get(spec.name)
        foreign = _owned_managed(ctx, current)[1] if current is not None else 0
        grants, waits = _grants(ctx, spec)
        packed = policy.pack_grants(spec.name, spec.path, grants, foreign_managed=foreign,
                                    partition=partition)
        if packed.error is not None:
            ctx.errors.append(packed.error)
            continue
        after: GroupAfter = {
            "name": spec.name,
            "path": spec.path,
            "members": members,
            "inline_policies": {k: dict(v) for k, v in packed.inline_policies.items()},
            "managed_policies": [{"name": p.name, "path": p.path, "document": dict(p.document)}
                                 for p in packed.managed_policies],
        }
        depends = ctx.needs(*(a for a in sorted(set(waits))))
        mine = loose.get(spec.name, [])
        if current is None:
            reason = f"not in IAM under {spec.path}"
            orphans = _unwanted(mine, after["managed_policies"])
            if orphans:
                reason += f"; deletes left-over grant policies {_names(orphans)}"
            ctx.changes.append(Change(
                kind="group", key=spec.name, action=Action.CREATE,
                before=_no_group_shape(spec.name, mine) if mine else None, after=after,
                reason=reason, depends_on=depends))
            continue
        _adopt(ctx, spec, current, after, grants)
        before = observed_shape(ctx, current)
        before["managed_policies"] = [*before["managed_policies"], *_loose_shape(mine)]
        diff, what = _compare(before, after)
        what = [_members_reason(ctx, spec, before, after) if w == "members differ" else w
                for w in what]
        orphans = _unwanted(mine, after["managed_policies"])
        detached = [p for p in mine if p not in orphans]
        if orphans:
            what.append(f"deletes left-over grant policies {_names(orphans)}")
        if detached:
            what.append(f"attaches detached grant policies {_names(detached)}")
        if diff:
            ctx.changes.append(Change(
                kind="group", key=spec.name, action=Action.UPDATE, before=before, after=after,
                reason=", ".join(what), diff=tuple(diff), depends_on=depends))
    wanted = {g.name for g in ctx.desired.groups}
    managed_paths = set(ctx.desired.managed_group_paths)
    for name in sorted({*observed, *loose} - wanted):
        group = observed.get(name)
        mine = loose.get(name, [])
        if group is not None and group.path in managed_paths:
            before = observed_shape(ctx, group)
            before["managed_policies"] = [*before["managed_policies"], *_loose_shape(mine)]
            reason = f"under orgsync's path {group.path} but no longer in the file"
            if mine:
                reason += f"; deletes left-over grant policies {_names(mine)}"
        elif mine:
            before = _no_group_shape(name, mine)
            where = ("no group of that name at orgsync's paths" if group is None
                     else f"the group is under {group.path}, not orgsync's: it is kept")
            reason = (f"grant policies left behind for a group not in the file ({where}): "
                      f"{_names(mine)}")
        else:
            continue
        ctx.changes.append(Change(
            kind="group", key=name, action=Action.DELETE, before=before, after=None,
            destructive=True, reason=reason))


def _normalized_policies(policies: Mapping[str, JSON], *,
                         fold_case: bool = True) -> dict[str, JSON]:
    """By policy name: the canonical documents to compare, or (``fold_case=False``) the
    normalized ones to show."""
    return {name: policy.canonical(doc) if fold_case else policy.normalize(doc, fold_case=False)
            for name, doc in sorted(policies.items())}


def _managed(policies: list[GroupPolicyValue], *, fold_case: bool = True) -> dict[str, JSON]:
    """By policy name (by path and name for a name found under two paths): path, document, and
    whether it is attached (``"attached": false`` only ever comes from ``before``)."""
    counts: dict[str, int] = {}
    for p in policies:
        counts[p["name"]] = counts.get(p["name"], 0) + 1
    return {(p["name"] if counts[p["name"]] == 1 else f"{p['path']}{p['name']}"): {
                "path": p["path"],
                "document": policy.canonical(p["document"]) if fold_case
                else policy.normalize(p["document"], fold_case=False),
                "attached": p.get("attached", True)}
            for p in policies}


def _compare(before: GroupAfter, after: GroupAfter) -> tuple[list[AttributeDiff], list[str]]:
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
