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
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from reconciler.errors import OrgsyncError
from reconciler.model import AccountSpec, DesiredState

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
    """One member account as the AWS CLI and the console will see it."""

    profile: str  # the AWS CLI profile name
    account_name: str
    account_id: str
    role_name: str
    partition: str = "aws"

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.role_name}"


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


def build_profiles(
    desired: DesiredState, account_ids: Mapping[str, str], *, prefix: str = "",
    partition: str = "aws",
) -> list[AccountProfile]:
    """A profile for every active member account whose id is known, in file order.

    ``account_ids`` maps account *names* to ids (ids given in the file win). Accounts whose id is
    unknown (not created yet) are left out. Names are ``prefix + slug(account name)``; when several
    accounts share a name, each of them gets ``-<account id>`` appended, which depends only on the
    colliding accounts themselves, never on their order in the file. Role ARNs and links are
    those of ``partition`` (see ``partition_for_region``).
    """
    management = desired.organization.management_account_id
    chosen: list[tuple[AccountSpec, str]] = []
    for account in profile_accounts(desired):
        account_id = account.id or account_ids.get(account.name)
        if account_id is None or account_id == management:
            continue
        chosen.append((account, account_id))
    prefix = _clean_prefix(prefix)
    base = {a.name: (prefix + (slug(a.name) or "account")) for a, _ in chosen}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    names: dict[str, str] = {}
    for account, account_id in chosen:
        name = base[account.name]
        names[account.name] = f"{name}-{account_id}" if counts[name] > 1 else name
    # A suffixed name can still meet another account's plain name (an account literally named
    # "prod-210987654321"): refuse rather than guess.
    taken: dict[str, str] = {}
    for account, _ in chosen:
        other = taken.setdefault(names[account.name], account.name)
        if other != account.name:
            raise OrgsyncError(f"accounts {other!r} and {account.name!r} both get the profile name "
                               f"{names[account.name]!r}; rename one of them")
    return [
        AccountProfile(profile=names[a.name], account_name=a.name, account_id=account_id,
                       role_name=a.access_role.name, partition=partition)
        for a, account_id in chosen
    ]


def _clean_prefix(prefix: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]", "-", prefix.lower())
    return re.sub(r"-{2,}", "-", cleaned).lstrip("-")


def session_name(profile: str) -> str:
    """A role session name (``[\\w+=,.@-]{2,64}``) that shows up in CloudTrail as orgsync's."""
    return f"orgsync-{profile}"[:_SESSION_NAME_MAX]


def render_ini(
    profiles: Iterable[AccountProfile],
    *,
    source_profile: str,
    region: str = DEFAULT_REGION,
    mfa_serial: str | None = None,
    source_file: str = "accounts.yaml",
) -> str:
    """The marked block of ``[profile NAME]`` sections, ready for an AWS config file."""
    lines = [f"{BLOCK_BEGIN} (from {_one_line(source_file)}; orgsync rewrites this block)"]
    for profile in profiles:
        lines.append(f"[profile {profile.profile}]")
        lines.append(f"# account {_one_line(profile.account_name)} ({profile.account_id})")
        lines.append(f"role_arn = {profile.role_arn}")
        lines.append(f"source_profile = {source_profile}")
        lines.append(f"role_session_name = {session_name(profile.profile)}")
        lines.append(f"region = {region}")
        if mfa_serial:
            lines.append(f"mfa_serial = {mfa_serial}")
        lines.append("")
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


def switch_role_link(profile: AccountProfile) -> str:
    """The console's switch-role URL for one account's access role."""
    query = urlencode(
        {"account": profile.account_id, "roleName": profile.role_name,
         "displayName": profile.account_name[:_DISPLAY_NAME_MAX]},
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
                     f"[{_md(p.account_name)}]({switch_role_link(p)}) |")
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
) -> str:
    """Profiles (``fmt="ini"``) or switch-role links (``fmt="links"``) for a desired state.

    ``account_ids`` maps account names to ids for accounts the file gives no id (e.g. after apply
    created them). This is what ``orgsync profiles`` prints, and what the demo calls.
    """
    profiles = build_profiles(desired, account_ids, prefix=prefix,
                              partition=partition_for_region(region))
    if fmt == "links":
        return render_links(profiles, markdown=markdown)
    return render_ini(profiles, source_profile=source_profile, region=region,
                      mfa_serial=mfa_serial, source_file=desired.source_file)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def replace_block(existing: str, block: str, *, filename: str = "config") -> str:
    """``existing`` config text with orgsync's block replaced by ``block`` (appended if absent).

    Only lines between the markers change; everything else stays byte for byte. Several blocks
    (the user pasted one twice) become one, at the first one's place. A profile outside the block
    with the same name as one inside would make the AWS CLI refuse the whole file, so that is an
    error, as is a BEGIN marker without its END.
    """
    lines = existing.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []
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
            spans.append((start, index))
            start = None
    if start is not None:
        raise ConfigFileError(f"{filename}:{start + 1}: '{BLOCK_BEGIN}' without an END marker; "
                              "fix the file by hand")
    inside = {i for first, last in spans for i in range(first, last + 1)}
    outside = {
        _profile_key(match.group(1)): i + 1
        for i, line in enumerate(lines)
        if i not in inside and (match := _SECTION.match(line))
    }
    clashes = [
        f"{filename}:{outside[key]}: profile '{key}' exists outside orgsync's block; rename it "
        "or choose another --prefix"
        for line in block.splitlines()
        if (match := _SECTION.match(line)) and (key := _profile_key(match.group(1))) in outside
    ]
    if clashes:
        raise ConfigFileError("\n".join(clashes))
    block = block if block.endswith("\n") else block + "\n"
    if not spans:
        head = "".join(lines)
        if head and not head.endswith("\n"):
            head += "\n"
        separator = "\n" if head.strip() and not head.endswith("\n\n") else ""
        return head + separator + block
    first = spans[0][0]
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
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".orgsync-tmp",
                                    dir=target.parent)
    except OSError as error:
        raise ConfigFileError(f"{target}: cannot write: {error.strerror or error}") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(updated)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise ConfigFileError(f"{target}: cannot write: {error.strerror or error}") from error
    return target
