"""The observed state: what orgsync read from live AWS, as plain frozen values.

``reconciler.observe`` is the only producer (it is the one place that calls AWS to read); the
planner consumes it without I/O. ``fingerprint()`` is what a saved plan records so that apply can
tell whether anything it observed has changed since the plan was reviewed.

Policy documents are stored as AWS returned them (decoded to dicts); normalizing them is the
planner's job (``reconciler.policy``). Never mutate a mapping held here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from reconciler.jsontypes import JSON

# How long after CreateAccount an account counts as new: AWS documents "a few minutes" before a new
# account can be entered; Terraform users report up to about seven (terraform-provider-aws#15654).
NEW_ACCOUNT_WINDOW_S = 30 * 60.0
# The account states of an account that is closed or on its way out (Organizations' Account
# State: SUSPENDED, PENDING_CLOSURE, CLOSED; ACTIVE and PENDING_ACTIVATION are the others).
GONE_STATES = frozenset({"SUSPENDED", "PENDING_CLOSURE", "CLOSED"})


@dataclass(frozen=True)
class ObservedOrganization:
    id: str
    arn: str
    feature_set: str  # "ALL" | "CONSOLIDATED_BILLING"
    management_account_id: str
    root_id: str


@dataclass(frozen=True)
class ObservedOU:
    id: str
    name: str
    path: str  # "/Workloads/Prod"
    parent_id: str


def account_state(raw: Mapping[str, Any]) -> str:
    """An Organizations account's state: ``State``, else the retired ``Status`` (whose values
    ACTIVE, SUSPENDED, PENDING_CLOSURE are valid states too), else ACTIVE (what an account that
    reports neither is: AWS documents no other default)."""
    return str(raw.get("State") or raw.get("Status") or "ACTIVE")


@dataclass(frozen=True)
class ObservedAccount:
    id: str
    name: str
    email: str
    # State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION), else Status
    state: str
    joined_method: str  # "INVITED" | "CREATED"
    parent_id: str
    ou_path: str  # "/" for the root
    tags: Mapping[str, str] | None = None  # None: not read (the file does not manage its tags)
    joined_at: str = ""  # JoinedTimestamp, ISO 8601; "" when unknown


@dataclass(frozen=True)
class CreateAccountRequest:
    """A CreateAccount request (ListCreateAccountStatus). It has the account name, not the email."""

    id: str  # "car-..."
    account_name: str
    state: str  # IN_PROGRESS | SUCCEEDED | FAILED
    account_id: str | None = None
    failure_reason: str | None = None
    requested_at: str = ""  # ISO 8601


@dataclass(frozen=True)
class Handshake:
    """An INVITE handshake of the organization."""

    id: str  # "h-..."
    state: str  # REQUESTED | OPEN | ACCEPTED | DECLINED | CANCELED | EXPIRED
    target_type: str  # ACCOUNT | EMAIL
    target_id: str  # account id or email
    requested_at: str = ""
    expires_at: str = ""

    @property
    def pending(self) -> bool:
        return self.state in ("REQUESTED", "OPEN")


RoleStatus = Literal["ok", "missing", "not_assumable"]


@dataclass(frozen=True)
class ObservedRole:
    """The access role of one member account.

    ``status``: ``ok`` (read through the role itself or through ``via_role``); ``missing``
    (orgsync got into the account through ``via_role`` and the role does not exist);
    ``not_assumable`` (no way in: the role is absent or does not trust the management account, so
    the account needs bootstrapping).
    """

    account_id: str
    name: str
    status: RoleStatus
    via_role: str | None = None  # the role orgsync assumed to read this one
    trust_policy: Mapping[str, JSON] | None = None
    inline_policies: Mapping[str, Mapping[str, JSON]] = field(default_factory=dict)
    attached_policies: tuple[str, ...] = ()  # managed policy ARNs, sorted
    max_session_duration: int | None = None
    error: str | None = None  # why it is not assumable (the AWS error), for display


@dataclass(frozen=True)
class ObservedRootCredentials:
    """A member's root-user credentials, read through an AssumeRoot audit session."""

    account_id: str
    password: bool = False
    access_keys: bool = False
    signing_certificates: bool = False
    mfa: bool = False
    error: str | None = None  # the audit session could not be had (features off, ...)


@dataclass(frozen=True)
class ObservedManagedPolicy:
    """A customer managed policy orgsync owns (under a managed path), with its default version."""

    arn: str
    name: str
    path: str
    document: Mapping[str, JSON]
    default_version_id: str = "v1"


@dataclass(frozen=True)
class ObservedGroup:
    name: str
    path: str
    arn: str
    members: tuple[str, ...] = ()  # sorted
    inline_policies: Mapping[str, Mapping[str, JSON]] = field(default_factory=dict)
    attached_policies: tuple[str, ...] = ()  # ARNs, sorted


@dataclass(frozen=True)
class ObservedStackInstance:
    """One stack instance of orgsync's stack set (``reconciler.stackset``)."""

    account_id: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed_status: str  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | ...
    status_reason: str | None = None
    mode: str = "create"  # the instance's Mode parameter (reconciler.stackset)


@dataclass(frozen=True)
class ObservedStackSet:
    """orgsync's service-managed stack set, read when the file uses ``invited_bootstrap:
    stackset``: CloudFormation's trusted access with Organizations, whether the stack set exists,
    its instances, and an operation still running (a re-run must follow it, never start one)."""

    name: str
    region: str
    trusted_access: bool  # DescribeOrganizationsAccess says ACTIVE
    exists: bool = False
    instances: tuple[ObservedStackInstance, ...] = ()
    running_operation: str | None = None

    def instance(self, account_id: str) -> ObservedStackInstance | None:
        return next((i for i in self.instances if i.account_id == account_id), None)


@dataclass(frozen=True)
class ObservedPermissionSet:
    """An IAM Identity Center permission set with everything orgsync can manage on it."""

    arn: str
    name: str
    description: str | None = None
    session_duration: str | None = None  # as AWS returned it (ISO 8601)
    relay_state: str | None = None
    managed_policies: tuple[str, ...] = ()  # ARNs, sorted
    customer_managed_policies: tuple[tuple[str, str], ...] = ()  # (name, path), sorted
    inline_policy: Mapping[str, JSON] | None = None
    # {"managed_policy_arn": arn} or {"name": .., "path": ..}; None: no boundary
    permissions_boundary: Mapping[str, str] | None = None
    provisioned_accounts: tuple[str, ...] = ()  # account ids, sorted
    # provisioned accounts that do not have its latest version (an update not provisioned yet)
    outdated_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservedAssignment:
    account_id: str
    permission_set_arn: str
    principal_type: str  # GROUP | USER
    principal_id: str


@dataclass(frozen=True)
class ObservedPrincipal:
    """An identity store group (by display name) or user (by user name)."""

    type: str  # GROUP | USER
    id: str
    name: str


@dataclass(frozen=True)
class IdentityCenterRequest:
    """An assignment creation or deletion request still IN_PROGRESS (an earlier run was
    stopped while it waited): a re-run follows it instead of making a second one."""

    operation: str  # create | delete
    request_id: str
    status: str
    account_id: str
    permission_set_arn: str
    principal_type: str
    principal_id: str


@dataclass(frozen=True)
class ObservedIdentityCenter:
    """The organization's IAM Identity Center instance, read when the file has the section.

    ``principals`` holds every group, and the users the file names or assignments reference.
    """

    instance_arn: str | None  # None: no instance (``error`` says why)
    identity_store_id: str | None = None
    permission_sets: tuple[ObservedPermissionSet, ...] = ()
    assignments: tuple[ObservedAssignment, ...] = ()
    principals: tuple[ObservedPrincipal, ...] = ()
    requests: tuple[IdentityCenterRequest, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ObservedAlias:
    """An account's IAM account alias (ListAccountAliases, through its access role; the
    management account's with its own credentials). AWS allows one alias per account."""

    account_id: str
    alias: str | None = None  # None: the account has no alias (or it could not be read)
    error: str | None = None  # why it could not be read (the access role cannot be assumed)


@dataclass(frozen=True)
class ObservedContacts:
    """An account's alternate contacts (Account Management GetAlternateContact), by type
    (``security``, ``operations``, ``billing``): only the types that were read; None: no such
    contact. Each contact is ``{"name", "title", "email", "phone"}``."""

    account_id: str
    contacts: Mapping[str, Mapping[str, str] | None] = field(default_factory=dict)
    error: str | None = None  # why they could not be read


@dataclass(frozen=True)
class ObservedState:
    organization: ObservedOrganization
    ous: tuple[ObservedOU, ...] = ()
    accounts: tuple[ObservedAccount, ...] = ()
    create_requests: tuple[CreateAccountRequest, ...] = ()
    handshakes: tuple[Handshake, ...] = ()
    trusted_access_iam: bool = False
    root_features: tuple[str, ...] | None = None  # None: could not be read (trusted access off)
    roles: Mapping[str, ObservedRole] = field(default_factory=dict)  # by account id
    root_credentials: Mapping[str, ObservedRootCredentials] = field(default_factory=dict)
    groups: tuple[ObservedGroup, ...] = ()  # groups under the managed paths
    # orgsync's (under managed paths), and others attached to a group under them
    managed_policies: tuple[ObservedManagedPolicy, ...] = ()
    existing_users: tuple[str, ...] = ()  # referenced IAM users that exist, sorted
    # (name, path) of groups outside the managed paths named like a group of the file, sorted
    foreign_groups: tuple[tuple[str, str], ...] = ()
    # (member of the file that is not an IAM user, IAM users with a close name), sorted
    similar_users: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # IAM's delegated administrator account ids (None: not read, the file does not manage it)
    iam_delegated_admins: tuple[str, ...] | None = None
    # the account whose credentials ran the read: the management account's id, or IAM's
    # delegated administrator's (then access roles and groups were not read: see the planner)
    runner_account_id: str | None = None
    stack_set: ObservedStackSet | None = None  # None: not read (invited_bootstrap: manual)
    # None: not read (the file has no identity_center section)
    identity_center: ObservedIdentityCenter | None = None
    # IAM account aliases and alternate contacts by account id: read for the accounts whose
    # alias / contacts the file manages (export: every active account)
    aliases: Mapping[str, ObservedAlias] = field(default_factory=dict)
    alternate_contacts: Mapping[str, ObservedContacts] = field(default_factory=dict)
    # trusted access for account.amazonaws.com (None: not read, no member's contacts managed)
    trusted_access_account: bool | None = None
    observed_at: str = field(default="", compare=False)

    @property
    def delegated_runner(self) -> bool:
        """Whether IAM's delegated administrator (not the management account) ran the read."""
        return (self.runner_account_id is not None
                and self.runner_account_id != self.organization.management_account_id)

    def recently_created(self, account_id: str, *, within_s: float = NEW_ACCOUNT_WINDOW_S) -> bool:
        """Whether CreateAccount made ``account_id`` less than ``within_s`` before this state was
        observed: AWS may still refuse AssumeRole and AssumeRoot into it ("you might need to wait
        a few minutes before you can successfully access the account", CreateAccount reference)."""
        account = self.account_by_id(account_id)
        if account is None or account.joined_method != "CREATED" or not account.joined_at \
                or not self.observed_at:
            return False
        try:
            age = (datetime.fromisoformat(self.observed_at)
                   - datetime.fromisoformat(account.joined_at)).total_seconds()
        except (ValueError, TypeError):
            return False
        return age < within_s

    def account_by_id(self, account_id: str) -> ObservedAccount | None:
        for account in self.accounts:
            if account.id == account_id:
                return account
        return None

    def account_by_email(self, email: str) -> ObservedAccount | None:
        wanted = email.lower()
        for account in self.accounts:
            if account.email.lower() == wanted:
                return account
        return None

    def ou_by_path(self, path: str) -> ObservedOU | None:
        for ou in self.ous:
            if ou.path == path:
                return ou
        return None

    def to_dict(self) -> dict[str, JSON]:
        data = asdict(self)
        data.pop("observed_at", None)
        if not self.foreign_groups:  # states without it keep the fingerprint they had
            data.pop("foreign_groups", None)
        if not self.similar_users:
            data.pop("similar_users", None)
        for key in ("iam_delegated_admins", "runner_account_id"):  # likewise
            if data.get(key) is None:
                data.pop(key, None)
        if self.stack_set is None:
            data.pop("stack_set", None)
        if self.identity_center is None:
            data.pop("identity_center", None)
        for key in ("aliases", "alternate_contacts"):  # likewise
            if not data.get(key):
                data.pop(key, None)
        if self.trusted_access_account is None:
            data.pop("trusted_access_account", None)
        return data

    def fingerprint(self) -> str:
        """A digest of everything observed (not when), stable across runs for the same AWS state."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
