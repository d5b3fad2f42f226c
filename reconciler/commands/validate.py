"""``orgsync validate``: check the desired-state file offline and say what it holds.

Deliberately imports nothing that talks to AWS (a test checks that boto3 stays unloaded), so it is
cheap enough for a pre-commit hook and works without credentials.
"""

from __future__ import annotations

import sys

from reconciler.config import load
from reconciler.options import GlobalOptions


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def run(opts: GlobalOptions, *, file: str) -> int:
    """Print a one-line summary and return 0, or raise ``ConfigError`` (the CLI prints each
    diagnostic on stderr and exits 1)."""
    del opts  # validate needs no AWS settings and prints no colour
    desired = load(file)
    grants = sum(len(group.grants) for group in desired.groups)
    summary = ", ".join([
        _plural(len(desired.accounts), "account"),
        _plural(len(desired.ou_paths), "OU"),
        _plural(len(desired.groups), "group"),
        _plural(grants, "grant"),
        *([_plural(len(desired.identity_center.permission_sets), "permission set"),
           _plural(len(desired.identity_center.assignments), "assignment")]
          if desired.identity_center is not None else []),
    ])
    sys.stdout.write(f"{file}: valid ({summary})\n")
    return 0
