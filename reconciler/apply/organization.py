"""Applies organization-wide settings: IAM trusted access and the centralized root access features.

Centralized root access needs trusted access for ``iam.amazonaws.com`` first, so that is ensured
before any feature is switched. Both are read live and only changed when they differ, so a re-run
after a crash is a no-op for what already happened.
"""

from __future__ import annotations

from reconciler.apply.executor import StepContext, StepFailed
from reconciler.aws import paginate
from reconciler.errors import AwsError
from reconciler.model import ROOT_FEATURES
from reconciler.plan import Change

IAM_PRINCIPAL = "iam.amazonaws.com"

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:EnableAWSServiceAccess",
        "organizations:DisableAWSServiceAccess",
        "iam:ListOrganizationsFeatures",
        "iam:EnableOrganizationsRootCredentialsManagement",
        "iam:DisableOrganizationsRootCredentialsManagement",
        "iam:EnableOrganizationsRootSessions",
        "iam:DisableOrganizationsRootSessions",
    ),
}

_SWITCHES = {
    "RootCredentialsManagement": ("enable_organizations_root_credentials_management",
                                  "disable_organizations_root_credentials_management"),
    "RootSessions": ("enable_organizations_root_sessions", "disable_organizations_root_sessions"),
}


def apply_change(change: Change, ctx: StepContext) -> str:
    after = change.after or {}
    done: list[str] = []
    orgs = ctx.aws.client("organizations")
    wanted_access = after.get("trusted_access_iam")
    features = after.get("root_features")
    if features:
        wanted_access = True  # the features cannot be read or changed without it
    if wanted_access is not None:
        enabled = any(s.get("ServicePrincipal") == IAM_PRINCIPAL for s in paginate(
            orgs, "list_aws_service_access_for_organization", "EnabledServicePrincipals"))
        if wanted_access and not enabled:
            orgs.enable_aws_service_access(ServicePrincipal=IAM_PRINCIPAL)
            done.append("enabled trusted access for IAM")
        elif not wanted_access and enabled and not features:
            orgs.disable_aws_service_access(ServicePrincipal=IAM_PRINCIPAL)
            done.append("disabled trusted access for IAM")
    if features is not None:
        iam = ctx.aws.client("iam")
        try:
            current = set(iam.list_organizations_features().get("EnabledFeatures", []))
        except AwsError as error:
            if features or "ServiceAccessNotEnabled" not in error.code:
                raise
            current = set()  # trusted access is off, so no feature can be on
        for feature in ROOT_FEATURES:
            enable, disable = _SWITCHES[feature]
            if feature in features and feature not in current:
                getattr(iam, enable)()
                done.append(f"enabled {feature}")
            elif feature not in features and feature in current:
                getattr(iam, disable)()
                done.append(f"disabled {feature}")
        unknown = set(features) - set(ROOT_FEATURES)
        if unknown:
            raise StepFailed(f"unknown root access feature(s): {', '.join(sorted(unknown))}")
    return "; ".join(done) or "already as wanted"
