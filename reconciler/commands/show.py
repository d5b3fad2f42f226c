"""``orgsync show PLANFILE``: render a saved plan (like ``terraform show``), verifying it first.

No AWS access: a reviewer or a CI job can look at the exact plan that apply would run. An altered
or unreadable plan file is refused (exit 1) rather than shown.
"""

from __future__ import annotations

import sys

from reconciler import planfile as planfiles
from reconciler.options import GlobalOptions
from reconciler.render import render


def run(opts: GlobalOptions, *, planfile: str, fmt: str = "text", verbose: bool = False) -> int:
    saved = planfiles.load(planfile)
    color = opts.color and fmt == "text" and sys.stdout.isatty()
    sys.stdout.write(render(dict(saved.document), fmt, color=color, verbose=verbose))
    return 0
