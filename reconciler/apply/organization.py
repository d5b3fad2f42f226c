"""Applies organization-wide settings: IAM trusted access and the centralized root access features.

Centralized root access needs trusted access for ``iam.amazonaws.com`` first, so that is ensured
before any feature is switched. Both are read live and only changed when they differ, so a re-run
after a crash is a no-op for what already happened.
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import OrganizationAfter
from reconciler.apply import stack_set
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.model import ROOT_FEATURES
from reconciler.observe.alternate_contacts import SERVICE_PRINCIPAL as ACCOUNT_SERVICE_PRINCIPAL
from reconciler.observe.alternate_contacts import read_trusted_access_account
from reconciler.observe.organization import (
    IAM_SERVICE_PRINCIPAL,
    read_root_features,
    read_trusted_access_iam,
)
from reconciler.plan import Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:EnableAWSServiceAccess",
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
    after = cast(OrganizationAfter, change.after or {})
    done: list[str] = []
    features = after.get("root_features")
    unknown = set(features or ()) - set(ROOT_FEATURES)
    if unknown:
        raise StepFailed(f"unknown root access feature(s): {', '.join(sorted(unknown))}")
    # orgsync only ever turns trusted access on (the features need it), never off.
    if after.get("trusted_access_iam") or features:
        orgs = ctx.aws.client("organizations")
        if not read_trusted_access_iam(orgs):
            orgs.enable_aws_service_access(ServicePrincipal=IAM_SERVICE_PRINCIPAL)
            done.append("enabled trusted access for IAM")
    if after.get("trusted_access_cloudformation"):
        done.extend(stack_set.ensure_trusted_access(ctx))
    if after.get("trusted_access_account"):  # alternate contacts of member accounts need it
        orgs = ctx.aws.client("organizations")
        if not read_trusted_access_account(orgs):
            orgs.enable_aws_service_access(ServicePrincipal=ACCOUNT_SERVICE_PRINCIPAL)
            done.append(f"enabled trusted access for {ACCOUNT_SERVICE_PRINCIPAL}")
    if features is not None:
        iam = ctx.aws.client("iam")
        # Features that cannot be read (trusted access is off) are all off.
        current = set(read_root_features(iam, trusted_access_iam=True) or ())
        for feature in ROOT_FEATURES:
            enable, disable = _SWITCHES[feature]
            if feature in features and feature not in current:
                getattr(iam, enable)()
                done.append(f"enabled {feature}")
            elif feature not in features and feature in current:
                getattr(iam, disable)()
                done.append(f"disabled {feature}")
    return "; ".join(done) or "already as wanted"
