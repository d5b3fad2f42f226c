"""``orgsync sandbox env`` / ``--users`` / ``accept-invitation``: a shell and a tutorial reach a
running sandbox with orgsync's own commands (no jq, no boto3 script), through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import run_orgsync
from tests.processes import sandbox_process


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An ``orgsync sandbox --users alice,bob`` process; yields its info file."""
    with sandbox_process("--users", "alice, bob",
                         info_file=tmp_path_factory.mktemp("sandbox") / "sandbox.json") as running:
        yield running.info_file


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_PROFILE"] = "does-not-exist"  # `env` must unset it
    return env


def test_env_exports_point_a_shell_and_the_aws_cli_at_the_sandbox(running: Path) -> None:
    exports = run_orgsync("sandbox", "env", "--info-file", str(running))
    assert exports.returncode == 0, exports.stderr
    names = [line.split()[1].split("=")[0] for line in exports.stdout.splitlines()
             if line.startswith("export ")]
    assert names == ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_REGION", "AWS_DEFAULT_REGION"]
    script = (f'eval "$({sys.executable} -m reconciler.cli sandbox env --info-file {running})" '
              f"&& {sys.executable} -m awscli iam list-users --output json")
    result = subprocess.run(["bash", "-c", script], env=_clean_env(), capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    users = {u["UserName"] for u in json.loads(result.stdout)["Users"]}
    assert users == {"admin", "alice", "bob"}  # --users seeded the management account


def test_accept_invitation_as_the_invited_account(running: Path) -> None:
    info = json.loads(running.read_text())
    invited = info["standalone_accounts"][1]["id"]
    refused = run_orgsync("sandbox", "accept-invitation", invited, "--info-file", str(running))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"orgsync: error: {invited}: no open invitation (run `orgsync apply` for a file that "
        "invites it first)"]
    management = boto3.client(
        "organizations", endpoint_url=info["endpoint_url"], region_name=info["region"],
        aws_access_key_id=info["access_key_id"], aws_secret_access_key=info["secret_access_key"])
    management.invite_account_to_organization(Target={"Id": invited, "Type": "ACCOUNT"})
    accepted = run_orgsync("sandbox", "accept-invitation", invited, "--info-file", str(running))
    assert accepted.returncode == 0, accepted.stderr
    assert f"{invited} accepted invitation h-" in accepted.stdout
    members = {a["Id"] for page in management.get_paginator("list_accounts").paginate()
               for a in page["Accounts"]}
    assert invited in members


@pytest.mark.parametrize(("args", "message"), [
    (["accept-invitation", "999999999999"], "999999999999: not a standalone account of this "
     "sandbox (known: 210987654321, 310987654321, 410987654321)"),
])
def test_accept_invitation_refuses_an_unknown_account(running: Path, args: list[str],
                                                      message: str) -> None:
    result = run_orgsync("sandbox", *args, "--info-file", str(running))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"orgsync: error: {message}"]


def test_env_without_a_running_sandbox_is_one_line(tmp_path: Path) -> None:
    result = run_orgsync("sandbox", "env", "--info-file", str(tmp_path / "none.json"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"orgsync: error: {tmp_path / 'none.json'}: no such file (start `orgsync sandbox "
        f"--info-file {tmp_path / 'none.json'}` first)"]


def test_users_refuses_a_bad_name() -> None:
    result = run_orgsync("sandbox", "--users", "alice,bad name")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "orgsync: error: --users: 'bad name' is not an IAM user name ([A-Za-z0-9_+=,.@-], "
        "1 to 64 characters)"]
