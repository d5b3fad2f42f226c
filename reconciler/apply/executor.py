"""Runs a plan's changes against AWS in dependency order, and keeps going past failures.

The planner decides *what* changes; this module decides *how a run behaves*: changes execute in
plan order (which the planner makes dependency order), a change whose ``depends_on`` failed, was
skipped, waits for a human or for an invitation is skipped with the reason, and everything else
still runs. Organizations writes stay serial (its throttling limits are low and undocumented);
per-member-account IAM work (access roles, root credentials) may run ``parallelism`` at a time
because each touches a different account.

Every kind's executor *ensures* its after-state (re-reads what it needs and changes only what
differs), so a re-run after a crash at any point converges instead of duplicating work.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from reconciler.errors import AwsError, OrgsyncError
from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import Action, Change, Plan

if TYPE_CHECKING:
    from reconciler.aws import Aws

StepStatus = Literal["done", "failed", "skipped", "needs_human", "waiting"]

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
    role_ready_timeout_s: float = 30.0
    invitation_accept_wait_s: float = 3.0
    close_wait_s: float = 30.0


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
        group,
        organization,
        ou,
        root_credentials,
    )

    executors: dict[str, Executor] = {
        "organization": organization.apply_change,
        "ou": ou.apply_change,
        "account": account.apply_change,
        "access_role": access_role.apply_change,
        "group": group.apply_change,
        "root_credentials": root_credentials.apply_change,
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


def apply_plan(plan: Plan, *, desired: DesiredState, observed: ObservedState, aws: Aws,
               reporter: Reporter, options: ApplyOptions | None = None,
               sleep: Callable[[float], None] = time.sleep) -> ApplyResult:
    """Execute ``plan``'s changes; never raises for a failing change (it is in the result)."""
    ctx = StepContext(aws=aws, desired=desired, observed=observed, reporter=reporter,
                      options=options or ApplyOptions(), sleep=sleep)
    outcomes: dict[str, StepResult] = {}
    changes = ordered(plan.changes)
    i = 0
    while i < len(changes):
        batch = [changes[i]]
        if changes[i].kind in PARALLEL_KINDS and ctx.options.parallelism > 1:
            kinds = {changes[i].kind}
            while (i + len(batch) < len(changes)
                   and changes[i + len(batch)].kind in PARALLEL_KINDS
                   and changes[i + len(batch)].kind in kinds
                   and not set(changes[i + len(batch)].depends_on)
                   & {c.address for c in batch}):
                batch.append(changes[i + len(batch)])
        i += len(batch)
        runnable: list[Change] = []
        for change in batch:
            blocked = _blocked_by(change, outcomes)
            if blocked is None:
                runnable.append(change)
                continue
            result = StepResult(change.address, blocked[0], blocked[1])
            outcomes[change.address] = result
            reporter.finished(change, result)
        if len(runnable) > 1:
            with ThreadPoolExecutor(max_workers=ctx.options.parallelism) as pool:
                for change, result in zip(runnable,
                                          pool.map(lambda c: _run_one(c, ctx), runnable),
                                          strict=True):
                    outcomes[change.address] = result
        else:
            for change in runnable:
                outcomes[change.address] = _run_one(change, ctx)
    steps = tuple(outcomes[c.address] for c in plan.changes if c.address in outcomes)
    return ApplyResult(steps=steps, account_ids=ctx.account_ids())


def await_account_creations(plan: Plan, *, desired: DesiredState, observed: ObservedState,
                            aws: Aws, reporter: Reporter, options: ApplyOptions | None = None,
                            sleep: Callable[[float], None] = time.sleep) -> ApplyResult:
    """Wait for CreateAccount requests that an earlier (crashed or interrupted) run left
    IN_PROGRESS and that the plan therefore deferred: a re-run waits for them instead of ever
    requesting a second account, so that their dependent work can follow in the same run."""
    from reconciler.apply import account

    ctx = StepContext(aws=aws, desired=desired, observed=observed, reporter=reporter,
                      options=options or ApplyOptions(), sleep=sleep)
    deferred = {d.address for d in plan.deferred}
    wanted = {spec.name: spec.email for spec in desired.accounts
              if f"account.{spec.name}" in deferred}
    steps: list[StepResult] = []
    for request in observed.create_requests:
        if request.state != "IN_PROGRESS" or request.account_name not in wanted:
            continue
        change = Change(kind="account", key=request.account_name, action=Action.CREATE,
                        before=None, after=None,
                        reason=f"CreateAccount {request.id} requested by an earlier run")
        reporter.started(change)
        start = time.monotonic()
        try:
            account_id = account.wait_for_request(
                change, ctx, {"Id": request.id, "State": request.state},
                email=wanted[request.account_name])
            result = StepResult(change.address, "done",
                                f"CreateAccount {request.id} (from an earlier run) finished: "
                                f"account {account_id}", seconds=time.monotonic() - start)
        except Exception as error:
            result = StepResult(change.address, "failed", describe_error(error),
                                seconds=time.monotonic() - start)
        reporter.finished(change, result)
        steps.append(result)
    return ApplyResult(steps=tuple(steps), account_ids=ctx.account_ids())


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
