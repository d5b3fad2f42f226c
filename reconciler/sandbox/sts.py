"""STS as AWS does it: AssumeRole checks trust, AssumeRoot exists.

moto lets anyone assume any role, even one that does not exist; AWS answers AccessDenied unless
the role exists and its trust policy admits the caller (with ``aws:MultiFactorAuthPresent`` true
only when SerialNumber and TokenCode were passed). ``AssumeRoot`` returns short credentials that
act as a member account's root user, limited to one root-task policy (enforced by the middleware).
"""

from __future__ import annotations

import re
from datetime import timedelta

from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.iam.utils import random_alphanumeric
from moto.sts.responses import TokenResponse
from moto.sts.utils import random_session_token

from reconciler.sandbox.common import aws_error, current_state, remote_addr
from reconciler.sandbox.identity import identify, trust_admits
from reconciler.sandbox.organizations import IAM_PRINCIPAL, management_backend
from reconciler.sandbox.state import RootSession

ROOT_TASK_PREFIX = "arn:aws:iam::aws:policy/root-task/"
ROOT_TASKS = {
    "IAMAuditRootUserCredentials": frozenset({
        "iam:ListAccessKeys", "iam:ListSigningCertificates", "iam:GetLoginProfile",
        "iam:ListMFADevices", "iam:GetAccountSummary", "iam:GetUser",
        "iam:GetAccessKeyLastUsed"}),
    "IAMDeleteRootUserCredentials": frozenset({
        "iam:DeleteAccessKey", "iam:DeleteSigningCertificate", "iam:DeleteLoginProfile",
        "iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:ListAccessKeys",
        "iam:ListSigningCertificates", "iam:GetLoginProfile", "iam:ListMFADevices",
        "iam:GetUser", "iam:GetAccessKeyLastUsed"}),
    "IAMCreateRootUserPassword": frozenset({"iam:CreateLoginProfile", "iam:GetLoginProfile"}),
    "S3UnlockBucketPolicy": frozenset({"s3:DeleteBucketPolicy", "s3:GetBucketPolicy",
                                       "s3:ListBucket"}),
    "SQSUnlockQueuePolicy": frozenset({"sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
                                       "sqs:ListQueues", "sqs:GetQueueUrl"}),
}
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
MAX_ROOT_SESSION = 900


def _assume_role(self: TokenResponse) -> ActionResult:
    state = current_state()
    caller = identify(state, self.get_access_key())
    role_arn = self._get_param("RoleArn") or ""
    denied = aws_error("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                       f"sts:AssumeRole on resource: {role_arn}")
    match = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)", role_arn)
    if caller.kind == "root-session" or match is None:
        raise denied
    role = next((r for r in iam_backends[match.group(1)]["aws"].roles.values()
                 if r.name == match.group(2)), None)
    if role is None:
        raise denied
    mfa = bool(self._get_param("SerialNumber") and self._get_param("TokenCode"))
    context = {"aws:multifactorauthpresent": "true" if (mfa or caller.mfa) else "false",
               "aws:sourceip": remote_addr(), "aws:principalaccount": caller.account_id,
               "aws:principalarn": caller.arn}
    if not trust_admits(role.assume_role_policy_document, caller, action="sts:AssumeRole",
                        context=context):
        raise denied
    original = TokenResponse._orgsync_original_assume_role  # type: ignore[attr-defined]
    result = original(self)
    if mfa:
        with state.lock:
            state.mfa_sessions.add(result.result["Credentials"].access_key_id)
    return result


def _assume_root(self: TokenResponse) -> ActionResult:
    state = current_state()
    caller = identify(state, self.get_access_key())
    target = str(self._get_param("TargetPrincipal") or "")
    task_policy = self._get_param("TaskPolicyArn") or {}
    task_arn = str(task_policy.get("arn") if isinstance(task_policy, dict) else
                   self._get_param("TaskPolicyArn.arn") or "")
    duration = int(self._get_param("DurationSeconds") or MAX_ROOT_SESSION)
    if duration > MAX_ROOT_SESSION or duration < 0:
        raise aws_error("ValidationError", "1 validation error detected: Value "
                                           f"'{duration}' at 'durationSeconds' failed to "
                                           "satisfy constraint: Member must have value less "
                                           "than or equal to 900")
    task = task_arn.removeprefix(ROOT_TASK_PREFIX)
    if not task_arn.startswith(ROOT_TASK_PREFIX) or task not in ROOT_TASKS:
        raise aws_error("ValidationError", f"The task policy ARN {task_arn} is not a valid "
                                           "root task policy.")
    match = re.fullmatch(r"(?:arn:aws:iam::)?(\d{12})(?::root)?", target)
    denied = aws_error("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                       f"sts:AssumeRoot on resource: {target}")
    if caller.kind == "root-session" or match is None:
        raise denied
    target_id = match.group(1)
    backend = management_backend(caller.account_id)
    if backend is None or backend.org is None:
        raise denied
    delegated = any(a.account.id == caller.account_id and IAM_PRINCIPAL in a.services
                    for a in backend.admins)
    if caller.account_id != backend.account_id and not delegated:
        raise denied
    member = next((a for a in backend.accounts if a.id == target_id), None)
    if member is None or target_id == backend.account_id:
        raise denied
    with state.lock:
        if "RootSessions" not in state.org_features[backend.account_id]:
            raise denied
    key = iam_backends[target_id]["aws"].create_temp_access_key()
    key.secret_access_key = random_alphanumeric(40)
    expiration = state.clock.now() + timedelta(seconds=duration)
    with state.lock:
        state.root_sessions[key.access_key_id] = RootSession(
            access_key_id=key.access_key_id, account_id=target_id, task=task,
            expiration=expiration, caller_arn=caller.arn)
    return ActionResult({"Credentials": {
        "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
        "SessionToken": random_session_token(), "Expiration": expiration}})


def _get_caller_identity(self: TokenResponse) -> ActionResult:
    state = current_state()
    caller = identify(state, self.get_access_key())
    if caller.kind == "root-session":
        return ActionResult({"UserId": caller.account_id, "Account": caller.account_id,
                             "Arn": caller.arn})
    original = TokenResponse._orgsync_original_get_caller_identity  # type: ignore[attr-defined]
    return original(self)


def install() -> None:
    """Patch moto's STS (idempotent)."""
    for name in ("assume_role", "get_caller_identity"):
        if not hasattr(TokenResponse, f"_orgsync_original_{name}"):
            setattr(TokenResponse, f"_orgsync_original_{name}", getattr(TokenResponse, name))
    setattr(TokenResponse, "assume_role", _assume_role)  # noqa: B010
    setattr(TokenResponse, "assume_root", _assume_root)  # noqa: B010
    setattr(TokenResponse, "get_caller_identity", _get_caller_identity)  # noqa: B010
