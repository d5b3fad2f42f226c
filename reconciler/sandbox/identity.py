"""Who is calling, and whether a role's trust policy lets them in.

moto accepts any AssumeRole; AWS refuses unless the role exists and its trust policy admits the
caller. orgsync's detection of roles that need bootstrapping, or whose trust drifted, depends on
that refusal, so the sandbox evaluates trust policies itself (principals by account id, account
root ARN, user/role ARN; the conditions orgsync writes: MFA and source IP).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

from reconciler.sandbox.state import SandboxState


@dataclass(frozen=True)
class Caller:
    """The principal behind an access key."""

    account_id: str
    arn: str  # user ARN, assumed-role session ARN, or arn:aws:iam::<id>:root
    kind: str  # user | assumed-role | root-session | unknown
    role_arn: str | None = None
    mfa: bool = False


def identify(state: SandboxState, access_key_id: str | None) -> Caller:
    key = access_key_id or ""
    with state.lock:
        session = state.root_sessions.get(key)
        mfa = key in state.mfa_sessions
    if session is not None:
        return Caller(session.account_id, f"arn:aws:iam::{session.account_id}:root", "root-session")
    account_id = get_account_id_from(key)
    iam = iam_backends[account_id]["aws"]
    access_key = iam.access_keys.get(key)
    if access_key is None:
        return Caller(account_id, f"arn:aws:iam::{account_id}:root", "unknown")
    if access_key.role_arn:
        assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(key)
        arn = assumed.arn if assumed else access_key.role_arn
        return Caller(account_id, arn, "assumed-role", role_arn=access_key.role_arn, mfa=mfa)
    user = iam.users.get(access_key.user_name or "")
    arn = user.arn if user else f"arn:aws:iam::{account_id}:root"
    return Caller(account_id, arn, "user", mfa=mfa)


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


def _condition_holds(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    """True when every condition block holds; unknown operators or keys do not hold."""
    for operator, block in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in block.items():
            actual = context.get(key.lower())
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
