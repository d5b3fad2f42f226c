"""Who is calling, and whether a role's trust policy lets them in.

moto accepts any AssumeRole; AWS refuses unless the role exists and its trust policy admits the
caller. orgsync's detection of roles that need bootstrapping, or whose trust drifted, depends on
that refusal, so the sandbox evaluates trust policies itself (principals by account id, account
root ARN, user/role ARN; the conditions orgsync writes: MFA and source IP).

MFA follows AWS's request context: ``aws:MultiFactorAuthPresent`` is absent for long-term access
keys, ``true`` on an AssumeRole that itself passes the caller's MFA device and a code, ``true`` on
every request made with MFA session credentials (GetSessionToken with SerialNumber+TokenCode), and
``false`` for other temporary credentials, including role sessions: AWS documents that the
credentials AssumeRole returns carry no MFA information, so MFA never propagates through role
chaining. ``aws:MultiFactorAuthAge`` is the seconds since the MFA authentication.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from reconciler.sandbox.keys import account_of_key
from reconciler.sandbox.state import SandboxState


@dataclass(frozen=True)
class Caller:
    """The principal behind an access key."""

    account_id: str
    arn: str  # user ARN, assumed-role session ARN, or arn:aws:iam::<id>:root
    kind: str  # user | assumed-role | root-session | unknown
    role_arn: str | None = None
    temporary: bool = False  # session credentials (AssumeRole, GetSessionToken, AssumeRoot)
    mfa_authenticated: datetime | None = None  # when MFA authenticated these credentials
    user_name: str | None = None  # the IAM user behind "user" and "user-session" callers


def identify(state: SandboxState, access_key_id: str | None) -> Caller:
    """``kind``: user (long-term keys), user-session (GetSessionToken), assumed-role,
    root-session (AssumeRoot), unknown (a key the sandbox did not issue)."""
    key = access_key_id or ""
    with state.lock:
        session = state.root_sessions.get(key)
        user_session = state.user_sessions.get(key)
    if session is not None:
        return Caller(session.account_id, f"arn:aws:iam::{session.account_id}:root", "root-session",
                      temporary=True)
    if user_session is not None:
        return Caller(user_session.account_id, user_session.user_arn, "user-session",
                      temporary=True, user_name=user_session.user_name,
                      mfa_authenticated=user_session.issued if user_session.mfa_serial else None)
    account_id = account_of_key(state, key)
    iam = iam_backends[account_id]["aws"]
    access_key = iam.access_keys.get(key)
    if access_key is None:
        return Caller(account_id, f"arn:aws:iam::{account_id}:root", "unknown")
    if access_key.role_arn:
        assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(key)
        arn = assumed.arn if assumed else access_key.role_arn
        return Caller(account_id, arn, "assumed-role", role_arn=access_key.role_arn,
                      temporary=True)
    user = iam.users.get(access_key.user_name or "")
    arn = user.arn if user else f"arn:aws:iam::{account_id}:root"
    return Caller(account_id, arn, "user", user_name=user.name if user else None)


def mfa_context(caller: Caller, *, now: datetime,
                mfa_in_request: bool = False) -> dict[str, str]:
    """The MFA keys of a request's context (see the module docstring)."""
    if mfa_in_request:
        return {"aws:multifactorauthpresent": "true", "aws:multifactorauthage": "0"}
    if not caller.temporary:
        return {}
    if caller.mfa_authenticated is None:
        return {"aws:multifactorauthpresent": "false"}
    age = max(0, int((now - caller.mfa_authenticated).total_seconds()))
    return {"aws:multifactorauthpresent": "true", "aws:multifactorauthage": str(age)}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS")):
        value = str(value)
        if value == "*" or value == caller.account_id:
            return True
        if value == f"arn:aws:iam::{caller.account_id}:root":
            return True
        if value == caller.arn or (caller.role_arn is not None and value == caller.role_arn):
            return True
    return False


def _action_matches(actions: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _as_list(actions))


_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


def _numeric_holds(operator: str, actual: Any, values: list[str]) -> bool:
    try:
        number = float(actual)
        return any(_NUMERIC[operator](number, float(v)) for v in values)
    except ValueError:
        return False


def _condition_holds(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    """True when every condition block holds; unknown operators or keys do not hold."""
    for operator, block in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in block.items():
            actual = context.get(key.lower())
            if base == "Null":
                absent = [str(v).lower() for v in _as_list(expected)]
                if ("true" if actual is None else "false") not in absent:
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            values = [str(v) for v in _as_list(expected)]
            if base == "Bool":
                if str(actual).lower() not in [v.lower() for v in values]:
                    return False
            elif base in ("IpAddress", "NotIpAddress"):
                address = ipaddress.ip_address(str(actual))
                inside = any(address in ipaddress.ip_network(v, strict=False) for v in values)
                if inside != (base == "IpAddress"):
                    return False
            elif base == "StringEquals":
                if str(actual) not in values:
                    return False
            elif base == "StringLike":
                if not any(fnmatch.fnmatchcase(str(actual), v) for v in values):
                    return False
            elif base in _NUMERIC:
                if not _numeric_holds(base, actual, values):
                    return False
            else:
                return False
    return True


def trust_admits(document: str | dict[str, Any], caller: Caller, *, action: str,
                 context: dict[str, Any]) -> bool:
    """Evaluate a role trust policy for ``caller`` doing ``action`` (explicit deny wins)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = json.loads(unquote(str(document)))
    assert isinstance(document, dict)
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not _action_matches(statement.get("Action"), action):
            continue
        if not _principal_matches(statement.get("Principal"), caller):
            continue
        if not _condition_holds(statement.get("Condition") or {}, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
