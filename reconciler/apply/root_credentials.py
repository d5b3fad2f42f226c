"""Removes (or makes recoverable) member accounts' root-user credentials through sts:AssumeRoot.

Each root task policy allows only its own calls, so the work uses three short sessions:
``IAMDeleteRootUserCredentials`` deletes (login profile for ``absent``, access keys, signing
certificates, then MFA devices for ``absent``, in the conventional order),
``IAMCreateRootUserPassword`` creates a password-less login profile for ``password_recovery`` (the
root email owner can then recover a password), and a fresh ``IAMAuditRootUserCredentials`` session
verifies the result with GetAccountSummary. The step fails when anything that should be gone is
still there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from reconciler.apply.executor import StepContext, StepFailed
from reconciler.errors import NotFound
from reconciler.plan import Action, Change

DELETE_TASK = "IAMDeleteRootUserCredentials"
PASSWORD_TASK = "IAMCreateRootUserPassword"
AUDIT_TASK = "IAMAuditRootUserCredentials"

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRoot",),
    "root": (
        "iam:GetLoginProfile",
        "iam:DeleteLoginProfile",
        "iam:ListAccessKeys",
        "iam:DeleteAccessKey",
        "iam:ListSigningCertificates",
        "iam:DeleteSigningCertificate",
        "iam:ListMFADevices",
        "iam:DeactivateMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:CreateLoginProfile",
        "iam:GetAccountSummary",
    ),
}

_SUMMARY_KEYS = {
    "password": "AccountPasswordPresent",
    "access_keys": "AccountAccessKeysPresent",
    "signing_certificates": "AccountSigningCertificatesPresent",
    "mfa": "AccountMFAEnabled",
}


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action is not Action.UPDATE:
        raise StepFailed(f"root credentials changes cannot be {change.action.value}")
    after: Mapping[str, Any] = ctx.resolve(change.after or {})
    account_id = str(after["account_id"])
    policy = str(after.get("policy", "absent"))
    if account_id in (ctx.management_account_id, ctx.desired.organization.management_account_id):
        raise StepFailed("root credentials are never managed for the management account")
    if policy not in ("absent", "password_recovery"):
        raise StepFailed(f"unknown root credentials policy {policy!r}")
    keep_password = policy == "password_recovery"
    remove_mfa = after.get("mfa") is False
    notes = _delete(ctx, account_id, keep_password=keep_password, remove_mfa=remove_mfa)
    if keep_password:
        notes.extend(_ensure_password_recovery(ctx, account_id))
    _verify(ctx, account_id, after, policy=policy)
    return ("; ".join(notes) or "nothing to remove") + "; verified with an audit session"


def _delete(ctx: StepContext, account_id: str, *, keep_password: bool,
            remove_mfa: bool) -> list[str]:
    iam = ctx.aws.root_client("iam", account_id=account_id, task=DELETE_TASK)
    notes: list[str] = []
    if not keep_password:
        try:
            iam.get_login_profile()
            iam.delete_login_profile()
            notes.append("deleted the root password")
        except NotFound:
            pass
    keys = iam.list_access_keys().get("AccessKeyMetadata", [])
    for key in keys:
        iam.delete_access_key(AccessKeyId=key["AccessKeyId"])
    if keys:
        notes.append(f"deleted {len(keys)} root access key(s)")
    certificates = iam.list_signing_certificates().get("Certificates", [])
    for certificate in certificates:
        iam.delete_signing_certificate(CertificateId=certificate["CertificateId"])
    if certificates:
        notes.append(f"deleted {len(certificates)} signing certificate(s)")
    if remove_mfa:
        devices = iam.list_mfa_devices().get("MFADevices", [])
        for device in devices:
            serial = device["SerialNumber"]
            iam.deactivate_mfa_device(SerialNumber=serial)
            if ":mfa/" in serial:
                with contextlib.suppress(NotFound):
                    iam.delete_virtual_mfa_device(SerialNumber=serial)
        if devices:
            notes.append(f"removed {len(devices)} MFA device(s)")
    return notes


def _ensure_password_recovery(ctx: StepContext, account_id: str) -> list[str]:
    iam = ctx.aws.root_client("iam", account_id=account_id, task=PASSWORD_TASK)
    try:
        iam.get_login_profile()
        return []
    except NotFound:
        pass
    iam.create_login_profile()
    return ["enabled password recovery (login profile without a password)"]


def _verify(ctx: StepContext, account_id: str, after: Mapping[str, Any], *, policy: str) -> None:
    ctx.aws.forget(account_id)
    iam = ctx.aws.root_client("iam", account_id=account_id, task=AUDIT_TASK)
    summary = dict(iam.get_account_summary().get("SummaryMap", {}))
    try:  # a password-less login profile (password_recovery) is a login profile all the same
        iam.get_login_profile()
        summary[_SUMMARY_KEYS["password"]] = 1
    except NotFound:
        summary[_SUMMARY_KEYS["password"]] = 0
    wrong: list[str] = []
    for field, key in _SUMMARY_KEYS.items():
        wanted = after.get(field)
        if field == "password" and wanted is None:
            wanted = policy == "password_recovery"
        if wanted is None:
            continue
        present = bool(summary.get(key, 0))
        if present != bool(wanted):
            wrong.append(f"{field.replace('_', ' ')} {'present' if present else 'missing'}")
    if wrong:
        raise StepFailed(f"root credentials of {account_id} not as wanted after the change: "
                         + ", ".join(wrong))
