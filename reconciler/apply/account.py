"""Creates, invites, updates and closes member accounts, safely under re-runs.

The dangerous operations are the ones that cannot be taken back: a second CreateAccount makes a
second real account, a second invitation spams the invited account's owner, a closure starts a
90-day clock. So each one first looks at live AWS for evidence of an earlier attempt (an account
with the email, a CreateAccount request with the name still in progress, a pending handshake, an
account already closing) and continues from there instead of repeating it. The organization-wide
listings this needs (accounts, requests in progress, invitations) are read once per run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from reconciler.afters import AccountAfter, AccountCreateRequest
from reconciler.apply.kit import StepContext, StepFailed, Waiting, backoff, reattaches
from reconciler.apply.ou import ou_id
from reconciler.aws import paginate
from reconciler.errors import AccessDenied, AwsError, NotFound, Throttled
from reconciler.observed import GONE_STATES
from reconciler.plan import Action, Change, how_to_accept

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListAccounts",
        "organizations:DescribeAccount",
        "organizations:ListCreateAccountStatus",
        "organizations:DescribeCreateAccountStatus",
        "organizations:CreateAccount",
        "organizations:ListHandshakesForOrganization",
        "organizations:InviteAccountToOrganization",
        "organizations:ListParents",
        "organizations:MoveAccount",
        "organizations:ListTagsForResource",
        "organizations:TagResource",
        "organizations:UntagResource",
        "organizations:CloseAccount",
        "account:PutAccountName",
        "iam:CreateServiceLinkedRole",  # CreateAccount creates the Organizations SLR on first use
    ),
    "member": ("account:PutAccountName",),
}

PENDING_HANDSHAKE = ("REQUESTED", "OPEN")


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action is Action.CREATE:
        return _create(change, ctx)
    if change.action is Action.INVITE:
        return _invite(change, ctx)
    if change.action is Action.UPDATE:
        return _update(change, ctx)
    if change.action is Action.CLOSE:
        return _close(change, ctx)
    raise StepFailed(f"account changes cannot be {change.action.value}")


# --- create ---------------------------------------------------------------------------------


def _account_with_email(ctx: StepContext, email: str) -> dict[str, Any] | None:
    """The organization's account with ``email``: one ListAccounts per run. The file's emails
    are unique and the run holds the apply lock, so no later step needs a fresher listing."""
    def load() -> dict[str, dict[str, Any]]:
        return {str(a.get("Email", "")).lower(): dict(a) for a in paginate(
            ctx.aws.client("organizations"), "list_accounts", "Accounts")}

    return ctx.listing("accounts_by_email", load).get(email.lower())


def _state(account: Mapping[str, Any]) -> str:
    return str(account.get("State") or account.get("Status") or "")


def _earlier_request(ctx: StepContext, name: str) -> dict[str, Any] | None:
    """A CreateAccount request with ``name`` still in progress (one listing per run). A request
    that succeeded needs no look: its account would have been found by email."""
    def load() -> list[dict[str, Any]]:
        return [dict(r) for r in paginate(ctx.aws.client("organizations"),
                                          "list_create_account_status", "CreateAccountStatuses",
                                          States=["IN_PROGRESS"])]

    return next((r for r in ctx.listing("create_requests_in_progress", load)
                 if r.get("AccountName") == name), None)


def poll_delay(elapsed: float, ctx: StepContext) -> float:
    """How long to wait before looking at a CreateAccount request again: a tenth of the time it
    has taken so far, between ``poll_initial_s`` and ``poll_max_s``. A request that finishes is
    seen at most ~10% late (what makes a pipelined apply run near ceil(N/5) x creation time),
    and a request that takes minutes (AWS's usual) costs one call every ``poll_max_s``."""
    return min(ctx.options.poll_max_s, max(ctx.options.poll_initial_s, elapsed / 10))


def wait_for_request(change: Change, ctx: StepContext, request: Mapping[str, Any], *,
                     email: str | None = None) -> str:
    """Wait for CreateAccount ``request``; its account id. With ``email`` (a request adopted by
    its name, which is all ListCreateAccountStatus shows), the account must have that email:
    else the request was someone else's, and the step fails without touching it."""
    orgs = ctx.aws.client("organizations")
    request_id = str(request["Id"])
    start = time.monotonic()
    deadline = start + ctx.options.create_account_timeout_s
    status = dict(request)
    if status.get("State") == "IN_PROGRESS":  # a quick first look: sometimes it is done at once
        status = dict(orgs.describe_create_account_status(
            CreateAccountRequestId=request_id)["CreateAccountStatus"])
    while status.get("State") == "IN_PROGRESS":
        if time.monotonic() >= deadline:
            raise StepFailed(
                f"CreateAccount request {request_id} still IN_PROGRESS after "
                f"{ctx.options.create_account_timeout_s:.0f} s; re-run apply to keep waiting "
                "(no second account will be requested)")
        ctx.reporter.progress(change, f"waiting for CreateAccount {request_id} (IN_PROGRESS, "
                                      f"{time.monotonic() - start:.0f} s)")
        ctx.sleep(poll_delay(time.monotonic() - start, ctx))
        status = dict(orgs.describe_create_account_status(
            CreateAccountRequestId=request_id)["CreateAccountStatus"])
    if status.get("State") == "FAILED":
        raise StepFailed(f"CreateAccount {request_id} failed: "
                         f"{status.get('FailureReason', 'no reason given')}")
    account_id = status.get("AccountId")
    if not account_id:
        raise StepFailed(f"CreateAccount {request_id} succeeded without an account id")
    if email is not None:
        actual = str(orgs.describe_account(AccountId=account_id)["Account"].get("Email", ""))
        if actual.lower() != email.lower():
            raise StepFailed(
                f"a CreateAccount request named {status.get('AccountName') or change.key!r} "
                f"({request_id}) was made by someone else: its account {account_id} has the "
                f"email {actual}, not {email}; that account was left untouched")
    return str(account_id)


def _planned_request(change: Change) -> dict[str, Any] | None:
    """The CreateAccount request the plan saw in progress (``before.create_request_id``): apply
    waits for that very request even if it has finished since, never requesting another."""
    request_id = cast(AccountCreateRequest, change.before or {}).get("create_request_id")
    return {"Id": str(request_id), "State": "IN_PROGRESS"} if request_id else None


RATE_LIMIT_REASON = "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"


def busy_answer(error: AwsError) -> str | None:
    """Why AWS refused a CreateAccount *for now* (nothing was requested, asking again later is
    safe), or None for any other error. ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: too many
    creations in flight (CreateAccount API reference, ConstraintViolationException);
    throttling after botocore's own retries; ConcurrentModificationException, which
    Organizations answers around account creation (terraform-provider-aws #9195)."""
    if RATE_LIMIT_REASON in f"{error.code} {error.aws_message}":
        return "the organization has as many account creations in flight as AWS allows"
    if isinstance(error, Throttled):
        return "Organizations is throttling"
    if "ConcurrentModification" in error.code:
        return "Organizations is busy with a concurrent change"
    return None


def request_account(change: Change, ctx: StepContext, kwargs: Mapping[str, Any], *,
                    notes: list[str]) -> dict[str, Any]:
    """Call CreateAccount for one account; its CreateAccountStatus. Every per-request concern
    lives here: an answer that means "not now" (``busy_answer``) is waited out, never a failure
    of the run: until one of this run's own requests finishes, or a growing delay when the
    requests in flight are someone else's. What was waited for goes into ``notes`` (the step's
    one finished line). The caller holds a place in ``ctx.creations``."""
    orgs = ctx.aws.client("organizations")
    start = time.monotonic()
    deadline = start + ctx.options.create_account_timeout_s
    delays = backoff(ctx.options.poll_initial_s, ctx.options.poll_max_s)
    reasons: dict[str, int] = {}
    while True:
        try:
            status = dict(orgs.create_account(**kwargs)["CreateAccountStatus"])
        except AwsError as error:
            why = busy_answer(error)
            if why is None:
                raise
            if time.monotonic() >= deadline:
                raise StepFailed(f"CreateAccount was refused for "
                                 f"{time.monotonic() - start:.0f} s ({why}: {error.code}); "
                                 "nothing was requested for this account; re-run apply") from error
            reasons[why] = reasons.get(why, 0) + 1
            ctx.reporter.progress(change, f"{why}; waiting to request it")
            ctx.creations.wait_for_change(next(delays))
            continue
        if reasons:
            notes.append(f"waited {time.monotonic() - start:.0f} s to request it ("
                         + "; ".join(f"{why}: {n}x" for why, n in reasons.items()) + ")")
        return status


def _create(change: Change, ctx: StepContext) -> str:
    after = cast(AccountAfter, change.after or {})
    name, email = str(after["name"]), str(after["email"])
    notes: list[str] = []
    holds_place = reattaches(change)
    try:
        existing = _account_with_email(ctx, email)
        if existing is not None:
            if _state(existing) in GONE_STATES:
                raise StepFailed(f"the account with email {email} ({existing['Id']}) is "
                                 f"{_state(existing)}; it cannot be created again")
            account_id = str(existing["Id"])
            notes.append(f"account {account_id} already existed")
        else:
            request = _planned_request(change) or _earlier_request(ctx, name)
            if not holds_place:
                ctx.creations.acquire()
                holds_place = True
            if request is None:
                kwargs: dict[str, Any] = {"Email": email, "AccountName": name}
                if after.get("role_name"):
                    kwargs["RoleName"] = after["role_name"]
                if after.get("iam_user_access_to_billing"):
                    kwargs["IamUserAccessToBilling"] = after["iam_user_access_to_billing"]
                tags = after.get("tags")
                if tags:
                    kwargs["Tags"] = _tag_list(tags)
                request = request_account(change, ctx, kwargs, notes=notes)
                notes.append(f"requested ({request['Id']})")
                try:
                    account_id = wait_for_request(change, ctx, request)
                except StepFailed as failure:
                    own = _own_lost_request(ctx, name=name, failed=request, failure=failure)
                    if own is None:
                        raise
                    notes.append(f"the reply to it was lost and botocore's retry "
                                 f"{request['Id']} met this run's own request {own['Id']}")
                    account_id = wait_for_request(change, ctx, own, email=email)
            else:
                notes.append(f"continued earlier request {request['Id']}")
                account_id = wait_for_request(change, ctx, request, email=email)
            notes.append(f"created account {account_id}")
    finally:
        if holds_place:  # the request has finished: the next creation may start
            ctx.creations.release()
    ctx.record_account_id(name, account_id)
    notes.extend(_ensure_placement(ctx, account_id, after))
    return "; ".join(notes)


def _own_lost_request(ctx: StepContext, *, name: str, failed: Mapping[str, Any],
                      failure: StepFailed) -> dict[str, Any] | None:
    """This run's own CreateAccount request, when ``failed`` is botocore's retry of it.

    CreateAccount has no idempotency token: when its reply is lost, botocore sends it again and
    the second request fails with EMAIL_ALREADY_EXISTS because the first one made the account.
    Before requesting, this run found no account with the email and no request with the name in
    progress, and it holds the apply lock; so another request with the name, in progress or
    succeeded, is this run's own (the caller still checks its account's email)."""
    if "EMAIL_ALREADY_EXISTS" not in str(failure):
        return None
    found = [dict(r) for r in paginate(ctx.aws.client("organizations"),
                                       "list_create_account_status", "CreateAccountStatuses",
                                       States=["IN_PROGRESS", "SUCCEEDED"])
             if r.get("AccountName") == name and r.get("Id") != failed.get("Id")]
    found.sort(key=lambda r: str(r.get("RequestedTimestamp", "")), reverse=True)
    return found[0] if found else None


# --- invite ---------------------------------------------------------------------------------


def _member(ctx: StepContext, account_id: str) -> dict[str, Any] | None:
    try:
        return dict(ctx.aws.client("organizations").describe_account(
            AccountId=account_id)["Account"])
    except NotFound:
        return None


def _handshakes_for(ctx: StepContext, account_id: str) -> list[dict[str, Any]]:
    """The organization's invitations of ``account_id`` (one listing of all of them per run; each
    account is invited at most once per run, so this run's own invitations need no re-read)."""
    def load() -> list[dict[str, Any]]:
        return [dict(h) for h in paginate(ctx.aws.client("organizations"),
                                          "list_handshakes_for_organization", "Handshakes",
                                          Filter={"ActionType": "INVITE"})]

    return [h for h in ctx.listing("invitations", load)
            if any(p.get("Type") == "ACCOUNT" and p.get("Id") == account_id
                   for p in h.get("Parties", []))]


def _invite(change: Change, ctx: StepContext) -> str:
    after = cast(AccountAfter, change.after or {})
    account_id, name = str(after["id"]), str(after.get("name", change.key))
    notes: list[str] = []
    if _member(ctx, account_id) is None:
        pending = [h for h in _handshakes_for(ctx, account_id)
                   if h.get("State") in PENDING_HANDSHAKE]
        if pending:
            handshake_id = str(pending[0]["Id"])
            notes.append(f"invitation {handshake_id} already pending")
        else:
            orgs = ctx.aws.client("organizations")
            kwargs: dict[str, Any] = {"Target": {"Type": "ACCOUNT", "Id": account_id}}
            tags = after.get("tags")
            if tags:
                kwargs["Tags"] = _tag_list(tags)
            try:
                handshake_id = str(orgs.invite_account_to_organization(**kwargs)["Handshake"]["Id"])
                notes.append(f"invited {account_id} ({handshake_id})")
            except AwsError as error:
                if "DuplicateHandshake" not in error.code \
                        and "HandshakeConstraintViolation" not in error.code:
                    raise
                # botocore's retry of an invitation whose reply was lost meets that invitation:
                # pending (DuplicateHandshake), or accepted already (ALREADY_IN_AN_ORGANIZATION)
                if "HandshakeConstraintViolation" in error.code \
                        and _member(ctx, account_id) is None:
                    raise
                handshake_id = "(already pending)"
                notes.append("invitation already pending")
        deadline = time.monotonic() + ctx.options.invitation_accept_wait_s
        while _member(ctx, account_id) is None:
            if time.monotonic() >= deadline:
                raise Waiting("; ".join(notes) + f"; waiting for invitation {handshake_id} to be "
                              f"accepted by account {account_id} ({name}); "
                              + how_to_accept(handshake_id, account_id))
            ctx.sleep(0.5)
        notes.append("invitation accepted")
    else:
        notes.append(f"{account_id} is already a member")
    ctx.record_account_id(name, account_id)
    notes.extend(_ensure_placement(ctx, account_id, after))
    return "; ".join(notes)


# --- update ---------------------------------------------------------------------------------


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


def _ensure_placement(ctx: StepContext, account_id: str, after: AccountAfter) -> list[str]:
    """Move the account into its OU and make its tags exact (when the file manages them)."""
    notes: list[str] = []
    orgs = ctx.aws.client("organizations")
    if after.get("ou"):
        target = ou_id(ctx, str(after["ou"]))
        parents = orgs.list_parents(ChildId=account_id).get("Parents", [])
        if not parents:
            raise StepFailed(f"account {account_id} has no parent (is it in the organization?)")
        source = str(parents[0]["Id"])
        if source != target:
            try:
                orgs.move_account(AccountId=account_id, SourceParentId=source,
                                  DestinationParentId=target)
            except AwsError as error:
                # botocore's retry of a move whose reply was lost: the account is there already
                if ("DuplicateAccount" not in error.code
                        and "SourceParentNotFound" not in error.code) \
                        or _parent(orgs, account_id) != target:
                    raise
            notes.append(f"moved to {after['ou']}")
    tags = after.get("tags")
    if tags is not None:
        current = {t["Key"]: t["Value"] for t in paginate(
            orgs, "list_tags_for_resource", "Tags", ResourceId=account_id)}
        remove = sorted(set(current) - set(tags))
        put = {k: str(v) for k, v in tags.items() if current.get(k) != str(v)}
        if remove:
            orgs.untag_resource(ResourceId=account_id, TagKeys=remove)
            notes.append(f"removed tags {', '.join(remove)}")
        if put:
            orgs.tag_resource(ResourceId=account_id, Tags=_tag_list(put))
            notes.append(f"set tags {', '.join(sorted(put))}")
    return notes


def _parent(orgs: Any, account_id: str) -> str | None:
    parents = orgs.list_parents(ChildId=account_id).get("Parents", [])
    return str(parents[0]["Id"]) if parents else None


def _rename(ctx: StepContext, account_id: str, key: str, name: str) -> None:
    """account:PutAccountName. From the management account it needs trusted access for
    account.amazonaws.com, which orgsync does not switch on behind the user's back; from inside the
    member account (through its access role) it needs nothing more, so that is tried first.
    The management account renames itself: the Account API refuses its own id as AccountId."""
    if account_id in (ctx.management_account_id, ctx.desired.organization.management_account_id):
        ctx.aws.client("account").put_account_name(AccountName=name)
        return
    try:
        role = ctx.desired.account(key).access_role.name
    except KeyError:
        role = ctx.desired.organization.access_role
    try:
        ctx.aws.member_client("account", account_id=account_id,
                              role_name=role).put_account_name(AccountName=name)
        return
    except AccessDenied:
        pass
    try:
        ctx.aws.client("account").put_account_name(AccountId=account_id, AccountName=name)
    except AccessDenied as error:
        raise StepFailed(f"cannot rename account {account_id}: its access role {role} cannot "
                         "be assumed, and the management account may only rename it with "
                         f"trusted access for account.amazonaws.com ({error.aws_message})"
                         ) from error


def _update(change: Change, ctx: StepContext) -> str:
    after = cast(AccountAfter, ctx.resolve(change.after or {}))
    account_id = str(after.get("id") or cast(AccountAfter, change.before or {}).get("id"))
    account = _member(ctx, account_id)
    if account is None:
        raise StepFailed(f"account {account_id} is not in the organization")
    notes: list[str] = []
    name = after.get("name")
    if name and account.get("Name") != name:
        _rename(ctx, account_id, change.key, str(name))
        notes.append(f"renamed {account.get('Name')!r} to {name!r}")
    notes.extend(_ensure_placement(ctx, account_id, after))
    return "; ".join(notes) or "already as wanted"


# --- close ----------------------------------------------------------------------------------


def _close(change: Change, ctx: StepContext) -> str:
    before = cast(AccountAfter, change.before or {})
    after = cast(AccountAfter, change.after or {})
    account_id = str(after.get("id") or before.get("id"))
    if account_id in (ctx.management_account_id, ctx.desired.organization.management_account_id):
        raise StepFailed("the management account is never closed")
    account = _member(ctx, account_id)
    if account is None:
        raise StepFailed(f"account {account_id} is not in the organization")
    if _state(account) in ("PENDING_CLOSURE", "CLOSED"):
        return f"account {account_id} is already {_state(account)}"
    orgs = ctx.aws.client("organizations")
    try:
        orgs.close_account(AccountId=account_id)
    except AwsError as error:
        # decided on the error code and its Reason, never on the message's wording
        if error.reason == "CLOSE_ACCOUNT_QUOTA_EXCEEDED":
            raise StepFailed(
                f"cannot close account {account_id}: the organization's account-closure quota "
                "(a rolling 30 days) is used up; re-run apply when it frees up "
                f"({error.code}: {error.reason})") from error
        if error.reason == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT":
            raise StepFailed("the management account is never closed") from error
        if error.code == "AccountAlreadyClosedException":
            # closing already (AWS may still show it ACTIVE for a while): nothing left to do
            return f"account {account_id} was already closing or closed (AccountAlreadyClosed)"
        raise
    # AWS accepted the closure; DescribeAccount can keep reading ACTIVE (or flip between ACTIVE
    # and PENDING_CLOSURE) for over ten minutes (terraform-provider-aws#46284). Wait a bounded
    # time for it to show, then report the step as waiting, not failed: a re-run's CloseAccount
    # answers AccountAlreadyClosedException, which is done.
    start = time.monotonic()
    deadline = start + ctx.options.close_wait_s
    delays = backoff(ctx.options.poll_initial_s / 2, ctx.options.poll_max_s)
    while True:
        state = _state(_member(ctx, account_id) or {"State": "CLOSED"})
        if state in GONE_STATES:
            return f"closing account {account_id} ({state})"
        if time.monotonic() >= deadline:
            raise Waiting(f"CloseAccount for {account_id} was accepted but AWS still shows the "
                          f"account {state} after {time.monotonic() - start:.0f} s (closures "
                          "can take minutes to show); re-run apply to check")
        ctx.reporter.progress(change, f"CloseAccount accepted; waiting for AWS to show the "
                                      f"closure ({time.monotonic() - start:.0f} s)")
        ctx.sleep(next(delays))
