"""AWS CLI profiles and console switch-role links for the member accounts in accounts.yaml.

People who adopt orgsync want to get into every account quickly, and the AWS CLI already knows how
to assume a role from a source profile. This module turns a ``DesiredState`` plus the accounts' ids
into ``[profile NAME]`` sections (or switch-role links), and rewrites the user's AWS config file
inside one marked block that it owns, so re-running it never duplicates a profile and the profiles
of accounts that have left the file disappear (which SSO profile generators never do).

Everything here is offline and pure except ``write_config_block``, which edits one file
atomically. Finding the ids of accounts the file does not give an ``id`` for is the command's job
(``reconciler.commands.profiles``), because that needs AWS.
"""

from __future__ import annotations

import os
import re
import stat
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from reconciler.errors import OrgsyncError
from reconciler.model import AccountSpec, DesiredState
from reconciler.outfile import replace_file
from reconciler.terminal import one_line

BLOCK_BEGIN = "# BEGIN orgsync managed profiles"
BLOCK_END = "# END orgsync managed profiles"
DEFAULT_REGION = "us-east-1"
SWITCH_ROLE_URL = "https://signin.aws.amazon.com/switchrole"
# The console's sign-in host differs per partition (an aws-cn or aws-us-gov role cannot be
# switched to from the commercial console).
_SWITCH_ROLE_URLS = {
    "aws": SWITCH_ROLE_URL,
    "aws-cn": "https://signin.amazonaws.cn/switchrole",
    "aws-us-gov": "https://signin.amazonaws-us-gov.com/switchrole",
}
_SESSION_NAME_MAX = 64
_DISPLAY_NAME_MAX = 64
_SECTION = re.compile(r"^\s*\[\s*(?:profile\s+)?([^\]]*?)\s*\]\s*$")


class ConfigFileError(OrgsyncError):
    """The AWS config file cannot be updated safely (e.g. an unmatched marker, a name clash)."""


@dataclass(frozen=True)
class AccountProfile:
    """One (member account, role) pair as the AWS CLI and the console will see it."""

    profile: str  # the AWS CLI profile name (``--name-template`` with slugged values)
    account_name: str
    account_id: str
    role_name: str
    partition: str = "aws"
    display: str = ""  # the console's display name (the same template, values as written)
    ou: str = "/"
    tags: Mapping[str, str] | None = None
    access_role: bool = True  # the account's access role (else a role a group grants)
    alias: str | None = None  # the account's IAM alias, where the file sets one
    require_mfa: bool = False  # the role's trust or the group's grant needs an MFA session

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.role_name}"

    @property
    def display_name(self) -> str:
        return self.display or self.account_name


# ``--name-template`` placeholders, documented in docs/profiles.md.
PLACEHOLDERS = ("account", "role", "account_id", "ou", "alias")
DEFAULT_ACCESS_TEMPLATE = "{account}"
DEFAULT_ROLE_TEMPLATE = "{account}-{role}"
# Without --name-template the console's display names use the account's alias where the file
# sets one (what the console itself shows for an aliased account); profile names keep the
# account name, so adding an alias never renames anybody's CLI profiles.
DEFAULT_ACCESS_DISPLAY = "{alias}"
DEFAULT_ROLE_DISPLAY = "{alias}-{role}"
_TEMPLATE_LITERAL = re.compile(r"[^\[\]#;=\\]*")
_NOT_IN_PROFILE_NAME = re.compile(r"[^A-Za-z0-9._@+-]+")


def partition_for_region(region: str) -> str:
    """The partition of a region's ARNs and console: ``cn-*`` is ``aws-cn``, ``us-gov-*`` is
    ``aws-us-gov``, anything else (or an unknown region) the commercial ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def slug(text: str) -> str:
    """``text`` as a profile-name fragment: lower case, ``[a-z0-9-]``, no leading/trailing ``-``."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def profile_accounts(desired: DesiredState) -> list[AccountSpec]:
    """The accounts that get a profile: active members (never the management account)."""
    management = desired.organization.management_account_id
    return [a for a in desired.accounts if a.state == "active" and a.id != management]


def accounts_without_id(desired: DesiredState) -> list[AccountSpec]:
    """Accounts that need a profile but whose id the file does not give (created accounts)."""
    return [a for a in profile_accounts(desired) if a.id is None]


def check_name_template(template: str) -> None:
    """Refuse a ``--name-template`` with an unknown placeholder or characters a profile name
    cannot hold, in one line that says which."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise OrgsyncError(f"--name-template {template!r}: {error}") from error
    known = " ".join("{" + p + "}" for p in PLACEHOLDERS)
    for literal, field_name, spec, conversion in parts:
        if not _TEMPLATE_LITERAL.fullmatch(literal) or not literal.isprintable():
            raise OrgsyncError(f"--name-template {template!r}: {literal!r} has characters a "
                               "profile name cannot hold ([ ] # ; = \\ or a control character)")
        if field_name is None:
            continue
        if field_name not in PLACEHOLDERS or spec or conversion:
            raise OrgsyncError(f"--name-template {template!r}: unknown placeholder "
                               f"{{{field_name}}}; use {known}")
    if not any(field for _, field, _, _ in parts if field):
        raise OrgsyncError(f"--name-template {template!r} has no placeholder; use {known}")


def check_group(desired: DesiredState, group: str) -> None:
    """``--group`` must name a group of the file."""
    names = [g.name for g in desired.groups]
    if group not in names:
        raise OrgsyncError(f"--group {group!r}: no such group in {desired.source_file} "
                           f"(groups: {', '.join(names) or 'none'})")


def _grants(desired: DesiredState, group: str | None) -> dict[tuple[str, str], bool]:
    """(account name, role) -> whether every grant of it needs MFA, for one group or all."""
    if group is not None:
        check_group(desired, group)
    grants: dict[tuple[str, str], bool] = {}
    for spec in desired.groups:
        if group is not None and spec.name != group:
            continue
        for grant in spec.grants:
            key = (grant.account, grant.role)
            grants[key] = grants.get(key, True) and grant.require_mfa
    return grants


def build_profiles(
    desired: DesiredState, account_ids: Mapping[str, str], *, prefix: str = "",
    partition: str = "aws", group: str | None = None, name_template: str | None = None,
) -> list[AccountProfile]:
    """A profile for every role that can be reached in an active member account whose id is
    known, in file order (the access role first, then granted roles by name).

    Without ``group``: every account's access role (the management account's administrators
    reach it) plus every role a group's ``assume`` grants. With ``group``: only the roles that
    group's members may assume. ``account_ids`` maps account *names* to ids (ids given in the
    file win); accounts whose id is unknown (not created yet) are left out.

    Names follow ``name_template`` (default ``{account}`` for the access role, ``{account}-{role}``
    otherwise) with slugged values, after ``prefix``. When entries of several accounts get one
    name, each gets ``-<account id>`` appended, which depends only on the colliding accounts,
    never on their order in the file. Role ARNs and links are those of ``partition``.
    """
    if name_template is not None:
        check_name_template(name_template)
    management = desired.organization.management_account_id
    grants = _grants(desired, group)
    by_account: dict[str, list[str]] = {}
    for name, role in sorted(grants, key=lambda key: key[1]):
        by_account.setdefault(name, []).append(role)
    entries: list[tuple[AccountSpec, str, str, bool, bool]] = []  # account, id, role, access, mfa
    for account in profile_accounts(desired):
        account_id = account.id or account_ids.get(account.name)
        if account_id is None or account_id == management:
            continue
        access = account.access_role.name
        if group is None or (account.name, access) in grants:
            mfa = account.access_role.require_mfa or grants.get((account.name, access), False)
            entries.append((account, account_id, access, True, mfa))
        for role in by_account.get(account.name, ()):
            if role != access:
                entries.append((account, account_id, role, False, grants[(account.name, role)]))
    prefix = _clean_prefix(prefix)
    names: list[str] = []
    displays: list[str] = []
    for account, account_id, role, is_access, _ in entries:
        template = name_template or (DEFAULT_ACCESS_TEMPLATE if is_access
                                     else DEFAULT_ROLE_TEMPLATE)
        values = _placeholders(account, account_id=account_id, role=role)
        name = template.format(**{k: slug(v) for k, v in values.items()})
        names.append(prefix + (_NOT_IN_PROFILE_NAME.sub("-", name).strip("-") or "account"))
        display = name_template or (DEFAULT_ACCESS_DISPLAY if is_access
                                    else DEFAULT_ROLE_DISPLAY)
        displays.append(display.format(**values))
    by_name: dict[str, set[str]] = {}
    for (account, *_), name in zip(entries, names, strict=True):
        by_name.setdefault(name, set()).add(account.name)
    for index, (_, account_id, *_) in enumerate(entries):
        owners = by_name[names[index]]
        if len(owners) > 1:
            names[index] = f"{names[index]}-{account_id}"
            displays[index] = f"{displays[index]} ({account_id})"
    # A suffixed name can still meet another entry's plain name (an account literally named
    # "prod-210987654321"), and a template without {role} gives one account's roles one name:
    # refuse rather than guess.
    taken: dict[str, tuple[str, str]] = {}
    for (account, _, role, *_), name in zip(entries, names, strict=True):
        other = taken.setdefault(name, (account.name, role))
        if other == (account.name, role):
            continue
        if other[0] == account.name:
            raise OrgsyncError(f"roles {other[1]!r} and {role!r} of account {account.name!r} both "
                               f"get the profile name {name!r}; put {{role}} in --name-template")
        raise OrgsyncError(f"accounts {other[0]!r} and {account.name!r} both get the profile "
                           f"name {name!r}; rename one of them")
    return [
        AccountProfile(profile=name, account_name=account.name, account_id=account_id,
                       role_name=role, partition=partition, display=display, ou=account.ou,
                       tags=account.tags, access_role=access, require_mfa=mfa,
                       alias=account.alias or None)
        for (account, account_id, role, access, mfa), name, display
        in zip(entries, names, displays, strict=True)
    ]


def _placeholders(account: AccountSpec, *, account_id: str, role: str) -> dict[str, str]:
    """The ``--name-template`` values of one entry, as written (the name slugs them)."""
    alias = account.alias  # None (not managed) or NO_ALIAS ("", none): the name stands in
    return {"account": account.name, "role": role, "account_id": account_id,
            "ou": "root" if account.ou == "/" else account.ou.strip("/"),
            "alias": alias or account.name}


def _clean_prefix(prefix: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]", "-", prefix.lower())
    return re.sub(r"-{2,}", "-", cleaned).lstrip("-")


def session_name(profile: str) -> str:
    """A role session name (``[\\w+=,.@-]{2,64}``) that shows up in CloudTrail as orgsync's."""
    return f"orgsync-{profile}"[:_SESSION_NAME_MAX]


def block_markers(organization: str | None) -> tuple[str, str]:
    """The BEGIN and END lines of one organization's block (keyed by its management account)."""
    if organization is None:
        return BLOCK_BEGIN, BLOCK_END
    return (f"{BLOCK_BEGIN} (organization {organization}",
            f"{BLOCK_END} (organization {organization})")


def render_ini(
    profiles: Iterable[AccountProfile],
    *,
    source_profile: str,
    region: str = DEFAULT_REGION,
    mfa_serial: str | None = None,
    source_file: str = "accounts.yaml",
    organization: str | None = None,
) -> str:
    """The marked block of ``[profile NAME]`` sections, ready for an AWS config file.

    The markers carry the organization's management account id, so that ``--write`` replaces
    only this organization's block and leaves another organization's profiles alone.
    """
    begin, end = block_markers(organization)
    keyed = "; " if organization else " ("
    lines = [f"{begin}{keyed}from {one_line(source_file)}; orgsync rewrites this block)"]
    for profile in profiles:
        lines.append(f"[profile {profile.profile}]")
        role = "" if profile.access_role else f", role {one_line(profile.role_name)}"
        alias = f", alias {profile.alias}" if profile.alias else ""
        lines.append(f"# account {one_line(profile.account_name)} ({profile.account_id})"
                     f"{alias}{role}")
        lines.append(f"role_arn = {profile.role_arn}")
        lines.append(f"source_profile = {source_profile}")
        lines.append(f"role_session_name = {session_name(profile.profile)}")
        lines.append(f"region = {region}")
        if mfa_serial:
            lines.append(f"mfa_serial = {mfa_serial}")
        lines.append("")
    lines.append(end)
    return "\n".join(lines) + "\n"


def switch_role_link(profile: AccountProfile) -> str:
    """The console's switch-role URL for one account and role."""
    query = urlencode(
        {"account": profile.account_id, "roleName": profile.role_name,
         "displayName": profile.display_name[:_DISPLAY_NAME_MAX]},
        quote_via=quote,
    )
    return f"{_SWITCH_ROLE_URLS.get(profile.partition, SWITCH_ROLE_URL)}?{query}"


def render_links(profiles: Iterable[AccountProfile], *, markdown: bool = False) -> str:
    """One switch-role link per line, or a markdown table of account, id, role and link."""
    items = list(profiles)
    if not markdown:
        return "".join(switch_role_link(p) + "\n" for p in items)
    lines = ["| Account | Account ID | Role | Switch role |", "|---|---|---|---|"]
    for p in items:
        lines.append(f"| {_md(p.account_name)} | {p.account_id} | {_md(p.role_name)} | "
                     f"[{_md(p.display_name)}]({switch_role_link(p)}) |")
    return "\n".join(lines) + "\n"


def render(
    desired: DesiredState,
    account_ids: Mapping[str, str],
    *,
    fmt: str = "ini",
    markdown: bool = False,
    source_profile: str = "default",
    region: str = DEFAULT_REGION,
    mfa_serial: str | None = None,
    prefix: str = "",
    group: str | None = None,
    name_template: str | None = None,
    color_by: str = "ou",
) -> str:
    """Profiles (``fmt="ini"``), switch-role links (``fmt="links"``) or the aws-extend-switch-roles
    configuration (``fmt="aesr"``) for a desired state.

    ``account_ids`` maps account names to ids for accounts the file gives no id (e.g. after apply
    created them). This is what ``orgsync profiles`` prints, and what the demo calls.
    """
    profiles = build_profiles(desired, account_ids, prefix=prefix,
                              partition=partition_for_region(region), group=group,
                              name_template=name_template)
    if fmt == "links":
        return render_links(profiles, markdown=markdown)
    if fmt == "aesr":
        from reconciler.aesr import render_aesr

        return render_aesr(profiles, desired=desired, color_by=color_by)
    return render_ini(profiles, source_profile=source_profile, region=region,
                      mfa_serial=mfa_serial, source_file=desired.source_file,
                      organization=desired.organization.management_account_id)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


# (the Identity Center block of ``--format sso`` is keyed "ID identity-center": a block of its own)
_ORGANIZATION_KEY = re.compile(r"\(organization (\d{12}(?: identity-center)?)\b")


def _block_key(line: str) -> str | None:
    """The organization a BEGIN or END line names; ``None`` for the unkeyed markers of
    earlier orgsync versions."""
    match = _ORGANIZATION_KEY.search(line)
    return match.group(1) if match else None


def replace_block(existing: str, block: str, *, filename: str = "config") -> str:
    """``existing`` config text with this organization's block replaced by ``block`` (appended
    if absent).

    ``block``'s BEGIN line names the organization (its management account id). Blocks of other
    organizations stay byte for byte, as does everything outside the markers; an unkeyed block
    written by an earlier orgsync version is adopted (replaced) by the organization written now.
    Several blocks of this organization (the user pasted one twice) become one, at the first
    one's place. A profile outside the block with the same name as one inside would make the AWS
    CLI refuse the whole file, so that is an error (also when it is another organization's),
    as is a BEGIN marker without its END.
    """
    organization = _block_key(block.split("\n", 1)[0])
    lines = existing.splitlines(keepends=True)
    spans: list[tuple[int, int, str | None]] = []
    start: int | None = None
    for index, line in enumerate(lines):
        text = line.strip()
        if text.startswith(BLOCK_BEGIN):
            if start is not None:
                raise ConfigFileError(f"{filename}:{index + 1}: '{BLOCK_BEGIN}' inside another "
                                      "orgsync block; fix the file by hand")
            start = index
        elif text.startswith(BLOCK_END):
            if start is None:
                raise ConfigFileError(f"{filename}:{index + 1}: '{BLOCK_END}' without a BEGIN "
                                      "marker; fix the file by hand")
            key, end_key = _block_key(lines[start]), _block_key(text)
            if end_key is not None and end_key != key:
                raise ConfigFileError(f"{filename}:{index + 1}: '{BLOCK_END}' of organization "
                                      f"{end_key} closes the block of line {start + 1}; fix the "
                                      "file by hand")
            spans.append((start, index, key))
            start = None
    if start is not None:
        raise ConfigFileError(f"{filename}:{start + 1}: '{BLOCK_BEGIN}' without an END marker; "
                              "fix the file by hand")
    ours = [(first, last) for first, last, key in spans if key is None or key == organization]
    inside = {i for first, last in ours for i in range(first, last + 1)}
    owner = {i: key for first, last, key in spans if key is not None and key != organization
             for i in range(first, last + 1)}
    outside = {
        _profile_key(match.group(1)): i
        for i, line in enumerate(lines)
        if i not in inside and (match := _SECTION.match(line))
    }
    clashes = []
    for line in block.splitlines():
        match = _SECTION.match(line)
        key = _profile_key(match.group(1)) if match else ""
        if key not in outside:
            continue
        where = outside[key]
        if where in owner:
            clashes.append(f"{filename}:{where + 1}: profile '{key}' belongs to organization "
                           f"{owner[where]}'s orgsync block; choose another --prefix or "
                           "--name-template")
        else:
            clashes.append(f"{filename}:{where + 1}: profile '{key}' exists outside orgsync's "
                           "block; rename it or choose another --prefix")
    if clashes:
        raise ConfigFileError("\n".join(clashes))
    block = block if block.endswith("\n") else block + "\n"
    if not ours:
        head = "".join(lines)
        if head and not head.endswith("\n"):
            head += "\n"
        separator = "\n" if head.strip() and not head.endswith("\n\n") else ""
        return head + separator + block
    first = ours[0][0]
    kept = [line for i, line in enumerate(lines) if i not in inside or i == first]
    kept[_position_of(lines, inside, first)] = block
    return "".join(kept)


def _position_of(lines: list[str], inside: set[int], first: int) -> int:
    """Where the first block's BEGIN line lands once the other block lines are dropped."""
    return sum(1 for i in range(first) if i not in inside)


def _profile_key(section: str) -> str:
    """The profile a section header names: ``[default]`` and ``[profile default]`` are one."""
    return section.strip()


def default_config_file() -> Path:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``, as the AWS CLI finds it."""
    configured = os.environ.get("AWS_CONFIG_FILE")
    return Path(os.path.expanduser(configured or "~/.aws/config"))


def write_config_block(path: str | os.PathLike[str], block: str) -> Path:
    """Replace orgsync's block in the AWS config file at ``path``, atomically, keeping its mode.

    A symlinked config file is edited where it points. A new file is created with mode 0600 (it
    names roles and MFA devices; the AWS CLI creates its files the same way).
    """
    target = Path(os.path.realpath(os.path.expanduser(os.fspath(path))))
    try:
        existing = target.read_text(encoding="utf-8")
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        existing, mode = "", 0o600
    except OSError as error:
        raise ConfigFileError(f"{target}: cannot read: {error.strerror or error}") from error
    updated = replace_block(existing, block, filename=str(target))
    if updated == existing:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, updated.encode("utf-8"), mode=mode)
    except OSError as error:
        raise ConfigFileError(f"{target}: cannot write: {error.strerror or error}") from error
    return target
