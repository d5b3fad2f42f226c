"""IAM Identity Center in the sandbox: the organization's instance, its identity store, permission
sets, provisioning and account assignments, with AWS's asynchronous semantics.

moto's ``ssoadmin`` and ``identitystore`` are kinder than AWS where orgsync must be careful: an
assignment exists the moment CreateAccountAssignment returns, provisioning is synchronous and goes
to the caller's own account, a permission set with assignments can be deleted, there are no
permissions boundaries, tags or session-duration checks, and no identity policy is evaluated. So
the sandbox serves both services itself (the middleware hands every ``sso-admin`` and
``identitystore`` request to ``sso_admin.handle`` / ``identity_store.handle``); this module holds
their state, its seed and the request life cycle. What AWS does and where it says so:

- The instance is an *organization instance* owned by the management account ("Organization and
  account instances of IAM Identity Center", IAM Identity Center User Guide); other accounts see
  no instance (ListInstances answers an empty list) and are refused the organization instance's
  resources.
- CreateAccountAssignment, DeleteAccountAssignment and ProvisionPermissionSet are asynchronous:
  they answer ``IN_PROGRESS`` with a request id, and the Describe...Status operations report
  ``SUCCEEDED`` or ``FAILED`` with a ``FailureReason`` later ("After a successful response, call
  DescribeAccountAssignmentCreationStatus to describe the status of an assignment creation
  request", API reference, CreateAccountAssignment). The delay is ``sso_lag_s`` (0: the next
  request sees the outcome; ``--realistic``: 1 s). Failures that depend on the target (an account
  outside the organization or suspended, a principal the identity store does not hold) are
  reported in the status, not by the call: AWS fails them in its workflow (aws-sso-util#80: an
  assignment to a suspended account fails after the request was accepted; pulumi-aws#1927 and
  terraform-provider-aws#19821: failures surface as ``FAILED`` with a ``FailureReason``). A
  permission set that does not exist is refused at once with ResourceNotFoundException.
- "As part of a successful CreateAccountAssignment call, the specified permission set will
  automatically be provisioned to the account ... If the permission set is subsequently updated,
  the corresponding IAM policies ... will not be updated automatically. In this case, you must
  call ProvisionPermissionSet" (API reference, CreateAccountAssignment): every change to a
  permission set bumps its version; an account holds the version last provisioned to it, which is
  what ``ProvisioningStatus`` LATEST_PERMISSION_SET_PROVISIONED / _NOT_PROVISIONED filter on.
  When the last assignment of a permission set in an account is deleted, the permission set is
  deprovisioned from it (terraform-provider-aws#33337 and #35158: provisioning it there afterwards
  fails with "Permission set provision not found").
- DeletePermissionSet refuses a permission set that still has account assignments with
  ConflictException (terraform-provider-aws#26757; aws-iam-identity-center-extensions#89: "AWS SSO
  admin API does not allow deleting a permission set that already has account assignments").
- ConflictException, which the API reference documents for every write as "a conflict with a
  previous successful write ... the previous write did not have time to propagate", answers a
  request on the same assignment, or a provisioning of the same permission set, while another
  is still IN_PROGRESS, and DeletePermissionSet while any request on it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.common import sync_managed_policies
from reconciler.sandbox.protocol import Response, error_response, present
from reconciler.sandbox.state import SandboxState

# IAM Identity Center's and the identity store's names for the services (signing names "sso" and
# "identitystore"); the sandbox counts, faults and throttles them under these names
SERVICES = ("sso-admin", "identitystore")
# Identity Center's service principal: enabling an organization instance enables its trusted
# access in AWS Organizations (IAM Identity Center User Guide, "Prerequisites and considerations":
# trusted access is enabled when you enable IAM Identity Center)
SERVICE_PRINCIPAL = "sso.amazonaws.com"
# the seeded identity store: groups, users and who is in which group
SEED_GROUPS = (
    ("platform-admins", "Platform team: administers every account"),
    ("developers", "Application developers"),
    ("auditors", "Security and compliance: read-only everywhere"),
)
SEED_USERS = (
    # user name, given name, family name, groups
    ("ada", "Ada", "Lovelace", ("platform-admins",)),
    ("grace", "Grace", "Hopper", ("platform-admins", "developers")),
    ("linus", "Linus", "Torvalds", ("developers",)),
    ("margaret", "Margaret", "Hamilton", ("auditors",)),
)
EMAIL_DOMAIN = "example.com"
DEFAULT_SESSION_DURATION = "PT1H"  # API reference, PermissionSet.SessionDuration: default 1 hour
MAX_ATTACHED_POLICIES = 20  # AWS and customer managed policies per permission set (quotas page)


class SsoError(Exception):
    """An AWS error of sso-admin or identitystore: ``code``, message, extra members."""

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.members = members


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(("orgsync-sso", *parts)).encode()).hexdigest()


def stable_uuid(*parts: str) -> str:
    """An identity-store style id (a UUID) that is the same in every run."""
    return str(uuid.UUID(_digest(*parts)[:32]))


def instance_arn(partition: str) -> str:
    return f"arn:{partition}:sso:::instance/ssoins-{_digest('instance')[:16]}"


IDENTITY_STORE_ID = f"d-{_digest('identity-store')[:10]}"


@dataclass
class Group:
    group_id: str
    display_name: str
    description: str | None = None

    def document(self, store_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"GroupId": self.group_id, "DisplayName": self.display_name,
                               "IdentityStoreId": store_id}
        if self.description is not None:
            doc["Description"] = self.description
        return doc


@dataclass
class User:
    user_id: str
    user_name: str
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    emails: list[dict[str, Any]] = field(default_factory=list)

    def document(self, store_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"UserId": self.user_id, "UserName": self.user_name,
                               "IdentityStoreId": store_id}
        name = {k: v for k, v in (("GivenName", self.given_name),
                                  ("FamilyName", self.family_name)) if v}
        if name:
            name["Formatted"] = " ".join(v for v in (self.given_name, self.family_name) if v)
            doc["Name"] = name
        if self.display_name:
            doc["DisplayName"] = self.display_name
        if self.emails:
            doc["Emails"] = [dict(e) for e in self.emails]
        return doc


@dataclass
class Membership:
    membership_id: str
    group_id: str
    user_id: str

    def document(self, store_id: str) -> dict[str, Any]:
        return {"MembershipId": self.membership_id, "GroupId": self.group_id,
                "MemberId": {"UserId": self.user_id}, "IdentityStoreId": store_id}


@dataclass
class PermissionSet:
    arn: str
    name: str
    created: float
    description: str | None = None
    session_duration: str = DEFAULT_SESSION_DURATION
    relay_state: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    managed: list[str] = field(default_factory=list)  # AWS managed policy ARNs
    customer_managed: list[tuple[str, str]] = field(default_factory=list)  # (name, path)
    inline_policy: str = ""
    boundary: dict[str, Any] | None = None
    version: int = 1  # bumped by every change provisioning must carry to the accounts

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"Name": self.name, "PermissionSetArn": self.arn,
                               "CreatedDate": self.created,
                               "SessionDuration": self.session_duration}
        if self.description is not None:
            doc["Description"] = self.description
        if self.relay_state is not None:
            doc["RelayState"] = self.relay_state
        return doc


@dataclass
class Request:
    """An asynchronous Identity Center request: ``kind`` is create, delete (an assignment) or
    provision (a permission set)."""

    request_id: str
    kind: str
    created: float
    due: float
    permission_set_arn: str
    target_id: str | None = None  # None: ALL_PROVISIONED_ACCOUNTS
    principal_type: str | None = None
    principal_id: str | None = None
    accounts: tuple[str, ...] = ()  # provision: the accounts it provisions to
    version: int = 0  # provision: the permission set's version when requested
    status: str = "IN_PROGRESS"
    failure_reason: str | None = None
    forced_failure: str | None = None  # control.inject_async_failure: ends FAILED with this

    def assignment_document(self) -> dict[str, Any]:
        return {"Status": self.status, "RequestId": self.request_id,
                "TargetId": self.target_id, "TargetType": "AWS_ACCOUNT",
                "PermissionSetArn": self.permission_set_arn, "PrincipalType": self.principal_type,
                "PrincipalId": self.principal_id, "CreatedDate": self.created,
                **present(FailureReason=self.failure_reason)}

    def provisioning_document(self) -> dict[str, Any]:
        return {"Status": self.status, "RequestId": self.request_id,
                "PermissionSetArn": self.permission_set_arn, "CreatedDate": self.created,
                **present(AccountId=self.target_id, FailureReason=self.failure_reason)}

    def summary(self) -> dict[str, Any]:
        return {"Status": self.status, "RequestId": self.request_id,
                "CreatedDate": self.created}


Assignment = tuple[str, str, str, str]  # (account id, permission set ARN, principal type, id)
# the request kinds, by the operation that makes them
REQUEST_KINDS = {"sso-admin.CreateAccountAssignment": "create",
                 "sso-admin.DeleteAccountAssignment": "delete",
                 "sso-admin.ProvisionPermissionSet": "provision"}
# what AWS reports when its own workflow fails (pulumi-aws#1927, aws-cli#8356)
INTERNAL_FAILURE = "An unexpected internal service exception was encountered"


@dataclass
class AsyncFault:
    """The ``nth`` request of a kind made from now on is accepted, then ends FAILED."""

    kind: str
    nth: int
    reason: str
    seen: int = 0


@dataclass
class IdentityCenter:
    """The organization instance and everything in it."""

    owner: str  # the management account
    instance_arn: str
    identity_store_id: str
    created: float
    partition: str
    groups: dict[str, Group] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    memberships: dict[str, Membership] = field(default_factory=dict)
    permission_sets: dict[str, PermissionSet] = field(default_factory=dict)
    assignments: dict[Assignment, float] = field(default_factory=dict)  # -> created
    provisioned: dict[tuple[str, str], int] = field(default_factory=dict)  # (ps, account)
    requests: dict[str, Request] = field(default_factory=dict)
    pending: dict[str, Request] = field(default_factory=dict)  # the IN_PROGRESS ones
    sequence: int = 0
    async_faults: list[AsyncFault] = field(default_factory=list)

    def next_id(self, kind: str) -> str:
        self.sequence += 1
        return _digest(kind, str(self.sequence))

    # --- identity store ------------------------------------------------------------------------

    def add_group(self, name: str, description: str | None = None) -> Group:
        group = Group(stable_uuid("group", name.lower()), name, description)
        while group.group_id in self.groups:  # a name deleted and created again
            group.group_id = stable_uuid("group", name.lower(), self.next_id("group"))
        self.groups[group.group_id] = group
        return group

    def add_user(self, user_name: str, *, given_name: str | None = None,
                 family_name: str | None = None, display_name: str | None = None,
                 emails: list[dict[str, Any]] | None = None) -> User:
        user = User(stable_uuid("user", user_name.lower()), user_name,
                    display_name=display_name, given_name=given_name, family_name=family_name,
                    emails=list(emails or []))
        while user.user_id in self.users:
            user.user_id = stable_uuid("user", user_name.lower(), self.next_id("user"))
        self.users[user.user_id] = user
        return user

    def add_membership(self, group_id: str, user_id: str) -> Membership:
        membership = Membership(stable_uuid("membership", group_id, user_id), group_id, user_id)
        while membership.membership_id in self.memberships:
            membership.membership_id = stable_uuid("membership", self.next_id("membership"))
        self.memberships[membership.membership_id] = membership
        return membership

    def group_named(self, name: str) -> Group | None:
        return next((g for g in self.groups.values() if g.display_name == name), None)

    def user_named(self, name: str) -> User | None:
        return next((u for u in self.users.values() if u.user_name == name), None)

    def principal_exists(self, principal_type: str | None, principal_id: str | None) -> bool:
        if principal_type == "GROUP":
            return principal_id in self.groups
        if principal_type == "USER":
            return principal_id in self.users
        return False

    # --- provisioning ----------------------------------------------------------------------------

    def in_progress(self) -> list[Request]:
        return list(self.pending.values())

    def add_request(self, request: Request) -> None:
        self.requests[request.request_id] = request
        self.pending[request.request_id] = request

    def take_async_fault(self, kind: str) -> str | None:
        """The failure reason an injected fault gives this new request of ``kind``, if any."""
        for fault in list(self.async_faults):
            if fault.kind != kind:
                continue
            fault.seen += 1
            if fault.seen == fault.nth:
                self.async_faults.remove(fault)
                return fault.reason
        return None


def inject_async_failure(state: SandboxState, operation: str, *, nth: int = 1,
                         reason: str | None = None) -> None:
    """Make the ``nth`` request of ``operation`` (``sso-admin.CreateAccountAssignment``,
    ``...DeleteAccountAssignment`` or ``...ProvisionPermissionSet``) made from now on answer
    IN_PROGRESS as usual and then end FAILED with ``reason`` (default: AWS's "An unexpected
    internal service exception was encountered"), changing nothing."""
    kind = REQUEST_KINDS.get(operation)
    if kind is None:
        raise ValueError(f"operation must be one of {', '.join(REQUEST_KINDS)}")
    if nth < 1:
        raise ValueError("nth counts from 1")
    with state.lock:
        center = center_of(state)
        if center is None:
            raise ValueError("the sandbox has no Identity Center instance")
        center.async_faults.append(AsyncFault(kind, nth, reason or INTERNAL_FAILURE))


def seed(state: SandboxState, *, owner: str, iam_users: tuple[str, ...] = (),
         extra_groups: tuple[str, ...] = ()) -> IdentityCenter:
    """The instance of the organization whose management account is ``owner``, with the seeded
    groups and users, the IAM users of ``--users`` as identity-store users, and the groups of
    ``--sso-groups`` (empty)."""
    center = IdentityCenter(owner=owner, instance_arn=instance_arn(state.partition),
                            identity_store_id=IDENTITY_STORE_ID, created=state.clock.time(),
                            partition=state.partition)
    for name, description in SEED_GROUPS:
        center.add_group(name, description)
    for user_name, given, family, groups in SEED_USERS:
        user = center.add_user(user_name, given_name=given, family_name=family,
                               display_name=f"{given} {family}",
                               emails=[{"Value": f"{user_name}@{EMAIL_DOMAIN}", "Type": "work",
                                        "Primary": True}])
        for group_name in groups:
            group = center.group_named(group_name)
            assert group is not None
            center.add_membership(group.group_id, user.user_id)
    for user_name in iam_users:
        if center.user_named(user_name) is None:
            center.add_user(user_name, display_name=user_name,
                            emails=[{"Value": f"{user_name}@{EMAIL_DOMAIN}", "Type": "work",
                                     "Primary": True}])
    for group_name in extra_groups:
        if center.group_named(group_name) is None:
            center.add_group(group_name)
    state.identity_center = center
    return center


def center_of(state: SandboxState) -> IdentityCenter | None:
    return getattr(state, "identity_center", None)


# --- the request life cycle ----------------------------------------------------------------------

def _member_status(center: IdentityCenter, account_id: str | None) -> str | None:
    """ACTIVE, SUSPENDED, ... for a member of the instance's organization, None otherwise."""
    from reconciler.sandbox.organizations import management_backend

    if account_id is None:
        return None
    backend = management_backend(account_id)
    if backend is None or backend.org is None or backend.account_id != center.owner:
        return None
    account = next((a for a in backend.accounts if a.id == account_id), None)
    return str(getattr(account, "status", "ACTIVE")) if account is not None else None


def _account_failure(center: IdentityCenter, account_id: str | None) -> str | None:
    status = _member_status(center, account_id)
    if status is None:
        return (f"Received a 404 status error: AWS account {account_id} is not a member of "
                "the organization of this IAM Identity Center instance.")
    if status != "ACTIVE":
        return (f"Obtaining permissions to manage your AWS account '{account_id}' is taking "
                "longer than usual: the account is not active.")
    return None


def advance(state: SandboxState) -> None:
    """Finish the requests whose time has come (called before every Identity Center request)."""
    center = center_of(state)
    if center is None:
        return
    now = state.clock.time()
    with state.lock:
        for request in center.in_progress():
            if request.due > now:
                continue
            reason = _complete(center, request)
            request.status = "FAILED" if reason else "SUCCEEDED"
            request.failure_reason = reason
            del center.pending[request.request_id]


def _complete(center: IdentityCenter, request: Request) -> str | None:
    """Carry out ``request``; the failure reason, or None when it succeeded."""
    if request.forced_failure:
        return request.forced_failure
    permission_set = center.permission_sets.get(request.permission_set_arn)
    ps_id = request.permission_set_arn.rsplit("/", 1)[-1]
    if request.kind == "provision":
        if permission_set is None:
            return f"Received a 404 status error: Could not find PermissionSet with id {ps_id}"
        for account_id in request.accounts:
            if request.target_id is not None:
                failure = _account_failure(center, account_id)
                if failure:
                    return failure
            elif (request.permission_set_arn, account_id) not in center.provisioned:
                continue  # deprovisioned in the meantime
            failure = realize(center, permission_set, account_id)
            if failure:
                return failure
            center.provisioned[(request.permission_set_arn, account_id)] = request.version
        return None
    assert request.target_id is not None
    key = (request.target_id, request.permission_set_arn, str(request.principal_type),
           str(request.principal_id))
    if request.kind == "create":
        if permission_set is None:
            return f"Received a 404 status error: Could not find PermissionSet with id {ps_id}"
        failure = _account_failure(center, request.target_id)
        if failure:
            return failure
        if not center.principal_exists(request.principal_type, request.principal_id):
            kind = "group" if request.principal_type == "GROUP" else "user"
            return (f"Received a 404 status error: No {kind} found with id "
                    f"{request.principal_id} in identity store {center.identity_store_id}.")
        if (request.permission_set_arn, request.target_id) not in center.provisioned:
            failure = realize(center, permission_set, request.target_id)
            if failure:
                return failure
            center.provisioned[(request.permission_set_arn, request.target_id)] = \
                permission_set.version
        center.assignments.setdefault(key, request.created)
        return None
    # delete
    if key not in center.assignments:
        return "Received a 404 status error: Assignment not found."
    del center.assignments[key]
    if not any(a[0] == request.target_id and a[1] == request.permission_set_arn
               for a in center.assignments):
        deprovision(center, request.permission_set_arn, request.target_id)
    return None


# --- the IAM roles provisioning makes in each account ---------------------------------------------

ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
INLINE_POLICY_NAME = "AwsSSOInlinePolicy"


def role_name(permission_set: PermissionSet, account_id: str) -> str:
    """``AWSReservedSSO_<permission set name>_<16 hex>`` under /aws-reserved/sso.amazonaws.com/:
    the role IAM Identity Center keeps in each account a permission set is provisioned to
    ("Permission sets ultimately get created as IAM roles in a given AWS account, with trust
    policies that allow users to assume the role through AWS SSO", cloudposse terraform-aws-sso
    docs; the name and path are those AWS gives them)."""
    suffix = _digest("role", permission_set.arn, account_id)[:16]
    return f"AWSReservedSSO_{permission_set.name}_{suffix}"


def _iam(center: IdentityCenter, account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id][center.partition]


def _policy_arn(center: IdentityCenter, account_id: str, name: str, path: str) -> str:
    return f"arn:{center.partition}:iam::{account_id}:policy{path}{name}"


def realize(center: IdentityCenter, permission_set: PermissionSet,
            account_id: str) -> str | None:
    """Make or update the account's role for ``permission_set`` (its policies, inline policy,
    boundary and session duration); the failure reason, or None. Customer managed policies (and a
    customer managed boundary) must exist in the account: "You must have an IAM policy that
    matches the name and path in each AWS account where you want to deploy your permission set"
    (API reference, AttachCustomerManagedPolicyReferenceToPermissionSet)."""
    iam = _iam(center, account_id)
    wanted = list(permission_set.managed)
    references = list(permission_set.customer_managed)
    boundary_arn = None
    if permission_set.boundary is not None:
        if "ManagedPolicyArn" in permission_set.boundary:
            boundary_arn = str(permission_set.boundary["ManagedPolicyArn"])
        else:
            reference = permission_set.boundary["CustomerManagedPolicyReference"]
            boundary_arn = _policy_arn(center, account_id, reference["Name"], reference["Path"])
            references.append((reference["Name"], reference["Path"]))
    for name, path in references:
        arn = _policy_arn(center, account_id, name, path)
        if arn not in iam.managed_policies:
            return (f"Received a 404 status error: The customer managed policy {path}{name} "
                    f"does not exist in AWS account {account_id}.")
        if (name, path) in permission_set.customer_managed:
            wanted.append(arn)
    name = role_name(permission_set, account_id)
    seconds = _session_seconds(permission_set.session_duration)
    try:
        role = next((r for r in iam.roles.values() if r.name == name), None)
        if role is None:
            saml_suffix = _digest("saml", account_id)[:16]
            trust = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:{center.partition}:iam::{account_id}:"
                                           f"saml-provider/AWSSSO_{saml_suffix}_DO_NOT_DELETE"},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {
                    "SAML:aud": "https://signin.aws.amazon.com/saml"}}}]}
            role = iam.create_role(
                role_name=name, assume_role_policy_document=json.dumps(trust), path=ROLE_PATH,
                permissions_boundary=None, description="", tags=[],
                max_session_duration=str(seconds))
        role.max_session_duration = seconds
        sync_managed_policies(iam, name, wanted)
        if permission_set.inline_policy:
            iam.put_role_policy(name, INLINE_POLICY_NAME, permission_set.inline_policy)
        elif INLINE_POLICY_NAME in role.policies:
            iam.delete_role_policy(name, INLINE_POLICY_NAME)
        if boundary_arn is not None:
            iam.put_role_permissions_boundary(name, boundary_arn)
        elif getattr(role, "permissions_boundary_arn", None):
            iam.delete_role_permissions_boundary(name)
    except Exception as error:  # IAM refused (a malformed inline policy, ...): the request fails
        return f"Received a 400 status error: {getattr(error, 'message', None) or error}"
    return None


def deprovision(center: IdentityCenter, permission_set_arn: str, account_id: str) -> None:
    """Take the permission set off the account: its role goes too."""
    center.provisioned.pop((permission_set_arn, account_id), None)
    permission_set = center.permission_sets.get(permission_set_arn)
    if permission_set is None:
        return
    iam = _iam(center, account_id)
    name = role_name(permission_set, account_id)
    role = next((r for r in iam.roles.values() if r.name == name), None)
    if role is None:
        return
    for arn in list(role.managed_policies):
        iam.detach_role_policy(arn, name)
    for policy_name in list(role.policies):
        iam.delete_role_policy(name, policy_name)
    iam.delete_role(name)


def _session_seconds(duration: str) -> int:
    found = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?",
                         duration)
    if found is None:
        return 3600
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return int(days * 86400 + hours * 3600 + minutes * 60 + seconds)


# --- serving a request ---------------------------------------------------------------------------

def _resource(service: str, center: IdentityCenter, params: dict[str, Any]) -> str:
    """The resource ARN a request acts on, for the caller's identity policies (Service
    Authorization Reference: sso's permissionSet and instance resources, identitystore's
    identitystore resource)."""
    if service == "identitystore":
        return (f"arn:{center.partition}:identitystore::{center.owner}:identitystore/"
                f"{center.identity_store_id}")
    for key in ("PermissionSetArn", "ResourceArn", "InstanceArn"):
        if params.get(key):
            return str(params[key])
    return "*"


def _denied(state: SandboxState, access_key: str, service: str, operation: str,
            center: IdentityCenter, params: dict[str, Any], remote: str) -> str | None:
    """Why the caller's identity policies refuse this call (None: allowed). The root user is
    not limited by policies; a root session's task policy was checked by the middleware."""
    from reconciler.sandbox.identity import identify, identity_policies, mfa_context
    from reconciler.sandbox.policy_eval import evaluate

    caller = identify(state, access_key)
    if caller.kind in ("root", "root-session"):
        return None
    prefix = "sso" if service == "sso-admin" else "identitystore"
    action = f"{prefix}:{operation}"
    resource = _resource(service, center, params)
    now = state.clock.now()
    principal_type = {"assumed-role": "AssumedRole"}.get(caller.kind, "User")
    context: dict[str, Any] = {
        "aws:principalarn": caller.role_arn or caller.arn,
        "aws:principalaccount": caller.account_id, "aws:principaltype": principal_type,
        "aws:resourceaccount": center.owner, "aws:sourceip": remote,
        "aws:securetransport": "true", "aws:requestedregion": state.options.region,
        "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())), **mfa_context(caller, now=now)}
    if caller.user_name:
        context["aws:username"] = caller.user_name
    if evaluate(identity_policies(caller), action=action, resource=resource,
                context=context).allowed:
        return None
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource}"


def serve(state: SandboxState, *, access_key: str, caller_account: str, service: str,
          operation: str, body: bytes, remote: str = "127.0.0.1") -> Response:
    """The whole answer to an sso-admin or identitystore request."""
    from reconciler.sandbox import identity_store, sso_admin

    try:
        params = json.loads(body or b"{}")
    except ValueError:
        params = None
    if not isinstance(params, dict):
        return _error(service, SsoError("ValidationException", "The request body is not JSON."))
    advance(state)
    with state.lock:
        center = center_of(state)
        if center is None:
            if service == "sso-admin" and operation == "ListInstances":
                return _json({"Instances": []})
            return _error(service, SsoError("AccessDeniedException",
                                            "IAM Identity Center is not enabled."))
        try:
            refusal = _denied(state, access_key, service, operation, center, params, remote)
            if refusal is not None:
                raise SsoError("AccessDeniedException", refusal)
            handler = sso_admin.handle if service == "sso-admin" else identity_store.handle
            return _json(handler(state, center, caller_account, operation, params))
        except SsoError as error:
            return _error(service, error)
        except BadToken as error:
            return _error(service, SsoError("ValidationException", str(error)))


def _json(document: dict[str, Any]) -> Response:
    return 200, [("Content-Type", "application/x-amz-json-1.1"),
                 ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(document).encode()


def _error(service: str, error: SsoError) -> Response:
    members = dict(error.members)
    if service == "identitystore":
        members.setdefault("RequestId", str(uuid.uuid4()))
    return error_response(service, error.code, error.message, extra=members)


# --- paging --------------------------------------------------------------------------------------

class BadToken(ValueError):
    pass


def page(items: list[Any], params: dict[str, Any], *, default: int = 100) -> tuple[list[Any],
                                                                                  str | None]:
    """One page of ``items`` after ``NextToken`` (opaque, as AWS's), at most ``MaxResults``."""
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"])
        except (ValueError, KeyError, TypeError):
            raise BadToken("The NextToken is invalid.") from None
        if not 0 <= start <= len(items):
            raise BadToken("The NextToken is invalid.")
    size = int(params.get("MaxResults") or default)
    chunk = items[start:start + size]
    end = start + len(chunk)
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return chunk, next_token


def paged(key: str, items: list[Any], params: dict[str, Any], *,
          document: Callable[[Any], Any] | None = None, default: int = 100) -> dict[str, Any]:
    """The answer of a List call: one page of ``items`` (each through ``document``) under
    ``key``, and ``NextToken`` when more follow (absent on the last page, as AWS answers)."""
    chunk, token = page(items, params, default=default)
    answer: dict[str, Any] = {key: chunk if document is None else [document(i) for i in chunk]}
    if token:
        answer["NextToken"] = token
    return answer


__all__ = [
    "IDENTITY_STORE_ID",
    "SEED_GROUPS",
    "SEED_USERS",
    "SERVICES",
    "SERVICE_PRINCIPAL",
    "AsyncFault",
    "BadToken",
    "Group",
    "IdentityCenter",
    "Membership",
    "PermissionSet",
    "Request",
    "SsoError",
    "User",
    "advance",
    "center_of",
    "inject_async_failure",
    "instance_arn",
    "page",
    "paged",
    "seed",
    "serve",
    "stable_uuid",
]
