"""STS as AWS does it: AssumeRole checks trust, GetSessionToken carries MFA, AssumeRoot exists.

moto lets anyone assume any role, even one that does not exist; AWS answers AccessDenied unless
the role exists and its trust policy admits the caller, with the request's MFA context as
``identity.mfa_context`` describes. moto's GetSessionToken returns fixed example keys that act as
nobody; AWS returns credentials that act as the calling IAM user and, when the call passed the
user's MFA device and a code, carry MFA on every request (how a tool like orgsync satisfies
``require_mfa`` trust policies). ``AssumeRoot`` returns short credentials that act as a member
account's root user, limited to one root-task policy. The middleware enforces what those session
credentials may call and when they expire.
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
from reconciler.sandbox.identity import Caller, identify, mfa_context, trust_admits
from reconciler.sandbox.organizations import IAM_PRINCIPAL, management_backend
from reconciler.sandbox.state import RootSession, UserSession

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


MFA_MISSING_PART = ("MultiFactorAuthentication failed, must provide both MFA serial number and "
                    "one time pass code.")
MFA_WRONG_DEVICE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify "
                    "your MFA serial number is valid and associated with this user.")
SESSION_CREDENTIALS = "Cannot call GetSessionToken with session credentials"
SESSION_DURATION = (900, 129_600, 43_200)  # GetSessionToken for IAM users: min, max, default
TOKEN_CODE = re.compile(r"\d*")


def _validation(field: str, value: object, constraint: str) -> Exception:
    return aws_error("ValidationError", f"1 validation error detected: Value '{value}' at "
                                        f"'{field}' failed to satisfy constraint: Member must "
                                        f"{constraint}")


def _mfa_passed(self: TokenResponse, caller: Caller) -> bool:
    """Whether this call authenticates with MFA: SerialNumber names an MFA device of the calling
    IAM user and TokenCode is 6 digits (the sandbox accepts any 6 digits). False when neither is
    passed; AWS's errors otherwise."""
    serial = self._get_param("SerialNumber")
    code = self._get_param("TokenCode")
    if not serial and not code:
        return False
    if not serial or not code:
        raise aws_error("AccessDenied", MFA_MISSING_PART)
    code = str(code)
    if len(code) != 6:
        bound = "greater than or equal to 6" if len(code) < 6 else "less than or equal to 6"
        raise _validation("tokenCode", code, f"have length {bound}")
    if not TOKEN_CODE.fullmatch(code):
        raise _validation("tokenCode", code, "satisfy regular expression pattern: [\\d]*")
    user = None
    if caller.kind in ("user", "user-session") and caller.user_name:
        user = iam_backends[caller.account_id]["aws"].users.get(caller.user_name)
    if user is None or str(serial) not in user.mfa_devices:
        raise aws_error("AccessDenied", MFA_WRONG_DEVICE)
    return True


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
    mfa = _mfa_passed(self, caller)
    context = {"aws:sourceip": remote_addr(), "aws:principalaccount": caller.account_id,
               "aws:principalarn": caller.arn,
               **mfa_context(caller, now=state.clock.now(), mfa_in_request=mfa)}
    if not trust_admits(role.assume_role_policy_document, caller, action="sts:AssumeRole",
                        context=context):
        raise denied
    original = TokenResponse._orgsync_original_assume_role  # type: ignore[attr-defined]
    # the role session carries no MFA, even when this call passed it (AWS: "The temporary
    # credentials returned by AssumeRole do not include MFA information in the context")
    return original(self)


def _get_session_token(self: TokenResponse) -> ActionResult:
    """Session credentials acting as the calling IAM user; with SerialNumber+TokenCode every
    request made with them has aws:MultiFactorAuthPresent true."""
    state = current_state()
    caller = identify(state, self.get_access_key())
    if caller.temporary:
        raise aws_error("AccessDenied", SESSION_CREDENTIALS)
    if caller.kind != "user" or caller.user_name is None:
        raise aws_error("InvalidClientTokenId",
                        "The security token included in the request is invalid.")
    low, high, default = SESSION_DURATION
    raw = self._get_param("DurationSeconds")
    try:
        duration = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise _validation("durationSeconds", raw, "be a number") from None
    if duration < low:
        raise _validation("durationSeconds", duration, f"have value greater than or equal to {low}")
    if duration > high:
        raise _validation("durationSeconds", duration, f"have value less than or equal to {high}")
    mfa = _mfa_passed(self, caller)
    iam = iam_backends[caller.account_id]["aws"]
    key = iam.create_temp_access_key()
    now = state.clock.now()
    expiration = now + timedelta(seconds=duration)
    with state.lock:
        state.user_sessions[key.access_key_id] = UserSession(
            access_key_id=key.access_key_id, account_id=caller.account_id,
            user_name=caller.user_name, user_arn=caller.arn, issued=now, expiration=expiration,
            mfa_serial=str(self._get_param("SerialNumber")) if mfa else None)
    return ActionResult({"Credentials": {
        "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
        "SessionToken": random_session_token(), "Expiration": expiration}})


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
    if caller.kind == "user-session" and caller.user_name:
        user = iam_backends[caller.account_id]["aws"].users.get(caller.user_name)
        if user is not None:
            return ActionResult({"UserId": user.id, "Account": caller.account_id,
                                 "Arn": user.arn})
    original = TokenResponse._orgsync_original_get_caller_identity  # type: ignore[attr-defined]
    return original(self)


def install() -> None:
    """Patch moto's STS (idempotent)."""
    for name in ("assume_role", "get_caller_identity"):
        if not hasattr(TokenResponse, f"_orgsync_original_{name}"):
            setattr(TokenResponse, f"_orgsync_original_{name}", getattr(TokenResponse, name))
    setattr(TokenResponse, "assume_role", _assume_role)  # noqa: B010
    setattr(TokenResponse, "assume_root", _assume_root)  # noqa: B010
    setattr(TokenResponse, "get_session_token", _get_session_token)  # noqa: B010
    setattr(TokenResponse, "get_caller_identity", _get_caller_identity)  # noqa: B010
