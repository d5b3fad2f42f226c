"""Child processes that receive signals the way a user's orgsync would.

A shell that starts a job in the background without job control (`cmd &` in a script, CI
runners) makes the job ignore SIGINT, and `nohup` makes it ignore SIGHUP; children inherit
ignored signals, and Python installs its KeyboardInterrupt handler only where SIGINT is not
ignored. orgsync rightly leaves an ignored signal ignored, so a test that signals orgsync must
start it with the default dispositions, whatever the test runner inherited.

``sandbox_process`` runs ``orgsync sandbox`` that way, for the tests of the command itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def default_signals() -> None:
    """``preexec_fn`` for ``subprocess.Popen``: SIGINT, SIGTERM and SIGHUP back to default."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


@dataclasses.dataclass
class SandboxProcess:
    """A running ``orgsync sandbox``; ``out`` and ``err`` are its output once it has stopped."""

    process: subprocess.Popen[str]
    info_file: Path
    out: str = ""
    err: str = ""

    @property
    def info(self) -> dict[str, Any]:
        """The info file the sandbox wrote (endpoint, region, credentials, accounts)."""
        return dict(json.loads(self.info_file.read_text()))


@contextlib.contextmanager
def sandbox_process(*options: str, info_file: Path,
                    start_timeout: float = 120) -> Iterator[SandboxProcess]:
    """``orgsync sandbox --port 0 --info-file <info_file> <options>`` in a child process (no AWS_*
    variables, default signal dispositions), yielded once its info file is there; stopped with
    SIGINT (Ctrl-C) on the way out, its output kept. The start timeout is generous: a loaded
    machine took 54 s to start one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "sandbox", "--port", "0", "--info-file",
         str(info_file), *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=default_signals)
    running = SandboxProcess(process, info_file)
    try:
        deadline = time.monotonic() + start_timeout
        while not info_file.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert info_file.exists(), f"orgsync sandbox wrote no {info_file} in {start_timeout} s"
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        running.out, running.err = process.communicate(timeout=30)
