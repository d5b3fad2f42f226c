"""``orgsync root audit``: the root-user credentials of every active member account, as an audit
session sees them, next to the root policy the file gives each account.

One ``sts:AssumeRoot`` session per account with the task policy ``IAMAuditRootUserCredentials``,
then the four reads that task allows for the root user (omitting ``UserName``): GetLoginProfile
(NoSuchEntity: no password), ListAccessKeys, ListSigningCertificates, ListMFADevices. Accounts are
read in parallel like ``plan`` reads member accounts; every call goes through the AWS layer's call
log, so the run's calls are counted the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.aws import Aws, paginate
from reconciler.errors import AwsError, NotFound, Throttled
from reconciler.privileged.session import Caller, MemberAccount

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRoot", "organizations:ListAccounts"),
    "root": ("iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListSigningCertificates",
             "iam:ListMFADevices"),
}
AUDIT_TASK = "IAMAuditRootUserCredentials"
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class RootAudit:
    """One account's root user, as read through an audit session (``error``: it could not be)."""

    account_id: str
    name: str
    password: bool = False
    access_keys: tuple[Mapping[str, Any], ...] = ()
    signing_certificates: tuple[Mapping[str, Any], ...] = ()
    mfa_devices: tuple[str, ...] = ()
    error: str | None = None
    policy: str = "unmanaged"  # the file's effective root policy, or "not in the file"
    findings: tuple[str, ...] = field(default=())


def _when(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


def read_root_user(aws: Aws, *, account_id: str, name: str) -> RootAudit:
    iam = aws.root_client("iam", account_id=account_id, task=AUDIT_TASK)
    try:
        try:
            iam.get_login_profile()
            password = True
        except NotFound:
            password = False
        keys = tuple({"id": k.get("AccessKeyId"), "status": k.get("Status"),
                      "created": _when(k.get("CreateDate"))}
                     for k in paginate(iam, "list_access_keys", "AccessKeyMetadata"))
        certificates = tuple({"id": c.get("CertificateId"), "status": c.get("Status"),
                              "uploaded": _when(c.get("UploadDate"))}
                             for c in paginate(iam, "list_signing_certificates",
                                               "Certificates"))
        devices = tuple(sorted(str(d.get("SerialNumber"))
                               for d in paginate(iam, "list_mfa_devices", "MFADevices")))
    except Throttled:
        raise
    except AwsError as error:
        return RootAudit(account_id, name, error=f"{error.operation}: {error.code}: "
                                                 f"{error.aws_message}")
    return RootAudit(account_id, name, password=password, access_keys=keys,
                     signing_certificates=certificates, mfa_devices=devices)


def findings(audit: RootAudit, policy: str) -> tuple[str, ...]:
    """How the account differs from its root policy (``absent``: nothing at all;
    ``password_recovery``: a password to recover, no access keys or signing certificates)."""
    if audit.error is not None or policy not in ("absent", "password_recovery"):
        return ()
    found = []
    if audit.access_keys:
        found.append(f"{len(audit.access_keys)} access key(s)")
    if audit.signing_certificates:
        found.append(f"{len(audit.signing_certificates)} signing certificate(s)")
    if policy == "absent":
        if audit.password:
            found.append("a password")
        if audit.mfa_devices:
            found.append(f"{len(audit.mfa_devices)} MFA device(s)")
    elif not audit.password:
        found.append("no password to recover")
    return tuple(found)


def audit(aws: Aws, *, accounts: list[MemberAccount], policies: Mapping[str, str],
          parallelism: int, on_done: Callable[[], None] | None = None) -> list[RootAudit]:
    """Audit every ACTIVE account of ``accounts`` in parallel; ``policies`` maps account ids to
    the file's root policy."""
    active = [(a.id, a.name) for a in accounts if a.state == "ACTIVE"]

    def one(item: tuple[str, str]) -> RootAudit:
        account_id, name = item
        result = read_root_user(aws, account_id=account_id, name=name)
        policy = policies.get(account_id, "not in the file")
        result = RootAudit(**{**result.__dict__, "policy": policy,
                              "findings": findings(result, policy)})
        if on_done is not None:
            on_done()
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallelism),
                            thread_name_prefix="orgsync-root-audit") as pool:
        return list(pool.map(one, active))


def document(results: list[RootAudit], caller: Caller, *, calls: int) -> dict[str, Any]:
    """The canonical audit document; text and markdown are rendered from it."""
    return {
        "format_version": FORMAT_VERSION,
        "management_account_id": caller.management_account_id,
        "caller": {"arn": caller.arn, "account_id": caller.account_id,
                   "as": "delegated_administrator" if caller.delegated else "management"},
        "accounts": [{
            "id": r.account_id, "name": r.name, "policy": r.policy,
            "password": r.password if r.error is None else None,
            "access_keys": [dict(k) for k in r.access_keys],
            "signing_certificates": [dict(c) for c in r.signing_certificates],
            "mfa_devices": list(r.mfa_devices),
            "findings": list(r.findings), "error": r.error,
        } for r in results],
        "summary": {
            "accounts": len(results),
            "with_root_credentials": sum(1 for r in results if r.error is None and (
                r.password or r.access_keys or r.signing_certificates or r.mfa_devices)),
            "not_as_the_file_says": sum(1 for r in results if r.findings),
            "unreadable": sum(1 for r in results if r.error is not None),
            "aws_calls": calls,
        },
    }
