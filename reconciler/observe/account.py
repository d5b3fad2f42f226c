"""Reading accounts: their state, names, emails and parents (from the tree walk), their tags (only
where the file manages them), CreateAccount requests and INVITE handshakes.

CreateAccount and invitations are asynchronous in AWS; reading the requests and handshakes is what
lets a re-run wait for an account that is on its way instead of asking for a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from reconciler.aws import Aws, Client, paginate
from reconciler.errors import AwsError, Throttled
from reconciler.model import DesiredState
from reconciler.observe.access_role import usable_role
from reconciler.observe.ou import PlacedAccount
from reconciler.observe.reads import AccountRead, AccountView, Parts
from reconciler.observed import (
    CreateAccountRequest,
    Handshake,
    ObservedAccount,
    ObservedRole,
    ObservedState,
    account_state,
)

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListTagsForResource",
        "organizations:ListCreateAccountStatus",
        "organizations:ListHandshakesForOrganization",
        "account:GetAccountInformation",
    ),
    "member": ("account:GetAccountInformation",),
}


def to_observed_accounts(placed: Iterable[PlacedAccount]) -> tuple[ObservedAccount, ...]:
    """ObservedAccount values from the tree walk (State, falling back to the retired Status)."""
    result = []
    for item in placed:
        raw = item.raw
        result.append(ObservedAccount(
            id=str(raw["Id"]),
            name=str(raw.get("Name", "")),
            email=str(raw.get("Email", "")),
            state=account_state(raw),
            joined_method=str(raw.get("JoinedMethod", "")),
            parent_id=item.parent_id,
            ou_path=item.ou_path,
            joined_at=_iso(raw.get("JoinedTimestamp")),
        ))
    return tuple(result)


def read_account_name(aws: Aws, *, account_id: str, management: bool,
                      role_name: str | None) -> str | None:
    """The account's name as the Account Management API has it (GetAccountInformation), or None
    when it cannot be read. Read only where Organizations shows a name other than the file's:
    a rename (PutAccountName) takes time to show in Organizations ("up to four hours", Account
    Management reference, "Update your AWS account name"), and a plan made from the stale name
    would plan the same rename again. The management account asks for itself without AccountId
    (AWS refuses its own id there); a member account is asked about from the management account
    (needs trusted access for account.amazonaws.com), else from inside through its access role."""
    try:
        if management:
            return str(aws.client("account").get_account_information()["AccountName"])
        return str(aws.client("account").get_account_information(
            AccountId=account_id)["AccountName"])
    except Throttled:
        raise
    except AwsError:
        if management or role_name is None:
            return None
    try:
        member = aws.member_client("account", account_id=account_id, role_name=role_name)
        return str(member.get_account_information()["AccountName"])
    except Throttled:
        raise
    except AwsError:
        return None


def read_tags(org: Client, *, account_id: str) -> Mapping[str, str]:
    """The account's tags (ListTagsForResource), sorted (a plain dict: see observed.py)."""
    tags = {str(t["Key"]): str(t.get("Value", ""))
            for t in paginate(org, "list_tags_for_resource", "Tags", ResourceId=account_id)}
    return dict(sorted(tags.items()))


@dataclass(frozen=True)
class AccountPart:
    """What an account's job reads about the account itself (None: not read)."""

    tags: dict[str, str] | None = None  # where the file manages them
    name: str | None = None  # the Account Management API's, where Organizations shows another


def _reads_tags(account: AccountView) -> bool:
    # any account not closed (tags can be set on a suspended one); the management account too
    return account.spec.tags is not None and (account.management
                                              or account.observed.state != "CLOSED")


def _reads_name(account: AccountView) -> bool:
    return account.spec.name != account.observed.name and (account.management
                                                           or account.observed.state == "ACTIVE")


def _wants(account: AccountView, reading: frozenset[str]) -> bool:
    return _reads_tags(account) or _reads_name(account)


def _read(account: AccountView, parts: Parts) -> AccountPart:
    aws = account.scope.aws
    tags = (dict(read_tags(aws.client("organizations"), account_id=account.id))
            if _reads_tags(account) else None)
    role = parts.get("access_role")
    name = (read_account_name(aws, account_id=account.id, management=account.management,
                              role_name=usable_role(role if isinstance(role, ObservedRole)
                                                    else None))
            if _reads_name(account) else None)
    return AccountPart(tags=tags, name=name)


def _land(observed: ObservedState, parts: Mapping[str, AccountPart]) -> ObservedState:
    def updated(found: ObservedAccount) -> ObservedAccount:
        part = parts.get(found.id)
        if part is None:
            return found
        if part.tags is not None:
            found = replace(found, tags=part.tags)
        return replace(found, name=part.name) if part.name else found

    return replace(observed, accounts=tuple(updated(a) for a in observed.accounts))


# Tags, and the name (read through the access role when Account Management's trusted access is
# off: so after the role).
ACCOUNT_READ = AccountRead("account", wants=_wants, read=_read, land=_land,
                           needs=("access_role",))


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def read_create_requests(org: Client, *, desired: DesiredState,
                         visible: set[str]) -> tuple[CreateAccountRequest, ...]:
    """CreateAccount requests that matter for the file: every IN_PROGRESS one, FAILED ones for
    names in the file, and SUCCEEDED ones for file names whose account is not visible yet (read
    only when such a file account exists, since SUCCEEDED is the whole creation history).
    ``visible``: the ids and lowercased emails of the accounts in the organization."""
    wanted_names = {a.name for a in desired.accounts if a.source == "created"}
    states = ["IN_PROGRESS", "FAILED"]
    if _file_accounts_not_visible(desired, visible):
        states.append("SUCCEEDED")
    requests: list[CreateAccountRequest] = []
    for raw in paginate(org, "list_create_account_status", "CreateAccountStatuses",
                        States=states):
        state = str(raw.get("State", ""))
        name = str(raw.get("AccountName", ""))
        account_id = raw.get("AccountId")
        if state == "FAILED" and name not in wanted_names:
            continue
        if state == "SUCCEEDED" and (name not in wanted_names or account_id in visible):
            continue
        requests.append(CreateAccountRequest(
            id=str(raw["Id"]), account_name=name, state=state,
            account_id=str(account_id) if account_id else None,
            failure_reason=str(raw["FailureReason"]) if raw.get("FailureReason") else None,
            requested_at=_iso(raw.get("RequestedTimestamp")),
        ))
    requests.sort(key=lambda r: (r.requested_at, r.id))
    return tuple(requests)


def _file_accounts_not_visible(desired: DesiredState, visible: set[str]) -> bool:
    # Identity by id when given, else by email: the caller passes ids and (lowercased) emails.
    return any(a.source == "created" and a.identity not in visible for a in desired.accounts
               if a.state == "active")


def read_handshakes(org: Client) -> tuple[Handshake, ...]:
    """The organization's INVITE handshakes, every state (ListHandshakesForOrganization filters
    only by action type; pending ones are REQUESTED or OPEN)."""
    handshakes: list[Handshake] = []
    for raw in paginate(org, "list_handshakes_for_organization", "Handshakes",
                        Filter={"ActionType": "INVITE"}):
        target_type, target_id = "", ""
        for party in raw.get("Parties") or ():
            if party.get("Type") != "ORGANIZATION":
                target_type, target_id = str(party.get("Type", "")), str(party.get("Id", ""))
        handshakes.append(Handshake(
            id=str(raw["Id"]), state=str(raw.get("State", "")), target_type=target_type,
            target_id=target_id, requested_at=_iso(raw.get("RequestedTimestamp")),
            expires_at=_iso(raw.get("ExpirationTimestamp")),
        ))
    handshakes.sort(key=lambda h: (h.requested_at, h.id))
    return tuple(handshakes)
