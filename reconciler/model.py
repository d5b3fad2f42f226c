"""The desired state: what accounts.yaml asks for, validated and with every default resolved.

The loader (``reconciler.config``) is the only producer; the planner and the commands consume it.
Values are frozen dataclasses holding tuples and read-only mappings, so a stage can never change
what a later stage sees. Nothing here knows about AWS calls.
"""

from __future__ import annotations

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
