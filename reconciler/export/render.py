"""Rendering for ``orgsync export``: a live organization as an accounts.yaml that plans to
no changes.

Adopting orgsync in an existing organization must not surprise anyone: the exported file states
exactly what is there (tags, OU paths, each access role's name, MFA condition and policies, the
groups under orgsync's path with their grants reversed from their IAM policies), so the first
``orgsync plan`` shows nothing to do. Where something cannot be said in the file (a role that
cannot be assumed, an inline policy that is drift, a grant to an account outside the
organization), the export says so in a YAML comment next to it, because that is where the plan
will show a change.

Reading (``reconciler.export.read``) goes through ``reconciler.observe``; this module is pure. It
builds the file once as a document (``Section``: keys, comments and empty lines in order) and
renders its text from that, by hand since PyYAML cannot emit comments; the text is then parsed
back and compared with the document's data (PyYAML), and checked with
``reconciler.config.load_text``, before anyone sees it.
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


@dataclass(frozen=True)
class Note:
    """A comment at its place in the document (wrapped to the project's 100 columns)."""

    text: str


@dataclass(frozen=True)
class Blank:
    """An empty line between parts of the document."""


@dataclass(frozen=True)
class Key:
    """``name: value`` in a mapping. ``value`` is a scalar, a ``Section`` (a mapping), a list of
    ``Section``s (list items; ``spaced``: an empty line between them) or a list of scalars
    (``style``: ``flow`` always ``[a, b]``, ``block`` always ``- a`` lines, ``auto`` on one line
    when it fits in 100 columns). A ``Section`` of scalars with ``style`` ``flow``, or each one of
    a list of them, is written on one line as ``{a: b, c: d}``."""

    name: str
    value: JSON
    style: str = "auto"
    spaced: bool = False


@dataclass
class Section:
    """A mapping of the exported document with its comments and empty lines, in order: the data
    (``data()``) and the text (``render()``) both come from it, so they cannot disagree."""

    items: list[Key | Note | Blank] = field(default_factory=list)

    def key(self, name: str, value: JSON, *, style: str = "auto", spaced: bool = False) -> None:
        self.items.append(Key(name, value, style, spaced))

    def note(self, text: str) -> None:
        self.items.append(Note(text))

    def blank(self) -> None:
        self.items.append(Blank())

    def data(self) -> dict[str, JSON]:
        return {item.name: _data(item.value) for item in self.items if isinstance(item, Key)}

    def render(self) -> str:
        lines: list[str] = []
        _write_section(lines, self, indent=0, dash=False)
        return "\n".join(lines).rstrip("\n") + "\n"


def _data(value: JSON) -> JSON:
    if isinstance(value, Section):
        return value.data()
    if isinstance(value, list):
        return [_data(v) for v in value]
    return value


def _comment(lines: list[str], text: str, indent: int) -> None:
    """``text`` as ``#`` lines at ``indent``, wrapped to the project's 100 columns."""
    width = max(40, 100 - indent - 2)
    for line in text.splitlines() or [""]:
        lead = len(line) - len(line.lstrip(" "))
        wrapped = textwrap.wrap(one_line(line), width=width - lead,
                                break_on_hyphens=False, break_long_words=False) or [""]
        for part in wrapped:
            lines.append((" " * indent + "# " + " " * lead + part).rstrip())


def _write_section(lines: list[str], section: Section, *, indent: int, dash: bool) -> None:
    """The keys of ``section`` at ``indent``; ``dash``: it is a list item (``- `` before its
    first key, and a comment before that key at the dash's column)."""
    first = dash
    for item in section.items:
        if isinstance(item, Blank):
            lines.append("")
        elif isinstance(item, Note):
            _comment(lines, item.text, indent - 2 if first else indent)
        else:
            prefix = " " * (indent - 2) + "- " if first else " " * indent
            first = False
            _write_key(lines, item, prefix=prefix, indent=indent)


def _write_key(lines: list[str], key: Key, *, prefix: str, indent: int) -> None:
    head = f"{prefix}{scalar(key.name)}:"
    value = key.value
    if isinstance(value, Section):
        if not value.items or key.style == "flow":
            lines.append(f"{head} {_flow_mapping(value)}")
            return
        lines.append(head)
        _write_section(lines, value, indent=indent + 2, dash=False)
    elif isinstance(value, list) and any(isinstance(v, Section) for v in value):
        lines.append(head)
        if key.style == "flow":
            lines.extend(" " * (indent + 2) + f"- {_flow_mapping(v)}" for v in value)
            return
        for index, item in enumerate(value):
            if index and key.spaced:
                lines.append("")
            _write_section(lines, item, indent=indent + 4, dash=True)
    elif isinstance(value, list):
        flow = flow_list(value)
        if not value or key.style == "flow" or (
                key.style == "auto" and len(f"{head} {flow}") <= 100):
            lines.append(f"{head} {flow}")
            return
        lines.append(head)
        lines.extend(" " * (indent + 2) + f"- {scalar(v)}" for v in value)
    else:
        lines.append(f"{head} {scalar(value)}")


def _flow_mapping(section: Section) -> str:
    """``{a: b, c: d}``: ``section`` holds scalar keys only (no comments)."""
    parts: list[str] = []
    for item in section.items:
        if not isinstance(item, Key) or isinstance(item.value, (Section, list)):
            raise ExportError(f"{item!r} cannot be written in a flow mapping (an orgsync bug)")
        parts.append(f"{scalar(item.name)}: {scalar(item.value)}")
    return "{" + ", ".join(parts) + "}"


def scalar(value: JSON) -> str:
    """A YAML scalar for ``value`` that reads back as exactly ``value`` (also inside ``[...]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
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
    document = export_document(observed, generated_at=generated_at)
    text = document.render()
    if yaml.safe_load(text) != document.data():
        raise ExportError("the exported YAML does not read back as what was meant (an orgsync "
                          "bug, please report it)")
    return text


def export_document(observed: ObservedState, *, generated_at: str = "") -> Section:
    """The exported file as a document: its data, with the comments where they belong."""
    doc = Section()
    organization = observed.organization
    management = organization.management_account_id
    usual = usual_role_name(observed)
    names, duplicates = export_names(observed)
    roles = role_names(observed, usual=usual)
    when = f" on {generated_at}" if generated_at else ""
    doc.note(f"Exported by orgsync {__version__} from organization {organization.id} "
             f"(management account {management}){when}.")
    doc.note("`orgsync plan` against this organization shows no changes except where a "
             "comment says otherwise.")
    doc.key("version", 1)
    doc.blank()
    section = Section()
    section.key("management_account_id", management)
    section.key("access_role", usual)
    if observed.stack_set is not None and observed.stack_set.exists:
        # orgsync's stack set deploys the access role of invited accounts (docs/stacksets.md)
        section.key("invited_bootstrap", "stackset")
    doc.key("organization", section)
    doc.blank()
    doc.key("root_credentials", _root_credentials(observed, names=names))
    doc.blank()
    accounts = sorted(
        (a for a in observed.accounts if a.id in names),
        key=lambda a: (a.id != management, a.ou_path, a.name.lower(), a.id),
    )
    for name, ids in sorted(duplicates.items()):
        doc.note(f"Not exported: {len(ids)} accounts are named {name!r} ({', '.join(ids)}) "
                 "and names must be unique in this file. They stay unmanaged (never touched);")
        doc.note("rename all but one in AWS and export again, or add them here under new "
                 "names (a rename).")
    used = {p for a in accounts for p in _ancestors(a.ou_path)}
    empty = [ou.path for ou in observed.ous if ou.path not in used]
    if empty:
        doc.note("OUs without exported accounts (the file describes OUs through its accounts; "
                 "these stay as they are, reported as unmanaged): " + ", ".join(empty))
    doc.key("accounts", [_account(account, observed, usual=usual, role_name=roles[account.id])
                         for account in accounts], spaced=True)
    doc.blank()
    doc.note(f"IAM groups under orgsync's path {DEFAULT_GROUP_PATH} in the management account "
             "(groups elsewhere are not orgsync's and are never touched).")
    doc.key("groups", _groups(observed, names=names, roles=roles), spaced=True)
    from reconciler.export.identity_center import identity_center  # it imports this module

    center = identity_center(observed, names=names)
    if center is not None:
        doc.blank()
        doc.note("IAM Identity Center: permission sets and who gets them in which accounts "
                 "(groups and users come from the identity source).")
        doc.key("identity_center", center)
    return doc


def _ancestors(path: str) -> list[str]:
    """``/A/B`` -> ``["/A", "/A/B"]`` (the root ``/`` has none)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _root_credentials(observed: ObservedState, *, names: Mapping[str, str]) -> Section:
    section = Section()
    if observed.root_features is None:
        section.note("features: not managed here: trusted access for IAM (iam.amazonaws.com) is "
                     "off, so centralized root access is unavailable.")
    else:
        section.key("features", sorted(observed.root_features), style="flow")
    section.key("default", "unmanaged")
    members = [a for a in observed.accounts
               if a.id != observed.organization.management_account_id
               and file_state(a) == "active"]
    if not members:
        return section
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
        section.note(f"Root credentials of the member accounts: not read ({why}).")
        return section
    section.note("Root credentials of each member account now (unmanaged: orgsync only reports):")
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
        section.note(f"  {label}: {text}")
    return section


def _account(account: ObservedAccount, observed: ObservedState, *, usual: str,
             role_name: str) -> Section:
    management = observed.organization.management_account_id
    state = file_state(account)
    item = Section()
    if account.id == management:
        item.note("The management account: it has no access role, and root_credentials never "
                  "apply to it.")
    source = "invited" if account.joined_method == "INVITED" else "created"
    item.key("name", account.name)
    item.key("id", account.id)
    item.key("email", account.email)
    item.key("source", source)
    item.key("ou", account.ou_path)
    if account.tags is None:
        if state == "active":
            item.note("tags could not be read: writing {} would remove them, so they are "
                      "left unmanaged")
    else:
        tags = Section()
        for key, value in sorted(account.tags.items()):
            tags.key(key, value)
        item.key("tags", tags)
    if state == "closed":
        item.key("state", "closed")
        item.note(f"AWS state {account.state}")
    if state != "closed":
        _settings(item, account.id, observed)
    if account.id == management or state == "closed":
        return item
    role = observed.roles.get(account.id)
    access_role = Section()
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
            access_role.key("name", role.name)
        partition = partition_of(observed.organization.arn)
        require_mfa, exact = role_mfa(role, management_account_id=management, partition=partition)
        if require_mfa:
            access_role.key("require_mfa", True)
        if not exact:
            notes.append("the role's trust policy is not the one orgsync writes (it trusts "
                         "other principals or has other conditions): plan will replace it.")
        policies, drift = effective_role_policies(role.attached_policies, role.inline_policies,
                                                  partition=partition)
        if drift:
            notes.append(f"inline policies {', '.join(sorted(drift))} on the role cannot be "
                         "described here: plan will delete them.")
        if tuple(policies) != (aws_managed_policy_in(ADMINISTRATOR_ACCESS, partition=partition),):
            access_role.key("policies", list(policies), style="block")
    for note in notes:
        item.note(note)
    if access_role.items:
        item.key("access_role", access_role)
    return item


def _settings(item: Section, account_id: str, observed: ObservedState) -> None:
    """The account's alias and alternate contacts as it has them (docs/account-settings.md): an
    alias or contact type it does not have is left out (not managed), never written as null, so
    that plan changes nothing; what could not be read is a comment."""
    alias = observed.aliases.get(account_id)
    if alias is not None and alias.error is not None:
        item.note(f"alias could not be read ({one_line(alias.error)}): left unmanaged")
    elif alias is not None and alias.alias:
        item.key("alias", alias.alias)
    contacts = observed.alternate_contacts.get(account_id)
    if contacts is None and observed.trusted_access_account is False \
            and account_id != observed.organization.management_account_id:
        item.note("alternate contacts could not be read: trusted access for "
                  "account.amazonaws.com is off (left unmanaged)")
    elif contacts is not None and contacts.error is not None:
        item.note(f"alternate contacts could not be read ({one_line(contacts.error)}): "
                  "left unmanaged")
    elif contacts is not None:
        present = Section()
        for kind in CONTACT_TYPES:
            value = contacts.contacts.get(kind)
            if value:
                contact = Section()
                for name in ("name", "title", "email", "phone"):
                    contact.key(name, value.get(name, ""))
                present.key(kind, contact)
        if present.items:
            item.key("contacts", present)


def _groups(observed: ObservedState, *, names: Mapping[str, str],
            roles: Mapping[str, str]) -> list[Section]:
    groups = sorted(observed.groups, key=lambda g: (g.path != DEFAULT_GROUP_PATH, g.path,
                                                    g.name.lower()))
    items: list[Section] = []
    for group in groups:
        entries, notes = reverse_grants(group, observed, names=names, roles=roles)
        item = Section()
        item.key("name", group.name)
        if group.path != DEFAULT_GROUP_PATH:
            item.key("path", group.path)
        for note in notes:
            item.note(note)
        item.key("members", sorted(group.members))
        grants: list[Section] = []
        for entry in entries:
            grant = Section()
            grant.key("accounts", list(entry.accounts))
            if entry.role is not None:
                grant.key("role", entry.role)
            if entry.require_mfa:
                grant.key("require_mfa", True)
            if entry.source_ips:
                grant.key("source_ips", list(entry.source_ips))
            grants.append(grant)
        item.key("assume", grants)
        items.append(item)
    return items


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
