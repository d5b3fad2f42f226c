"""AWS's eventual consistency and concurrency limits, each a sandbox option (0 = off).

Real AWS is slower and stricter than a local emulator, and a tool that passes its tests against a
kind emulator breaks on its first real run. Each behaviour here is documented by AWS or reported by
users of peer tools, at a duration the sandbox makes configurable (seconds instead of minutes):

- ``account_ready_lag_s``: after CreateAccount SUCCEEDED, AssumeRole into the new account's roles
  and AssumeRoot into it are refused. CreateAccount reference: "you might need to wait a few
  minutes before you can successfully access the account"
  (https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html);
  terraform-provider-aws#15654 reports up to about seven minutes.
- ``iam_lag_s``: a created or changed role or trust policy, and a changed group grant (a policy
  or membership of the caller), takes effect that long after the write. IAM User Guide,
  "Changes that I make are not always immediately visible"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency);
  terraform-provider-aws#6566 (new roles not assumable for 10-30 s). For a role the trust policy
  that was in force ``iam_lag_s`` ago decides (a role created since is refused); for a caller's
  grants the sandbox does not keep the old policies, so any change to the caller's user or groups
  refuses its AssumeRole until the lag has passed (it errs towards "not yet granted").
- ``close_lag_s``: after CloseAccount, DescribeAccount and the account listings keep reading
  ACTIVE (terraform-provider-aws#46284: ACTIVE, or flipping between ACTIVE and PENDING_CLOSURE,
  for over ten minutes). A second CloseAccount answers AccountAlreadyClosedException, as AWS does.
- ``rename_lag_s``: after account:PutAccountName, Organizations (DescribeAccount, the listings)
  shows the old name. Account Management reference, "Update your AWS account name"
  (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-update-acct-name.html): the
  change can take up to four hours to propagate. The Account Management API that owns the name
  (GetAccountInformation) answers with the new name at once: that is the sandbox's model of where
  the name propagates from.
- ``org_concurrency``: more Organizations requests in flight than this get
  TooManyRequestsException ("AWS Organizations can't complete your request because another
  request is already in progress"; Organizations quotas: "throttling ... limits are not
  documented", https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html).
- ``concurrent_modification``: that fraction of Organizations writes (and DescribeOrganization)
  fails once with ConcurrentModificationException (Organizations API reference, Common Errors:
  "The target of the operation is currently being modified by a different request. Try again
  later."; terraform-provider-aws#9195, which retries it on every Organizations call). The draw is
  a hash of ``seed``, the request and how many times that same request was made, so a run is
  reproducible; the same request never fails twice in a row.

Times are the sandbox clock's (``Control.advance_clock`` moves past a lag at once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reconciler.sandbox.protocol import service_model
from reconciler.sandbox.state import SandboxState

CONCURRENT_MODIFICATION = (
    "ConcurrentModificationException",
    "AWS Organizations can't complete your request because it conflicts with another attempt to "
    "modify the same entity. Try again later.")
READS_THAT_CONFLICT = frozenset({"DescribeOrganization"})


# --- new accounts ----------------------------------------------------------------------------

def record_account_created(state: SandboxState, account_id: str) -> None:
    with state.lock:
        state.accounts_created[account_id] = state.clock.time()


def account_not_ready(state: SandboxState, account_id: str) -> bool:
    """Whether ``account_id`` was created less than ``account_ready_lag_s`` ago."""
    lag = state.options.account_ready_lag_s
    if lag <= 0:
        return False
    with state.lock:
        created = state.accounts_created.get(account_id)
    return created is not None and state.clock.time() < created + lag


# --- IAM ---------------------------------------------------------------------------------------

def record_role(state: SandboxState, account_id: str, role_name: str,
                trust: str | None) -> None:
    """A write of a role's trust policy (``None``: the role was deleted)."""
    with state.lock:
        state.role_versions.setdefault((account_id, role_name), []).append(
            (state.clock.time(), trust))


def effective_trust(state: SandboxState, account_id: str, role_name: str,
                    current: Any) -> Any | None:
    """The trust policy AssumeRole evaluates now: the one written ``iam_lag_s`` ago or earlier
    (``current`` when the role has not changed since); None when the role did not exist then."""
    lag = state.options.iam_lag_s
    if lag <= 0:
        return current
    cutoff = state.clock.time() - lag
    with state.lock:
        versions = list(state.role_versions.get((account_id, role_name), ()))
    if not versions or versions[-1][0] <= cutoff:
        return current
    settled = [trust for at, trust in versions if at <= cutoff]
    if not settled:
        # created within the lag; or written before the sandbox recorded it (seeded): unknown
        # before, so a role the sandbox saw created is refused
        return None
    return settled[-1]


def record_identity_write(state: SandboxState, account_id: str, *, kind: str,
                          name: str) -> None:
    """A change to a user's or group's policies or memberships (``kind``: user | group)."""
    with state.lock:
        state.identity_writes[(account_id, kind, name)] = state.clock.time()


def grants_unsettled(state: SandboxState, account_id: str, user_name: str,
                     groups: list[str]) -> bool:
    """Whether the user or one of its groups changed less than ``iam_lag_s`` ago."""
    lag = state.options.iam_lag_s
    if lag <= 0:
        return False
    cutoff = state.clock.time() - lag
    keys = [(account_id, "user", user_name)] + [(account_id, "group", g) for g in groups]
    with state.lock:
        return any(state.identity_writes.get(key, cutoff - 1) > cutoff for key in keys)


# --- Organizations reads -------------------------------------------------------------------------

def record_close(state: SandboxState, account_id: str) -> None:
    lag = state.options.close_lag_s
    if lag > 0:
        with state.lock:
            state.closes_visible[account_id] = state.clock.time() + lag


def record_rename(state: SandboxState, account_id: str, old_name: str) -> None:
    lag = state.options.rename_lag_s
    if lag <= 0:
        return
    with state.lock:
        shown = shown_name(state, account_id, old_name)  # a rename during a rename's lag
        state.renames_visible[account_id] = (shown, state.clock.time() + lag)


def shown_name(state: SandboxState, account_id: str, name: str) -> str:
    with state.lock:
        pending = state.renames_visible.get(account_id)
    if pending is not None and state.clock.time() < pending[1]:
        return pending[0]
    return name


def as_organizations_shows(state: SandboxState, document: Mapping[str, Any]) -> dict[str, Any]:
    """An account document (DescribeAccount, ListAccounts...) as Organizations shows it now:
    a closure or a new name that has not propagated yet is not shown."""
    result = dict(document)
    account_id = str(result.get("Id", ""))
    if not state.closes_visible and not state.renames_visible:
        return result
    now = state.clock.time()
    with state.lock:
        closing = state.closes_visible.get(account_id)
    if closing is not None and now < closing and result.get("State") == "PENDING_CLOSURE":
        result["State"] = "ACTIVE"
        result["Status"] = "ACTIVE"
    if "Name" in result:
        result["Name"] = shown_name(state, account_id, str(result["Name"]))
    return result


# --- Organizations concurrency -------------------------------------------------------------------

def enter_organizations(state: SandboxState) -> bool:
    """Take an in-flight place for an Organizations request; False: over ``org_concurrency``."""
    limit = state.options.org_concurrency
    with state.lock:
        if limit > 0 and state.org_in_flight >= limit:
            return False
        state.org_in_flight += 1
        return True


def leave_organizations(state: SandboxState) -> None:
    with state.lock:
        state.org_in_flight = max(0, state.org_in_flight - 1)


def _organizations_writes() -> frozenset[str]:
    model = service_model("organizations")
    return frozenset(name for name in model.operation_names
                     if not name.startswith(("Describe", "List")))


_WRITES: list[frozenset[str]] = []


def concurrent_modification(state: SandboxState, operation: str, body: bytes) -> bool:
    """Whether this Organizations request fails with ConcurrentModificationException."""
    fraction = state.options.concurrent_modification
    if fraction <= 0:
        return False
    if not _WRITES:
        _WRITES.append(_organizations_writes())
    if operation not in _WRITES[0] and operation not in READS_THAT_CONFLICT:
        return False
    request = hashlib.sha256(operation.encode() + b"\x00" + _canonical(body)).hexdigest()
    with state.lock:
        seen = state.cme_seen.get(request, 0)
        state.cme_seen[request] = seen + 1
        if request in state.cme_failed:  # the same request never fails twice in a row
            state.cme_failed.discard(request)
            return False
        draw = hashlib.sha256(f"{state.options.seed}:{request}:{seen}".encode()).digest()
        if int.from_bytes(draw[:8], "big") / 2**64 < fraction:
            state.cme_failed.add(request)
            return True
    return False


def _canonical(body: bytes) -> bytes:
    try:
        return json.dumps(json.loads(body or b"{}"), sort_keys=True).encode()
    except ValueError:
        return body


# --- recording IAM writes ------------------------------------------------------------------------

# IamResponse handlers whose write changes who may assume what: (handler, what it records)
_ROLE_WRITES = ("create_role", "update_assume_role_policy", "delete_role")
_IDENTITY_WRITES = {
    "put_group_policy": "group", "delete_group_policy": "group", "attach_group_policy": "group",
    "detach_group_policy": "group", "add_user_to_group": "user",
    "remove_user_from_group": "user", "put_user_policy": "user", "delete_user_policy": "user",
    "attach_user_policy": "user", "detach_user_policy": "user",
}


def _recording(name: str, original: Any) -> Any:
    from reconciler.sandbox.common import current_state

    def handler(self: Any) -> Any:
        result = original(self)
        state = current_state()
        account_id = self.current_account
        if name in _ROLE_WRITES:
            role_name = str(self._get_param("RoleName") or "")
            trust: Any = None
            if name != "delete_role":
                role = next((r for r in self.backend.roles.values() if r.name == role_name),
                            None)
                trust = role.assume_role_policy_document if role is not None else None
            record_role(state, account_id, role_name, trust)
        else:
            kind = _IDENTITY_WRITES[name]
            key = "GroupName" if kind == "group" else "UserName"
            record_identity_write(state, account_id, kind=kind,
                                  name=str(self._get_param(key) or ""))
        return result

    return handler


def install() -> None:
    """Record the IAM writes the lags apply to (idempotent)."""
    from moto.iam.responses import IamResponse

    for name in (*_ROLE_WRITES, *_IDENTITY_WRITES):
        original = getattr(IamResponse, f"_orgsync_consistency_{name}", None)
        if original is None:
            original = getattr(IamResponse, name)
            setattr(IamResponse, f"_orgsync_consistency_{name}", original)
        setattr(IamResponse, name, _recording(name, original))
