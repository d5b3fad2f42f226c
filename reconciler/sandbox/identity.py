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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from reconciler.sandbox.keys import account_of_key
from reconciler.sandbox.policy_eval import Principal
from reconciler.sandbox.state import SandboxState


@dataclass(frozen=True)
class Caller:
    """The principal behind an access key."""

    account_id: str
    arn: str  # user ARN, assumed-role session ARN, or arn:aws:iam::<id>:root
    kind: str  # user | user-session | assumed-role | root-session | root | unknown
    role_arn: str | None = None
    temporary: bool = False  # session credentials (AssumeRole, GetSessionToken, AssumeRoot)
    mfa_authenticated: datetime | None = None  # when MFA authenticated these credentials
    user_name: str | None = None  # the IAM user behind "user" and "user-session" callers

    @property
    def partition(self) -> str:
        return self.arn.split(":", 2)[1] if self.arn.startswith("arn:") else "aws"

    @property
    def account_root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"


def identify(state: SandboxState, access_key_id: str | None) -> Caller:
    """``kind``: user (long-term keys), user-session (GetSessionToken), assumed-role,
    root-session (AssumeRoot), root (a root user's own access key), unknown (a key the sandbox
    did not issue)."""
    key = access_key_id or ""
    with state.lock:
        session = state.root_sessions.get(key)
        user_session = state.user_sessions.get(key)
    partition = state.partition
    if session is not None:
        return Caller(session.account_id, f"arn:{partition}:iam::{session.account_id}:root",
                      "root-session", temporary=True)
    if user_session is not None:
        return Caller(user_session.account_id, user_session.user_arn, "user-session",
                      temporary=True, user_name=user_session.user_name,
                      mfa_authenticated=user_session.issued if user_session.mfa_serial else None)
    root_key = state.root_key(key)
    if root_key is not None:
        return Caller(root_key[0], f"arn:{partition}:iam::{root_key[0]}:root", "root")
    account_id = account_of_key(state, key)
    iam = iam_backends[account_id][partition]
    access_key = iam.access_keys.get(key)
    if access_key is None:
        return Caller(account_id, f"arn:{partition}:iam::{account_id}:root", "unknown")
    if access_key.role_arn:
        assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(key)
        arn = assumed.arn if assumed else access_key.role_arn
        return Caller(account_id, arn, "assumed-role", role_arn=access_key.role_arn,
                      temporary=True)
    user = iam.users.get(access_key.user_name or "")
    arn = user.arn if user else f"arn:{partition}:iam::{account_id}:root"
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


def principal_of(caller: Caller) -> Principal:
    """The caller as the policy evaluator sees it."""
    return Principal(account_id=caller.account_id, arn=caller.arn, role_arn=caller.role_arn)


def default_document(policy: Any) -> str:
    for version in policy.versions:
        if version.version_id == policy.default_version_id:
            return str(version.document)
    return str(policy.versions[0].document) if policy.versions else "{}"


def identity_policies(caller: Caller) -> list[str | dict[str, Any]]:
    """The caller's identity-based policies as AWS gathers them (IAM User Guide, "Policy
    evaluation logic": the user's inline and attached policies and those of every group it is
    in; for a role session, the role's inline and attached policies). The root user and root
    sessions have none (their access is not granted by policies); unknown keys have none."""
    iam = iam_backends[caller.account_id][caller.partition]
    documents: list[str | dict[str, Any]] = []
    holders: list[Any] = []
    if caller.kind in ("user", "user-session") and caller.user_name:
        user = iam.users.get(caller.user_name)
        if user is not None:
            holders.append(user)
            holders.extend(g for g in iam.groups.values() if user in g.users)
    elif caller.kind == "assumed-role" and caller.role_arn:
        name = caller.role_arn.rsplit("/", 1)[-1]
        role = next((r for r in iam.roles.values() if r.name == name), None)
        if role is not None:
            holders.append(role)
    for holder in holders:
        documents.extend(holder.policies.values())
        documents.extend(default_document(p) for p in holder.managed_policies.values())
    return documents
