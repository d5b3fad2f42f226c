"""Terminal output: colour only on a terminal and never with ``--no-color``/``NO_COLOR``.

rich gives colour, tables and progress bars with correct terminal detection; every command prints
through consoles made here so that the colour rules live in one place.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console


def make_console(*, color: bool, stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console for stdout (or stderr): plain text unless it is a terminal with colour on."""
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    is_terminal = stream.isatty()
    return Console(
        file=stream,
        no_color=not color,
        color_system="auto" if (color and is_terminal) else None,
        force_terminal=None,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=True,
        width=None if is_terminal else 10_000,
    )


def is_interactive() -> bool:
    """True when a person is there to answer a prompt (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()
