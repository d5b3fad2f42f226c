"""``orgsync plan``: read the file, observe live AWS, plan, and show (and optionally save) the plan.

The "load + Aws + observe + plan" sequence is ``reconciler.pipeline``'s (apply without a saved plan
goes through exactly the same steps as the plan a reviewer would have seen); this command prints
its result and saves it.
"""

from __future__ import annotations

import sys
from typing import Literal

import click

from reconciler.commands.common import debug_call_counts
from reconciler.options import GlobalOptions
from reconciler.pipeline import build_plan, make_aws
from reconciler.terminal import printable

Format = Literal["text", "json", "markdown"]


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
