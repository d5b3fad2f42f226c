"""Shared test fixtures: one sandbox per test session, and the real CLI in a subprocess.

API (use these; do not start your own sandbox unless a test needs special options):

- ``sandbox_session`` (session scope): a running ``reconciler.sandbox.Sandbox`` on 127.0.0.1 with
  a free port and the default options (3 standalone accounts). Not reset for you.
- ``sandbox`` (function scope): the same sandbox, reset to the seeded state before the test
  (moto state, handshakes, clock, faults, counters; ~40 ms). Yields the ``Sandbox``:
  ``sandbox.info`` (endpoint_url, region, management_account_id "123456789012", access_key_id,
  secret_access_key, standalone_accounts[i].id/.name/.email/.access_key_id/.secret_access_key),
  ``sandbox.client("organizations")`` (boto3 client as the management admin) or
  ``sandbox.client("sts", account=sandbox.info.standalone_accounts[0])`` (as that account),
  ``sandbox.env()``, ``sandbox.control`` (advance_clock(s), inject_fault("iam.GetRole",
  code="Throttling", nth=1) / drop=True, calls("organizations.ListAccounts"), counters(),
  accept_handshake(id), decline_handshake(id)).
  Tests that change sandbox options (latency, throttle, create delay, ...) can use
  ``sandbox_options(**changes)`` as a context manager: same server, options swapped and the
  state reset, restored afterwards.
- ``aws_env`` (function scope, needs ``sandbox``): a complete environment dict for subprocesses:
  os.environ minus AWS_*, plus AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  AWS_REGION=AWS_DEFAULT_REGION=us-east-1, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE pointing
  at empty temp files, NO_COLOR=1.
- ``run_orgsync(*args, env=..., input=None, timeout=120, cwd=None) -> CompletedProcess[str]``:
  runs ``python -m reconciler.cli <args>`` (the real CLI) and captures text stdout/stderr.
  Use the ``orgsync`` fixture (the same function), or ``from conftest import run_orgsync``;
  ``output(result)`` is its exit code, stdout and stderr for an assertion's message;
  ``plan_json(path, env=...)`` (exit code 0 or 2, and the JSON plan) and
  ``apply_ok(path, env=...)`` (apply --auto-approve, which must succeed) run the two commands.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, SandboxOptions

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_orgsync(*args: str, env: dict[str, str] | None = None, input: str | None = None,
                timeout: float = 120, cwd: str | os.PathLike[str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run the real orgsync CLI in a subprocess; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args], env=env, input=input,
        capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    """A finished run's exit code, stdout and stderr, for an assertion's message."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def plan_json(path: str | os.PathLike[str], *, env: dict[str, str]) -> tuple[int, Any]:
    """``orgsync plan -f <path> --format json --detailed-exitcode``, which must exit 0 (no
    changes) or 2 (changes) without a traceback: the exit code and the plan document."""
    result = run_orgsync("plan", "-f", str(path), "--format", "json", "--detailed-exitcode",
                         env=env)
    assert result.returncode in (0, 2), output(result)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def apply_ok(path: str | os.PathLike[str], *, env: dict[str, str], timeout: float = 300) -> str:
    """``orgsync apply -f <path> --auto-approve``, which must succeed: its stdout."""
    result = run_orgsync("apply", "-f", str(path), "--auto-approve", env=env, timeout=timeout)
    assert result.returncode == 0, output(result)
    return result.stdout


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(port=0)) as sb:
        yield sb


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    sandbox_session.reset()
    yield sandbox_session


@pytest.fixture
def sandbox_options(sandbox: Sandbox) -> Any:
    """``with sandbox_options(create_delay_s=5): ...``: other options on the same server."""

    @contextlib.contextmanager
    def swap(**changes: Any) -> Iterator[Sandbox]:
        original = sandbox.options
        sandbox.options = dataclasses.replace(original, **changes)
        sandbox.reset()
        try:
            yield sandbox
        finally:
            sandbox.options = original
            sandbox.reset()

    return swap


@pytest.fixture
def sandbox_process_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
                        tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """This test process's own AWS environment pointed at the sandbox, for in-process ``Aws`` and
    boto3: the machine's AWS_* variables removed (no profile, session token or retry settings
    leak in), the sandbox's credentials and endpoint set, empty config and credentials files."""
    home = tmp_path_factory.mktemp("aws-home-process")
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    for variable, file in (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE",
                                                          "credentials")):
        (home / file).write_text("")
        monkeypatch.setenv(variable, str(home / file))
    return sandbox


@pytest.fixture
def aws_env(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("aws-home")
    config = home / "config"
    credentials = home / "credentials"
    config.write_text("")
    credentials.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env())
    env.update({
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "NO_COLOR": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    })
    return env


@pytest.fixture
def orgsync() -> Any:
    return run_orgsync
