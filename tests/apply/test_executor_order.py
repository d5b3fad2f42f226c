"""The executor's ordering and skip rules, which need no AWS: a change never runs before what it
depends on, and a failure or a wait propagates only to dependents."""

from __future__ import annotations

from reconciler.apply.executor import StepResult, _blocked_by, ordered
from reconciler.plan import Action, Change


def change(address: str, *depends_on: str) -> Change:
    kind, key = address.split(".", 1)
    return Change(kind=kind, key=key, action=Action.CREATE, before=None, after={}, reason="",
                  depends_on=depends_on)


def test_plan_order_is_kept_when_dependencies_allow() -> None:
    changes = (change("ou./A"), change("account.a", "ou./A"), change("group.g"))
    assert [c.address for c in ordered(changes)] == ["ou./A", "account.a", "group.g"]


def test_a_dependency_listed_later_runs_first() -> None:
    changes = (change("access_role.a", "account.a"), change("account.a"), change("group.g"))
    assert [c.address for c in ordered(changes)] == ["account.a", "access_role.a", "group.g"]


def test_dependency_outside_the_plan_does_not_block() -> None:
    assert _blocked_by(change("access_role.a", "account.a"), {}) is None


def test_failure_skips_dependents_with_the_reason() -> None:
    outcomes = {"account.a": StepResult("account.a", "failed", "boom")}
    assert _blocked_by(change("access_role.a", "account.a"), outcomes) == (
        "skipped", "skipped because account.a failed")
    skipped = {"access_role.a": StepResult("access_role.a", "skipped", "x")}
    assert _blocked_by(change("root_credentials.a", "access_role.a"), skipped) == (
        "skipped", "skipped because access_role.a was skipped")


def test_waiting_and_human_steps_hold_back_dependents() -> None:
    waiting = {"account.a": StepResult("account.a", "waiting", "invitation h-1 pending")}
    status, reason = _blocked_by(change("access_role.a", "account.a"), waiting) or ("", "")
    assert status == "waiting" and "invitation h-1 pending" in reason
    human = {"access_role.a": StepResult("access_role.a", "needs_human", "bootstrap")}
    assert _blocked_by(change("group.g", "access_role.a"), human) == (
        "skipped", "skipped because access_role.a needs a person first")
    done = {"account.a": StepResult("account.a", "done", "ok")}
    assert _blocked_by(change("access_role.a", "account.a"), done) is None
