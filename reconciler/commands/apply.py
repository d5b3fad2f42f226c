"""``orgsync apply [PLANFILE]``: plan (or load a reviewed plan), ask, execute, prove convergence.

The order of checks is what makes apply safe to run from a terminal or a pipeline: refuse without a
person or ``--auto-approve`` before touching anything; refuse a saved plan that was altered or whose
world has changed (anything observed, or the file itself) since it was reviewed; refuse a plan with
errors. Then execute under the apply lock, print each step as it happens, and re-observe and re-plan
at the end: the run is only "converged" when nothing but deferred or human steps remains.

Deferred items of the approved plan (work waiting for an invitation to be accepted) that become
possible during the run (e.g. an invitation accepted at once) are carried out in a follow-up round:
the reviewer saw them in the plan as waiting, and doing them is what the file asks for.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from reconciler.cli import GlobalOptions
from reconciler.commands.plan import debug_call_counts, make_aws
from reconciler.console import is_interactive, make_console
from reconciler.errors import Refusal
from reconciler.plan import Action, Change, Plan
from reconciler.terminal import printable, printable_lines

if TYPE_CHECKING:
    from reconciler.apply import ApplyResult, StepResult
    from reconciler.aws import Aws
    from reconciler.model import DesiredState
    from reconciler.observed import ObservedState
    from reconciler.planfile import SavedPlan

FOLLOW_UP_ROUNDS = 2
DEFAULT_FILE = "accounts.yaml"  # -f without PLANFILE
_STATUS_STYLE = {"done": "green", "failed": "bold red", "skipped": "yellow",
                 "needs_human": "magenta", "waiting": "cyan"}
_STATUS_WORD = {"done": "done", "failed": "FAILED", "skipped": "skipped",
                "needs_human": "needs a person", "waiting": "waiting"}


class ConsoleReporter:
    """Prints each step as it happens (thread-safe: several member accounts may run at once)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._last_progress: dict[str, float] = {}

    def started(self, change: Change) -> None:
        with self._lock:
            self.console.print(f"  {_shown(change.action.symbol)} {_shown(change.address)}: "
                               f"{_shown(_verb(change))} ...")

    def progress(self, change: Change, message: str) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last_progress.get(change.address, 0.0) < 4.5:
                return
            self._last_progress[change.address] = now
            self.console.print(f"    {_shown(change.address)}: {_shown(message)}")

    def finished(self, change: Change, result: StepResult) -> None:
        style = _STATUS_STYLE.get(result.status, "")
        word = _STATUS_WORD.get(result.status, result.status)
        took = f" ({result.seconds:.1f} s)" if result.seconds >= 1 else ""
        with self._lock:
            self.console.print(f"  [{style}]{word}[/] {_shown(change.address)}: "
                               f"{_shown(result.detail)}{took}")


def _shown(text: str) -> str:
    """Text from the file or AWS, for rich: markup and control characters escaped."""
    return escape(printable(text))


def _verb(change: Change) -> str:
    return {Action.CREATE: "creating", Action.INVITE: "inviting", Action.UPDATE: "updating",
            Action.DELETE: "deleting", Action.CLOSE: "closing",
            Action.BOOTSTRAP: "bootstrap"}[change.action]


@dataclass
class Prepared:
    """Everything apply needs once the plan is settled."""

    desired: DesiredState
    observed: ObservedState
    plan: Plan
    aws: Aws


def _observe_and_plan(desired: DesiredState, aws: Aws, parallelism: int
                      ) -> tuple[ObservedState, Plan]:
    from reconciler.observe import observe
    from reconciler.planner import plan as make_plan

    observed = observe(desired, aws, parallelism=parallelism)
    return observed, make_plan(desired, observed)


def _prepare_saved(aws: Aws, *, saved: SavedPlan, file: str | None,
                   parallelism: int) -> Prepared:
    """Refuse a saved plan unless the world is still what it was planned against.

    The file compared is the one the plan was made from, or ``file`` when ``-f`` names one (a
    pipeline that applies in another checkout); a file that is no longer there is not compared,
    one that ``-f`` names must exist."""
    from reconciler.config import load_text, read_source, text_sha256

    desired = load_text(saved.desired_text, filename=saved.desired_file)
    if file is not None and file != "-" and not os.path.exists(file):
        raise Refusal(f"stale plan check: {file} (given with -f) does not exist; nothing was "
                      "changed")
    current_file = file if file is not None else (
        saved.desired_file if saved.desired_file and os.path.exists(saved.desired_file)
        else None)
    # read and digested exactly as plan read it (config.source: BOM and line ends)
    if current_file is not None \
            and read_source(current_file).sha256 != text_sha256(saved.desired_text):
        raise Refusal(f"stale plan: {current_file} changed since the plan was made; "
                      "nothing was changed; make a new plan")
    observed, plan = _observe_and_plan(desired, aws, parallelism)
    if observed.fingerprint() != saved.observed_fingerprint:
        raise Refusal("stale plan: the organization changed since the plan was made (something "
                      "orgsync observed for it is different now); nothing was changed; make a "
                      "new plan")
    if plan.to_document()["changes"] != saved.plan.to_document()["changes"]:
        raise Refusal("stale plan: planning again gives different changes; nothing was "
                      "changed; make a new plan")
    return Prepared(desired=desired, observed=observed, plan=plan, aws=aws)


def _prepare_fresh(opts: GlobalOptions, aws: Aws, *, file: str, parallelism: int,
                   loaded: tuple[DesiredState, str] | None = None) -> Prepared:
    from reconciler.commands.plan import build_plan

    result = build_plan(opts, file=file, parallelism=parallelism, aws=aws, loaded=loaded)
    return Prepared(desired=result.desired, observed=result.observed, plan=result.plan, aws=aws)


@contextmanager
def _apply_lock(aws: Aws, *, timeout_s: float, err: Console) -> Iterator[None]:
    """The organization-wide apply lock (``reconciler.lock``): two applies never interleave."""
    from reconciler.lock import apply_lock

    def waiting(info: Any) -> None:
        err.print(f"orgsync: waiting up to {timeout_s:.0f} s for the apply lock held by "
                  f"{_shown(info.describe())}")

    warned: list[str] = []

    def warn(message: str) -> None:
        warned.append(message)
        err.print(f"orgsync: warning: {_shown(message)}")

    held: list[Any] = []
    try:
        with apply_lock(aws, timeout_s=timeout_s, on_wait=waiting, on_warning=warn) as info:
            held.append(info)
            yield
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM / SIGHUP (reconciler.cli)
        if held and not warned:
            # say so: a stopped run that leaves nothing behind needs no force-unlock
            why = getattr(stop, "signal_name", None) or "SIGINT"
            err.print(f"orgsync: stopped by {why}: the apply lock {held[0].lock_id} was "
                      "released; the steps above that finished are done, re-run apply to "
                      "finish the rest")
        raise


def _render(plan: Plan, *, color: bool) -> str:
    from reconciler.render import render

    return render(plan.to_document(), "text", color=color)


def _ask(out: Console) -> bool:
    out.print("\nDo you want to perform these actions? Only 'yes' will be accepted.")
    try:
        answer = input("  Enter a value: ")
    except EOFError:
        return False
    return answer.strip() == "yes"


def run(opts: GlobalOptions, *, planfile: str | None = None, file: str | None = None,
        auto_approve: bool = False, parallelism: int = 10, lock_timeout: float = 0.0,
        show_plan: bool = True) -> int:
    """``show_plan=False`` (the demo, which has just shown the same plan) prints one line for it."""
    out = make_console(color=opts.color)
    err = make_console(color=opts.color, stderr=True)
    if not auto_approve and not is_interactive():
        raise Refusal("no terminal to ask for approval: nothing was changed; run "
                      "`orgsync apply --auto-approve` to apply without asking (e.g. in CI)")
    saved: SavedPlan | None = None
    loaded: tuple[DesiredState, str] | None = None
    if planfile:
        from reconciler.planfile import load as load_planfile

        saved = load_planfile(planfile)  # an altered plan is refused before any AWS access
    else:
        from reconciler.commands.plan import read_desired

        file = file if file is not None else DEFAULT_FILE
        # a broken file is refused before any AWS access (and before the lock); read once
        loaded = read_desired(file)
    aws = make_aws(opts, parallelism=parallelism)
    started = time.monotonic()
    with debug_call_counts(opts, aws), _apply_lock(aws, timeout_s=lock_timeout, err=err):
        if saved is not None:
            prepared = _prepare_saved(aws, saved=saved, file=file, parallelism=parallelism)
        else:
            prepared = _prepare_fresh(opts, aws, file=file or DEFAULT_FILE,
                                      parallelism=parallelism, loaded=loaded)
        plan = prepared.plan
        if show_plan:
            text = _render(plan, color=opts.color and sys.stdout.isatty())
            out.print(text, markup=False, highlight=False,
                      end="" if text.endswith("\n") else "\n")
        else:
            counts = ", ".join(f"{n} to {action}" for action, n in plan.summary().items() if n)
            out.print(f"Applying the plan shown above ({counts or 'no changes'}).")
        if plan.errors:
            for error in plan.errors:
                err.print(f"orgsync: error: {_shown(error)}")
            raise Refusal("the plan has errors: nothing was changed")
        if not plan.has_changes:
            out.print("\nNothing to apply.")
            _print_deferred(out, plan)
            return 0
        if not auto_approve and not _ask(out):
            raise Refusal("apply cancelled: nothing was changed")
        code = execute(prepared, out=out, parallelism=parallelism)
    out.print(f"Apply took {time.monotonic() - started:.1f} s.")
    return code


def execute(prepared: Prepared, *, out: Console, parallelism: int) -> int:
    """Apply ``prepared.plan``, run follow-up rounds for deferred work that became possible, then
    re-observe and re-plan; print what happened and return the exit code (1 if anything failed
    or the result did not converge)."""
    from reconciler.apply import ApplyOptions, apply_plan, await_account_creations

    options = ApplyOptions(parallelism=max(1, parallelism))
    reporter = ConsoleReporter(out)
    desired, observed, plan = prepared.desired, prepared.observed, prepared.plan
    deferred = {d.address for d in plan.deferred}
    out.print("\n[bold]Applying[/]")
    results: list[ApplyResult] = [apply_plan(plan, desired=desired, observed=observed,
                                             aws=prepared.aws, reporter=reporter,
                                             options=options)]
    waited = await_account_creations(plan, desired=desired, observed=observed,
                                     aws=prepared.aws, reporter=reporter, options=options)
    if waited.steps:
        results.append(waited)
    final: Plan | None = None
    for _ in range(FOLLOW_UP_ROUNDS):
        if not deferred:
            break
        observed, replan = _observe_and_plan(desired, prepared.aws, parallelism)
        follow_up = _follow_up(replan, deferred)
        if not follow_up:
            final = replan  # made after the last write: it is the check below
            break
        out.print("\n[bold]Now possible[/] (deferred in the plan; what they waited for happened "
                  "during this apply):")
        results.append(apply_plan(follow_up, desired=desired, observed=observed,
                                  aws=prepared.aws, reporter=reporter, options=options))
        deferred -= {c.address for c in follow_up.changes}
    _print_summary(out, results)
    out.print("\n[bold]Checking[/]: reading AWS again and re-planning ...")
    if final is None:
        _, final = _observe_and_plan(desired, prepared.aws, parallelism)
    remaining = [c for c in final.changes if c.action is not Action.BOOTSTRAP]
    human = [c for c in final.changes if c.action is Action.BOOTSTRAP]
    failed = any(r.failed for r in results)
    if not remaining and not final.errors:
        extra = []
        if final.deferred:
            extra.append(f"{len(final.deferred)} deferred")
        if human:
            extra.append(f"{len(human)} waiting for a person (bootstrap)")
        out.print("[green]converged[/]: a new plan has no changes"
                  + (f" apart from {' and '.join(extra)}" if extra else "") + ".")
    else:
        out.print(f"[yellow]not converged[/]: {len(remaining)} change(s) remain:")
        for change in remaining:
            out.print(f"  {_shown(change.action.symbol)} {_shown(change.address)}: "
                      f"{_shown(change.reason)}")
        for error in final.errors:
            out.print(f"  error: {_shown(error)}")
    _print_deferred(out, final)
    for change in human:
        out.print(f"\n[magenta]{_shown(change.address)}[/] needs a person: "
                  f"{_shown(change.reason)}. Instructions for the account's administrator:")
        if change.instructions:
            out.print(printable_lines(change.instructions), markup=False, highlight=False)
    return 1 if failed or remaining or final.errors else 0


def _follow_up(replan: Plan, deferred: set[str]) -> Plan | None:
    """The part of ``replan`` that was deferred in the approved plan (and what it depends on
    within that part)."""
    chosen = [c for c in replan.changes if c.address in deferred]
    if not chosen:
        return None
    addresses = {c.address for c in chosen}
    chosen = [c for c in chosen
              if all(d in addresses for d in c.depends_on
                     if d in {x.address for x in replan.changes})]
    if not chosen:
        return None
    return Plan(management_account_id=replan.management_account_id, changes=tuple(chosen))


def _print_summary(out: Console, results: list[ApplyResult]) -> None:
    steps: list[StepResult] = [s for r in results for s in r.steps]
    counts = {status: sum(1 for s in steps if s.status == status)
              for status in ("done", "failed", "skipped", "waiting", "needs_human")}
    parts = [f"{counts['done']} done", f"{counts['failed']} failed",
             f"{counts['skipped']} skipped"]
    if counts["waiting"]:
        parts.append(f"{counts['waiting']} waiting")
    if counts["needs_human"]:
        parts.append(f"{counts['needs_human']} need a person")
    style = "red" if counts["failed"] else "green"
    out.print(f"\n[bold {style}]Apply finished[/]: {', '.join(parts)}.")
    for step in steps:
        if step.status == "failed":
            out.print(f"  [red]failed[/] {_shown(step.address)}: {_shown(step.detail)}")
    for step in steps:
        if step.status == "skipped":
            out.print(f"  [yellow]skipped[/] {_shown(step.address)}: {_shown(step.detail)}")


def _print_deferred(out: Console, plan: Plan) -> None:
    for item in plan.deferred:
        out.print(f"  deferred {_shown(item.address)}: waiting for {_shown(item.waiting_for)}")
