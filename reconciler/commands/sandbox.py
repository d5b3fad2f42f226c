"""``orgsync sandbox``: the local AWS organization emulator in the foreground.

Starts the sandbox on loopback, writes the ``--info-file`` (CONTRACT.md section 5) once the
endpoint answers, prints where it listens (never a secret key), and runs until Ctrl-C, which
stops it cleanly with a one-line message.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import FrameType

from reconciler.cli import GlobalOptions
from reconciler.errors import OrgsyncError
from reconciler.sandbox.options import SandboxOptions, parse_throttle


def run(opts: GlobalOptions, *, host: str, port: int, info_file: str | None,
        standalone_accounts: int, latency_ms: float, throttle: tuple[str, ...],
        create_delay_s: float, auto_accept_invites: bool, close_quota: int | None) -> int:
    try:
        throttles = parse_throttle(list(throttle))
    except ValueError as error:
        raise OrgsyncError(str(error)) from None
    try:
        from reconciler.sandbox.server import Sandbox, SandboxError
    except ImportError as error:
        raise OrgsyncError(f"the sandbox needs moto[server] ({error}); install "
                           "'orgsync[sandbox]'") from None
    options = SandboxOptions(
        host=host, port=port, standalone_accounts=standalone_accounts, latency_ms=latency_ms,
        throttle=throttles, create_delay_s=create_delay_s,
        auto_accept_invites=auto_accept_invites, close_quota=close_quota)
    sandbox = Sandbox(options)
    try:
        sandbox.start()
    except SandboxError as error:
        raise OrgsyncError(str(error)) from None
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _wait_until_answering(sandbox.info.endpoint_url)
        if info_file:
            _write_info(Path(info_file), sandbox.info.to_document())
        info = sandbox.info
        print(f"orgsync sandbox: listening on {info.endpoint_url} (region {info.region}, "
              f"management account {info.management_account_id}, "
              f"{len(info.standalone_accounts)} standalone accounts)", flush=True)
        if info_file:
            print(f"orgsync sandbox: credentials in {info_file}; Ctrl-C stops", flush=True)
        else:
            print(f"orgsync sandbox: access key id {info.access_key_id} (secret: use "
                  "--info-file); Ctrl-C stops", flush=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
    print("orgsync sandbox: stopped", file=sys.stderr, flush=True)
    return 0


def _wait_until_answering(endpoint_url: str) -> None:
    with urllib.request.urlopen(endpoint_url + "/_orgsync/counters", timeout=10) as response:
        response.read()


def _write_info(path: Path, document: dict[str, object]) -> None:
    """Write atomically and readable only by the owner (it holds the sandbox's keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
