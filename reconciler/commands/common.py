"""What several commands print the same way around the pipeline (``reconciler.pipeline``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from reconciler.options import GlobalOptions

if TYPE_CHECKING:
    from reconciler.aws import Aws


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
