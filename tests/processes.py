"""Child processes that receive signals the way a user's orgsync would.

A shell that starts a job in the background without job control (`cmd &` in a script, CI
runners) makes the job ignore SIGINT, and `nohup` makes it ignore SIGHUP; children inherit
ignored signals, and Python installs its KeyboardInterrupt handler only where SIGINT is not
ignored. orgsync rightly leaves an ignored signal ignored, so a test that signals orgsync must
start it with the default dispositions, whatever the test runner inherited.
"""

from __future__ import annotations

import signal


def default_signals() -> None:
    """``preexec_fn`` for ``subprocess.Popen``: SIGINT, SIGTERM and SIGHUP back to default."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
