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

from reconciler.export.render import _Doc, file_state, quoted, scalar
from reconciler.model import canonical_duration
from reconciler.observed import JSON, ObservedPermissionSet, ObservedState


def _permission_set(doc: _Doc, current: ObservedPermissionSet) -> dict[str, JSON]:
    item: dict[str, JSON] = {"name": current.name}
    doc.add(f"    - name: {scalar(current.name)}")
    if current.description:
        doc.add(f"      description: {scalar(current.description)}")
        item["description"] = current.description
    duration = canonical_duration(current.session_duration)
    if duration:
        doc.add(f"      session_duration: {scalar(duration)}")
        item["session_duration"] = duration
    if current.managed_policies:
        policies = sorted(current.managed_policies)
        doc.add_list("managed_policies", policies, indent=6)
        item["managed_policies"] = policies
    if current.customer_managed_policies:
        doc.add("      customer_managed_policies:")
        references: list[JSON] = []
        for name, path in current.customer_managed_policies:
            doc.add(f"        - {{name: {scalar(name)}, path: {scalar(path)}}}")
            references.append({"name": name, "path": path})
        item["customer_managed_policies"] = references
    if current.inline_policy:
        text = json.dumps(dict(current.inline_policy), separators=(", ", ": "))
        doc.add(f"      inline_policy: {quoted(text)}")
        item["inline_policy"] = text
    boundary = current.permissions_boundary
    if boundary:
        if "managed_policy_arn" in boundary:
            doc.add(f"      permissions_boundary: {scalar(boundary['managed_policy_arn'])}")
            item["permissions_boundary"] = boundary["managed_policy_arn"]
        else:
            doc.add(f"      permissions_boundary: {{name: {scalar(boundary['name'])}, "
                    f"path: {scalar(boundary['path'])}}}")
            item["permissions_boundary"] = {"name": boundary["name"], "path": boundary["path"]}
    if current.relay_state:
        doc.add(f"      relay_state: {scalar(current.relay_state)}")
        item["relay_state"] = current.relay_state
    return item


def render_identity_center(doc: _Doc, data: dict[str, JSON], observed: ObservedState, *,
                           names: Mapping[str, str]) -> None:
    """Append the section (nothing when there is no readable instance)."""
    center = observed.identity_center
    if center is None or center.instance_arn is None:
        return
    doc.add("")
    doc.comment("IAM Identity Center: permission sets and who gets them in which accounts "
                "(groups and users come from the identity source).")
    doc.add("identity_center:")
    section: dict[str, JSON] = {}
    sets = sorted(center.permission_sets, key=lambda p: p.name)
    doc.add("  permission_sets:" if sets else "  permission_sets: []")
    section["permission_sets"] = [_permission_set(doc, p) for p in sets]
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
        doc.comment("Not exported (an account that is closed or not in this file, or a principal "
                    "or permission set that no longer exists; they stay unmanaged): "
                    + "; ".join(skipped), 2)
    items: list[JSON] = []
    doc.add("  assignments:" if entries else "  assignments: []")
    for (kind, permission_set, targets), people in sorted(
            entries.items(), key=lambda e: (e[0][0], sorted(e[1]), e[0][1], e[0][2])):
        if kind == "GROUP":
            for name in sorted(people):
                doc.add(f"    - group: {scalar(name)}")
                doc.add(f"      permission_set: {scalar(permission_set)}")
                doc.add_list("accounts", list(targets), indent=6)
                items.append({"group": name, "permission_set": permission_set,
                              "accounts": list(targets)})
            continue
        doc.add_list("- users", sorted(people), indent=6)
        doc.add(f"      permission_set: {scalar(permission_set)}")
        doc.add_list("accounts", list(targets), indent=6)
        items.append({"users": sorted(people), "permission_set": permission_set,
                      "accounts": list(targets)})
    section["assignments"] = items
    data["identity_center"] = section
