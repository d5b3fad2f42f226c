"""Reading the access role of a member account, from inside that account.

orgsync assumes the role itself, then makes ONE call, GetAccountAuthorizationDetails filtered to
roles, which returns the role's trust policy, inline policies and attached managed policies
together (instead of GetRole + ListRolePolicies + GetRolePolicy per policy +
ListAttachedRolePolicies). When the file renames the role and the new one is not there yet,
orgsync gets in through the organization's default access role (``via_role``) to see that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.aws import Aws, pages
from reconciler.errors import AccessDenied, AwsError
from reconciler.observe.reads import AccountRead, AccountView, Parts
from reconciler.observed import ObservedRole, ObservedState

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRole", "iam:SimulatePrincipalPolicy"),
    "member": ("iam:GetAccountAuthorizationDetails",),
}

ASSUME_ROLE = "sts:AssumeRole"
# IAM's largest page: most accounts fit their roles in one call.
PAGE_SIZE = 1000


def read_access_role(aws: Aws, *, account_id: str, role_name: str,
                     default_role_name: str) -> ObservedRole:
    """The access role ``role_name`` of ``account_id`` (status ok / missing / not_assumable)."""
    try:
        return _read_through(aws, account_id=account_id, role_name=role_name, via=role_name)
    except AccessDenied as error:
        first_error = error
    if default_role_name != role_name:
        try:
            return _read_through(aws, account_id=account_id, role_name=role_name,
                                 via=default_role_name)
        except AccessDenied:
            pass
    return ObservedRole(account_id=account_id, name=role_name, status="not_assumable",
                        error=_no_way_in(first_error, role_name))


def usable_role(role: ObservedRole | None) -> str | None:
    """The role to get into the account with (the access role, or the default role it was read
    through); None when there is none (not read, or not assumable)."""
    if role is None or role.status == "not_assumable":
        return None
    return role.via_role or role.name


def _wants(account: AccountView, reading: frozenset[str]) -> bool:
    # Active member accounts, when the management account runs the read (the delegated
    # administrator's credentials cannot assume the roles).
    return not account.management and account.active and not account.scope.delegated


def _read(account: AccountView, parts: Parts) -> ObservedRole:
    return read_access_role(account.scope.aws, account_id=account.id,
                            role_name=account.spec.access_role.name,
                            default_role_name=account.scope.desired.organization.access_role)


def _land(observed: ObservedState, parts: Mapping[str, ObservedRole]) -> ObservedState:
    return replace(observed, roles=dict(parts))


# Read first in each account's job: the alias and the account name are read through it.
ACCOUNT_READ = AccountRead("access_role", wants=_wants, read=_read, land=_land)


def _no_way_in(error: AccessDenied, role_name: str) -> str:
    """Why orgsync cannot read the account through ``role_name``. A refused AssumeRole is the
    usual case; a role that can be assumed but may not read IAM is one whose permissions are
    incomplete (a bootstrap interrupted between CreateRole and AttachRolePolicy, or a narrowed
    role): AWS decides the member's reads by the role's own policies, so both mean no way in,
    and both are repaired the same way (the bootstrap profile, the stack set or the account's
    administrator)."""
    if error.operation == ASSUME_ROLE:
        return f"{error.code}: {error.aws_message}"
    return (f"role {role_name} can be assumed but may not read IAM ({error.operation}: "
            f"{error.code}); its permissions are incomplete (`orgsync permissions --for member` "
            "lists what it must allow)")


def _policy_source_arn(caller_arn: str) -> str | None:
    """The IAM principal whose policies apply to ``caller_arn``: the user itself, or the role
    behind an assumed-role session (assumed to have no path: GetCallerIdentity does not say)."""
    parts = caller_arn.split(":", 5)
    if len(parts) != 6:
        return None
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "iam" and resource.startswith("user/"):
        return caller_arn
    if service == "sts" and resource.startswith("assumed-role/"):
        return f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
    return None


def caller_may_assume(aws: Aws, *, caller_arn: str, role_arns: list[str]) -> bool | None:
    """Whether the caller's identity policies allow sts:AssumeRole on any of ``role_arns``
    (iam:SimulatePrincipalPolicy); None when IAM cannot tell (no permission to ask, an unknown
    principal, or a condition that needs request context such as MFA or source IP)."""
    source = _policy_source_arn(caller_arn)
    if source is None:
        return None
    try:
        response = aws.client("iam").simulate_principal_policy(
            PolicySourceArn=source, ActionNames=[ASSUME_ROLE], ResourceArns=role_arns)
    except AwsError:
        return None
    results = response.get("EvaluationResults") or []
    if not results or any(r.get("MissingContextValues") for r in results):
        return None
    return any(r.get("EvalDecision") == "allowed" for r in results)


def _read_through(aws: Aws, *, account_id: str, role_name: str, via: str) -> ObservedRole:
    iam = aws.member_client("iam", account_id=account_id, role_name=via)
    found: dict[str, Any] | None = None
    for page in pages(iam, "get_account_authorization_details", Filter=["Role"],
                      PaginationConfig={"PageSize": PAGE_SIZE}):
        for role in page.get("RoleDetailList") or ():
            if role.get("RoleName") == role_name:
                found = role
        if found is not None:
            break  # the rest of the pages cannot hold another role of that name
    via_role = None if via == role_name else via
    if found is None:
        if via == role_name:  # it was assumed, so it exists: IAM has not caught up yet
            raise AwsError(operation="iam:GetAccountAuthorizationDetails", code="RoleNotListed",
                           message=f"role {role_name} was assumed but is not listed yet",
                           account_id=account_id)
        return ObservedRole(account_id=account_id, name=role_name, status="missing",
                            via_role=via_role)
    return role_from_details(found, account_id=account_id, via_role=via_role)


def role_from_details(role: Mapping[str, Any], *, account_id: str,
                      via_role: str | None) -> ObservedRole:
    """An ObservedRole from one RoleDetailList entry (documents already decoded by botocore).

    Plain dicts, not read-only views: ``ObservedState.fingerprint`` deep-copies through
    ``dataclasses.asdict``, which cannot copy a ``MappingProxyType``."""
    inline = {str(p["PolicyName"]): dict(p.get("PolicyDocument") or {})
              for p in role.get("RolePolicyList") or ()}
    attached = tuple(sorted(str(p["PolicyArn"]) for p in role.get("AttachedManagedPolicies") or ()))
    max_session = role.get("MaxSessionDuration")
    return ObservedRole(
        account_id=account_id,
        name=str(role["RoleName"]),
        status="ok",
        via_role=via_role,
        trust_policy=dict(role.get("AssumeRolePolicyDocument") or {}),
        inline_policies=dict(sorted(inline.items())),
        attached_policies=attached,
        max_session_duration=int(max_session) if max_session is not None else None,
    )

