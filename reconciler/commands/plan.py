"""``orgsync plan``: read the file, observe live AWS, plan, and show (and optionally save) the plan.

``build_plan`` is the reusable "load + Aws + observe + plan" sequence, so that ``apply`` without a
saved plan goes through exactly the same steps as the plan a reviewer would have seen.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import click

from reconciler.cli import GlobalOptions
from reconciler.terminal import printable

if TYPE_CHECKING:
    from reconciler.aws import Aws
    from reconciler.model import DesiredState
    from reconciler.observed import ObservedState
    from reconciler.plan import Plan

Format = Literal["text", "json", "markdown"]


@dataclass(frozen=True)
class PlanRun:
    """One load + observe + plan: everything apply or a saved plan needs."""

    desired: DesiredState
    desired_text: str  # the file's text, exactly as loaded (a saved plan carries it)
    observed: ObservedState
    plan: Plan
    aws: Aws  # its ``calls`` hold the counts of every AWS call made so far


def make_aws(opts: GlobalOptions, *, parallelism: int) -> Aws:
    """The AWS boundary for these options (profile, region, endpoint, retries sized to
    ``parallelism``, and the MFA device whose session enters member accounts)."""
    from reconciler.aws import Aws

    return Aws(profile=opts.profile, region=opts.region, endpoint_url=opts.endpoint_url,
               parallelism=parallelism, mfa_serial=opts.mfa_serial, mfa_token=opts.mfa_token)


def read_desired(file: str) -> tuple[DesiredState, str]:
    """The validated desired state and the canonical text it was read from (read once:
    ``-`` is standard input)."""
    from reconciler.config import load_source, read_source

    source = read_source(file)
    return load_source(source), source.text


def build_plan(opts: GlobalOptions, *, file: str, parallelism: int = 10,
               aws: Aws | None = None, progress: bool | None = None,
               loaded: tuple[DesiredState, str] | None = None) -> PlanRun:
    """Load ``file``, observe AWS (``parallelism`` member accounts at once) and plan.

    Raises ``ConfigError`` for an invalid file, ``Refusal`` for the wrong organization and
    ``AwsError`` when AWS cannot be read. Plan errors are in ``PlanRun.plan.errors``, not raised.
    ``progress`` defaults to "stderr is a terminal". ``loaded``: the file as ``read_desired``
    already gave it (standard input can be read only once)."""
    from reconciler.kinds import observe
    from reconciler.planner import plan as make_plan

    desired, text = loaded if loaded is not None else read_desired(file)
    aws = aws if aws is not None else make_aws(opts, parallelism=parallelism)
    show_progress = sys.stderr.isatty() if progress is None else progress
    observed = observe(desired, aws, parallelism=parallelism, progress=show_progress)
    return PlanRun(desired=desired, desired_text=text, observed=observed,
                   plan=make_plan(desired, observed), aws=aws)


@contextmanager
def debug_call_counts(opts: GlobalOptions, aws: Aws | None) -> Iterator[None]:
    """With ``--debug``, print the AWS calls per operation on stderr when the block ends (also
    when it fails: the counts help most then)."""
    try:
        yield
    finally:
        if opts.debug and aws is not None:
            for line in aws.calls.summary_lines():
                click.echo(line, err=True)


def run(opts: GlobalOptions, *, file: str, out: str | None = None, fmt: Format = "text",
        detailed_exitcode: bool = False, parallelism: int = 10, verbose: bool = False) -> int:
    from reconciler.render import render

    if out:  # refused before any AWS access: a mistyped --out costs nothing
        from reconciler.outfile import check_output

        check_output(out, inputs=[(file, "the desired-state file (-f)")])
    aws = make_aws(opts, parallelism=parallelism)
    with debug_call_counts(opts, aws):
        result = build_plan(opts, file=file, parallelism=parallelism, aws=aws)
    plan = result.plan
    if plan.errors:
        for error in plan.errors:
            click.echo(f"orgsync: error: {printable(error)}", err=True)
        return 1
    color = opts.color and sys.stdout.isatty()
    document = plan.to_document()
    text = render(document, fmt, color=color, verbose=verbose)
    click.echo(text, nl=not text.endswith("\n"))
    if out:
        from reconciler.planfile import save as save_plan

        save_plan(out, plan=plan, desired=result.desired, desired_text=result.desired_text,
                      observed=result.observed)
        click.echo(f"Saved the plan to {out}; apply it with: orgsync apply {out}", err=True)
    for warning in plan.warnings:
        click.echo(f"orgsync: warning: {printable(warning)}", err=True)
    if detailed_exitcode and plan.has_changes:
        return 2
    return 0
