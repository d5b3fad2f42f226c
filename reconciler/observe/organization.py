"""Reading the organization itself: who manages it, its root, trusted access for IAM and the IAM
organizations features (centralized root access).

This is where orgsync refuses to go on when the credentials belong to another organization than
the file describes: nothing else is read, let alone changed, in that case.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.aws import Aws, Client, paginate
from reconciler.errors import AwsError, Refusal
from reconciler.observed import ObservedOrganization

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "sts:GetCallerIdentity",
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListAWSServiceAccessForOrganization",
        "iam:ListOrganizationsFeatures",
    ),
}

IAM_SERVICE_PRINCIPAL = "iam.amazonaws.com"
# IAM reports these when the features cannot be read (trusted access off, not all features, ...);
# the IAM reference prints them without the "Exception" suffix, so both spellings are matched.
_FEATURES_UNREADABLE = frozenset({
    "ServiceAccessNotEnabled", "OrganizationNotInAllFeaturesMode",
    "AccountNotManagementOrDelegatedAdministrator", "CallerIsNotManagementAccount",
    "OrganizationNotFound",
})


def read_caller(aws: Aws) -> str:
    """The ARN of the credentials in use (sts:GetCallerIdentity, which needs no permission);
    refuses an account's root user up front: AWS does not let root users assume roles ("Roles
    may not be assumed by root accounts", STS AssumeRole reference) nor call AssumeRoot, so
    orgsync could not enter a single member account, and AWS advises against root access keys
    (IAM User Guide, "Root user best practices for your AWS account")."""
    identity = aws.caller_identity()
    arn = identity["Arn"]
    if arn.endswith(":root") and ":iam::" in arn:
        raise Refusal(
            f"the AWS credentials in use are the root user of account "
            f"{identity.get('Account', '?')} ({arn}): AWS does not let root users assume roles, "
            "so orgsync cannot reach member accounts; use an IAM user or role of the "
            "management account (and delete the root access keys)")
    return arn


def read_organization(org: Client, *, expected_management_account_id: str,
                      before_roots: Callable[[], None] | None = None) -> ObservedOrganization:
    """DescribeOrganization + ListRoots; refuses another organization's management account.
    ``before_roots`` runs once the organization is known to be the right one (the runner check:
    ListRoots is refused to members that are no delegated administrator)."""
    try:
        described = org.describe_organization()["Organization"]
    except AwsError as error:
        if error.code == "AWSOrganizationsNotInUseException":
            raise Refusal("the AWS credentials in use belong to an account that is not in an "
                          "organization (expected the management account "
                          f"{expected_management_account_id})") from error
        raise
    management = str(described.get("MasterAccountId", ""))
    if management != expected_management_account_id:
        raise Refusal(
            f"the organization {described.get('Id', '?')} is managed by account {management}, "
            f"not {expected_management_account_id} as organization.management_account_id says: "
            "refusing to plan against another organization")
    if before_roots is not None:
        before_roots()
    roots = list(paginate(org, "list_roots", "Roots"))
    if not roots:
        raise AwsError(operation="organizations:ListRoots", code="NoRoot",
                       message="the organization has no root")
    return ObservedOrganization(
        id=str(described["Id"]),
        arn=str(described.get("Arn", "")),
        feature_set=str(described.get("FeatureSet", "ALL")),
        management_account_id=management,
        root_id=str(roots[0]["Id"]),
    )


def read_trusted_access_iam(org: Client) -> bool:
    """Whether IAM has trusted access to the organization (needed for centralized root access)."""
    enabled = paginate(org, "list_aws_service_access_for_organization",
                       "EnabledServicePrincipals")
    return any(p.get("ServicePrincipal") == IAM_SERVICE_PRINCIPAL for p in enabled)


def read_root_features(iam: Client, *, trusted_access_iam: bool) -> tuple[str, ...] | None:
    """The enabled IAM organizations features, sorted; None when they cannot be read (IAM has no
    trusted access, or the organization is not in all-features mode)."""
    if not trusted_access_iam:
        return None
    try:
        response = iam.list_organizations_features()
    except AwsError as error:
        if error.code.removesuffix("Exception") in _FEATURES_UNREADABLE:
            return None
        raise
    return tuple(sorted(str(f) for f in response.get("EnabledFeatures") or ()))
