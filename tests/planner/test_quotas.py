"""Planner table: AWS's invitation and closure quotas are plan errors, never apply surprises.

(desired, observed) -> the plan's errors and warnings about quotas: 20 invitations a day (every
invitation sent in the last 24 hours counts, whatever its state), and closures at 10% of the member
accounts (10 to 1,000) in a rolling 30 days, where accounts PENDING_CLOSURE certainly count and
SUSPENDED/CLOSED ones may (AWS shows no closure date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler.observed import Handshake
from reconciler.planner import plan
from reconciler.planner.quotas import close_quota

from . import builders as b

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def invited(count: int, *, start: int = 0) -> list[Any]:
    return [b.account(f"inv-{i:02d}", source="invited", id=f"3{i:011d}")
            for i in range(start, start + count)]


def sent(count: int, *, hours_ago: float, state: str = "ACCEPTED") -> tuple[Handshake, ...]:
    return tuple(Handshake(f"h-sent{i:04d}", state, "ACCOUNT", f"4{i:011d}",
                           requested_at=_ago(hours=hours_ago)) for i in range(count))


def members(count: int, *, state: str = "ACTIVE", start: int = 0) -> list[Any]:
    return [b.member(f"m-{i:03d}", f"5{i:011d}", state=state)
            for i in range(start, start + count)]


def closing(observed_members: list[Any], count: int) -> list[Any]:
    """The file's view of ``observed_members``: the first ``count`` closed, the rest active."""
    return [b.account(m.name, id=m.id, state="closed" if i < count else "active")
            for i, m in enumerate(observed_members)]


@dataclass
class Case:
    id: str
    desired: Any
    observed: Any
    errors: list[str] = field(default_factory=list)  # substrings, one per expected error
    warnings: list[str] = field(default_factory=list)


def _case_closures(id: str, *, active: int, close: int, pending: int = 0, suspended: int = 0,
                   errors: list[str] | None = None,
                   warnings: list[str] | None = None) -> Case:
    live = members(active)
    gone = (members(pending, state="PENDING_CLOSURE", start=active)
            + members(suspended, state="SUSPENDED", start=active + pending))
    return Case(id, b.desired(*closing(live, close)),
                b.observed(*live, *gone, observed_at=NOW.isoformat()),
                errors=errors or [], warnings=warnings or [])


CASES = [
    Case("invitations-fit",
         b.desired(*invited(3)),
         b.observed(handshakes=sent(17, hours_ago=1), observed_at=NOW.isoformat())),
    Case("invitations-over-with-earlier-ones-today",
         b.desired(*invited(3)),
         b.observed(handshakes=sent(18, hours_ago=23, state="DECLINED"),
                    observed_at=NOW.isoformat()),
         errors=["invitations: the plan sends 3 but only 2 fit today (AWS allows 20 a day and "
                 "18 were sent in the last 24 hours); keep 1 of the invited accounts out of the "
                 "file until tomorrow: inv-02"]),
    Case("invitations-of-yesterday-do-not-count",
         b.desired(*invited(3)),
         b.observed(handshakes=sent(20, hours_ago=25), observed_at=NOW.isoformat())),
    Case("twenty-one-invitations-at-once",
         b.desired(*invited(21)),
         b.observed(observed_at=NOW.isoformat()),
         errors=["only 20 fit today", "inv-20"]),
    Case("invitations-without-a-time-all-count",
         b.desired(*invited(1)),
         b.observed(handshakes=sent(20, hours_ago=48)),
         errors=["the plan sends 1 but only 0 fit today"]),
    _case_closures("closures-fit", active=30, close=10),
    _case_closures("closures-over-the-minimum-quota", active=30, close=11,
                   errors=["closures: the plan closes 11 accounts but only 10 fit today (AWS "
                           "allows 10 in a rolling 30 days for 30 member accounts and 0 are "
                           "closing now)"]),
    _case_closures("closures-pending-ones-count", active=117, pending=3, close=10,
                   errors=["the plan closes 10 accounts but only 9 fit today", "for 120 member "
                           "accounts and 3 are closing now"]),
    _case_closures("closures-earlier-suspended-may-count", active=30, suspended=5, close=6,
                   warnings=["closures: the plan closes 6 accounts; AWS allows 10 in a rolling "
                             "30 days and 5 accounts closed earlier may still count"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_quota(case: Case) -> None:
    result = plan(case.desired, case.observed)
    quota_errors = [e for e in result.errors if e.startswith(("invitations:", "closures:"))]
    quota_warnings = [w for w in result.warnings if w.startswith(("invitations:", "closures:"))]
    assert len(quota_errors) == (1 if case.errors else 0), result.errors
    for expected in case.errors:
        assert expected in quota_errors[0], quota_errors
    assert len(quota_warnings) == len(case.warnings), result.warnings
    for expected, warning in zip(case.warnings, quota_warnings, strict=True):
        assert expected in warning


@pytest.mark.parametrize("members_count,quota", [(0, 10), (99, 10), (100, 10), (250, 25),
                                                 (9_999, 999), (10_000, 1000), (50_000, 1000)])
def test_close_quota_is_awss_documented_formula(members_count: int, quota: int) -> None:
    assert close_quota(members_count) == quota
