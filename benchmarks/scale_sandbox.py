"""The sandbox process the scale benchmark talks to: ``orgsync sandbox``'s server plus two controls.

The benchmark needs the sandbox in its own process (its CPU must not share the GIL of the orgsync
being measured) and needs to change the sandbox's latency and throttling *after* seeding a
thousand accounts, without losing them. ``orgsync sandbox`` has neither control, so this script
starts the same ``reconciler.sandbox.Sandbox`` and adds, under ``/_orgsync/bench/``:

  POST /_orgsync/bench/options   {"latency_ms": 50, "throttle": {"organizations": 2},
                                  "switch_interval": 0.005}
  GET  /_orgsync/bench/cost      {"cpu_s": <CPU seconds this process has used>}

One seeding shortcut, which changes nothing orgsync reads: every member account's IAM shares one
read-only set of AWS managed policy objects instead of a private copy of all ~1,500 of them (the
copy costs ~50 ms and ~1.3 MB per account, which makes seeding 5,000 accounts take many minutes
and gigabytes). orgsync never lists AWS managed policies in member accounts.

    python benchmarks/scale_sandbox.py --info-file PATH
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from reconciler.sandbox.control import Control
from reconciler.sandbox.server import Sandbox


class BenchControl(Control):
    """The sandbox's test controls plus the benchmark's (options, cost)."""

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> Any:
        if parts == ["bench", "options"] and method == "POST":
            return self._set_options(body)
        if parts == ["bench", "cost"] and method == "GET":
            return {"cpu_s": time.process_time()}
        return super()._route(method, parts, body)

    def _set_options(self, body: dict[str, Any]) -> dict[str, Any]:
        sandbox = self._sandbox
        changes: dict[str, Any] = {}
        if "latency_ms" in body:
            changes["latency_ms"] = float(body["latency_ms"])
        if "throttle" in body:
            changes["throttle"] = {str(k): float(v) for k, v in dict(body["throttle"]).items()}
        if "switch_interval" in body:
            sys.setswitchinterval(float(body["switch_interval"]))
        options = dataclasses.replace(sandbox.options, **changes)
        # The app reads the sandbox's options, throttling reads the state's: keep both in step,
        # and keep the state (a reset would drop every seeded account).
        with sandbox.state.lock:
            sandbox.options = options
            sandbox.state.options = options
            sandbox.state.throttle_windows.clear()
        return {"latency_ms": options.latency_ms, "throttle": options.throttle,
                "switch_interval": sys.getswitchinterval()}


def share_aws_managed_policies() -> None:
    """Member accounts' IAM backends share one list of AWS managed policy objects."""
    from moto.iam.models import IAMBackend

    original = IAMBackend._init_aws_policies
    shared: list[Any] = []
    lock = threading.Lock()

    def init_aws_policies(self: IAMBackend) -> list[Any]:
        with lock:
            if not shared:
                shared.extend(original(self))
        return list(shared)

    IAMBackend._init_aws_policies = init_aws_policies  # type: ignore[method-assign]


def index_access_keys() -> None:
    """moto finds the account of an access key by scanning every account's IAM in every
    partition (creating each partition's backend on the way), and a sandbox request asks up to
    three times: O(accounts) per call, which at thousands of accounts makes the sandbox, not
    orgsync, the bottleneck. Remember where each key was found; a remembered place is checked
    (the key is still there) before it is believed, and anything else falls back to the same
    scan, so every answer is the one moto would give."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam import models
    from moto.utilities.utils import PARTITION_NAMES

    from reconciler.sandbox import app, identity

    found: dict[str, tuple[str, str]] = {}

    def get_account_id_from(access_key: str) -> str:
        place = found.get(access_key)
        if place is not None:
            account_id, partition = place
            account = dict.get(models.iam_backends, account_id)
            backend = dict.get(account, partition) if account is not None else None
            if backend is not None and access_key in backend.access_keys:
                return account_id
        for account_id, account in list(models.iam_backends.items()):
            for partition in PARTITION_NAMES:
                # moto creates the partition's backend to look in it: a new one holds no keys
                backend = dict.get(account, partition)
                if backend is not None and access_key in backend.access_keys:
                    found[access_key] = (account_id, partition)
                    return account_id
        return str(DEFAULT_ACCOUNT_ID)

    models.get_account_id_from = get_account_id_from
    app.get_account_id_from = get_account_id_from
    identity.get_account_id_from = get_account_id_from


def write_info(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--info-file", required=True, type=Path)
    parser.add_argument("--standalone-accounts", type=int, default=3)
    args = parser.parse_args(argv)

    from reconciler.sandbox import SandboxOptions

    sandbox = Sandbox(SandboxOptions(port=0, standalone_accounts=args.standalone_accounts))
    sandbox.start()
    share_aws_managed_policies()
    index_access_keys()
    sandbox.control = BenchControl(sandbox)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        write_info(args.info_file, sandbox.info.to_document())
        while not stopping.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
