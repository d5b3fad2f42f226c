"""Runs a plan's changes against AWS in dependency order, and keeps going past failures.

The planner decides *what* changes; this module decides *how a run behaves*: changes execute in
plan order (which the planner makes dependency order), a change whose ``depends_on`` failed, was
skipped, waits for a human or for an invitation is skipped with the reason, and everything else
still runs. Organizations writes stay serial (its throttling limits are low and undocumented);
per-member-account IAM work (access roles, root credentials) may run ``parallelism`` at a time
because each touches a different account.

The rule that makes a reviewed plan trustworthy lives here, in one place: a change runs only if the
plan being applied (the *approved* plan) lists it, with that action and after-state: as one of
its changes, or as a deferred item that said what it would do once unblocked (``listed``). Apply's
follow-up rounds (``apply_approved``) re-plan after the first round and run only the parts of the
new plan that the approved plan listed as deferred; anything else waits for the next plan.

Every kind's executor *ensures* its after-state (re-reads what it needs and changes only what
differs), so a re-run after a crash at any point converges instead of duplicating work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reconciler.apply.kit import (
    ApplyOptions,
    ApplyResult,
    CreationSlots,
    Executor,
    NeedsHuman,
    Reporter,
    SilentReporter,
    StepContext,
    StepFailed,
    StepResult,
    StepStatus,
    Waiting,
    backoff,
    describe_error,
    reattaches,
)
from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import (
    Action,
    Change,
    Deferred,
    Plan,
    resolve_account_ids,
    unknown_account_id,
)

if TYPE_CHECKING:
    from reconciler.aws import Aws

# What the kinds' modules used to import from here (they now import ``reconciler.apply.kit``).
__all__ = ["ApplyOptions", "ApplyResult", "ApplyRun", "CreationSlots", "NeedsHuman", "Reporter",
           "SilentReporter", "StepContext", "StepFailed", "StepResult", "Waiting", "apply_approved",
           "apply_plan", "backoff", "describe_error", "lane", "listed_follow_up", "ordered",
           "unlisted"]

Lane = Literal["create", "member", "serial"]


def _executor_for(kind: str) -> Executor:
    from reconciler.kinds import registered

    found = registered().get(kind)
    if found is None or found.apply is None:
        raise StepFailed(f"unknown kind of change: {kind}")
    executor: Executor = found.apply.apply_change
    return executor


def ordered(changes: tuple[Change, ...]) -> list[Change]:
    """Plan order, except that a change never runs before one it depends on (stable)."""
    by_address = {c.address: c for c in changes}
    placed: set[str] = set()
    result: list[Change] = []
    visiting: set[str] = set()

    def place(change: Change) -> None:
        if change.address in placed or change.address in visiting:
            return
        visiting.add(change.address)
        for dep in change.depends_on:
            if dep in by_address:
                place(by_address[dep])
        visiting.discard(change.address)
        placed.add(change.address)
        result.append(change)

    for change in changes:
        place(change)
    return result

def lane(change: Change) -> Lane:
    """Which of the scheduler's lanes ``change`` runs in (see ``apply_plan``)."""
    if change.kind == "account" and change.action is Action.CREATE:
        return "create"
    from reconciler.kinds import registered

    found = registered().get(change.kind)
    if found is not None and found.parallel:
        return "member"
    return "serial"


def apply_plan(plan: Plan, *, desired: DesiredState, observed: ObservedState, aws: Aws,
               reporter: Reporter, options: ApplyOptions | None = None,
               sleep: Callable[[float], None] = time.sleep, approved: Plan | None = None,
               account_ids: Mapping[str, str] | None = None) -> ApplyResult:
    """Execute ``plan``'s changes; never raises for a failing change (it is in the result).

    ``approved`` (default: ``plan`` itself) is the plan the user approved: a change of ``plan``
    that it does not list (``listed``) is not run but reported as skipped. ``account_ids`` are
    ids learnt earlier in the run, for the placeholders of ``approved``.

    A change starts as soon as everything it depends on is done and its lane has room:

    - ``create`` (account creations): up to ``2 x max_creates_in_flight`` steps at once; the
      CreateAccount requests themselves are held to ``max_creates_in_flight`` by
      ``StepContext.creations``, so a finished request frees its place while its account is
      being placed (OU move, tags);
    - ``member`` (access roles, root credentials: one member account each, IAM/STS only): up to
      ``parallelism`` at once, each starting when its own account is ready, not the whole batch;
    - ``serial`` (everything else: organization, OUs, invitations, account updates and
      closures, groups): one at a time in plan order, as the planner ordered them.

    Organizations calls from any lane are serialized by the AWS layer (one lock per ``Aws`` for
    every Organizations call), so running lanes side by side never adds Organizations
    concurrency.
    """
    ctx = StepContext(aws=aws, desired=desired, observed=observed, reporter=reporter,
                      options=options or ApplyOptions(), sleep=sleep)
    for name, account_id in (account_ids or {}).items():
        ctx.record_account_id(name, account_id)
    outcomes: dict[str, StepResult] = {}
    if approved is not None:
        known = {**ctx.account_ids()}
        listing = Listing(approved)
        for change in plan.changes:
            why = listing.unlisted(change, known)
            if why is not None:
                outcomes[change.address] = StepResult(change.address, "skipped", why)
                reporter.finished(change, outcomes[change.address])
    pending = [c for c in ordered(plan.changes) if c.address not in outcomes]
    # creations an earlier run left in progress hold AWS's places before any step starts, so
    # that a new request never races them for a place (and is never refused for it)
    ctx.creations.preload(sum(1 for c in pending if lane(c) == "create" and reattaches(c)))
    in_plan = {c.address for c in plan.changes}
    capacity: dict[Lane, int] = {
        "create": max(1, 2 * ctx.options.max_creates_in_flight),
        "member": max(1, ctx.options.parallelism),
        "serial": 1,
    }
    busy: dict[Lane, int] = {"create": 0, "member": 0, "serial": 0}
    queued = getattr(reporter, "queued", None)
    workers = sum(capacity.values())
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orgsync-apply") as pool:
        running: dict[Future[StepResult], Change] = {}
        while pending or running:
            for change in _startable(pending, outcomes, in_plan, busy, capacity):
                pending.remove(change)
                blocked = _blocked_by(change, outcomes)
                if blocked is not None:
                    result = StepResult(change.address, blocked[0], blocked[1])
                    outcomes[change.address] = result
                    reporter.finished(change, result)
                    continue
                busy[lane(change)] += 1
                running[pool.submit(_run_one, change, ctx)] = change
            if callable(queued):
                queued(len(pending))
            if not running:
                if pending:  # cannot happen with an acyclic plan; never spin
                    for change in list(pending):
                        pending.remove(change)
                        result = StepResult(change.address, "skipped",
                                            "skipped: its dependencies never finished")
                        outcomes[change.address] = result
                        reporter.finished(change, result)
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                change = running.pop(future)
                busy[lane(change)] -= 1
                outcomes[change.address] = future.result()
    steps = tuple(outcomes[c.address] for c in plan.changes if c.address in outcomes)
    return ApplyResult(steps=steps, account_ids=ctx.account_ids())


def _startable(pending: list[Change], outcomes: Mapping[str, StepResult], in_plan: set[str],
               busy: Mapping[Lane, int], capacity: Mapping[Lane, int]) -> list[Change]:
    """The pending changes that may start now, in plan order: their dependencies have all
    finished (or one failed: the change is then skipped at once) and their lane has room; a
    serial change only when every serial change before it has finished."""
    chosen: list[Change] = []
    taken: dict[Lane, int] = dict(busy)
    serial_seen = False
    for change in pending:
        kind = lane(change)
        if kind == "serial":
            if serial_seen:
                continue
            serial_seen = True
        finished = all(d in outcomes for d in change.depends_on if d in in_plan)
        if _blocked_by(change, outcomes) is not None:
            chosen.append(change)  # skipped without taking room
            if kind == "serial":
                serial_seen = False
            continue
        if not finished or taken[kind] >= capacity[kind]:
            continue
        taken[kind] += 1
        chosen.append(change)
    return chosen


FOLLOW_UP_ROUNDS = 2


def _resolved(value: Any, account_ids: Mapping[str, str]) -> Any:
    """``value`` with the placeholders of accounts whose id is now known replaced."""
    return resolve_account_ids(value, lambda name: account_ids.get(name)
                               or unknown_account_id(name))


def _after_covers(listed_after: Mapping[str, Any], actual: Mapping[str, Any] | None,
                  account_ids: Mapping[str, str]) -> bool:
    """Whether ``actual`` is the after-state a deferred item announced: every value the item
    gave must be the same (after placeholders are resolved); a null value was not known when the
    plan was made (e.g. whether a root user has an MFA device) and matches anything."""
    if actual is None:
        return False
    wanted = _resolved(listed_after, account_ids)
    have = _resolved(actual, account_ids)
    return all(value is None or have.get(key) == value for key, value in wanted.items())


class Listing:
    """What an approved plan lists, indexed by (address, action) so that checking every change
    of a large plan stays linear."""

    def __init__(self, approved: Plan) -> None:
        self.changes: dict[tuple[str, Action], list[Change]] = {}
        self.deferred: dict[tuple[str, Action], list[Deferred]] = {}
        for change in approved.changes:
            self.changes.setdefault((change.address, change.action), []).append(change)
        for item in approved.deferred:
            if item.action is not None and item.after is not None:
                self.deferred.setdefault((item.address, item.action), []).append(item)

    def unlisted(self, change: Change, account_ids: Mapping[str, str]) -> str | None:
        key = (change.address, change.action)
        for listed_change in self.changes.get(key, ()):
            if listed_change == change or _resolved(listed_change.after, account_ids) == \
                    _resolved(change.after, account_ids):
                return None
        for item in self.deferred.get(key, ()):
            assert item.after is not None
            if _after_covers(item.after, change.after, account_ids):
                return None
        return (f"not run: the plan being applied does not list {change.action.value} "
                f"{change.address} with this after-state; it waits for the next plan")


def unlisted(change: Change, approved: Plan | Listing, *,
             account_ids: Mapping[str, str] | None = None) -> str | None:
    """None when ``approved`` lists ``change`` (same address, action and after-state: as a change,
    or as a deferred item carrying an action and an after-state); else why it may not run."""
    listing = approved if isinstance(approved, Listing) else Listing(approved)
    return listing.unlisted(change, account_ids or {})


def listed_follow_up(replan: Plan, approved: Plan, *, pending: set[tuple[str, str]],
                     account_ids: Mapping[str, str]) -> Plan | None:
    """The changes of ``replan`` (made during the apply of ``approved``) that ``approved`` listed
    as deferred and that have not run yet (``pending``: (address, action)), with only those of
    their dependencies that are among them; None when there are none."""
    deferred_listed = Listing(Plan(management_account_id=approved.management_account_id,
                                   deferred=tuple(d for d in approved.deferred
                                                  if (d.address, _action(d)) in pending)))
    chosen = [c for c in replan.changes
              if deferred_listed.unlisted(c, account_ids) is None]
    planned = {c.address for c in replan.changes}
    addresses = {c.address for c in chosen}
    chosen = [c for c in chosen
              if all(d in addresses for d in c.depends_on if d in planned)]
    if not chosen:
        return None
    return Plan(management_account_id=replan.management_account_id, changes=tuple(chosen))


def _action(item: Deferred) -> str:
    return item.action.value if item.action is not None else ""


@dataclass(frozen=True)
class ApplyRun:
    """A whole apply: the first round and the follow-up rounds, and the plan made after the
    last write (None when the caller has to make it)."""

    results: tuple[ApplyResult, ...]
    final: Plan | None = None

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)


def apply_approved(approved: Plan, *, desired: DesiredState, observed: ObservedState, aws: Aws,
                   reporter: Reporter, replan: Callable[[], tuple[ObservedState, Plan]],
                   options: ApplyOptions | None = None,
                   on_follow_up: Callable[[Plan], None] | None = None,
                   rounds: int = FOLLOW_UP_ROUNDS,
                   sleep: Callable[[float], None] = time.sleep) -> ApplyRun:
    """Apply ``approved``, then up to ``rounds`` follow-up rounds: re-plan (``replan``) and run
    the changes that ``approved`` listed as deferred and that became possible during the run
    (an invitation accepted, centralized root access turned on). Nothing else runs: a change
    the approved plan did not list waits for the next plan. ``on_follow_up`` is told each
    follow-up plan before it runs."""
    results = [apply_plan(approved, desired=desired, observed=observed, aws=aws,
                          reporter=reporter, options=options, sleep=sleep, approved=approved)]
    pending = {(d.address, _action(d)) for d in approved.listed_deferred}
    final: Plan | None = None
    for _ in range(rounds):
        if not pending:
            break
        ids: dict[str, str] = {}
        for result in results:
            ids.update(result.account_ids)
        observed, fresh = replan()
        follow_up = listed_follow_up(fresh, approved, pending=pending, account_ids=ids)
        if follow_up is None:
            final = fresh  # made after the last write: it is the caller's check
            break
        if on_follow_up is not None:
            on_follow_up(follow_up)
        results.append(apply_plan(follow_up, desired=desired, observed=observed, aws=aws,
                                  reporter=reporter, options=options, sleep=sleep,
                                  approved=approved, account_ids=ids))
        pending -= {(c.address, c.action.value) for c in follow_up.changes}
    return ApplyRun(results=tuple(results), final=final)


def _blocked_by(change: Change,
                outcomes: Mapping[str, StepResult]) -> tuple[StepStatus, str] | None:
    """Why ``change`` cannot run (status to give it, reason), or None when it can."""
    for dep in change.depends_on:
        prior = outcomes.get(dep)
        if prior is None or prior.status == "done":
            continue
        if prior.status == "failed":
            return "skipped", f"skipped because {dep} failed"
        if prior.status == "skipped":
            return "skipped", f"skipped because {dep} was skipped"
        if prior.status == "needs_human":
            return "skipped", f"skipped because {dep} needs a person first"
        return "waiting", f"waits for {dep}: {prior.detail}"
    return None


def _run_one(change: Change, ctx: StepContext) -> StepResult:
    ctx.reporter.started(change)
    start = time.monotonic()
    try:
        detail = _executor_for(change.kind)(change, ctx)
        result = StepResult(change.address, "done", detail, seconds=time.monotonic() - start)
    except NeedsHuman as human:
        result = StepResult(change.address, "needs_human", "needs a person (instructions below)",
                            instructions=human.instructions, seconds=time.monotonic() - start)
    except Waiting as waiting:
        result = StepResult(change.address, "waiting", str(waiting),
                            seconds=time.monotonic() - start)
    except Exception as error:  # every failure becomes a result; the run goes on
        result = StepResult(change.address, "failed", describe_error(error),
                            seconds=time.monotonic() - start)
    ctx.reporter.finished(change, result)
    return result
