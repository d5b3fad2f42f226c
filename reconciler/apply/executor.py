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

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from reconciler.errors import AwsError, OrgsyncError
from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import Action, Change, Deferred, Plan

if TYPE_CHECKING:
    from reconciler.aws import Aws

StepStatus = Literal["done", "failed", "skipped", "needs_human", "waiting"]
Lane = Literal["create", "member", "serial"]

# Kinds whose changes each touch one member account through IAM/STS only (no Organizations writes),
# so neighbouring ones may run concurrently.
PARALLEL_KINDS = frozenset({"access_role", "root_credentials"})

_PLACEHOLDER = re.compile(r"\$\{account\.([^}]+)\.id\}")

T = TypeVar("T")


class StepFailed(OrgsyncError):
    """An executor could not reach its after-state; the message says why in the user's words."""


class NeedsHuman(OrgsyncError):
    """A step orgsync cannot do itself (``bootstrap``); carries the instructions for a person."""

    def __init__(self, instructions: str) -> None:
        self.instructions = instructions
        super().__init__("needs a person: run the printed instructions in the member account")


class Waiting(OrgsyncError):
    """The step did its part but the result depends on someone else (an invitation to accept)."""


@dataclass(frozen=True)
class StepResult:
    """What happened to one change."""

    address: str
    status: StepStatus
    detail: str  # done: what was changed; failed/skipped/waiting: why; needs_human: the summary
    instructions: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"address": self.address, "status": self.status,
                                "detail": self.detail, "seconds": round(self.seconds, 3)}
        if self.instructions is not None:
            data["instructions"] = self.instructions
        return data


@dataclass(frozen=True)
class ApplyResult:
    """Every change's outcome, in plan order, plus the ids of accounts created during the run."""

    steps: tuple[StepResult, ...]
    account_ids: Mapping[str, str] = field(default_factory=dict)

    def _with(self, status: StepStatus) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.status == status)

    @property
    def done(self) -> tuple[StepResult, ...]:
        return self._with("done")

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return self._with("failed")

    @property
    def skipped(self) -> tuple[StepResult, ...]:
        return self._with("skipped")

    @property
    def needs_human(self) -> tuple[StepResult, ...]:
        return self._with("needs_human")

    @property
    def waiting(self) -> tuple[StepResult, ...]:
        return self._with("waiting")

    @property
    def ok(self) -> bool:
        return not self.failed


class Reporter(Protocol):
    """Where apply tells the user what happens, as it happens. Must be thread-safe."""

    def started(self, change: Change) -> None: ...

    def progress(self, change: Change, message: str) -> None: ...

    def finished(self, change: Change, result: StepResult) -> None: ...


class SilentReporter:
    """A reporter that prints nothing (library use, tests of the executor)."""

    def started(self, change: Change) -> None:
        return None

    def progress(self, change: Change, message: str) -> None:
        return None

    def finished(self, change: Change, result: StepResult) -> None:
        return None


@dataclass(frozen=True)
class ApplyOptions:
    """Timing knobs; the defaults are the real-AWS ones."""

    parallelism: int = 4
    create_account_timeout_s: float = 15 * 60
    poll_initial_s: float = 1.0
    poll_max_s: float = 10.0
    # how long AWS can take to make a role change effective, and a new account reachable
    # (reconciler/apply/reachability.py says where these figures come from)
    role_ready_timeout_s: float = 2 * 60.0
    account_ready_timeout_s: float = 10 * 60.0
    invitation_accept_wait_s: float = 3.0
    close_wait_s: float = 30.0
    # AWS lets about 5 CreateAccount requests be in flight per organization; beyond that
    # CreateAccount answers ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED
    # (Organizations User Guide, "Quotas for AWS Organizations": member accounts you can
    # concurrently create: 5; https://docs.aws.amazon.com/organizations/latest/userguide/
    # orgs_reference_limits.html).
    max_creates_in_flight: int = 5


class CreationSlots:
    """This run's CreateAccount requests in flight, held to ``limit`` (AWS's own limit).

    A step takes a place before it calls CreateAccount and gives it back once the request has
    finished (SUCCEEDED or FAILED), so the next creation starts while the finished account is
    still being placed. ``wait_for_change`` lets a step that AWS refused for the rate limit
    (requests in flight that are not this run's: another tool, an earlier run) sleep until one
    of this run's requests finishes instead of polling blindly."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._in_flight = 0
        self._finished = 0
        self._condition = threading.Condition()

    @property
    def in_flight(self) -> int:
        with self._condition:
            return self._in_flight

    def preload(self, count: int) -> None:
        """Count ``count`` requests already in flight (an earlier run's, which this run's steps
        continue): they hold places from the start, and each step releases its own."""
        with self._condition:
            self._in_flight += count

    def acquire(self) -> None:
        with self._condition:
            while self._in_flight >= self.limit:
                self._condition.wait()
            self._in_flight += 1

    def release(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._finished += 1
            self._condition.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        """Return when one of this run's requests finishes, or after ``timeout`` seconds."""
        with self._condition:
            seen = self._finished
            self._condition.wait_for(lambda: self._finished != seen, timeout=timeout)


class StepContext:
    """What an executor gets: AWS, the desired/observed states, and run-wide shared facts.

    Shared facts (account ids learnt during the run, OU ids, listings read once per run) are
    guarded by a lock because per-account steps may run on several threads.
    """

    def __init__(self, *, aws: Aws, desired: DesiredState, observed: ObservedState,
                 reporter: Reporter, options: ApplyOptions,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.aws = aws
        self.desired = desired
        self.observed = observed
        self.reporter = reporter
        self.options = options
        self.sleep = sleep
        self._lock = threading.Lock()
        self._account_ids: dict[str, str] = {}
        self._ou_ids: dict[str, str] = {ou.path: ou.id for ou in observed.ous}
        self._listings: dict[str, Any] = {}
        self._listing_lock = threading.Lock()
        self.creations = CreationSlots(options.max_creates_in_flight)
        for spec in desired.accounts:
            found = (observed.account_by_id(spec.id) if spec.id
                     else observed.account_by_email(spec.email))
            if found is not None:
                self._account_ids[spec.name] = found.id

    @property
    def management_account_id(self) -> str:
        return self.observed.organization.management_account_id

    @property
    def root_id(self) -> str:
        return self.observed.organization.root_id

    def record_account_id(self, name: str, account_id: str) -> None:
        with self._lock:
            self._account_ids[name] = account_id

    def account_ids(self) -> dict[str, str]:
        with self._lock:
            return dict(self._account_ids)

    def known_ou_id(self, path: str) -> str | None:
        with self._lock:
            return self._ou_ids.get(path)

    def record_ou_id(self, path: str, ou_id: str) -> None:
        with self._lock:
            self._ou_ids[path] = ou_id

    def listing(self, name: str, load: Callable[[], T]) -> T:
        """``load()``'s result, read at most once per run under ``name`` (a full AWS listing
        such as every account of the organization). The run holds the apply lock, so only its
        own writes change these listings, and the callers account for those."""
        with self._listing_lock:
            if name not in self._listings:
                self._listings[name] = load()
            found: T = self._listings[name]
            return found

    def resolve(self, value: Any) -> Any:
        """``value`` with every ``${account.NAME.id}`` replaced by the account's id."""
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: self._resolve_one(m.group(1)), value)
        if isinstance(value, Mapping):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.resolve(v) for v in value]
        return value

    def _resolve_one(self, name: str) -> str:
        with self._lock:
            found = self._account_ids.get(name)
        if found is None:
            raise StepFailed(f"the id of account {name!r} is not known (was it created?)")
        return found


def backoff(initial: float, maximum: float, factor: float = 1.6) -> Iterator[float]:
    """Poll intervals growing from ``initial`` to ``maximum``."""
    delay = initial
    while True:
        yield delay
        delay = min(maximum, delay * factor)


def describe_error(error: BaseException) -> str:
    """One line for the user; never a traceback, never a credential."""
    if isinstance(error, AwsError | OrgsyncError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"internal error: {type(error).__name__}: {error}"


Executor = Callable[[Change, StepContext], str]


def _executor_for(kind: str) -> Executor:
    from reconciler.apply import (
        access_role,
        account,
        delegated_admin,
        group,
        organization,
        ou,
        root_credentials,
        stack_set,
    )

    executors: dict[str, Executor] = {
        "organization": organization.apply_change,
        "ou": ou.apply_change,
        "account": account.apply_change,
        "access_role": access_role.apply_change,
        "group": group.apply_change,
        "root_credentials": root_credentials.apply_change,
        "delegated_admin": delegated_admin.apply_change,
        "stack_set": stack_set.apply_change,
    }
    try:
        return executors[kind]
    except KeyError:
        raise StepFailed(f"unknown kind of change: {kind}") from None


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


def reattaches(change: Change) -> bool:
    """Whether ``change`` continues a CreateAccount an earlier run left in progress: its place
    among AWS's five is taken already (``apply_plan`` counts it before any step starts)."""
    return change.kind == "account" and bool((change.before or {}).get("create_request_id"))


def lane(change: Change) -> Lane:
    """Which of the scheduler's lanes ``change`` runs in (see ``apply_plan``)."""
    if change.kind == "account" and change.action is Action.CREATE:
        return "create"
    if change.kind in PARALLEL_KINDS:
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

    Organizations writes from any lane are serialized by the AWS layer (``Aws``'s organizations
    write gate), so running lanes side by side never adds Organizations concurrency.
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
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: account_ids.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _resolved(v, account_ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolved(v, account_ids) for v in value]
    return value


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
