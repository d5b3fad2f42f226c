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

import json
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import iam_backends
from moto.iam.utils import random_alphanumeric
from moto.sts.responses import TokenResponse
from moto.sts.utils import random_session_token

from reconciler.sandbox import consistency
from reconciler.sandbox.common import aws_error, current_state, remote_addr
from reconciler.sandbox.identity import (
    Caller,
    identify,
    identity_policies,
    mfa_context,
    principal_of,
)
from reconciler.sandbox.organizations import IAM_PRINCIPAL, management_backend
from reconciler.sandbox.policy_eval import Decision, authorize, evaluate
from reconciler.sandbox.state import RootSession, UserSession

ROOT_TASK_NAMES = ("IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials",
                   "IAMCreateRootUserPassword", "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy")


@lru_cache(maxsize=1)
def root_task_policies() -> dict[str, dict[str, Any]]:
    """The root-task policies exactly as AWS publishes them (moto's copy of the AWS managed
    policies, path ``/root-task/``; IAM User Guide, "Perform a privileged task on an AWS
    Organizations member account"). Each is a Deny-only session policy: every action outside
    the task is denied (``NotAction``), and the task's own actions are denied on resources other
    than the root user (``NotResource arn:aws:iam::*:root``) or to callers other than root
    (``StringNotLike aws:PrincipalArn``)."""
    data = json.loads(aws_managed_policies_data)
    return {name: dict(data[name]["Document"]) for name in ROOT_TASK_NAMES}


def _task_actions(document: dict[str, Any]) -> frozenset[str]:
    return frozenset(str(a) for statement in document["Statement"]
                     for a in statement.get("NotAction", []))


# the actions each task allows at all (its policy's NotAction list)
ROOT_TASKS = {name: _task_actions(document) for name, document in root_task_policies().items()}


@lru_cache(maxsize=16)
def _task_policy(task: str, partition: str) -> dict[str, Any]:
    """``task``'s policy as ``partition`` publishes it (its ARNs name the partition)."""
    text = json.dumps(root_task_policies()[task]).replace("arn:aws:", f"arn:{partition}:")
    return dict(json.loads(text))


def root_task_denies(task: str, *, action: str, resource: str, account_id: str,
                     partition: str) -> bool:
    """Whether task policy ``task`` denies a root session of ``account_id`` doing ``action`` on
    ``resource`` (an ARN; ``arn:<partition>:iam::<id>:root`` when an IAM call omits
    UserName)."""
    context = {"aws:PrincipalArn": f"arn:{partition}:iam::{account_id}:root",
               "aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}
    return evaluate([_task_policy(task, partition)], action=action, resource=resource,
                    context=context) is Decision.DENY


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
        user = iam_backends[caller.account_id][caller.partition].users.get(caller.user_name)
    if user is None or str(serial) not in user.mfa_devices:
        raise aws_error("AccessDenied", MFA_WRONG_DEVICE)
    return True


ROOT_CANNOT_ASSUME = "Roles may not be assumed by root accounts."


def request_context(caller: Caller, *, resource_account: str, now: datetime,
                    mfa_in_request: bool = False) -> dict[str, str]:
    """The global condition keys of a request (IAM User Guide, "AWS global condition context
    keys", reference_policies_condition-keys.html). ``aws:SecureTransport`` is true: AWS's STS
    and IAM endpoints only speak TLS, whatever the sandbox's loopback transport."""
    principal_type = {"user": "User", "user-session": "User", "assumed-role": "AssumedRole",
                      "root": "Account", "root-session": "Account"}.get(caller.kind, "User")
    context = {"aws:sourceip": remote_addr(), "aws:principalaccount": caller.account_id,
               "aws:principalarn": caller.role_arn or caller.arn,
               "aws:principaltype": principal_type, "aws:resourceaccount": resource_account,
               "aws:securetransport": "true",
               "aws:requestedregion": current_state().options.region,
               "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "aws:epochtime": str(int(now.timestamp())),
               **mfa_context(caller, now=now, mfa_in_request=mfa_in_request)}
    if caller.user_name:
        context["aws:username"] = caller.user_name
    for key, account in (("aws:principalorgid", caller.account_id),
                         ("aws:resourceorgid", resource_account)):
        owner = management_backend(account)
        if owner is not None and owner.org is not None:
            context[key] = owner.org.id
    return context


def _assume_role(self: TokenResponse) -> ActionResult:
    """AWS's two checks (STS API reference, AssumeRole: "the trust policy of the role ... and
    the permissions policy of the principal ... must both allow"; IAM User Guide, "Cross-account
    policy evaluation logic" and "Policy evaluation for requests within a single account"):
    the role's trust policy must admit the caller, and the caller's identity policies must allow
    ``sts:AssumeRole`` on the role ARN, unless the role is in the caller's account and its trust
    policy names the caller itself. An explicit Deny in either wins. Root users are refused
    outright ("Roles may not be assumed by root accounts")."""
    state = current_state()
    caller = identify(state, self.get_access_key())
    role_arn = self._get_param("RoleArn") or ""
    if caller.kind == "root":
        raise aws_error("AccessDenied", ROOT_CANNOT_ASSUME)
    denied = aws_error("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                       f"sts:AssumeRole on resource: {role_arn}")
    match = re.fullmatch(rf"arn:{state.partition}:iam::(\d{{12}}):role/(?:.*/)?([\w+=,.@-]+)",
                         role_arn)
    if caller.kind in ("root-session", "unknown") or match is None:
        raise denied
    role = next((r for r in iam_backends[match.group(1)][state.partition].roles.values()
                 if r.name == match.group(2)), None)
    if role is None or consistency.account_not_ready(state, match.group(1)):
        raise denied
    trust = consistency.effective_trust(state, match.group(1), role.name,
                                        role.assume_role_policy_document)
    if trust is None or (caller.kind in ("user", "user-session") and caller.user_name and
                         consistency.grants_unsettled(state, caller.account_id,
                                                      caller.user_name,
                                                      _groups_of(caller))):
        raise denied
    mfa = _mfa_passed(self, caller)
    context = request_context(caller, resource_account=match.group(1), now=state.clock.now(),
                              mfa_in_request=mfa)
    decision = authorize(principal=principal_of(caller),
                         identity_policies=identity_policies(caller),
                         resource_policy=trust,
                         resource_account=match.group(1), action="sts:AssumeRole",
                         resource=role.arn, context=context, resource_policy_required=True)
    if not decision.allowed:
        raise denied
    original = TokenResponse._orgsync_original_assume_role  # type: ignore[attr-defined]
    # the role session carries no MFA, even when this call passed it (AWS: "The temporary
    # credentials returned by AssumeRole do not include MFA information in the context")
    return original(self)


def _groups_of(caller: Caller) -> list[str]:
    iam = iam_backends[caller.account_id][caller.partition]
    return [group.name for group in iam.groups.values()
            if any(u.name == caller.user_name for u in group.users)]


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
    iam = iam_backends[caller.account_id][state.partition]
    key = iam.create_temp_access_key()
    now = state.clock.now()
    expiration = now + timedelta(seconds=duration)
    token = random_session_token()
    with state.lock:
        state.user_sessions[key.access_key_id] = UserSession(
            access_key_id=key.access_key_id, account_id=caller.account_id,
            user_name=caller.user_name, user_arn=caller.arn, issued=now, expiration=expiration,
            mfa_serial=str(self._get_param("SerialNumber")) if mfa else None,
            session_token=token)
    return ActionResult({"Credentials": {
        "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
        "SessionToken": token, "Expiration": expiration}})


def root_task_prefix(partition: str) -> str:
    """Root-task policies are AWS managed policies: ``arn:<partition>:iam::aws:policy/...``."""
    return f"arn:{partition}:iam::aws:policy/root-task/"


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
    prefix = root_task_prefix(state.partition)
    task = task_arn.removeprefix(prefix)
    if not task_arn.startswith(prefix) or task not in ROOT_TASKS:
        raise aws_error("ValidationError", f"The task policy ARN {task_arn} is not a valid "
                                           "root task policy.")
    match = re.fullmatch(rf"(?:arn:{state.partition}:iam::)?(\d{{12}})(?::root)?", target)
    denied = aws_error("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                       f"sts:AssumeRoot on resource: {target}")
    if caller.kind in ("root", "root-session", "unknown") or match is None:
        raise denied
    target_id = match.group(1)
    # the caller's identity policies must allow sts:AssumeRoot on the member's root user ARN,
    # optionally narrowed by sts:TaskPolicyArn (IAM User Guide, "Perform a privileged task on
    # an AWS Organizations member account": the example policy allows sts:AssumeRoot on
    # arn:aws:iam::<member>:root with a StringEquals sts:TaskPolicyArn condition)
    context = request_context(caller, resource_account=target_id, now=state.clock.now())
    context["sts:taskpolicyarn"] = task_arn
    if not evaluate(identity_policies(caller), action="sts:AssumeRoot",
                    resource=f"arn:{state.partition}:iam::{target_id}:root",
                    context=context).allowed:
        raise denied
    backend = management_backend(caller.account_id)
    if backend is None or backend.org is None:
        raise denied
    delegated = any(a.account.id == caller.account_id and IAM_PRINCIPAL in a.services
                    for a in backend.admins)
    if caller.account_id != backend.account_id and not delegated:
        raise denied
    member = next((a for a in backend.accounts if a.id == target_id), None)
    if member is None or target_id == backend.account_id \
            or consistency.account_not_ready(state, target_id):
        raise denied
    with state.lock:
        if "RootSessions" not in state.org_features[backend.account_id]:
            raise denied
    key = iam_backends[target_id][state.partition].create_temp_access_key()
    key.secret_access_key = random_alphanumeric(40)
    expiration = state.clock.now() + timedelta(seconds=duration)
    token = random_session_token()
    with state.lock:
        state.root_sessions[key.access_key_id] = RootSession(
            access_key_id=key.access_key_id, account_id=target_id, task=task,
            expiration=expiration, caller_arn=caller.arn, session_token=token)
    return ActionResult({"Credentials": {
        "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
        "SessionToken": token, "Expiration": expiration}})


def _get_caller_identity(self: TokenResponse) -> ActionResult:
    state = current_state()
    caller = identify(state, self.get_access_key())
    if caller.kind in ("root-session", "root"):
        return ActionResult({"UserId": caller.account_id, "Account": caller.account_id,
                             "Arn": caller.arn})
    if caller.kind == "user-session" and caller.user_name:
        user = iam_backends[caller.account_id][state.partition].users.get(caller.user_name)
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
