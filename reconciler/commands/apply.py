"""``orgsync apply [PLANFILE]``: plan (or load a reviewed plan), ask, execute, prove convergence.

The order of checks is what makes apply safe to run from a terminal or a pipeline: refuse without a
person or ``--auto-approve`` before touching anything; refuse a saved plan that was altered or whose
world has changed (anything observed, or the file itself) since it was reviewed; refuse a plan with
errors. Then execute under the apply lock, print each step as it happens, and re-observe and re-plan
at the end: the run is only "converged" when nothing but deferred or human steps remains.

Deferred items that the approved plan lists with an action (work waiting for an invitation to be
accepted, or for centralized root access to be turned on) and that become possible during the run
are carried out in a follow-up round, whether the plan was made now or saved earlier: the reviewer
saw each of them in the plan with its action, after-state and destructive mark. Anything else the
re-plan finds waits for the next plan (``reconciler.apply.executor`` enforces this).
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from reconciler.commands.common import debug_call_counts
from reconciler.console import is_interactive, make_console
from reconciler.errors import Refusal, StalePlan
from reconciler.options import GlobalOptions
from reconciler.pipeline import PlanRun, build_plan, check_saved_plan, make_aws, read_desired
from reconciler.plan import Action, Change, Plan
from reconciler.terminal import printable, printable_lines

if TYPE_CHECKING:
    from reconciler.apply import ApplyResult, StepResult
    from reconciler.aws import Aws
    from reconciler.model import DesiredState
    from reconciler.planfile import SavedPlan

DEFAULT_FILE = "accounts.yaml"  # -f without PLANFILE
_STATUS_STYLE = {"done": "green", "failed": "bold red", "skipped": "yellow",
                 "needs_human": "magenta", "waiting": "cyan"}
_STATUS_WORD = {"done": "done", "failed": "FAILED", "skipped": "skipped",
                "needs_human": "needs a person", "waiting": "waiting"}


class ConsoleReporter:
    """Prints what apply does as it happens (thread-safe: several steps run at once).

    Without a terminal (CI logs, pipes): exactly one line per finished step, saying what was done
    and what it waited for. On a terminal, also one live status line at the bottom (steps in
    flight, account creations among them, finished, waiting to start) and the latest word from
    long waits, so a 50-account apply that takes many minutes is never silent."""

    def __init__(self, console: Console, *, live: bool | None = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self._lock = threading.Lock()
        self._last_progress: dict[str, float] = {}
        self._running: dict[str, Change] = {}
        self._finished = 0
        self._failed = 0
        self._queued = 0
        self._note = ""
        self._started_at = time.monotonic()

    def started(self, change: Change) -> None:
        with self._lock:
            self._running[change.address] = change

    def queued(self, count: int) -> None:
        """How many changes wait to start (told by the executor's scheduler)."""
        with self._lock:
            self._queued = count

    def progress(self, change: Change, message: str) -> None:
        if not self.live:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._last_progress.get(change.address, 0.0) < 4.5:
                return
            self._last_progress[change.address] = now
            self._note = f"{printable(change.address)}: {printable(message)}"

    def finished(self, change: Change, result: StepResult) -> None:
        style = _STATUS_STYLE.get(result.status, "")
        word = _STATUS_WORD.get(result.status, result.status)
        took = f" ({result.seconds:.1f} s)" if result.seconds >= 1 else ""
        with self._lock:
            self._running.pop(change.address, None)
            self._finished += 1
            self._failed += result.status == "failed"
            self.console.print(f"  {_shown(change.action.symbol)} [{style}]{word}[/] "
                               f"{_shown(change.address)}: {_shown(result.detail)}{took}")

    def status_line(self) -> str:
        with self._lock:
            creating = sum(1 for c in self._running.values()
                           if c.kind == "account" and c.action is Action.CREATE)
            line = (f"{len(self._running)} in flight ({creating} account creations), "
                    f"{self._finished} finished"
                    + (f" ({self._failed} failed)" if self._failed else "")
                    + f", {self._queued} waiting to start"
                    + f" - {time.monotonic() - self._started_at:.0f} s")
            note = self._note
        return line + (f"\n  {note}" if note else "")

    @contextmanager
    def showing_status(self) -> Iterator[None]:
        """The live status line while apply runs (only on a terminal)."""
        if not self.live:
            yield
            return
        from rich.live import Live
        from rich.text import Text

        with Live(console=self.console, transient=True, refresh_per_second=2,
                  get_renderable=lambda: Text(self.status_line(), style="dim")):
            yield


def _shown(text: str) -> str:
    """Text from the file or AWS, for rich: markup and control characters escaped."""
    return escape(printable(text))


def _stale(reason: str, differences: list[dict[str, Any]], *, planfile: str,
           file: str | None) -> StalePlan:
    from reconciler.staleness import difference_lines

    command = (f"orgsync plan --out {shlex.quote(planfile)}"
               + (f" -f {shlex.quote(file)}" if file else "")
               + f", review it, then {_command(planfile=planfile, file=None)}")
    lines = [f"stale plan: {reason}; nothing was changed"]
    if differences:
        lines.append(f"what differs ({len(differences)}):")
        lines += difference_lines(differences)
    lines.append(f"make a new plan: {command}")
    return StalePlan("\n".join(lines), differences=differences, command=command)


def _prepare_saved(aws: Aws, *, saved: SavedPlan, planfile: str, file: str | None,
                   parallelism: int) -> PlanRun:
    """The saved plan made again, or a refusal that says why not and lists what differs (the
    decision is ``reconciler.pipeline.check_saved_plan``'s; the wording is this command's)."""
    check = check_saved_plan(saved, aws, file=file, parallelism=parallelism)
    if check.run is not None:
        return check.run
    if check.missing_file is not None:
        raise Refusal(f"stale plan check: {check.missing_file} (given with -f) does not exist; "
                      f"nothing was changed; run `{_command(planfile=planfile, file=None)}` "
                      "where the plan's file is, or give -f the file it was made from")
    if check.stale == "file":
        reason = f"{check.compared_file} changed since the plan was made"
    elif check.stale == "organization":
        reason = ("the organization changed since the plan was made (something orgsync "
                  "observed for it is different now"
                  + ("" if saved.observed is not None else "; this plan file predates the "
                     "list of differences") + ")")
    else:
        reason = "planning again gives different changes"
    raise _stale(reason, list(check.differences), planfile=planfile, file=file)


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


def _render(plan: Plan, *, color: bool, verbose: bool = False) -> str:
    from reconciler.render import render

    return render(plan.to_document(), "text", color=color, verbose=verbose)


def _ask(out: Console) -> bool:
    out.print("\nDo you want to perform these actions? Only 'yes' will be accepted.")
    try:
        answer = input("  Enter a value: ")
    except EOFError:
        return False
    return answer.strip() == "yes"


def _command(*options: str, planfile: str | None, file: str | None) -> str:
    """The apply command to run again: with the saved plan's file when there is one (a hint
    without it would apply a fresh plan nobody reviewed), else with the ``-f`` given."""
    words = ["orgsync", "apply", *options]
    if planfile:
        words.append(shlex.quote(planfile))
    elif file is not None:
        words += ["-f", shlex.quote(file)]
    return " ".join(words)


def run(opts: GlobalOptions, *, planfile: str | None = None, file: str | None = None,
        auto_approve: bool = False, parallelism: int = 10, lock_timeout: float = 0.0,
        show_plan: bool = True, fmt: str = "text", verbose: bool = False) -> int:
    """``show_plan=False`` (the demo, which has just shown the same plan) prints one line for it;
    ``verbose`` shows policy documents in full (not one line per statement).

    Every refusal of a saved plan names the command to run with that plan file (a bare
    ``orgsync apply`` would apply a fresh plan nobody reviewed). With ``fmt="json"`` a refusal is
    also written to stdout as one JSON document (``refusal_document``)."""
    try:
        return _run(opts, planfile=planfile, file=file, auto_approve=auto_approve,
                    parallelism=parallelism, lock_timeout=lock_timeout, show_plan=show_plan,
                    verbose=verbose)
    except Refusal as refusal:
        if planfile and not isinstance(refusal, StalePlan) and \
                f" {shlex.quote(planfile)}`" not in str(refusal):
            refusal = Refusal(f"{refusal}; {_saved_plan_hint(str(refusal), planfile, file)}")
        if fmt == "json":
            click.echo(json.dumps(refusal_document(refusal), indent=2, sort_keys=True))
        raise refusal from None


def _saved_plan_hint(message: str, planfile: str, file: str | None) -> str:
    new_plan = (f"orgsync plan --out {shlex.quote(planfile)}"
                + (f" -f {shlex.quote(file)}" if file else ""))
    if message.startswith(("the plan file", "cannot read the plan file", "the plan has errors")):
        return (f"make a new plan with `{new_plan}`, review it, then run "
                f"`{_command(planfile=planfile, file=None)}`")
    return (f"to apply the saved plan run `{_command(planfile=planfile, file=None)}` (or "
            f"`{new_plan}` for a new one)")


def refusal_document(refusal: Refusal) -> dict[str, Any]:
    """A refusal for programs: ``{"refused": true, "error", "command", "differences"}``
    (``differences``: what changed since a saved plan was made, for a stale plan)."""
    lines = str(refusal).splitlines() or [type(refusal).__name__]
    if isinstance(refusal, StalePlan):
        return {"refused": True, "error": lines[0], "command": refusal.command,
                "differences": refusal.differences}
    return {"refused": True, "error": lines[0], "command": None, "differences": []}


def _run(opts: GlobalOptions, *, planfile: str | None, file: str | None, auto_approve: bool,
         parallelism: int, lock_timeout: float, show_plan: bool, verbose: bool = False) -> int:
    out = make_console(color=opts.color)
    err = make_console(color=opts.color, stderr=True)
    if not auto_approve and not is_interactive():
        raise Refusal("no terminal to ask for approval: nothing was changed; run "
                      f"`{_command('--auto-approve', planfile=planfile, file=file)}` to apply "
                      + ("this saved plan" if planfile else "a fresh plan")
                      + " without asking (e.g. in CI)")
    saved: SavedPlan | None = None
    loaded: tuple[DesiredState, str] | None = None
    if planfile:
        from reconciler.planfile import load as load_planfile

        saved = load_planfile(planfile)  # an altered plan is refused before any AWS access
    else:
        file = file if file is not None else DEFAULT_FILE
        # a broken file is refused before any AWS access (and before the lock); read once
        loaded = read_desired(file)
    aws = make_aws(opts, parallelism=parallelism)
    started = time.monotonic()
    with debug_call_counts(opts, aws), _apply_lock(aws, timeout_s=lock_timeout, err=err):
        if saved is not None:
            prepared = _prepare_saved(aws, saved=saved, planfile=planfile or "", file=file,
                                      parallelism=parallelism)
        else:
            prepared = build_plan(opts, file=file or DEFAULT_FILE, parallelism=parallelism,
                                  aws=aws, loaded=loaded)
        plan = prepared.plan
        if show_plan:
            text = _render(plan, color=opts.color and sys.stdout.isatty(), verbose=verbose)
            out.print(text, markup=False, highlight=False,
                      end="" if text.endswith("\n") else "\n")
        else:
            counts = ", ".join(f"{n} to {action}" for action, n in plan.summary().items()
                               if n and action != "deferred")
            if plan.listed_deferred:
                counts += f"{', ' if counts else ''}{len(plan.listed_deferred)} deferred"
            out.print(f"Applying the plan ({counts or 'no changes'}).")
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


def execute(prepared: PlanRun, *, out: Console, parallelism: int) -> int:
    """Apply ``prepared.plan`` and check convergence (``reconciler.pipeline``); print what
    happened and return the exit code (1 if anything failed or the result did not converge)."""
    from reconciler.pipeline import apply_rounds, check_converged

    reporter = ConsoleReporter(out)

    def announce(follow_up: Plan) -> None:
        out.print("\n[bold]Now possible[/] (listed as deferred in the plan; what they waited for "
                  "happened during this apply):")

    out.print("\n[bold]Applying[/]")
    with reporter.showing_status():
        run = apply_rounds(prepared, reporter=reporter, parallelism=parallelism,
                           on_follow_up=announce)
    _print_summary(out, list(run.results))
    out.print("\n[bold]Checking[/]: reading AWS again and re-planning ...")
    outcome = check_converged(prepared, run, parallelism=parallelism)
    final = outcome.final
    if outcome.converged:
        extra = []
        if final.deferred:
            extra.append(f"{len(final.deferred)} deferred")
        if outcome.needs_person:
            extra.append(f"{len(outcome.needs_person)} waiting for a person (bootstrap)")
        out.print("[green]converged[/]: a new plan has no changes"
                  + (f" apart from {' and '.join(extra)}" if extra else "") + ".")
    else:
        out.print(f"[yellow]not converged[/]: {len(outcome.remaining)} change(s) remain:")
        for change in outcome.remaining:
            out.print(f"  {_shown(change.action.symbol)} {_shown(change.address)}: "
                      f"{_shown(change.reason)}")
        for error in final.errors:
            out.print(f"  error: {_shown(error)}")
    _print_deferred(out, final)
    for change in outcome.needs_person:
        out.print(f"\n[magenta]{_shown(change.address)}[/] needs a person: "
                  f"{_shown(change.reason)}. Instructions for the account's administrator:")
        if change.instructions:
            out.print(printable_lines(change.instructions), markup=False, highlight=False)
    return 0 if outcome.ok else 1


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
    from reconciler.render.common import deferred_line

    for item in plan.deferred:
        out.print(f"  deferred {_shown(deferred_line(item.to_dict()))}")
