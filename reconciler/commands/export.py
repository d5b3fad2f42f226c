"""``orgsync export``: write an accounts.yaml describing the live organization.

Reads the organization (read-only), renders commented YAML, checks that it validates, and plans
it against what was just read: whatever the plan would still change (a role orgsync cannot get
into, drift the file cannot express) is printed as a note on stderr, as well as written in the
file's comments, so that adoption has no surprises.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from reconciler.cli import GlobalOptions
from reconciler.console import make_console
from reconciler.errors import OrgsyncError


def run(opts: GlobalOptions, *, out: str | None, parallelism: int,
        role_names: tuple[str, ...] = ()) -> int:
    from reconciler.commands.plan import make_aws
    from reconciler.config import load_text
    from reconciler.export.read import read_organization
    from reconciler.export.render import check_round_trip, render_export
    from reconciler.planner import plan

    aws = make_aws(opts, parallelism=parallelism)  # with --mfa-serial: roles requiring MFA too
    err = make_console(color=opts.color, stderr=True)
    observed = read_organization(aws, parallelism=parallelism, progress=True,
                                 role_names=role_names)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = render_export(observed, generated_at=generated)
    filename = os.path.basename(out) if out else "accounts.yaml"
    check_round_trip(text, filename=filename)
    remaining = plan(load_text(text, filename=filename), observed)
    for change in remaining.changes:
        err.print(f"orgsync: note: the plan will still show {change.address} "
                  f"({change.action.value}): {change.reason}", markup=False)
    for problem in remaining.errors:
        err.print(f"orgsync: note: the plan will report: {problem}", markup=False)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomically(Path(out), text)
        accounts = len(observed.accounts)
        err.print(f"orgsync: wrote {out} ({accounts} account(s) in the organization)",
                  markup=False)
    if remaining.unmanaged:
        err.print(f"orgsync: note: {len(remaining.unmanaged)} account(s)/OU(s) stay unmanaged "
                  "(see the comments in the file)", markup=False)
    if opts.debug:
        for line in aws.calls.summary_lines():
            err.print(f"orgsync: {line}", markup=False)
    return 0


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename (never half a file)."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise OrgsyncError(f"{path}: cannot write: {error.strerror or error}") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise OrgsyncError(f"{path}: cannot write: {error.strerror or error}") from error
