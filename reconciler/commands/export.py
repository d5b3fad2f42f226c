"""``orgsync export``: write an accounts.yaml describing the live organization.

Reads the organization (read-only), renders commented YAML, checks that it validates, and plans
it against what was just read: whatever the plan would still change (a role orgsync cannot get
into, drift the file cannot express) is printed as a note on stderr, as well as written in the
file's comments, so that adoption has no surprises.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

from reconciler.console import make_console
from reconciler.options import GlobalOptions
from reconciler.outfile import check_output, write_output


def run(opts: GlobalOptions, *, out: str | None, parallelism: int,
        role_names: tuple[str, ...] = (), force: bool = False) -> int:
    from reconciler.config import load_text
    from reconciler.export.read import read_organization
    from reconciler.export.render import check_round_trip, render_export
    from reconciler.pipeline import make_aws
    from reconciler.planner import plan

    if out:  # refused before reading AWS: a hand-written file is not replaced by accident
        check_output(out, force=force)
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
        write_output(out, text)
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
