"""What every kind's planner needs to know: which AWS account each file account is.

Matching is the one decision all kinds share (an account's role, grants and root policy all depend
on whether the account exists, is being created, is waiting for an invitation, or is gone), so it
is made once here, before any kind is planned, and every kind reads the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.model import AccountSpec, DesiredState
from reconciler.observed import (
    GONE_STATES,
    CreateAccountRequest,
    Handshake,
    ObservedAccount,
    ObservedState,
)
from reconciler.plan import Change, Deferred, Unmanaged, how_to_accept, unknown_account_id

Disposition = Literal["present", "create", "invite", "deferred", "close", "gone", "error"]



@dataclass(frozen=True)
class AccountMatch:
    """How one account of the file stands in AWS.

    ``present``: in the organization and active; ``create``/``invite``: it will be (``create`` with
    ``pending_request`` when an earlier run's CreateAccount is still in progress: apply waits for
    it, never requesting a second account); ``deferred``: waiting for something apply cannot wait
    for (a pending invitation, a created account not listed yet); ``close``: active but the
    file closes it; ``gone``: closed in the file and already closed/suspended/absent in AWS;
    ``error``: the file and AWS disagree in a way orgsync refuses to resolve.
    """

    spec: AccountSpec
    disposition: Disposition
    observed: ObservedAccount | None = None
    waiting_for: str | None = None
    reason: str = ""
    pending_request: str | None = None  # ``create``: a CreateAccount request already in progress

    @property
    def account_id(self) -> str | None:
        if self.observed is not None:
            return self.observed.id
        return self.spec.id

    @property
    def id_expr(self) -> str:
        """The id to write into documents: the real one, or a placeholder apply substitutes."""
        known = self.account_id
        return known if known is not None else unknown_account_id(self.spec.name)

    @property
    def address(self) -> str:
        return f"account.{self.spec.name}"

    @property
    def usable(self) -> bool:
        """Whether member-account work (role, grants, root policy) can be planned for it."""
        return self.disposition in ("present", "create", "invite")


@dataclass
class PlanContext:
    """The inputs, the account matches, and what the kind planners report besides changes."""

    desired: DesiredState
    observed: ObservedState
    matches: dict[str, AccountMatch] = field(default_factory=dict)  # by account name
    changes: list[Change] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)  # besides accounts and OUs
    _by_id: dict[str, ObservedAccount] = field(default_factory=dict, repr=False)
    _by_email: dict[str, ObservedAccount] = field(default_factory=dict, repr=False)
    _requests: dict[str, list[CreateAccountRequest]] = field(default_factory=dict, repr=False)
    _addresses: set[str] = field(default_factory=set, repr=False)
    _addressed: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        for account in self.observed.accounts:
            self._by_id.setdefault(account.id, account)
            self._by_email.setdefault(account.email.lower(), account)
        for request in self.observed.create_requests:
            self._requests.setdefault(request.account_name, []).append(request)

    def create_requests(self, account_name: str) -> list[CreateAccountRequest]:
        return self._requests.get(account_name, [])

    def account_by_id(self, account_id: str) -> ObservedAccount | None:
        return self._by_id.get(account_id)

    def account_by_email(self, email: str) -> ObservedAccount | None:
        return self._by_email.get(email.lower())

    def account_name(self, account_id: str) -> str:
        """What to call an account known by its id: its name in the file, else its name in
        AWS, else the id."""
        for match in self.matches.values():
            if match.account_id == account_id:
                return match.spec.name
        found = self.account_by_id(account_id)
        return found.name if found is not None else account_id

    @property
    def management_account_id(self) -> str:
        return self.desired.organization.management_account_id

    def is_management(self, match: AccountMatch) -> bool:
        return match.account_id == self.management_account_id

    def planned(self, address: str) -> bool:
        for change in self.changes[self._addressed:]:
            self._addresses.add(change.address)
        self._addressed = len(self.changes)
        return address in self._addresses

    def needs(self, *addresses: str) -> tuple[str, ...]:
        """The addresses among ``addresses`` that are changes of this plan (for ``depends_on``)."""
        return tuple(dict.fromkeys(a for a in addresses if self.planned(a)))


def match_accounts(ctx: PlanContext) -> None:
    """Fill ``ctx.matches``: by id when the file gives one, else by email (case-insensitive), else
    by a CreateAccount request of the same name (never a second create)."""
    for spec in ctx.desired.accounts:
        ctx.matches[spec.name] = _match(ctx, spec)


def _latest(requests: list[CreateAccountRequest]) -> CreateAccountRequest | None:
    return max(requests, key=lambda r: (r.requested_at, r.id)) if requests else None


def _match(ctx: PlanContext, spec: AccountSpec) -> AccountMatch:
    found: ObservedAccount | None
    if spec.id is not None:
        found = ctx.account_by_id(spec.id)
        if found is not None and found.email.lower() != spec.email.lower():
            ctx.errors.append(
                f"account {spec.name}: the file gives email {spec.email} but account {spec.id} "
                f"has {found.email}; an account's root email cannot be changed by orgsync (change "
                "it in the account, or correct the file)")
            return AccountMatch(spec, "error", found)
    else:
        found = ctx.account_by_email(spec.email)
    if found is None and spec.id is None:
        found, pending = _by_create_request(ctx, spec)
        if pending is not None:
            return pending
    if found is not None:
        return _existing(ctx, spec, found)
    return _absent(ctx, spec)


def _by_create_request(
    ctx: PlanContext, spec: AccountSpec
) -> tuple[ObservedAccount | None, AccountMatch | None]:
    requests = ctx.create_requests(spec.name)
    for request in sorted(requests, key=lambda r: r.id):
        if request.state == "IN_PROGRESS":
            # Still a change, never "no changes": the account of the file does not exist yet.
            return None, AccountMatch(
                spec, "create", pending_request=request.id,
                reason=f"CreateAccount request {request.id} is IN_PROGRESS (made by an earlier "
                       "run): apply waits for it and requests no second account")
    succeeded = _latest([r for r in requests if r.state == "SUCCEEDED" and r.account_id])
    if succeeded is not None and succeeded.account_id is not None:
        account = ctx.account_by_id(succeeded.account_id)
        if account is not None:
            return account, None
        return None, AccountMatch(
            spec, "deferred",
            waiting_for=(f"account {succeeded.account_id} from CreateAccount request "
                         f"{succeeded.id} to appear in the organization"),
            reason="account created, not yet listed")
    failed = _latest([r for r in requests if r.state == "FAILED"])
    if failed is not None and spec.state == "active" and spec.source == "created":
        ctx.warnings.append(
            f"account {spec.name}: a previous CreateAccount request {failed.id} failed "
            f"({failed.failure_reason or 'no reason given'}); planning a new request")
    return None, None


def _existing(ctx: PlanContext, spec: AccountSpec, found: ObservedAccount) -> AccountMatch:
    state = found.state.upper()
    if spec.state == "closed":
        if state in GONE_STATES:
            return AccountMatch(spec, "gone", found)
        return AccountMatch(spec, "close", found)
    if state in GONE_STATES:
        ctx.errors.append(
            f"account {spec.name}: account {found.id} is {state} in AWS but active in the file "
            "(a closed account cannot be re-opened by orgsync; mark it state: closed, or "
            "reinstate it through AWS Support)")
        return AccountMatch(spec, "error", found)
    return AccountMatch(spec, "present", found)


def _pending_handshake(ctx: PlanContext, spec: AccountSpec) -> tuple[Handshake | None,
                                                                    Handshake | None]:
    """(a pending invitation for the account, else its latest finished one)."""
    mine = [
        h for h in ctx.observed.handshakes
        if (h.target_type == "ACCOUNT" and h.target_id == spec.id)
        or (h.target_type == "EMAIL" and h.target_id.lower() == spec.email.lower())
    ]
    pending = sorted((h for h in mine if h.pending), key=lambda h: (h.requested_at, h.id))
    finished = sorted((h for h in mine if not h.pending and h.state != "ACCEPTED"),
                      key=lambda h: (h.requested_at, h.id))
    return (pending[-1] if pending else None), (finished[-1] if finished else None)


def _absent(ctx: PlanContext, spec: AccountSpec) -> AccountMatch:
    if spec.state == "closed":
        return AccountMatch(spec, "gone")
    if spec.source == "invited":
        pending, finished = _pending_handshake(ctx, spec)
        if pending is not None:
            expiry = f", expires {pending.expires_at}" if pending.expires_at else ""
            return AccountMatch(
                spec, "deferred",
                waiting_for=(f"invitation {pending.id} to be accepted ({pending.state}{expiry}); "
                             f"{how_to_accept(pending.id, spec.id)}"),
                reason="invitation pending")
        if finished is not None:
            reason = (f"not in the organization; the previous invitation {finished.id} was "
                      f"{finished.state}: sending a new one")
        else:
            reason = "not in the organization"
        return AccountMatch(spec, "invite", reason=reason)
    if spec.id is not None:
        ctx.errors.append(
            f"account {spec.name}: account {spec.id} is not in the organization; to bring an "
            "existing account in, use source: invited (orgsync creates only accounts without id)")
        return AccountMatch(spec, "error")
    return AccountMatch(spec, "create", reason="not in the organization")
