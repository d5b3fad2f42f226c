"""The ``identity_center:`` section of ``orgsync export``: every permission set of the instance
with each attribute it has, and its assignments grouped back into ``group``/``users`` entries.

Accounts are named explicitly (never ``"*"``): the export must plan clean whatever accounts are
added later. Assignments that cannot be written (an account that is not exported, a principal the
identity store no longer holds) are left out with a comment; they are then reported as unmanaged,
never touched (the export does not write ``exclusive: true``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.export.render import Section, file_state
from reconciler.model import canonical_duration
from reconciler.observed import ObservedPermissionSet, ObservedState


def _permission_set(current: ObservedPermissionSet) -> Section:
    item = Section()
    item.key("name", current.name)
    if current.description:
        item.key("description", current.description)
    duration = canonical_duration(current.session_duration)
    if duration:
        item.key("session_duration", duration)
    if current.managed_policies:
        item.key("managed_policies", sorted(current.managed_policies))
    if current.customer_managed_policies:
        references: list[Section] = []
        for name, path in current.customer_managed_policies:
            reference = Section()
            reference.key("name", name)
            reference.key("path", path)
            references.append(reference)
        item.key("customer_managed_policies", references, style="flow")
    if current.inline_policy:
        item.key("inline_policy",
                 json.dumps(dict(current.inline_policy), separators=(", ", ": ")))
    boundary = current.permissions_boundary
    if boundary:
        if "managed_policy_arn" in boundary:
            item.key("permissions_boundary", boundary["managed_policy_arn"])
        else:
            reference = Section()
            reference.key("name", boundary["name"])
            reference.key("path", boundary["path"])
            item.key("permissions_boundary", reference, style="flow")
    if current.relay_state:
        item.key("relay_state", current.relay_state)
    return item


def identity_center(observed: ObservedState, *, names: Mapping[str, str]) -> Section | None:
    """The section's mapping (None when there is no readable instance: no section)."""
    center = observed.identity_center
    if center is None or center.instance_arn is None:
        return None
    section = Section()
    sets = sorted(center.permission_sets, key=lambda p: p.name)
    section.key("permission_sets", [_permission_set(p) for p in sets])
    ps_names = {p.arn: p.name for p in sets}
    principals = {(p.type, p.id): p.name for p in center.principals}
    grouped: dict[tuple[str, str, str], list[str]] = {}
    skipped: list[str] = []
    closed = {a.id for a in observed.accounts if file_state(a) == "closed"}
    for assignment in center.assignments:
        account = names.get(assignment.account_id) if assignment.account_id not in closed \
            else None
        who = principals.get((assignment.principal_type, assignment.principal_id))
        permission_set = ps_names.get(assignment.permission_set_arn)
        if account is None or who is None or permission_set is None:
            skipped.append(f"{assignment.principal_type.lower()} "
                           f"{who or assignment.principal_id} -> "
                           f"{permission_set or assignment.permission_set_arn} in "
                           f"{assignment.account_id}")
            continue
        grouped.setdefault((assignment.principal_type, who, permission_set), []).append(account)
    entries: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for (kind, who, permission_set), accounts in sorted(grouped.items()):
        key = (kind, permission_set, tuple(sorted(accounts)))
        entries.setdefault(key, []).append(who)
    if skipped:
        section.note("Not exported (an account that is closed or not in this file, or a "
                     "principal or permission set that no longer exists; they stay unmanaged): "
                     + "; ".join(skipped))
    items: list[Section] = []
    for (kind, permission_set, targets), people in sorted(
            entries.items(), key=lambda e: (e[0][0], sorted(e[1]), e[0][1], e[0][2])):
        principals_of = [("group", name) for name in sorted(people)] if kind == "GROUP" \
            else [("users", sorted(people))]
        for field, who_value in principals_of:
            item = Section()
            item.key(field, who_value)
            item.key("permission_set", permission_set)
            item.key("accounts", list(targets))
            items.append(item)
    section.key("assignments", items)
    return section
