"""Reading a member account's root-user credentials through a privileged root session.

Only for accounts whose root policy the file manages (``absent`` / ``password_recovery``), and only
when both centralized root access features are enabled: ``sts:AssumeRoot`` with the audit task
policy, then one GetAccountSummary, whose SummaryMap says whether a password, access keys, signing
certificates and MFA exist (two calls instead of four List/Get calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.aws import Aws
from reconciler.errors import AwsError, Throttled
from reconciler.model import ROOT_FEATURES
from reconciler.observe.reads import AccountRead, AccountView, Parts
from reconciler.observed import ObservedRootCredentials, ObservedState

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRoot",),
    "root": ("iam:GetAccountSummary",),
}

AUDIT_TASK = "IAMAuditRootUserCredentials"
# The root policies that need the credentials read (``unmanaged`` does not; the management
# account's root user is not the organization's to manage).
MANAGED_ROOT_POLICIES = ("absent", "password_recovery")


def root_reads_possible(features: tuple[str, ...] | None) -> bool:
    """Whether an AssumeRoot audit session can be had: root sessions (RootSessions) running a root
    credential task (RootCredentialsManagement) need both features; without them every audit would
    be refused, so orgsync does not spend the calls."""
    return features is not None and all(f in features for f in ROOT_FEATURES)


def read_root_credentials(aws: Aws, *, account_id: str) -> ObservedRootCredentials:
    """The root user's credentials in ``account_id``; an AssumeRoot the organization refuses is
    recorded in ``error`` (the plan then shows the state as unknown), throttling is raised."""
    iam = aws.root_client("iam", account_id=account_id, task=AUDIT_TASK)
    try:
        summary = iam.get_account_summary().get("SummaryMap") or {}
    except Throttled:
        raise
    except AwsError as error:
        why = f"{error.operation}: {error.code}: {error.aws_message}"
        return ObservedRootCredentials(account_id=account_id, error=why)
    return ObservedRootCredentials(
        account_id=account_id,
        password=bool(summary.get("AccountPasswordPresent", 0)),
        access_keys=bool(summary.get("AccountAccessKeysPresent", 0)),
        signing_certificates=bool(summary.get("AccountSigningCertificatesPresent", 0)),
        mfa=bool(summary.get("AccountMFAEnabled", 0)),
    )


def _wants(account: AccountView, reading: frozenset[str]) -> bool:
    return (not account.management and account.active and account.scope.root_possible
            and account.spec.root_credentials in MANAGED_ROOT_POLICIES)


def _read(account: AccountView, parts: Parts) -> ObservedRootCredentials:
    return read_root_credentials(account.scope.aws, account_id=account.id)


def _land(observed: ObservedState,
          parts: Mapping[str, ObservedRootCredentials]) -> ObservedState:
    return replace(observed, root_credentials=dict(parts))


ACCOUNT_READ = AccountRead("root_credentials", wants=_wants, read=_read, land=_land)
