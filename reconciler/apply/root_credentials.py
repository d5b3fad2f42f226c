"""Removes (or makes recoverable) member accounts' root-user credentials through sts:AssumeRoot.

Each root task policy allows only its own calls, so the work uses up to three short sessions:
``IAMDeleteRootUserCredentials`` deletes (login profile for ``absent``, access keys, signing
certificates, then MFA devices for ``absent``, in the conventional order),
``IAMCreateRootUserPassword`` creates a password-less login profile for ``password_recovery`` (the
root email owner can then recover a password), and an ``IAMAuditRootUserCredentials`` session
verifies the result with GetAccountSummary, as observe reads it. The step fails when anything that
should be gone is still there. A session is only opened when the plan's ``before`` (what observe
saw) leaves something for it to do; an unknown ``before`` (null) opens them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, cast

from reconciler.afters import RootCredentialsAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.apply.reachability import is_new_account, wait_until_root_reachable
from reconciler.errors import AwsError, NotFound
from reconciler.observe.root_credentials import AUDIT_TASK, read_root_credentials
from reconciler.plan import Action, Change

DELETE_TASK = "IAMDeleteRootUserCredentials"
PASSWORD_TASK = "IAMCreateRootUserPassword"

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

def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action is not Action.UPDATE:
        raise StepFailed(f"root credentials changes cannot be {change.action.value}")
    after = cast(RootCredentialsAfter, ctx.resolve(change.after or {}))
    account_id = str(after["account_id"])
    policy = str(after.get("policy", "absent"))
    if account_id in (ctx.management_account_id, ctx.desired.organization.management_account_id):
        raise StepFailed("root credentials are never managed for the management account")
    if policy not in ("absent", "password_recovery"):
        raise StepFailed(f"unknown root credentials policy {policy!r}")
    keep_password = policy == "password_recovery"
    remove_mfa = policy == "absent"  # password_recovery leaves MFA devices as they are
    before = cast(RootCredentialsAfter, change.before or {})  # null: unknown, anything may be there
    if is_new_account(ctx, account_id):
        # a new account refuses AssumeRoot for minutes, as it refuses AssumeRole
        wait_until_root_reachable(ctx, change, account_id=account_id, task=AUDIT_TASK)

    def maybe(present: bool | None) -> bool:  # None (or not in before): unknown
        return present is not False

    notes: list[str] = []
    if (not keep_password and maybe(before.get("password"))) or maybe(before.get("access_keys")) \
            or maybe(before.get("signing_certificates")) \
            or (remove_mfa and maybe(before.get("mfa"))):
        notes = _delete(ctx, account_id, keep_password=keep_password, remove_mfa=remove_mfa)
    if keep_password and before.get("password") is not True:
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
    # A delete that meets NoSuchEntity finds nothing left to delete: the desired state. That is
    # what a retried delete whose first reply was lost meets (this run's own earlier success).
    keys = _delete_each(iam.list_access_keys().get("AccessKeyMetadata", []),
                        iam.delete_access_key, "AccessKeyId")
    if keys:
        notes.append(f"deleted {keys} root access key(s)")
    certificates = _delete_each(iam.list_signing_certificates().get("Certificates", []),
                                iam.delete_signing_certificate, "CertificateId")
    if certificates:
        notes.append(f"deleted {certificates} signing certificate(s)")
    if remove_mfa:
        devices = iam.list_mfa_devices().get("MFADevices", [])
        for device in devices:
            serial = device["SerialNumber"]
            with contextlib.suppress(NotFound):
                iam.deactivate_mfa_device(SerialNumber=serial)
            if ":mfa/" in serial:
                with contextlib.suppress(NotFound):
                    iam.delete_virtual_mfa_device(SerialNumber=serial)
        if devices:
            notes.append(f"removed {len(devices)} MFA device(s)")
    return notes


def _delete_each(items: list[dict[str, Any]], delete: Callable[..., Any], key: str) -> int:
    """Delete every item listed (``delete(<key>=item[key])``); how many there were."""
    for item in items:
        with contextlib.suppress(NotFound):
            delete(**{key: item[key]})
    return len(items)


def _ensure_password_recovery(ctx: StepContext, account_id: str) -> list[str]:
    iam = ctx.aws.root_client("iam", account_id=account_id, task=PASSWORD_TASK)
    try:
        iam.get_login_profile()
        return []
    except NotFound:
        pass
    try:
        iam.create_login_profile()
    except AwsError as error:
        if error.code != "EntityAlreadyExists":
            raise
        # A lost reply to this CreateLoginProfile (retried by botocore), or one made meanwhile:
        # either way a login profile is there, which is all password_recovery asks for.
        iam.get_login_profile()
    return ["enabled password recovery (login profile without a password)"]


def _verify(ctx: StepContext, account_id: str, after: RootCredentialsAfter, *, policy: str) -> None:
    """Read the result back in an audit session. A cached audit session (observe's) is as good as
    a new one: root credentials do not snapshot what they read, so no credential is dropped."""
    observed = read_root_credentials(ctx.aws, account_id=account_id)
    if observed.error is not None:
        raise StepFailed(f"cannot verify the root credentials of {account_id}: {observed.error}")
    present = {"password": observed.password, "access_keys": observed.access_keys,
               "signing_certificates": observed.signing_certificates, "mfa": observed.mfa}
    iam = ctx.aws.root_client("iam", account_id=account_id, task=AUDIT_TASK)
    try:  # a password-less login profile (password_recovery) is a login profile all the same
        iam.get_login_profile()
        present["password"] = True
    except NotFound:
        present["password"] = False
    wanted_by_field = {"password": after.get("password"), "access_keys": after.get("access_keys"),
                       "signing_certificates": after.get("signing_certificates"),
                       "mfa": after.get("mfa")}
    wrong: list[str] = []
    for field, wanted in wanted_by_field.items():
        if field == "password" and wanted is None:
            wanted = policy == "password_recovery"
        if wanted is None or (field == "mfa" and policy == "password_recovery"):
            continue
        if bool(present[field]) != bool(wanted):
            wrong.append(f"{field.replace('_', ' ')} "
                         f"{'present' if present[field] else 'missing'}")
    if wrong:
        raise StepFailed(f"root credentials of {account_id} not as wanted after the change: "
                         + ", ".join(wrong))
