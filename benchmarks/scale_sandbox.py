"""How the scale benchmarks start their sandbox: the real ``orgsync sandbox``, in its own process.

The benchmarks (plan_scale.py, apply_scale.py) need the sandbox in a separate process (its CPU
must not share the GIL of the orgsync being measured) and change latency and throttling after
seeding thousands of accounts; ``orgsync sandbox`` serves both through its control API
(``POST /_orgsync/options``, ``GET /_orgsync/cost``). ``sandbox_process`` starts it, waits for
its info file and stops it; ``SandboxProcess`` gives its control API, a clean environment for
orgsync subprocesses and boto3 clients. The shortcuts this script used to patch into moto (an
access-key index, shared AWS managed policies) now live in ``reconciler.sandbox`` itself.

    python benchmarks/scale_sandbox.py --info-file PATH
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def command(info_file: Path, *options: str) -> list[str]:
    """The command line of the benchmark's sandbox (``options``: more ``orgsync sandbox``
    options, e.g. ``--create-delay-s 10``)."""
    return [sys.executable, "-m", "reconciler.cli", "sandbox", "--port", "0", "--no-color",
            "--info-file", str(info_file), *options]


@dataclass
class SandboxProcess:
    """The real ``orgsync sandbox`` running in a subprocess (``command``)."""

    process: subprocess.Popen[bytes]
    info: dict[str, Any]
    workdir: Path

    @property
    def endpoint(self) -> str:
        return str(self.info["endpoint_url"])

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_orgsync/{path}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def set_options(self, *, latency_ms: float, throttle: dict[str, float] | None = None) -> None:
        self.control("POST", "options", {"latency_ms": latency_ms, "throttle": throttle or {}})

    def cpu_seconds(self) -> float:
        return float(self.control("GET", "cost")["cpu_s"])

    def env(self) -> dict[str, str]:
        """A clean environment for orgsync subprocesses: the sandbox's keys, no profiles."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k != "ORGSYNC_CALL_LOG"}
        empty = self.workdir / "aws-empty"
        empty.touch()
        env.update({
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": str(self.info["access_key_id"]),
            "AWS_SECRET_ACCESS_KEY": str(self.info["secret_access_key"]),
            "AWS_REGION": str(self.info["region"]),
            "AWS_DEFAULT_REGION": str(self.info["region"]),
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        })
        return env

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=str(self.info["region"]),
            aws_access_key_id=str(self.info["access_key_id"]),
            aws_secret_access_key=str(self.info["secret_access_key"]),
            config=Config(max_pool_connections=32, retries={"mode": "standard"}))


@contextmanager
def sandbox_process(workdir: Path, *options: str) -> Iterator[SandboxProcess]:
    """``orgsync sandbox`` started in ``workdir`` (its log: ``sandbox.log``), stopped after."""
    info_file = workdir / "sandbox-info.json"
    log = open(workdir / "sandbox.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command(info_file, *options), stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not info_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("benchmark: the sandbox did not start; see "
                                 f"{workdir / 'sandbox.log'}")
            time.sleep(0.1)
        yield SandboxProcess(process, json.loads(info_file.read_text()), workdir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--info-file", required=True, type=Path)
    args = parser.parse_args(argv)
    argv_ = command(args.info_file)
    os.execv(argv_[0], argv_)
    return 1  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
