"""The desired state: what accounts.yaml asks for, validated and with every default resolved.

The loader (``reconciler.config``) is the only producer; the planner and the commands consume it.
Values are frozen dataclasses holding tuples and read-only mappings, so a stage can never change
what a later stage sees. Nothing here knows about AWS calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
DEFAULT_ACCESS_ROLE = "OrganizationAccountAccessRole"
DEFAULT_GROUP_PATH = "/orgsync/"
ROOT_FEATURES = ("RootCredentialsManagement", "RootSessions")

AccountSource = Literal["created", "invited"]
AccountState = Literal["active", "closed"]
RootPolicy = Literal["absent", "password_recovery", "unmanaged"]
InvitedBootstrap = Literal["manual", "stackset"]
# The Account Management API's alternate contact types, as the file names them (lowercase keys of
# ``accounts[].contacts``) and as AWS does (``AlternateContactType``).
CONTACT_TYPES = ("security", "operations", "billing")
# ``accounts[].alias: null``: the account has no IAM account alias (a declared one is deleted).
NO_ALIAS = ""


def frozen_mapping(values: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """A read-only copy of ``values`` (``None`` stays ``None``: "not managed")."""
    return None if values is None else MappingProxyType(dict(sorted(values.items())))


@dataclass(frozen=True)
class Position:
    """Where something was written in the file (1-based), for messages that point at it."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class OrganizationSpec:
    management_account_id: str
    access_role: str = DEFAULT_ACCESS_ROLE
    # how invited accounts without a bootstrap_profile get their access role
    invited_bootstrap: InvitedBootstrap = "manual"


@dataclass(frozen=True)
class RootCredentialsSpec:
    """The ``root_credentials`` section. ``features is None`` means the section does not manage
    the organization-wide features (absent section or no ``features`` key)."""

    features: tuple[str, ...] | None
    default: RootPolicy = "unmanaged"
    # IAM's delegated administrator (an account name of the file). ``managed`` is whether the file
    # has a root_credentials section at all: only then is a registered delegated administrator
    # that the file does not name deregistered.
    delegated_admin: str | None = None
    managed: bool = False


@dataclass(frozen=True)
class AccessRoleSpec:
    """The effective access role of one member account (defaults resolved)."""

    name: str
    require_mfa: bool = False
    policies: tuple[str, ...] = (ADMINISTRATOR_ACCESS,)


@dataclass(frozen=True)
class ContactSpec:
    """One alternate contact (Account Management ``PutAlternateContact``): every field required."""

    name: str
    title: str
    email: str
    phone: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "email": self.email, "phone": self.phone}


@dataclass(frozen=True)
class AccountSpec:
    name: str
    email: str
    source: AccountSource
    id: str | None
    ou: str  # normalized OU path: "/" or "/Workloads/Prod" (no trailing slash)
    tags: Mapping[str, str] | None  # None: the file does not manage this account's tags
    state: AccountState
    iam_user_access_to_billing: bool | None  # create-time only, never diffed
    access_role: AccessRoleSpec
    root_credentials: RootPolicy  # effective: the account's override or the file's default
    bootstrap_profile: str | None
    position: Position | None = field(default=None, compare=False)
    # The IAM account alias. None: not managed (no ``alias`` key); NO_ALIAS (``alias: null``):
    # the account has none; else exactly this alias.
    alias: str | None = None
    # Alternate contacts by type (CONTACT_TYPES). None: not managed (no ``contacts`` key); a type
    # not listed is not managed; a type mapped to None (``security: null``) is deleted.
    contacts: Mapping[str, ContactSpec | None] | None = None

    @property
    def identity(self) -> str:
        """How the account is matched against AWS: its id when given, else its email."""
        return self.id if self.id is not None else self.email.lower()


@dataclass(frozen=True)
class GrantTarget:
    """One concrete (account, role) pair a group may assume, with its conditions.

    Grants written with ``accounts: ["*"]`` or several names are expanded to one target per account
    by the loader, so the planner never sees a wildcard.
    """

    account: str  # account name from the file
    role: str  # the role name to assume in that account
    require_mfa: bool = False
    source_ips: tuple[str, ...] = ()
    # from accounts: ["*"] only (not named): the planner leaves out an account that turns out to
    # be the management account (listed by email only) instead of reporting an error
    wildcard: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class GroupSpec:
    name: str
    path: str  # always starts and ends with "/"
    members: tuple[str, ...]  # IAM user names, sorted, unique
    grants: tuple[GrantTarget, ...]  # sorted by (account, role)
    position: Position | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DesiredState:
    organization: OrganizationSpec
    root_credentials: RootCredentialsSpec
    accounts: tuple[AccountSpec, ...]
    groups: tuple[GroupSpec, ...]
    source_file: str = "accounts.yaml"
    identity_center: IdentityCenterSpec | None = None  # None: the file has no such section
    source_sha256: str = ""  # digest of the file's canonical text (config.source)

    def account(self, name: str) -> AccountSpec:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    @property
    def managed_group_paths(self) -> tuple[str, ...]:
        """Group paths orgsync owns: the default path plus every path the file uses."""
        return tuple(sorted({DEFAULT_GROUP_PATH, *(g.path for g in self.groups)}))

    @property
    def ou_paths(self) -> tuple[str, ...]:
        """Every OU path the file needs, parents included, parents first ("/" excluded)."""
        paths: set[str] = set()
        for account in self.accounts:
            parts = [p for p in account.ou.split("/") if p]
            for i in range(1, len(parts) + 1):
                paths.add("/" + "/".join(parts[:i]))
        return tuple(sorted(paths, key=lambda p: (p.count("/"), p)))


# --------------------------------------------------------------------------------------------
# IAM Identity Center (``identity_center:``)

PrincipalType = Literal["GROUP", "USER"]
# Every key of a permission set besides its name: each is managed only when the file writes it
# ("exact when declared"); an unwritten key is left as it is in AWS.
PERMISSION_SET_ATTRIBUTES = ("description", "session_duration", "managed_policies",
                             "customer_managed_policies", "inline_policy",
                             "permissions_boundary", "relay_state")
_DURATION = re.compile(r"^P(?!$)(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
# Identity Center's permission set session duration: "from 1 to 12 hours" (CreatePermissionSet
# reference, SessionDuration: https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html)
MIN_SESSION_S = 3600
MAX_SESSION_S = 12 * 3600


def duration_seconds(text: str | None) -> int | None:
    """Seconds of an ISO 8601 duration of hours/minutes/seconds (``PT4H``, ``PT1H30M``); ``None``
    when ``text`` is not one (days, years, fractions are not session lengths)."""
    if not isinstance(text, str):
        return None
    found = _DURATION.match(text)
    if found is None:
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def canonical_duration(text: str | None) -> str | None:
    """``PT240M`` -> ``PT4H``: the one spelling orgsync compares and writes (None stays None;
    text that is no duration stays as it is, so that a difference still shows)."""
    total = duration_seconds(text)
    if total is None:
        return text
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    body = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    return "PT" + (body or "0S")


@dataclass(frozen=True)
class PolicyReference:
    """A customer managed policy by name and path (it must exist in each target account)."""

    name: str
    path: str = "/"


@dataclass(frozen=True)
class PermissionSetSpec:
    """One permission set. ``declared`` holds the attribute keys the file writes: only those are
    compared and changed (``None`` for a declared key means "none": ``inline_policy: null``)."""

    name: str
    declared: frozenset[str] = frozenset()
    description: str | None = None
    session_duration: str | None = None  # canonical (``canonical_duration``)
    managed_policies: tuple[str, ...] = ()  # sorted
    customer_managed_policies: tuple[PolicyReference, ...] = ()  # sorted
    inline_policy: Mapping[str, object] | None = None  # the document, decoded
    # {"managed_policy_arn": arn} or {"name": .., "path": ..}; None: no boundary
    permissions_boundary: Mapping[str, str] | None = None
    relay_state: str | None = None
    position: Position | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AssignmentSpec:
    """One account assignment: a principal gets a permission set in one account (the loader
    expands ``accounts`` lists, ``"*"`` and ``users`` lists into one spec each)."""

    account: str  # account name from the file
    permission_set: str  # permission set name
    principal_type: PrincipalType
    principal: str  # a group's display name or a user's user name
    # from accounts: ["*"] (not named): an account that turns out to be the management account
    # (listed by email only) is left out, as for grants
    wildcard: bool = field(default=False, compare=False)

    @property
    def key(self) -> str:
        """The plan key: ``ACCOUNT/PERMISSION_SET/group:NAME`` (or ``user:NAME``)."""
        who = f"{self.principal_type.lower()}:{self.principal}"
        return f"{self.account}/{self.permission_set}/{who}"


@dataclass(frozen=True)
class IdentityCenterSpec:
    instance_arn: str | None = None  # None: the organization's instance (ListInstances)
    exclusive: bool = False  # delete permission sets and assignments the file does not list
    permission_sets: tuple[PermissionSetSpec, ...] = ()
    assignments: tuple[AssignmentSpec, ...] = ()  # sorted by key, unique

    def permission_set(self, name: str) -> PermissionSetSpec | None:
        return next((p for p in self.permission_sets if p.name == name), None)
