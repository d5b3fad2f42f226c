"""AWS Organizations as AWS does it, where moto does not.

Adds invitations (handshakes), asynchronous CreateAccount with late failures and a concurrency
limit, the role CreateAccount really makes, CloseAccount through PENDING_CLOSURE with a closure
quota, 20-item pages, and ``iam.amazonaws.com`` as a trusted/delegated service. The handlers are
installed as methods of moto's ``OrganizationsResponse``; time-driven transitions happen in
``advance`` which the middleware runs before every request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random
from moto.organizations import utils as org_utils
from moto.organizations.models import (
    FakeAccount,
    OrganizationsBackend,
    organizations_backends,
)
from moto.organizations.responses import OrganizationsResponse

from reconciler.sandbox import consistency
from reconciler.sandbox.common import (
    aws_error,
    current_state,
    epoch,
    install_handlers,
    naive_utc,
    token_page,
    trust_service,
)
from reconciler.sandbox.state import (
    CLOSE_QUOTA_WINDOW,
    HANDSHAKE_TTL,
    Closure,
    CreateRequest,
    Handshake,
    RootUser,
    SandboxState,
)

PAGE_LIMIT = 20
PENDING = ("OPEN", "REQUESTED")
ADMIN_POLICY = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
IAM_PRINCIPAL = "iam.amazonaws.com"


# --- helpers -------------------------------------------------------------------------------

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def management_backend(account_id: str) -> OrganizationsBackend | None:
    """The backend holding the organization ``account_id`` belongs to (None: no organization),
    in whichever partition it lives (members are indexed with their partition; a management
    account's own backend is looked up without creating backends that do not exist)."""
    owner = organizations_backends.master_accounts.get(account_id)
    if owner is not None:
        return organizations_backends[owner[0]][owner[1]]
    account = dict.get(organizations_backends, account_id)
    for partition in PARTITIONS:
        own = dict.get(account, partition) if account is not None else None
        if own is not None and own.org is not None:
            return own
    return None


def _require_management(response: OrganizationsResponse) -> OrganizationsBackend:
    backend = organizations_backends[response.current_account][current_state().partition]
    if backend.org is not None:
        return backend
    if response.current_account in organizations_backends.master_accounts:
        raise aws_error("AccessDeniedException",
                        "You don't have permissions to access this resource.")
    raise aws_error("AWSOrganizationsNotInUseException",
                    "Your account is not a member of an organization.")


def _params(response: OrganizationsResponse) -> dict[str, Any]:
    return response.request_params


def paginate(items: list[Any], params: dict[str, Any], *, key: str,
             operation: str) -> dict[str, Any]:
    """One page of at most 20 items, with an opaque NextToken, as AWS Organizations pages."""
    return token_page(items, params, key=key, operation=operation, limit=PAGE_LIMIT,
                      invalid=lambda: aws_error("InvalidInputException",
                                                "You specified an invalid value.",
                                                Reason="INVALID_NEXT_TOKEN"))


def used_emails(state: SandboxState) -> set[str]:
    emails = {a["email"].lower() for a in state.standalone.values()}
    for account_backends in list(organizations_backends.values()):
        backend = dict.get(account_backends, state.partition)
        if backend is not None:
            emails.update(a.email.lower() for a in backend.accounts)
    return emails


def _new_id(prefix: str, length: int) -> str:
    return prefix + "".join(mock_random.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                            for _ in range(length))


def _account_id_for_email(state: SandboxState, email: str) -> str | None:
    for account_id, info in state.standalone.items():
        if info["email"].lower() == email.lower():
            return account_id
    return None


def join_organization(backend: OrganizationsBackend, *, account_id: str, name: str, email: str,
                      joined: datetime, method: str) -> FakeAccount:
    """Add an account to ``backend``'s organization without moto's CreateAccount side effects."""
    org = backend.org
    assert org is not None
    account: Any = FakeAccount.__new__(FakeAccount)
    account.type = "ACCOUNT"
    account.region = org.region
    account.organization_id = org.id
    account.master_account_id = org.master_account_id
    account.create_account_status_id = org_utils.make_random_create_account_status_id()
    account.id = account_id
    account.name = name
    account.email = email
    account.create_time = naive_utc(joined)
    account.status = "ACTIVE"
    account.state = "ACTIVE"
    account.joined_method = method
    account.parent_id = org.root_id
    account.attached_policies = []
    account.tags = {}
    backend.accounts.append(account)
    # what moto's attach_policy does, without its search of every account for this one
    for policy_id in (org_utils.DEFAULT_SCP_POLICY_ID, org_utils.DEFAULT_RCP_POLICY_ID):
        policy = backend.get_policy_by_id(policy_id)
        if policy not in account.attached_policies:
            account.attached_policies.append(policy)
            policy.attachments.append(account)
    organizations_backends.master_accounts[account.id] = (backend.account_id, backend.partition)
    return account


def _find_account(backend: OrganizationsBackend, account_id: str) -> FakeAccount | None:
    return next((a for a in backend.accounts if a.id == account_id), None)


# --- time-driven transitions ---------------------------------------------------------------

def advance(state: SandboxState) -> None:
    """Finish creations and closures whose time has come; expire invitations."""
    now = state.clock.now()
    with state.lock:
        # only the requests in progress: advance runs on every call, and a large
        # organization has thousands of finished requests
        for request in list(state.pending_creates.values()):
            if request.state != "IN_PROGRESS":
                state.pending_creates.pop(request.id, None)
            elif request.completes <= now:
                _complete_creation(state, request)
                state.pending_creates.pop(request.id, None)
        for closure in state.closures.values():
            if not closure.done and closure.completes <= now:
                closure.done = True
                owner = management_backend(closure.account_id)
                account = _find_account(owner, closure.account_id) if owner else None
                if account is not None:
                    account.state = "CLOSED"
                    account.status = "SUSPENDED"
        for handshake in state.handshakes.values():
            if handshake.state in PENDING and handshake.expires <= now:
                handshake.state = "EXPIRED"


def _complete_creation(state: SandboxState, request: CreateRequest) -> None:
    now = state.clock.now()
    request.completed = now
    backend = organizations_backends[request.owner][state.partition]
    if backend.org is None:
        request.state, request.failure_reason = "FAILED", "INTERNAL_FAILURE"
        return
    if request.email.lower() in used_emails(state):
        request.state, request.failure_reason = "FAILED", "EMAIL_ALREADY_EXISTS"
        return
    account_id = org_utils.make_random_account_id()
    while account_id in state.standalone or account_id == backend.account_id:
        account_id = org_utils.make_random_account_id()
    account = join_organization(backend, account_id=account_id, name=request.account_name,
                                email=request.email, joined=now, method="CREATED")
    account.create_account_status_id = request.id
    account.tags = {t["Key"]: t["Value"] for t in request.tags}
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{state.partition}:iam::{backend.account_id}:root"},
        "Action": "sts:AssumeRole"}]}
    iam = iam_backends[account_id][state.partition]
    iam.create_role(role_name=request.role_name, assume_role_policy_document=json.dumps(trust),
                    path="/", permissions_boundary=None, description="", tags=[],
                    max_session_duration="3600")
    iam.put_role_policy(request.role_name, "AdministratorAccess", ADMIN_POLICY)
    root = RootUser(account_id=account_id)
    if request.root_password:
        root.password_created = now
    state.root_users[account_id] = root
    request.state, request.account_id = "SUCCEEDED", account_id
    consistency.record_account_created(state, account_id)
    consistency.record_role(state, account_id, request.role_name, json.dumps(trust))


# --- handshakes ----------------------------------------------------------------------------

def _handshake_document(h: Handshake, *, partition: str) -> dict[str, Any]:
    target_party = {"Id": h.target_id, "Type": h.target_type}
    resources: list[dict[str, Any]] = [
        {"Value": h.organization_id, "Type": "ORGANIZATION", "Resources": [
            {"Value": h.management_email, "Type": "MASTER_EMAIL"},
            {"Value": h.management_name, "Type": "MASTER_NAME"},
            {"Value": h.feature_set, "Type": "ORGANIZATION_FEATURE_SET"},
        ]},
        {"Value": h.target_id, "Type": h.target_type},
    ]
    if h.notes:
        resources.append({"Value": h.notes, "Type": "NOTES"})
    return {
        "Id": h.id,
        "Arn": f"arn:{partition}:organizations::{h.management_account_id}:handshake/"
               f"{h.organization_id}/invite/{h.id}",
        "Parties": [{"Id": h.organization_id.removeprefix("o-"), "Type": "ORGANIZATION"},
                    target_party],
        "State": h.state,
        "RequestedTimestamp": epoch(h.requested),
        "ExpirationTimestamp": epoch(h.expires),
        "Action": h.action,
        "Resources": resources,
    }


def _get_handshake(state: SandboxState, handshake_id: str, *, seen_by: str) -> Handshake:
    """The handshake, which only its two parties see (to anyone else it is not found)."""
    if not re.fullmatch(r"h-[0-9a-z]{8,32}", handshake_id or ""):
        raise aws_error("InvalidInputException", "You specified an invalid value.",
                        Reason="INVALID_PATTERN")
    handshake = state.handshakes.get(handshake_id)
    if handshake is None or not _visible_to(handshake, seen_by):
        raise aws_error("HandshakeNotFoundException",
                        "We can't find a handshake with the HandshakeId that you specified.")
    return handshake


def _check_transition(handshake: Handshake, caller_account: str, *, party: str | None,
                      verb: str) -> None:
    """Only ``party`` (the one account that may) moves a pending handshake on."""
    if caller_account != party:
        raise aws_error("AccessDeniedException",
                        "You don't have permissions to access this resource.")
    if handshake.state not in PENDING:
        raise aws_error("InvalidHandshakeTransitionException",
                        f"You can't {verb} a handshake that is {handshake.state}.")


def _visible_to(handshake: Handshake, account_id: str) -> bool:
    return account_id in (handshake.management_account_id, handshake.target_account_id)


def invite(state: SandboxState, caller_account: str, params: dict[str, Any]) -> dict[str, Any]:
    backend = organizations_backends[caller_account][state.partition]
    org = backend.org
    assert org is not None
    target = params.get("Target") or {}
    target_type, target_id = target.get("Type"), str(target.get("Id") or "")
    if target_type == "ACCOUNT":
        if not re.fullmatch(r"\d{12}", target_id):
            raise aws_error("InvalidInputException", "You specified an invalid value.",
                            Reason="INVALID_PARTY_TYPE_TARGET")
        target_account: str | None = target_id
    elif target_type == "EMAIL":
        if "@" not in target_id:
            raise aws_error("InvalidInputException", "You specified an invalid value.",
                            Reason="INVALID_EMAIL_ADDRESS_TARGET")
        target_account = _account_id_for_email(state, target_id)
    else:
        raise aws_error("InvalidInputException", "You specified an invalid value.",
                        Reason="INVALID_PARTY_TYPE_TARGET")
    now = state.clock.now()
    with state.lock:
        if target_account is not None and (
                target_account in organizations_backends.master_accounts
                or management_backend(target_account) is not None):
            raise aws_error("HandshakeConstraintViolationException",
                            "The requested operation would violate the constraint identified "
                            "in the reason code.", Reason="ALREADY_IN_AN_ORGANIZATION")
        for other in state.handshakes.values():
            if (other.management_account_id == caller_account and other.state in PENDING
                    and (other.target_id == target_id or (target_account is not None and
                                                          other.target_account_id
                                                          == target_account))):
                raise aws_error("DuplicateHandshakeException",
                                "A handshake with the same action and target already exists.")
        recent = [h for h in state.handshakes.values()
                  if h.management_account_id == caller_account
                  and now - h.requested < timedelta(days=1)]
        if len(recent) >= state.options.invites_per_day:
            raise aws_error("HandshakeConstraintViolationException",
                            "The requested operation would violate the constraint identified "
                            "in the reason code.", Reason="HANDSHAKE_RATE_LIMIT_EXCEEDED")
        management = _find_account(backend, caller_account)
        handshake = Handshake(
            id=_new_id("h-", 10), organization_id=org.id, management_account_id=caller_account,
            management_email=management.email if management else org.master_account_email,
            management_name=management.name if management else "management",
            feature_set=org.feature_set, target_type=target_type, target_id=target_id,
            target_account_id=target_account, notes=params.get("Notes"), requested=now,
            expires=now + HANDSHAKE_TTL, tags=list(params.get("Tags") or []),
        )
        state.handshakes[handshake.id] = handshake
        document = _handshake_document(handshake, partition=state.partition)
        if state.options.auto_accept_invites and target_account in state.standalone:
            respond(state, handshake.id, target_account, accept=True)
    return {"Handshake": document}


def respond(state: SandboxState, handshake_id: str, caller_account: str, *,
            accept: bool) -> dict[str, Any]:
    """Accept or decline as the invited account."""
    with state.lock:
        handshake = _get_handshake(state, handshake_id, seen_by=caller_account)
        _check_transition(handshake, caller_account, party=handshake.target_account_id,
                          verb="accept" if accept else "decline")
        if accept:
            if caller_account in organizations_backends.master_accounts or \
                    management_backend(caller_account) is not None:
                raise aws_error("HandshakeConstraintViolationException",
                                "The requested operation would violate the constraint "
                                "identified in the reason code.",
                                Reason="ALREADY_IN_AN_ORGANIZATION")
            backend = organizations_backends[handshake.management_account_id][
                state.partition]
            info = state.standalone.get(caller_account, {})
            join_organization(backend, account_id=caller_account,
                              name=info.get("name", caller_account),
                              email=info.get("email", handshake.target_id),
                              joined=state.clock.now(), method="INVITED")
            handshake.state = "ACCEPTED"
        else:
            handshake.state = "DECLINED"
        return {"Handshake": _handshake_document(handshake, partition=state.partition)}


def _invite_account_to_organization(self: OrganizationsResponse) -> str:
    state = current_state()
    _require_management(self)
    return json.dumps(invite(state, self.current_account, _params(self)))


def _describe_handshake(self: OrganizationsResponse) -> str:
    state = current_state()
    with state.lock:
        handshake = _get_handshake(state, _params(self).get("HandshakeId", ""),
                                   seen_by=self.current_account)
        return json.dumps({"Handshake": _handshake_document(handshake,
                                                            partition=state.partition)})


def _filtered(handshakes: list[Handshake], params: dict[str, Any]) -> list[Handshake]:
    flt = params.get("Filter") or {}
    if flt.get("ActionType") and flt.get("ParentHandshakeId"):
        raise aws_error("InvalidInputException", "You specified an invalid value.",
                        Reason="INPUT_REQUIRED")
    if flt.get("ActionType"):
        handshakes = [h for h in handshakes if h.action == flt["ActionType"]]
    if flt.get("ParentHandshakeId"):
        handshakes = []  # the sandbox has no child handshakes (those belong to ENABLE_ALL_FEATURES)
    return sorted(handshakes, key=lambda h: (h.requested, h.id))


def _handshakes_page(self: OrganizationsResponse, operation: str,
                     wanted: Callable[[Handshake], bool]) -> str:
    state = current_state()
    params = _params(self)
    with state.lock:
        handshakes = _filtered([h for h in state.handshakes.values() if wanted(h)], params)
        documents = [_handshake_document(h, partition=state.partition)
                     for h in handshakes]
    return json.dumps(paginate(documents, params, key="Handshakes", operation=operation))


def _list_handshakes_for_organization(self: OrganizationsResponse) -> str:
    _require_management(self)
    return _handshakes_page(self, "ListHandshakesForOrganization",
                            lambda h: h.management_account_id == self.current_account)


def _list_handshakes_for_account(self: OrganizationsResponse) -> str:
    return _handshakes_page(self, "ListHandshakesForAccount",
                            lambda h: _visible_to(h, self.current_account))


def _accept_handshake(self: OrganizationsResponse) -> str:
    state = current_state()
    return json.dumps(respond(state, _params(self).get("HandshakeId", ""),
                              self.current_account, accept=True))


def _decline_handshake(self: OrganizationsResponse) -> str:
    state = current_state()
    return json.dumps(respond(state, _params(self).get("HandshakeId", ""),
                              self.current_account, accept=False))


def _cancel_handshake(self: OrganizationsResponse) -> str:
    state = current_state()
    with state.lock:
        handshake = _get_handshake(state, _params(self).get("HandshakeId", ""),
                                   seen_by=self.current_account)
        _check_transition(handshake, self.current_account,
                          party=handshake.management_account_id, verb="cancel")
        handshake.state = "CANCELED"
        return json.dumps({"Handshake": _handshake_document(handshake,
                                                            partition=state.partition)})


# --- accounts ------------------------------------------------------------------------------

def _status_document(request: CreateRequest) -> dict[str, Any]:
    document: dict[str, Any] = {"Id": request.id, "AccountName": request.account_name,
                                "State": request.state,
                                "RequestedTimestamp": epoch(request.requested)}
    if request.completed is not None:
        document["CompletedTimestamp"] = epoch(request.completed)
    if request.account_id:
        document["AccountId"] = request.account_id
    if request.failure_reason:
        document["FailureReason"] = request.failure_reason
    return document


def _create_account(self: OrganizationsResponse) -> str:
    state = current_state()
    backend = _require_management(self)
    params = _params(self)
    now = state.clock.now()
    with state.lock:
        in_flight = [r for r in state.pending_creates.values()
                     if r.state == "IN_PROGRESS"
                     and r.owner == backend.account_id]
        if len(in_flight) >= state.options.max_concurrent_creates:
            state.creations["refused_rate_limit"] += 1
            raise aws_error("ConstraintViolationException",
                            "You have sent too many requests in too short a period of time. "
                            "The quota helps protect against denial-of-service attacks. Try "
                            "again later.", Reason="ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED")
        request = CreateRequest(
            id=_new_id("car-", 12), account_name=params["AccountName"], email=params["Email"],
            role_name=params.get("RoleName") or "OrganizationAccountAccessRole",
            tags=list(params.get("Tags") or []),
            iam_user_access_to_billing=params.get("IamUserAccessToBilling") or "ALLOW",
            requested=now, completes=now + timedelta(seconds=state.options.create_delay_s),
            owner=backend.account_id,
            root_password="RootCredentialsManagement" not in state.org_features[backend.account_id])
        state.create_requests[request.id] = request
        state.pending_creates[request.id] = request
        state.creations["peak_in_flight"] = max(state.creations["peak_in_flight"],
                                                len(in_flight) + 1)
        return json.dumps({"CreateAccountStatus": _status_document(request)})


def _describe_create_account_status(self: OrganizationsResponse) -> str:
    state = current_state()
    backend = _require_management(self)
    request_id = _params(self).get("CreateAccountRequestId", "")
    with state.lock:
        request = state.create_requests.get(request_id)
        if request is None or request.owner != backend.account_id:
            raise aws_error("CreateAccountStatusNotFoundException",
                            "We can't find an create account request with the "
                            "CreateAccountRequestId that you specified.")
        return json.dumps({"CreateAccountStatus": _status_document(request)})


def _list_create_account_status(self: OrganizationsResponse) -> str:
    state = current_state()
    backend = _require_management(self)
    params = _params(self)
    states = params.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    with state.lock:
        documents = [_status_document(r) for r in sorted(state.create_requests.values(),
                                                          key=lambda r: (r.requested, r.id))
                     if r.owner == backend.account_id
                     and r.state in states]
    return json.dumps(paginate(documents, params, key="CreateAccountStatuses",
                               operation="ListCreateAccountStatus"))


def close_quota(state: SandboxState, backend: OrganizationsBackend) -> int:
    if state.options.close_quota is not None:
        return state.options.close_quota
    members = len(backend.accounts) - 1
    return max(10, min(1000, members // 10))


def _close_account(self: OrganizationsResponse) -> str:
    state = current_state()
    backend = _require_management(self)
    account_id = _params(self).get("AccountId", "")
    now = state.clock.now()
    with state.lock:
        if account_id == backend.account_id:
            raise aws_error("ConstraintViolationException",
                            "You can't close the management account.",
                            Reason="CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
        account = _find_account(backend, account_id)
        if account is None:
            raise aws_error("AccountNotFoundException",
                            "You specified an account that doesn't exist.")
        if account.state in ("PENDING_CLOSURE", "CLOSED", "SUSPENDED"):
            raise aws_error("AccountAlreadyClosedException",
                            "You provided an account that is already closed.")
        recent = [c for c in state.closures.values()
                  if now - c.requested < CLOSE_QUOTA_WINDOW
                  and management_backend(c.account_id) is backend]
        if len(recent) >= close_quota(state, backend):
            raise aws_error("ConstraintViolationException",
                            "You have exceeded close account quota for the past 30 days.",
                            Reason="CLOSE_ACCOUNT_QUOTA_EXCEEDED")
        account.state = "PENDING_CLOSURE"
        account.status = "PENDING_CLOSURE"
        consistency.record_close(state, account_id)
        state.closures[account_id] = Closure(
            account_id=account_id, requested=now,
            completes=now + timedelta(seconds=state.options.close_delay_s))
    return "{}"


def _sorted_accounts(accounts: list[FakeAccount]) -> list[FakeAccount]:
    return sorted(accounts, key=lambda a: (a.create_time, a.id))


def _list_accounts(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    return _accounts_page(backend.accounts, _params(self), operation="ListAccounts")


def _list_accounts_for_parent(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    params = _params(self)
    parent_id = backend.validate_parent_id(params.get("ParentId", ""))
    return _accounts_page([a for a in backend.accounts if a.parent_id == parent_id], params,
                          operation="ListAccountsForParent")


def _accounts_page(accounts, params, *, operation: str) -> str:
    # describe only the page's accounts: describing all of them per 20-item page made listing a
    # large organization quadratic
    state = current_state()
    page = paginate(_sorted_accounts(accounts), params, key="Accounts", operation=operation)
    page["Accounts"] = [consistency.as_organizations_shows(state, a.describe())
                        for a in page["Accounts"]]
    return json.dumps(page)


def _describe_account(self: OrganizationsResponse) -> str:
    """moto's DescribeAccount, showing what has propagated (consistency.py)."""
    state = current_state()
    document = self.organizations_backend.describe_account(**_params(self))
    document["Account"] = consistency.as_organizations_shows(state, document["Account"])
    return json.dumps(document)


def _list_organizational_units_for_parent(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    params = _params(self)
    parent_id = backend.validate_parent_id(params.get("ParentId", ""))
    documents = [ou.describe()["OrganizationalUnit"] for ou in backend.ou
                 if ou.parent_id == parent_id and ou.type == "ORGANIZATIONAL_UNIT"]
    return json.dumps(paginate(documents, params, key="OrganizationalUnits",
                               operation="ListOrganizationalUnitsForParent"))


def _list_children(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    params = _params(self)
    document = json.loads(backend_list_children(backend, params))
    return json.dumps(paginate(document["Children"], params, key="Children",
                               operation="ListChildren"))


def backend_list_children(backend: OrganizationsBackend, params: dict[str, Any]) -> str:
    return json.dumps(backend.list_children(ParentId=params.get("ParentId", ""),
                                            ChildType=params.get("ChildType", "")))


def _list_roots(self: OrganizationsResponse) -> str:
    state = current_state()
    del state
    owner = management_backend(self.current_account)
    if owner is None:
        raise aws_error("AWSOrganizationsNotInUseException",
                        "Your account is not a member of an organization.")
    if owner.account_id != self.current_account:
        raise aws_error("AccessDeniedException",
                        "You don't have permissions to access this resource.")
    return json.dumps(paginate(owner.list_roots()["Roots"], _params(self), key="Roots",
                               operation="ListRoots"))


# --- organizational units ------------------------------------------------------------------

OU_NESTING_LIMIT = 5  # "You can nest OUs up to five levels deep" (Organizations quotas)


def _ou_depth(backend: OrganizationsBackend, parent_id: str) -> int:
    """How many OUs deep ``parent_id`` is (the root is 0)."""
    by_id = {ou.id: ou for ou in backend.ou}
    depth, current = 0, by_id.get(parent_id)
    while current is not None and current.type == "ORGANIZATIONAL_UNIT":
        depth += 1
        current = by_id.get(str(current.parent_id))
    return depth


def _check_sibling_name(backend: OrganizationsBackend, parent_id: str, name: str,
                        *, except_id: str | None = None) -> None:
    """AWS refuses a second OU of the same name under one parent (moto compares every OU of
    the organization on rename, and none on create). DuplicateOrganizationalUnitException:
    "An OU with the same name already exists." (CreateOrganizationalUnit and
    UpdateOrganizationalUnit API references)."""
    for ou in backend.ou:
        if (ou.type == "ORGANIZATIONAL_UNIT" and ou.parent_id == parent_id and ou.name == name
                and ou.id != except_id):
            raise aws_error("DuplicateOrganizationalUnitException",
                            "An OU with the same name already exists.")


def _create_organizational_unit(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    params = _params(self)
    parent_id = backend.validate_parent_id(params.get("ParentId", ""))
    with current_state().lock:
        _check_sibling_name(backend, parent_id, params.get("Name", ""))
        if _ou_depth(backend, parent_id) >= OU_NESTING_LIMIT:
            raise aws_error("ConstraintViolationException",
                            "You can't nest OUs more than five levels deep.",
                            Reason="OU_DEPTH_LIMIT_EXCEEDED")
        return json.dumps(backend.create_organizational_unit(**params))


def _update_organizational_unit(self: OrganizationsResponse) -> str:
    backend = _require_management(self)
    params = _params(self)
    with current_state().lock:
        ou = backend.get_organizational_unit_by_id(params.get("OrganizationalUnitId", ""))
        name = params.get("Name")
        if name:
            _check_sibling_name(backend, str(ou.parent_id), name, except_id=ou.id)
            ou.name = name
        return json.dumps(ou.describe())


def _delete_organizational_unit(self: OrganizationsResponse) -> str:
    """DeleteOrganizationalUnit: "You must first remove all accounts and child OUs from the OU
    that you want to delete" (API reference). Closed accounts count: AWS keeps a closed account
    in its parent for 90 days, which is why teams move accounts to a "closed" OU before they
    close them (ministryofjustice/modernisation-platform#1233)."""
    backend = _require_management(self)
    ou_id = _params(self).get("OrganizationalUnitId", "")
    with current_state().lock:
        ou = backend.get_organizational_unit_by_id(ou_id)
        if any(a.parent_id == ou.id for a in backend.accounts) or any(
                child.parent_id == ou.id for child in backend.ou):
            raise aws_error("OrganizationalUnitNotEmptyException",
                            "The specified OU is not empty. Move all accounts to another root "
                            "or to other OUs, remove all child OUs, and try the operation "
                            "again.")
        for policy in list(ou.attached_policies):
            if ou in policy.attachments:
                policy.attachments.remove(ou)
        backend.ou.remove(ou)
    return "{}"


def _move_account(self: OrganizationsResponse) -> str:
    """MoveAccount checks its source as AWS does; moto only checks that both parents exist.
    Errors from the API reference (MoveAccount): SourceParentNotFoundException "We can't find a
    source root or OU with the ParentId that you specified" (the account is not in the source
    parent you named, for example after someone else moved it), DestinationParentNotFoundException,
    DuplicateAccountException "That account is already present in the specified destination" (so
    a retried move whose first reply was lost fails and the caller must look), and
    AccountNotFoundException for an account outside the organization."""
    backend = _require_management(self)
    params = _params(self)
    account_id = str(params.get("AccountId", ""))
    source = str(params.get("SourceParentId", ""))
    destination = str(params.get("DestinationParentId", ""))
    with current_state().lock:
        parent_ids = {ou.id for ou in backend.ou}
        account = _find_account(backend, account_id)
        if account is None:
            raise aws_error("AccountNotFoundException",
                            "You specified an account that doesn't exist.")
        if destination not in parent_ids:
            raise aws_error("DestinationParentNotFoundException",
                            "We can't find a destination root or OU with the ParentId that you "
                            "specified.")
        if account.parent_id == destination:
            raise aws_error("DuplicateAccountException",
                            "That account is already present in the specified destination.")
        if source not in parent_ids or account.parent_id != source:
            raise aws_error("SourceParentNotFoundException",
                            "We can't find a source root or OU with the ParentId that you "
                            "specified.")
        account.parent_id = destination
    return "{}"


HANDLERS = {
    "create_organizational_unit": _create_organizational_unit,
    "update_organizational_unit": _update_organizational_unit,
    "delete_organizational_unit": _delete_organizational_unit,
    "invite_account_to_organization": _invite_account_to_organization,
    "describe_handshake": _describe_handshake,
    "list_handshakes_for_organization": _list_handshakes_for_organization,
    "list_handshakes_for_account": _list_handshakes_for_account,
    "accept_handshake": _accept_handshake,
    "decline_handshake": _decline_handshake,
    "cancel_handshake": _cancel_handshake,
    "create_account": _create_account,
    "describe_create_account_status": _describe_create_account_status,
    "list_create_account_status": _list_create_account_status,
    "close_account": _close_account,
    "list_accounts": _list_accounts,
    "describe_account": _describe_account,
    "list_accounts_for_parent": _list_accounts_for_parent,
    "list_organizational_units_for_parent": _list_organizational_units_for_parent,
    "list_children": _list_children,
    "list_roots": _list_roots,
    "move_account": _move_account,
}


def install() -> None:
    """Patch moto's Organizations (idempotent)."""
    install_handlers(OrganizationsResponse, HANDLERS)
    trust_service(IAM_PRINCIPAL, delegated_administrator=True)
