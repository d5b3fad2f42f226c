"""AWS's organization-wide quotas on invitations and closures, checked when planning.

Both quotas are counted by AWS over a rolling window, and both answer only when the call is made:
an apply that sends the 21st invitation of the day or one closure too many would stop half-way,
with part of the file applied. So the plan counts what the window already holds and what the plan
adds, and makes it a plan error (``plan`` exits 1, ``apply`` refuses) that says how many fit today.

- Invitations: 20 a day (Organizations User Guide, "Quotas for AWS Organizations": invitations
  sent per day, https://docs.aws.amazon.com/organizations/latest/userguide/
  orgs_reference_limits.html). Every invitation sent in the last 24 hours counts, whatever became
  of it (ListHandshakesForOrganization lists them with their RequestedTimestamp).
- Closures: 10% of the member accounts, at least 10 and at most 1,000, in a rolling 30 days
  (CloseAccount API reference, https://docs.aws.amazon.com/organizations/latest/APIReference/
  API_CloseAccount.html). AWS shows no closure date: an account PENDING_CLOSURE was closed
  minutes ago and certainly counts; a SUSPENDED or CLOSED one may have been closed up to 90 days
  ago, so it may count. A plan error when the certain count leaves no room; a warning when the
  possible count does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler.observed import GONE_STATES
from reconciler.plan import Action
from reconciler.planner.context import PlanContext

INVITATIONS_PER_DAY = 20
INVITATION_WINDOW = timedelta(days=1)
CLOSE_QUOTA_SHARE = 0.10
CLOSE_QUOTA_MIN = 10
CLOSE_QUOTA_MAX = 1000


def close_quota(member_accounts: int) -> int:
    """How many accounts AWS lets an organization of ``member_accounts`` close in 30 days."""
    return max(CLOSE_QUOTA_MIN, min(CLOSE_QUOTA_MAX, int(member_accounts * CLOSE_QUOTA_SHARE)))


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_quotas(ctx: PlanContext) -> None:
    """Add a plan error (or warning) for each quota the plan's changes would exceed."""
    _check_invitations(ctx)
    _check_closures(ctx)


def _check_invitations(ctx: PlanContext) -> None:
    planned = [c.key for c in ctx.changes if c.kind == "account" and c.action is Action.INVITE]
    if not planned:
        return
    now = _parse(ctx.observed.observed_at)
    sent = 0
    for handshake in ctx.observed.handshakes:
        requested = _parse(handshake.requested_at)
        # Without a time to compare with, every invitation seen counts (never too few).
        if now is None or requested is None or requested > now - INVITATION_WINDOW:
            sent += 1
    room = max(0, INVITATIONS_PER_DAY - sent)
    if len(planned) > room:
        ctx.errors.append(
            f"invitations: the plan sends {len(planned)} but only {room} fit today (AWS allows "
            f"{INVITATIONS_PER_DAY} a day and {sent} were sent in the last 24 hours); keep "
            f"{len(planned) - room} of the invited accounts out of the file until tomorrow: "
            f"{', '.join(sorted(planned)[room:])}")


def _check_closures(ctx: PlanContext) -> None:
    planned = [c.key for c in ctx.changes if c.kind == "account" and c.action is Action.CLOSE]
    if not planned:
        return
    management = ctx.observed.organization.management_account_id
    members = [a for a in ctx.observed.accounts if a.id != management]
    quota = close_quota(len(members))
    certain = sum(1 for a in members if a.state == "PENDING_CLOSURE")
    possible = sum(1 for a in members if a.state in GONE_STATES)
    room = max(0, quota - certain)
    if len(planned) > room:
        ctx.errors.append(
            f"closures: the plan closes {len(planned)} accounts but only {room} fit today (AWS "
            f"allows {quota} in a rolling 30 days for {len(members)} member accounts and "
            f"{certain} are closing now); keep {len(planned) - room} of them active in the "
            f"file for now: {', '.join(sorted(planned)[room:])}")
    elif len(planned) > max(0, quota - possible):
        ctx.warnings.append(
            f"closures: the plan closes {len(planned)} accounts; AWS allows {quota} in a rolling "
            f"30 days and {possible - certain} accounts closed earlier may still count (AWS "
            "shows no closure date): apply may be refused CLOSE_ACCOUNT_QUOTA_EXCEEDED for some")
