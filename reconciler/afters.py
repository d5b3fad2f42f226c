"""The typed shape of each kind's ``after`` (and ``before``) in a plan's changes.

A change's ``after`` is plain JSON in the plan document (CONTRACT.md section 4, docs/plans.md):
these ``TypedDict``s name its keys once, for the planner that builds it and the apply step that
reads it, so that a misspelt key is a type error rather than a silent ``None``. They describe the
same JSON: the document does not change. Keys are optional (``total=False``) because a kind's
actions carry different subsets (an account ``create`` has no ``id``, an ``update`` no
``email``); docs/development.md's table says which action carries which.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

from reconciler.jsontypes import JSON

# organization: the key of the CloudFormation StackSets trusted access (invited_bootstrap:
# stackset), planned by the stack_set kind and applied with the organization's change
TRUSTED_ACCESS_CLOUDFORMATION: Final = "trusted_access_cloudformation"
# the organization's trusted accesses that another kind's change turns on (planner.organization.
# turn_on): the StackSets one, and account.amazonaws.com's for alternate contacts
TrustedAccessKey = Literal["trusted_access_cloudformation", "trusted_access_account"]


class OrganizationAfter(TypedDict, total=False):
    trusted_access_iam: bool
    root_features: list[str]
    trusted_access_cloudformation: bool
    trusted_access_account: bool  # account.amazonaws.com, for alternate contacts


class OuAfter(TypedDict, total=False):
    path: str
    name: str
    parent_path: str


class AccountAfter(TypedDict, total=False):
    id: str
    name: str
    email: str
    ou: str
    tags: dict[str, str] | None
    iam_user_access_to_billing: str | None
    role_name: str
    state: str


class AccountCreateRequest(TypedDict, total=False):
    """An account create's ``before`` when an earlier run's CreateAccount is still in progress."""

    create_request_id: str
    state: str


class StackSetTarget(TypedDict, total=False):
    name: str
    region: str | None  # None: apply's own region


class AccessRoleAfter(TypedDict, total=False):
    account_id: str
    name: str
    trust_policy: dict[str, JSON] | None
    policies: list[str]
    inline_policies: dict[str, JSON]
    via_role: str | None
    bootstrap_profile: str | None
    stack_set: StackSetTarget  # the role is deployed by the organization's stack set


class GroupPolicyValue(TypedDict, total=False):
    name: str
    path: str
    document: dict[str, JSON]
    attached: bool  # before only: False for a left-over grant policy not attached to the group


class GroupAfter(TypedDict, total=False):
    name: str
    path: str | None  # a delete's before: None when only left-over grant policies exist
    members: list[str]
    inline_policies: dict[str, JSON]
    managed_policies: list[GroupPolicyValue]


class RootCredentialsAfter(TypedDict, total=False):
    account_id: str
    policy: str  # "absent" | "password_recovery"
    password: bool | None
    access_keys: bool | None
    signing_certificates: bool | None
    mfa: bool | None


class DelegatedAdminAfter(TypedDict, total=False):
    account_id: str
    account: str
    service_principal: str


class StackSetAfter(TypedDict, total=False):
    name: str
    region: str
    accounts: list[str]
    remove: list[str]
    retain_stacks: bool


class AccountAliasAfter(TypedDict, total=False):
    account_id: str
    alias: str | None  # None in a delete's before when AWS's alias could not be read
    role_name: str | None  # None: the management account's own credentials


class ContactValue(TypedDict):
    name: str
    title: str
    email: str
    phone: str


class AlternateContactsAfter(TypedDict, total=False):
    account_id: str
    management: bool
    contacts: dict[str, ContactValue | None]  # listed types only; None: no such contact


class PolicyReferenceValue(TypedDict):
    name: str
    path: str


class PermissionsBoundaryValue(TypedDict, total=False):
    managed_policy_arn: str  # either this, or name and path (a customer managed policy)
    name: str
    path: str


class PermissionSetAfter(TypedDict, total=False):
    instance_arn: str
    arn: str  # an update's after (and a before)
    name: str
    # each attribute below is in an after only when the file writes it (None: "none")
    description: str | None
    session_duration: str | None
    managed_policies: list[str]
    customer_managed_policies: list[PolicyReferenceValue]
    inline_policy: dict[str, JSON] | None
    permissions_boundary: PermissionsBoundaryValue | None
    relay_state: str | None
    outdated_accounts: list[str]


class AssignmentAfter(TypedDict, total=False):
    instance_arn: str
    account: str
    account_id: str
    permission_set: str
    permission_set_arn: str  # a delete's before
    principal_type: str  # "GROUP" | "USER"
    principal: str
    principal_id: str


class AssignmentRequest(TypedDict):
    """An assignment create's ``before`` when an earlier run's request is still in flight."""

    request_id: str
    status: str
