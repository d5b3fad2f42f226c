"""Who can reach which account and role: the access report behind ``orgsync access``.

An access review asks "who can get into prod, as what, under which conditions?", and the answer
must be the one AWS would give, not only the one the file hopes for. The report is computed from
the desired state (groups, their members and ``assume`` grants, the access roles' MFA trust) and
checked against what was read from AWS: the groups under orgsync's paths with their members and
grant policies (inline and attached), in the form the observe layer reads them
(``reconciler.observe.group``). A grant the file declares but AWS lacks, or has under other
conditions, is marked; so is a grant AWS has that the file does not declare, and a member the
file lists who is not in the AWS group (or the other way round).

Pure: no AWS calls. ``reconciler.pipeline.read_access`` reads AWS and
``reconciler.commands.access`` renders the document this module builds; text, JSON and markdown
come from that one document so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import DesiredState
from reconciler.observed import ObservedGroup, ObservedIdentityCenter, ObservedManagedPolicy
from reconciler.policy import (
    GrantAtom,
    grant_atoms,
    is_grant_policy_name,
    is_managed_grant_policy_name,
)
from reconciler.terminal import printable_document

FORMAT_VERSION = "1"

# Row statuses (the JSON ``status`` values), and what text and markdown say for each.
GRANTED = "granted"
MISSING_IN_AWS = "missing_in_aws"
CONDITIONS_DIFFER = "conditions_differ"
GROUP_MISSING_IN_AWS = "group_missing_in_aws"
ACCOUNT_NOT_IN_ORGANIZATION = "account_not_in_organization"
NOT_IN_FILE = "not_in_file"
PRINCIPAL_MISSING = "principal_missing_in_identity_store"  # Identity Center rows only
STATUS_TEXT = {
    GRANTED: "ok",
    MISSING_IN_AWS: "MISSING IN AWS: the file grants it, AWS does not",
    CONDITIONS_DIFFER: "DIFFERS IN AWS: granted under other conditions",
    GROUP_MISSING_IN_AWS: "MISSING IN AWS: the group does not exist",
    ACCOUNT_NOT_IN_ORGANIZATION: "not reachable: the account is not in the organization yet",
    NOT_IN_FILE: "NOT IN THE FILE: AWS grants it, the file does not",
    PRINCIPAL_MISSING: "MISSING IN AWS: no such group or user in the identity store",
}
# Member statuses.
MEMBER = "member"
NOT_IN_AWS_GROUP = "not_in_aws_group"
NO_SUCH_USER = "no_such_user"
MEMBER_NOT_IN_FILE = "not_in_file"


@dataclass(frozen=True)
class ObservedAccess:
    """What ``orgsync access`` read from AWS."""

    groups: tuple[ObservedGroup, ...]
    managed_policies: tuple[ObservedManagedPolicy, ...]
    existing_users: tuple[str, ...]  # the file's members that are IAM users
    account_ids: Mapping[str, str] = field(default_factory=dict)  # file account name -> id
    account_names: Mapping[str, str] = field(default_factory=dict)  # id -> AWS account name
    # read only when the file has an ``identity_center:`` section (reconciler.observe.
    # identity_center): the instance, and the members (user names) of the assigned groups by id
    identity_center: ObservedIdentityCenter | None = None
    identity_center_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _aws_grants(group: ObservedGroup, policies: Mapping[str, ObservedManagedPolicy]
                ) -> dict[GrantAtom, tuple[str, bool]]:
    """Every (account id, role, MFA, source IPs) the group's inline and attached policies grant,
    in the form orgsync writes grants (another tool's statements of that form count too), with
    the policy that grants it and whether that policy is orgsync's own (apply rewrites only
    those; another tool's are kept, as ``reconciler.planner.group`` adopts them)."""
    documents: list[tuple[str, bool, Mapping[str, Any]]] = [
        (f"inline policy {name}", is_grant_policy_name(group.name, name), document)
        for name, document in sorted(group.inline_policies.items())]
    documents += [(f"managed policy {arn}",
                   is_managed_grant_policy_name(group.name, policies[arn].name),
                   policies[arn].document)
                  for arn in group.attached_policies if arn in policies]
    atoms: dict[GrantAtom, tuple[str, bool]] = {}
    for where, owned, document in documents:
        for atom in grant_atoms(dict(document))[0]:
            atoms.setdefault(atom, (where, owned))
    return atoms


def _conditions(require_mfa: bool, source_ips: tuple[str, ...]) -> dict[str, Any]:
    return {"require_mfa": require_mfa, "source_ips": list(source_ips)}


def access_report(desired: DesiredState, observed: ObservedAccess) -> dict[str, Any]:
    """The access document: groups with their members, and one row per (group, account, role)."""
    management = desired.organization.management_account_id
    policies = {p.arn: p for p in observed.managed_policies}
    in_aws = {g.name: g for g in observed.groups}
    existing = set(observed.existing_users)
    ids = {a.name: a.id or observed.account_ids.get(a.name) for a in desired.accounts}
    names_by_id = {**observed.account_names,
                   **{i: name for name, i in ids.items() if i is not None}}
    access_roles = {a.name: a.access_role for a in desired.accounts}
    groups: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for spec in desired.groups:
        current = in_aws.get(spec.name)
        aws_members = set(current.members) if current else set()
        members = [{"name": m, "status": MEMBER if m in aws_members
                    else NOT_IN_AWS_GROUP if m in existing else NO_SUCH_USER}
                   for m in spec.members]
        members += [{"name": m, "status": MEMBER_NOT_IN_FILE}
                    for m in sorted(aws_members - set(spec.members))]
        groups.append({"name": spec.name, "path": spec.path, "in_file": True,
                       "in_aws": current is not None, "members": members})
        atoms = _aws_grants(current, policies) if current else {}
        declared: set[tuple[str, str]] = set()
        for grant in spec.grants:
            account_id = ids.get(grant.account)
            if account_id == management:
                continue  # "*" met the management account listed by email: never granted
            access = access_roles.get(grant.account)
            trust_mfa = bool(access and access.name == grant.role and access.require_mfa)
            row: dict[str, Any] = {
                "group": spec.name, "account": grant.account, "account_id": account_id,
                "role": grant.role, "require_mfa": grant.require_mfa or trust_mfa,
                "trust_requires_mfa": trust_mfa, "source_ips": list(grant.source_ips),
                "aws_conditions": None}
            if account_id is None:
                row["status"] = ACCOUNT_NOT_IN_ORGANIZATION
            elif current is None:
                row["status"] = GROUP_MISSING_IN_AWS
            else:
                declared.add((account_id, grant.role))
                wanted = (account_id, grant.role, grant.require_mfa,
                          tuple(sorted(grant.source_ips)))
                other = sorted(a for a in atoms if a[:2] == wanted[:2] and a != wanted)
                if wanted in atoms:
                    row["status"] = GRANTED
                elif other:
                    row["status"] = CONDITIONS_DIFFER
                    row["aws_conditions"] = [_conditions(a[2], a[3]) for a in other]
                else:
                    row["status"] = MISSING_IN_AWS
            rows.append(row)
        rows += _undeclared(spec.name, atoms, declared, names_by_id=names_by_id)
    for current in observed.groups:
        if current.name in {g.name for g in desired.groups}:
            continue
        groups.append({"name": current.name, "path": current.path, "in_file": False,
                       "in_aws": True, "members": [{"name": m, "status": MEMBER_NOT_IN_FILE}
                                                   for m in current.members]})
        rows += _undeclared(current.name, _aws_grants(current, policies), set(),
                            names_by_id=names_by_id, group_in_file=False)
    document = {"format_version": FORMAT_VERSION, "management_account_id": management,
                "source_file": desired.source_file, "groups": groups, "grants": rows,
                "summary": _count(rows)}
    if desired.identity_center is not None:
        document["identity_center"] = _identity_center(desired, observed, ids, names_by_id)
    return document


def _count(rows: list[dict[str, Any]]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for row in rows:
        summary[row["status"]] = summary.get(row["status"], 0) + 1
    return dict(sorted(summary.items()))


def _identity_center(desired: DesiredState, observed: ObservedAccess,
                     ids: Mapping[str, str | None],
                     names_by_id: Mapping[str, str]) -> dict[str, Any]:
    """One row per assignment the file declares (as the loader expands accounts and users), and
    one per assignment AWS has for a permission set or an account of the file that the file does
    not declare. Groups carry their identity store members where they were read."""
    spec = desired.identity_center
    assert spec is not None
    management = desired.organization.management_account_id
    center = observed.identity_center
    usable = center is not None and center.instance_arn is not None
    principals = {(p.type, p.name): p.id for p in center.principals} if center else {}
    principal_names = {(p.type, p.id): p.name for p in center.principals} if center else {}
    set_arns = {p.name: p.arn for p in center.permission_sets} if center else {}
    set_names = {p.arn: p.name for p in center.permission_sets} if center else {}
    existing = set(center.assignments) if center else set()

    def members(principal_type: str, principal_id: str | None) -> list[str] | None:
        if principal_type != "GROUP" or principal_id is None:
            return None
        found = observed.identity_center_members.get(principal_id)
        return None if found is None else list(found)

    rows: list[dict[str, Any]] = []
    declared: set[tuple[str, str, str, str]] = set()
    for item in spec.assignments:
        account_id = ids.get(item.account)
        if item.wildcard and account_id == management:
            continue  # "*" met the management account listed by email, as the planner skips it
        principal_id = principals.get((item.principal_type, item.principal))
        arn = set_arns.get(item.permission_set)
        row: dict[str, Any] = {
            "principal_type": item.principal_type, "principal": item.principal,
            "principal_id": principal_id,
            "members": members(item.principal_type, principal_id),
            "permission_set": item.permission_set, "account": item.account,
            "account_id": account_id}
        if account_id is None:
            row["status"] = ACCOUNT_NOT_IN_ORGANIZATION
        elif usable and principal_id is None:
            row["status"] = PRINCIPAL_MISSING
        else:
            key = (account_id, arn or "", str(item.principal_type), principal_id or "")
            declared.add(key)
            found = arn is not None and principal_id is not None and any(
                (a.account_id, a.permission_set_arn, a.principal_type, a.principal_id) == key
                for a in existing)
            row["status"] = GRANTED if found else MISSING_IN_AWS
        rows.append(row)
    file_sets = {p.name for p in spec.permission_sets} | {a.permission_set
                                                           for a in spec.assignments}
    file_accounts = {i for i in ids.values() if i is not None}
    for assignment in sorted(existing, key=lambda a: (a.account_id, a.permission_set_arn,
                                                       a.principal_type, a.principal_id)):
        key = (assignment.account_id, assignment.permission_set_arn,
               str(assignment.principal_type), assignment.principal_id)
        set_name = set_names.get(assignment.permission_set_arn, assignment.permission_set_arn)
        if key in declared or (set_name not in file_sets
                               and assignment.account_id not in file_accounts):
            continue
        rows.append({
            "principal_type": assignment.principal_type,
            "principal": principal_names.get((assignment.principal_type,
                                              assignment.principal_id),
                                             assignment.principal_id),
            "principal_id": assignment.principal_id,
            "members": members(assignment.principal_type, assignment.principal_id),
            "permission_set": set_name,
            "account": names_by_id.get(assignment.account_id, assignment.account_id),
            "account_id": assignment.account_id, "status": NOT_IN_FILE,
            "apply_removes": spec.exclusive})
    return {"instance_arn": center.instance_arn if center else None,
            "error": center.error if center else "not read",
            "assignments": rows, "summary": _count(rows)}


def _undeclared(group: str, atoms: Mapping[GrantAtom, tuple[str, bool]],
                declared: set[tuple[str, str]], *, names_by_id: Mapping[str, str],
                group_in_file: bool = True) -> list[dict[str, Any]]:
    """Rows for what AWS grants the group beyond the file's (account, role) pairs, each with
    the policy that grants it and what apply does with it."""
    rows = []
    for atom in sorted(atoms):
        account_id, role, mfa, ips = atom
        if (account_id, role) in declared:
            continue
        where, owned = atoms[atom]
        rows.append({"group": group, "account": names_by_id.get(account_id, account_id),
                     "account_id": account_id, "role": role, "require_mfa": mfa,
                     "trust_requires_mfa": False, "source_ips": list(ips),
                     "aws_conditions": None, "status": NOT_IN_FILE, "granted_by": where,
                     "apply_removes": owned or not group_in_file})
    return rows


def reachable(document: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(IAM user, account id, role) triples the report says AWS lets through: AWS members of a
    group, for the grants AWS has (granted, differing conditions, or not in the file)."""
    live = {GRANTED, CONDITIONS_DIFFER, NOT_IN_FILE}
    members = {g["name"]: [m["name"] for m in g["members"]
                           if m["status"] in (MEMBER, MEMBER_NOT_IN_FILE)]
               for g in document["groups"]}
    return {(user, row["account_id"], row["role"]) for row in document["grants"]
            if row["status"] in live for user in members.get(row["group"], ())}


def conditions_text(row: Mapping[str, Any]) -> str:
    parts = []
    if row["require_mfa"]:
        parts.append("MFA (role trust)" if row.get("trust_requires_mfa") else "MFA")
    if row["source_ips"]:
        parts.append("from " + ", ".join(row["source_ips"]))
    return "; ".join(parts) or "none"


def members_text(group: Mapping[str, Any]) -> str:
    notes = {NOT_IN_AWS_GROUP: " (not in the AWS group)", NO_SUCH_USER: " (no such IAM user)",
             MEMBER_NOT_IN_FILE: " (in AWS, not in the file)"}
    return ", ".join(m["name"] + notes.get(m["status"], "") for m in group["members"]) or "none"


def status_text(row: Mapping[str, Any]) -> str:
    text = STATUS_TEXT.get(row["status"], row["status"])
    if row["status"] == NOT_IN_FILE:
        text += (f" ({row['granted_by']}; apply removes it)" if row["apply_removes"] else
                 f" ({row['granted_by']}, not orgsync's: apply keeps it)")
    if row["status"] == CONDITIONS_DIFFER and row.get("aws_conditions"):
        text += " (AWS: " + " | ".join(conditions_text({**c, "trust_requires_mfa": False})
                                       for c in row["aws_conditions"]) + ")"
    return text


def render_text(document: Mapping[str, Any]) -> str:
    """One block per group: its members, then one line per account and role. Names come from
    IAM and the identity store (a display name may hold a line break): escaped onto one line, so
    that they cannot fake rows (``reconciler.terminal``)."""
    document = printable_document(document, keep_lines=False)
    lines = [f"Access to the member accounts of organization {document['management_account_id']}"
             f" (from {document['source_file']}, checked against AWS)", ""]
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for row in document["grants"]:
        by_group.setdefault(row["group"], []).append(row)
    for group in document["groups"]:
        where = "" if group["in_aws"] else "  MISSING IN AWS"
        where = where if group["in_file"] else "  NOT IN THE FILE (apply deletes it)"
        lines.append(f"group {group['name']}{where}")
        lines.append(f"  members: {members_text(group)}")
        rows = by_group.get(group["name"], [])
        width_account = max((len(_account(r)) for r in rows), default=0)
        width_role = max((len(r["role"]) for r in rows), default=0)
        width_conditions = max((len(conditions_text(r)) for r in rows), default=0)
        for row in rows:
            lines.append(f"  {_account(row):<{width_account}}  {row['role']:<{width_role}}  "
                         f"{conditions_text(row):<{width_conditions}}  {status_text(row)}")
        if not rows:
            lines.append("  (no grants)")
        lines.append("")
    lines.append(_summary(document))
    if "identity_center" in document:
        lines += ["", *_identity_center_text(document["identity_center"])]
    return "\n".join(lines) + "\n"


def principal_text(row: Mapping[str, Any]) -> str:
    return f"{'group' if row['principal_type'] == 'GROUP' else 'user'} {row['principal']}"


def ic_members_text(row: Mapping[str, Any]) -> str:
    if row["principal_type"] != "GROUP":
        return "-"
    if row["members"] is None:
        return "not read"
    return ", ".join(row["members"]) or "none"


def ic_status_text(row: Mapping[str, Any]) -> str:
    text = STATUS_TEXT.get(row["status"], row["status"])
    if row["status"] == NOT_IN_FILE:
        text += (" (identity_center.exclusive: apply removes it)" if row["apply_removes"] else
                 " (unmanaged: apply keeps it)")
    return text


def _ic_summary(part: Mapping[str, Any]) -> str:
    summary = part["summary"]
    total = sum(summary.values())
    marked = total - summary.get(GRANTED, 0)
    return (f"{total} Identity Center assignment(s): {summary.get(GRANTED, 0)} as the file "
            f"says, {marked} marked." if total else "No Identity Center assignments.")


def _identity_center_text(part: Mapping[str, Any]) -> list[str]:
    """One block per principal (a group with its identity store members), then one line per
    account and permission set."""
    where = part["instance_arn"] or f"no instance: {part['error']}"
    lines = [f"IAM Identity Center ({where})", ""]
    by_principal: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in part["assignments"]:
        by_principal.setdefault((row["principal_type"], row["principal"]), []).append(row)
    for rows in by_principal.values():
        lines.append(principal_text(rows[0]))
        if rows[0]["principal_type"] == "GROUP":
            lines.append(f"  members: {ic_members_text(rows[0])}")
        width_account = max(len(_account(r)) for r in rows)
        width_set = max(len(r["permission_set"]) for r in rows)
        for row in rows:
            lines.append(f"  {_account(row):<{width_account}}  "
                         f"{row['permission_set']:<{width_set}}  {ic_status_text(row)}")
        lines.append("")
    lines.append(_ic_summary(part))
    return lines


def _account(row: Mapping[str, Any]) -> str:
    account_id = row["account_id"] or "no id yet"
    return row["account"] if row["account"] == account_id else f"{row['account']} ({account_id})"


def _summary(document: Mapping[str, Any]) -> str:
    summary = document["summary"]
    marked = sum(n for status, n in summary.items() if status != GRANTED)
    total = sum(summary.values())
    return (f"{total} grant(s): {summary.get(GRANTED, 0)} as the file says, {marked} marked."
            if total else "No grants.")


def _md(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[")
            .replace("]", "\\]").replace("<", "&lt;").replace("\n", " "))


# GitHub refuses comments over 65,536 characters; keep room for a CI wrapper's own text (the
# plan's markdown keeps the same budget, reconciler.render.markdown).
MARKDOWN_BUDGET = 60_000


def render_markdown(document: Mapping[str, Any]) -> str:
    """Tables that fit a pull-request comment or an access review: the groups with their
    members, then the grants, marked ones first. Past GitHub's comment limit the rest of the
    grants is left out, and a note says how many (every one is counted in the summary).
    Names are escaped onto one line as in ``render_text``."""
    document = printable_document(document, keep_lines=False)
    lines = [f"### Access to organization {document['management_account_id']}", "",
             _summary(document), "", "| Group | Members |", "|---|---|"]
    for group in document["groups"]:
        where = "" if group["in_aws"] else " **(MISSING IN AWS)**"
        where = where if group["in_file"] else " **(NOT IN THE FILE: apply deletes it)**"
        lines.append(f"| {_md(group['name'])}{where} | {_md(members_text(group))} |")
    lines += ["", "| Group | Account | Role | Conditions | Status |", "|---|---|---|---|---|"]
    lines += _budgeted_rows(
        document["grants"], used=sum(len(line) + 1 for line in lines) + 400,
        what="grants (as the file says, marked ones first)", status=status_text,
        cells=lambda row: (row["group"], _account(row), row["role"], conditions_text(row)))
    if "identity_center" in document:
        lines += _identity_center_markdown(document["identity_center"],
                                           used=sum(len(line) + 1 for line in lines))
    return "\n".join(lines) + "\n"


def _identity_center_markdown(part: Mapping[str, Any], *, used: int) -> list[str]:
    """The Identity Center assignments as one table, marked ones first, within what is left of
    the comment budget."""
    where = (f"instance `{part['instance_arn']}`" if part["instance_arn"]
             else f"no instance: {_md(str(part['error']))}")
    lines = ["", f"#### IAM Identity Center ({where})", "", _ic_summary(part), "",
             "| Principal | Members | Account | Permission set | Status |", "|---|---|---|---|---|"]
    return lines + _budgeted_rows(
        part["assignments"], used=used + sum(len(line) + 1 for line in lines) + 400,
        what="Identity Center assignments (marked ones first)", status=ic_status_text,
        cells=lambda row: (principal_text(row), ic_members_text(row), _account(row),
                           row["permission_set"]))


def _budgeted_rows(rows: list[Mapping[str, Any]], *, used: int, what: str,
                   status: Any, cells: Any) -> list[str]:
    """Table rows, marked (not granted) ones first, as many as fit in the comment budget after
    ``used`` characters, then a note of how many were left out."""
    lines: list[str] = []
    ordered = sorted(rows, key=lambda r: r["status"] == GRANTED)
    for row in ordered:
        text = _md(status(row))
        text = text if row["status"] == GRANTED else f"**{text}**"
        line = "| " + " | ".join(_md(str(c)) for c in cells(row)) + f" | {text} |"
        if used + len(line) + 1 > MARKDOWN_BUDGET:
            break
        lines.append(line)
        used += len(line) + 1
    left = len(ordered) - len(lines)
    if left:
        lines += ["", f"> [!NOTE]\n> {left} of {len(ordered)} {what} are not shown here, to "
                  "stay under GitHub's 65,536-character comment limit: `orgsync access` prints "
                  "all of them."]
    return lines
