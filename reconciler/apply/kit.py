"""The step kit: what every kind's apply step uses, and nothing that runs a plan.

A kind's module (``reconciler/apply/<kind>.py``) gets a ``StepContext`` (AWS, the desired and
observed states, facts learnt during the run), raises ``StepFailed`` / ``NeedsHuman`` /
``Waiting`` to say how its step ended, and polls with ``backoff``. The orchestrator
(``reconciler.apply.executor``) imports the kinds through the registry (``reconciler.kinds``);
the kinds import only this module, never the orchestrator, so apply has no import cycle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from reconciler.afters import AccountCreateRequest
from reconciler.errors import AwsError, OrgsyncError
from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.plan import Change, resolve_account_ids

if TYPE_CHECKING:
    from reconciler.aws import Aws

StepStatus = Literal["done", "failed", "skipped", "needs_human", "waiting"]

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
        return resolve_account_ids(value, self._resolve_one)

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


def reattaches(change: Change) -> bool:
    """Whether ``change`` continues a CreateAccount an earlier run left in progress: its place
    among AWS's five is taken already (``apply_plan`` counts it before any step starts)."""
    return change.kind == "account" and bool(
        cast(AccountCreateRequest, change.before or {}).get("create_request_id"))

