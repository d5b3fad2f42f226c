"""Rendering for ``orgsync export``: a live organization as an accounts.yaml that plans to
no changes.

Adopting orgsync in an existing organization must not surprise anyone: the exported file states
exactly what is there (tags, OU paths, each access role's name, MFA condition and policies, the
groups under orgsync's path with their grants reversed from their IAM policies), so the first
``orgsync plan`` shows nothing to do. Where something cannot be said in the file (a role that
cannot be assumed, an inline policy that is drift, a grant to an account outside the
organization), the export says so in a YAML comment next to it, because that is where the plan
will show a change.

Reading (``reconciler.export.read``) goes through ``reconciler.observe``; this module is pure and
writes the YAML by hand, since PyYAML cannot emit comments. The text is then parsed back (PyYAML
for the exact data, ``reconciler.config.load_text`` for validity) before anyone sees it.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from reconciler import __version__
from reconciler.errors import OrgsyncError
from reconciler.jsontypes import JSON
from reconciler.model import (
    ADMINISTRATOR_ACCESS,
    CONTACT_TYPES,
    DEFAULT_ACCESS_ROLE,
    DEFAULT_GROUP_PATH,
    ROOT_FEATURES,
)
from reconciler.observed import (
    GONE_STATES,
    ObservedAccount,
    ObservedGroup,
    ObservedRole,
    ObservedState,
)
from reconciler.policy import (
    DEFAULT_PARTITION,
    INLINE_GRANT_POLICY,
    aws_managed_policy_in,
    effective_role_policies,
    grant_statement,
    is_managed_grant_policy_name,
    normalize,
    partition_of,
    trust_policy,
)
from reconciler.terminal import one_line

# The names tried, in order, for each member account's access role: AWS's default for
# CreateAccount, then the one AWS Control Tower gives enrolled accounts.
ROLE_CANDIDATES = (DEFAULT_ACCESS_ROLE, "AWSControlTowerExecution")
_MFA = {"Bool": {"aws:multifactorauthpresent": ["true"]}}
_PLAIN = re.compile(r"^[A-Za-z0-9_./@+$~-][A-Za-z0-9_ ./@+=:$~-]*$")


class ExportError(OrgsyncError):
    """The export could not be produced (or did not validate: a bug, reported as such)."""


@dataclass(frozen=True)
class GrantEntry:
    """One ``assume:`` item of a group: accounts sharing a role override and conditions."""

    accounts: tuple[str, ...]
    role: str | None  # None: each account's access role (the default)
    require_mfa: bool
    source_ips: tuple[str, ...]


@dataclass
class _Doc:
    """The YAML text being written, line by line (comments wrapped, lists kept in 100 columns)."""

    lines: list[str] = field(default_factory=list)

    def comment(self, text: str, indent: int = 0) -> None:
        """``text`` as ``#`` lines at ``indent``, wrapped to the project's 100 columns."""
        width = max(40, 100 - indent - 2)
        for line in text.splitlines() or [""]:
            lead = len(line) - len(line.lstrip(" "))
            wrapped = textwrap.wrap(one_line(line), width=width - lead,
                                    break_on_hyphens=False, break_long_words=False) or [""]
            for part in wrapped:
                self.lines.append((" " * indent + "# " + " " * lead + part).rstrip())

    def add(self, line: str) -> None:
        self.lines.append(line)

    def add_list(self, head: str, values: Sequence[str], *, indent: int) -> None:
        """``head: [a, b]`` when it fits in 100 columns, else a block list under ``head:``.

        ``head`` may start with ``- `` (the first key of a list item); ``indent`` is where the
        item's keys start."""
        line = " " * (indent - (2 if head.startswith("- ") else 0)) + f"{head}: "
        flow = flow_list(values)
        if len(line + flow) <= 100 or not values:
            self.lines.append(line + flow)
            return
        self.lines.append(line.rstrip())
        self.lines.extend(" " * (indent + 2) + f"- {scalar(v)}" for v in values)

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


def scalar(value: JSON) -> str:
    """A YAML scalar for ``value`` that reads back as exactly ``value`` (also inside ``[...]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if (isinstance(value, str) and value and _PLAIN.match(value) and value == value.strip()
            and ": " not in value and " #" not in value and not value.endswith(":")):
        try:
            if yaml.safe_load(f"[{value}]") == [value] and yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(str(value), ensure_ascii=False)


def quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def flow_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


# ----------------------------------------------------------------------------------------------
# What the live state says


def file_state(account: ObservedAccount) -> str:
    return "closed" if account.state in GONE_STATES else "active"


def usual_role_name(observed: ObservedState) -> str:
    """The access role name most member accounts have (ties: the AWS default first)."""
    counts: dict[str, int] = {}
    for role in observed.roles.values():
        if role.status == "ok":
            counts[role.name] = counts.get(role.name, 0) + 1
    if not counts:
        return DEFAULT_ACCESS_ROLE
    order = {name: i for i, name in enumerate(ROLE_CANDIDATES)}
    return min(counts, key=lambda n: (-counts[n], order.get(n, len(order)), n))


def role_mfa(role: ObservedRole, *, management_account_id: str,
             partition: str = DEFAULT_PARTITION) -> tuple[bool, bool]:
    """(require_mfa, the trust policy is exactly what orgsync would write with it)."""
    observed = normalize(role.trust_policy) if role.trust_policy is not None else None
    for require_mfa in (False, True):
        written = trust_policy(management_account_id, require_mfa=require_mfa, partition=partition)
        if observed == normalize(written):
            return require_mfa, True
    statements = (observed or {}).get("Statement", [])
    return any(s.get("Condition") == _MFA for s in statements), False


def export_names(observed: ObservedState) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(account name by id for accounts with a unique name, ids by name for duplicated names).

    AWS allows two accounts with the same name; the file does not. Such accounts are left out of
    the export (unmanaged: never touched) rather than renamed behind anyone's back.
    """
    by_name: dict[str, list[str]] = {}
    for account in observed.accounts:
        by_name.setdefault(account.name, []).append(account.id)
    names = {ids[0]: name for name, ids in by_name.items() if len(ids) == 1}
    duplicates = {name: sorted(ids) for name, ids in by_name.items() if len(ids) > 1}
    return names, duplicates


def role_names(observed: ObservedState, *, usual: str) -> dict[str, str]:
    """The access role name each member account gets in the file, by account id."""
    result: dict[str, str] = {}
    for account in observed.accounts:
        role = observed.roles.get(account.id)
        result[account.id] = role.name if role is not None and role.status == "ok" else usual
    return result


def _statements(document: Mapping[str, JSON] | None) -> list[dict[str, JSON]]:
    normalized = normalize(document)
    return list(normalized["Statement"]) if normalized else []


def reverse_grants(
    group: ObservedGroup,
    observed: ObservedState,
    *,
    names: Mapping[str, str],
    roles: Mapping[str, str],
) -> tuple[list[GrantEntry], list[str]]:
    """The ``assume:`` entries that give ``group`` its grant policies, and notes on what cannot
    be expressed (the plan will change those parts)."""
    notes: list[str] = []
    # (document, written by orgsync?): grants in policies of any name are read back, so that a
    # group built by another tool exports with its access (orgsync adopts those grants into its
    # own policy and never deletes the other tool's)
    documents: list[tuple[Mapping[str, JSON], bool]] = []
    for policy_name, document in sorted(group.inline_policies.items()):
        if policy_name == INLINE_GRANT_POLICY or policy_name.startswith(INLINE_GRANT_POLICY + "-"):
            documents.append((document, True))
        else:
            documents.append((document, False))
            notes.append(f"inline policy {policy_name} is not orgsync's: its grants are listed "
                         "here; orgsync keeps the policy as it is")
    managed = {p.arn: p for p in observed.managed_policies}
    for arn in group.attached_policies:
        policy = managed.get(arn)
        if policy is not None and is_managed_grant_policy_name(group.name, policy.name):
            documents.append((policy.document, True))
        elif policy is not None:
            documents.append((policy.document, False))
            notes.append(f"attached policy {arn} is not orgsync's: its grants are listed here; "
                         "orgsync leaves it attached")
        else:
            notes.append(f"attached policy {arn} is not orgsync's: orgsync leaves it attached")
    closed = {a.id for a in observed.accounts if file_state(a) == "closed"}
    management = observed.organization.management_account_id
    targets: set[tuple[str, str | None, bool, tuple[str, ...]]] = set()
    for document, owned in documents:
        for statement in _statements(document):
            parsed = _grant_statement(statement)
            if parsed is None:
                if owned:
                    notes.append("statement not expressible as a grant: plan will replace it: "
                                 + json.dumps(statement, sort_keys=True))
                continue
            pairs, require_mfa, source_ips = parsed
            for account_id, role in pairs:
                name = names.get(account_id)
                if name is None or account_id in closed or account_id == management:
                    why = ("is not an active member account in this file"
                           if account_id != management else "is the management account")
                    notes.append(f"grant of role {role} in {account_id} dropped: the account "
                                 f"{why}")
                    continue
                override = None if roles.get(account_id) == role else role
                targets.add((name, override, require_mfa, source_ips))
    buckets: dict[tuple[str | None, bool, tuple[str, ...]], list[str]] = {}
    for name, override, require_mfa, source_ips in targets:
        buckets.setdefault((override, require_mfa, source_ips), []).append(name)
    entries = [
        GrantEntry(accounts=tuple(sorted(accounts)), role=key[0], require_mfa=key[1],
                   source_ips=key[2])
        for key, accounts in buckets.items()
    ]
    entries.sort(key=lambda e: (e.role or "", e.require_mfa, e.source_ips, e.accounts))
    return entries, notes


def granted_roles(observed: ObservedState) -> dict[str, set[str]]:
    """Role names the groups' grant policies name, by account id: where an access role with an
    unusual name may be found."""
    documents: list[Mapping[str, JSON]] = []
    managed = {p.arn: p for p in observed.managed_policies}
    for group in observed.groups:
        documents.extend(group.inline_policies.values())
        documents.extend(managed[arn].document for arn in group.attached_policies
                         if arn in managed)
    found: dict[str, set[str]] = {}
    for document in documents:
        for statement in _statements(document):
            parsed = _grant_statement(statement)
            for account_id, role in parsed[0] if parsed else ():
                found.setdefault(account_id, set()).add(role)
    return found


_grant_statement = grant_statement


# ----------------------------------------------------------------------------------------------
# Rendering


def render_export(observed: ObservedState, *, generated_at: str = "") -> str:
    """The accounts.yaml text for ``observed`` (read with every account named, see module doc)."""
    doc = _Doc()
    data: dict[str, JSON] = {}
    organization = observed.organization
    management = organization.management_account_id
    usual = usual_role_name(observed)
    names, duplicates = export_names(observed)
    roles = role_names(observed, usual=usual)
    when = f" on {generated_at}" if generated_at else ""
    doc.comment(f"Exported by orgsync {__version__} from organization {organization.id} "
                f"(management account {management}){when}.")
    doc.comment("`orgsync plan` against this organization shows no changes except where a "
                "comment says otherwise.")
    doc.add("version: 1")
    data["version"] = 1
    doc.add("")
    doc.add("organization:")
    doc.add(f"  management_account_id: {quoted(management)}")
    doc.add(f"  access_role: {scalar(usual)}")
    data["organization"] = {"management_account_id": management, "access_role": usual}
    if observed.stack_set is not None and observed.stack_set.exists:
        # orgsync's stack set deploys the access role of invited accounts (docs/stacksets.md)
        doc.add("  invited_bootstrap: stackset")
        data["organization"]["invited_bootstrap"] = "stackset"
    doc.add("")
    _render_root_credentials(doc, data, observed, names=names)
    doc.add("")
    accounts = sorted(
        (a for a in observed.accounts if a.id in names),
        key=lambda a: (a.id != management, a.ou_path, a.name.lower(), a.id),
    )
    for name, ids in sorted(duplicates.items()):
        doc.comment(f"Not exported: {len(ids)} accounts are named {name!r} ({', '.join(ids)}) "
                    "and names must be unique in this file. They stay unmanaged (never touched);")
        doc.comment("rename all but one in AWS and export again, or add them here under new "
                    "names (a rename).")
    used = {p for a in accounts for p in _ancestors(a.ou_path)}
    empty = [ou.path for ou in observed.ous if ou.path not in used]
    if empty:
        doc.comment("OUs without exported accounts (the file describes OUs through its accounts; "
                    "these stay as they are, reported as unmanaged): " + ", ".join(empty))
    data["accounts"] = []
    doc.add("accounts:" if accounts else "accounts: []")
    for index, account in enumerate(accounts):
        if index:
            doc.add("")
        data["accounts"].append(
            _render_account(doc, account, observed, usual=usual, role_name=roles[account.id]))
    doc.add("")
    _render_groups(doc, data, observed, names=names, roles=roles)
    from reconciler.export.identity_center import render_identity_center  # it imports this module

    render_identity_center(doc, data, observed, names=names)
    text = doc.text()
    if yaml.safe_load(text) != data:
        raise ExportError("the exported YAML does not read back as what was meant (an orgsync "
                          "bug, please report it)")
    return text


def _ancestors(path: str) -> list[str]:
    """``/A/B`` -> ``["/A", "/A/B"]`` (the root ``/`` has none)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _render_root_credentials(doc: _Doc, data: dict[str, JSON], observed: ObservedState, *,
                             names: Mapping[str, str]) -> None:
    section: dict[str, JSON] = {}
    doc.add("root_credentials:")
    if observed.root_features is None:
        doc.comment("features: not managed here: trusted access for IAM (iam.amazonaws.com) is "
                    "off, so centralized root access is unavailable.", 2)
    else:
        features = sorted(observed.root_features)
        doc.add(f"  features: {flow_list(features)}")
        section["features"] = features
    doc.add("  default: unmanaged")
    section["default"] = "unmanaged"
    data["root_credentials"] = section
    members = [a for a in observed.accounts
               if a.id != observed.organization.management_account_id
               and file_state(a) == "active"]
    if not members:
        return
    if not any(a.id in observed.root_credentials for a in members):
        enabled = observed.root_features
        missing = [f for f in ROOT_FEATURES if enabled is not None and f not in enabled]
        if enabled is None:
            why = "IAM has no trusted access"
        elif missing:
            why = (f"organization features off: {', '.join(missing)}; audit sessions "
                   "(sts:AssumeRoot) need them")
        else:
            why = "no audit session"
        doc.comment(f"Root credentials of the member accounts: not read ({why}).", 2)
        return
    doc.comment("Root credentials of each member account now (unmanaged: orgsync only reports):",
                2)
    for account in sorted(members, key=lambda a: (names.get(a.id, a.name), a.id)):
        status = observed.root_credentials.get(account.id)
        label = f"{names.get(account.id, account.name)} ({account.id})"
        if status is None:
            text = "not read"
        elif status.error:
            text = f"not read: {status.error}"
        else:
            present = [what for what, flag in (("password", status.password),
                                               ("access keys", status.access_keys),
                                               ("signing certificates",
                                                status.signing_certificates),
                                               ("MFA", status.mfa)) if flag]
            text = ", ".join(present) if present else "none"
        doc.comment(f"  {label}: {text}", 2)


def _render_account(doc: _Doc, account: ObservedAccount, observed: ObservedState, *,
                    usual: str, role_name: str) -> dict[str, JSON]:
    management = observed.organization.management_account_id
    state = file_state(account)
    item: dict[str, JSON] = {}
    if account.id == management:
        doc.comment("The management account: it has no access role, and root_credentials never "
                    "apply to it.", 2)
    doc.add(f"  - name: {scalar(account.name)}")
    doc.add(f"    id: {quoted(account.id)}")
    doc.add(f"    email: {scalar(account.email)}")
    source = "invited" if account.joined_method == "INVITED" else "created"
    doc.add(f"    source: {source}")
    doc.add(f"    ou: {scalar(account.ou_path)}")
    item.update(name=account.name, id=account.id, email=account.email, source=source,
                ou=account.ou_path)
    tags = dict(sorted((account.tags or {}).items()))
    if account.tags is None:
        if state == "active":
            doc.comment("tags could not be read: writing {} would remove them, so they are "
                        "left unmanaged", 4)
    elif not tags:
        doc.add("    tags: {}")
        item["tags"] = {}
    else:
        doc.add("    tags:")
        for key, value in tags.items():
            doc.add(f"      {scalar(key)}: {scalar(value)}")
        item["tags"] = tags
    if state == "closed":
        doc.add("    state: closed")
        item["state"] = "closed"
        doc.comment(f"AWS state {account.state}", 4)
    if state != "closed":
        _render_settings(doc, item, account.id, observed)
    if account.id == management or state == "closed":
        return item
    role = observed.roles.get(account.id)
    access_role: dict[str, JSON] = {}
    notes: list[str] = []
    if role is None or role.status != "ok":
        tried = ", ".join(dict.fromkeys((usual, *ROLE_CANDIDATES)))
        why = f" ({role.error})" if role is not None and role.error else ""
        notes.append(f"access role: none of {tried} (nor a role a group grant names) could be "
                     f"assumed{why}. Another name? export again with --access-role NAME.")
        notes.append("orgsync needs one: `orgsync plan` shows a bootstrap step for "
                     f"{usual} here" + (" (add bootstrap_profile: to create it)"
                                        if source == "invited" else "") + ".")
    else:
        if role.name != usual:
            notes.append(f"access role is named {role.name}, not the organization's usual "
                         f"{usual}.")
            access_role["name"] = role.name
        partition = partition_of(observed.organization.arn)
        require_mfa, exact = role_mfa(role, management_account_id=management, partition=partition)
        if require_mfa:
            access_role["require_mfa"] = True
        if not exact:
            notes.append("the role's trust policy is not the one orgsync writes (it trusts "
                         "other principals or has other conditions): plan will replace it.")
        policies, drift = effective_role_policies(role.attached_policies, role.inline_policies,
                                                  partition=partition)
        if drift:
            notes.append(f"inline policies {', '.join(sorted(drift))} on the role cannot be "
                         "described here: plan will delete them.")
        if tuple(policies) != (aws_managed_policy_in(ADMINISTRATOR_ACCESS, partition=partition),):
            access_role["policies"] = list(policies)
    for note in notes:
        doc.comment(note, 4)
    if access_role:
        doc.add("    access_role:")
        if "name" in access_role:
            doc.add(f"      name: {scalar(access_role['name'])}")
        if "require_mfa" in access_role:
            doc.add("      require_mfa: true")
        if "policies" in access_role:
            if access_role["policies"]:
                doc.add("      policies:")
                for arn in access_role["policies"]:
                    doc.add(f"        - {scalar(arn)}")
            else:
                doc.add("      policies: []")
        item["access_role"] = access_role
    return item


def _render_settings(doc: _Doc, item: dict[str, JSON], account_id: str,
                     observed: ObservedState) -> None:
    """The account's alias and alternate contacts as it has them (docs/account-settings.md): an
    alias or contact type it does not have is left out (not managed), never written as null, so
    that plan changes nothing; what could not be read is a comment."""
    alias = observed.aliases.get(account_id)
    if alias is not None and alias.error is not None:
        doc.comment(f"alias could not be read ({one_line(alias.error)}): left unmanaged", 4)
    elif alias is not None and alias.alias:
        doc.add(f"    alias: {scalar(alias.alias)}")
        item["alias"] = alias.alias
    contacts = observed.alternate_contacts.get(account_id)
    if contacts is None and observed.trusted_access_account is False \
            and account_id != observed.organization.management_account_id:
        doc.comment("alternate contacts could not be read: trusted access for "
                    "account.amazonaws.com is off (left unmanaged)", 4)
    elif contacts is not None and contacts.error is not None:
        doc.comment(f"alternate contacts could not be read ({one_line(contacts.error)}): "
                    "left unmanaged", 4)
    elif contacts is not None:
        present = {kind: dict(value) for kind in CONTACT_TYPES
                   if (value := contacts.contacts.get(kind))}
        if present:
            doc.add("    contacts:")
            for kind, value in present.items():
                doc.add(f"      {kind}:")
                for field in ("name", "title", "email", "phone"):
                    doc.add(f"        {field}: {scalar(value.get(field, ''))}")
            item["contacts"] = present


def _render_groups(doc: _Doc, data: dict[str, JSON], observed: ObservedState, *,
                   names: Mapping[str, str], roles: Mapping[str, str]) -> None:
    groups = sorted(observed.groups, key=lambda g: (g.path != DEFAULT_GROUP_PATH, g.path,
                                                    g.name.lower()))
    data["groups"] = []
    doc.comment(f"IAM groups under orgsync's path {DEFAULT_GROUP_PATH} in the management account "
                "(groups elsewhere are not orgsync's and are never touched).")
    doc.add("groups:" if groups else "groups: []")
    for index, group in enumerate(groups):
        if index:
            doc.add("")
        entries, notes = reverse_grants(group, observed, names=names, roles=roles)
        item: dict[str, JSON] = {"name": group.name}
        doc.add(f"  - name: {scalar(group.name)}")
        if group.path != DEFAULT_GROUP_PATH:
            doc.add(f"    path: {scalar(group.path)}")
            item["path"] = group.path
        for note in notes:
            doc.comment(note, 4)
        members = sorted(group.members)
        doc.add_list("members", members, indent=4)
        item["members"] = members
        grants: list[dict[str, JSON]] = []
        doc.add("    assume:" if entries else "    assume: []")
        for entry in entries:
            grant: dict[str, JSON] = {"accounts": list(entry.accounts)}
            doc.add_list("- accounts", entry.accounts, indent=8)
            if entry.role is not None:
                doc.add(f"        role: {scalar(entry.role)}")
                grant["role"] = entry.role
            if entry.require_mfa:
                doc.add("        require_mfa: true")
                grant["require_mfa"] = True
            if entry.source_ips:
                doc.add_list("source_ips", entry.source_ips, indent=8)
                grant["source_ips"] = list(entry.source_ips)
            grants.append(grant)
        item["assume"] = grants
        data["groups"].append(item)


def check_round_trip(text: str, *, filename: str) -> None:
    """Parse ``text`` back with the project's loader; a failure is an orgsync bug."""
    from reconciler.config import load_text
    from reconciler.errors import ConfigError

    try:
        load_text(text, filename=filename)
    except ConfigError as error:
        problems = "; ".join(str(d) for d in error.diagnostics[:5])
        raise ExportError(f"the exported file does not validate (an orgsync bug, please report "
                          f"it): {problems}") from error
