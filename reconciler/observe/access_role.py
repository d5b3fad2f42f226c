"""Reading the access role of a member account, from inside that account.

orgsync assumes the role itself, then makes ONE call, GetAccountAuthorizationDetails filtered to
roles, which returns the role's trust policy, inline policies and attached managed policies
together (instead of GetRole + ListRolePolicies + GetRolePolicy per policy +
ListAttachedRolePolicies). When the file renames the role and the new one is not there yet,
orgsync gets in through the organization's default access role (``via_role``) to see that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.aws import Aws, pages
from reconciler.errors import AccessDenied, AwsError
from reconciler.observed import ObservedRole

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRole",),
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
        if error.operation != ASSUME_ROLE:
            raise
        first_error = error
    if default_role_name != role_name:
        try:
            return _read_through(aws, account_id=account_id, role_name=role_name,
                                 via=default_role_name)
        except AccessDenied as error:
            if error.operation != ASSUME_ROLE:
                raise
    return ObservedRole(account_id=account_id, name=role_name, status="not_assumable",
                        error=f"{first_error.code}: {first_error.aws_message}")


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

