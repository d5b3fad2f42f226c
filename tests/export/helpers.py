"""Shared steps for the export/profiles/assume sandbox tests: run the real CLI, build an
organization by hand with boto3 (as someone who never used orgsync would), wait for AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ORGSYNC = [sys.executable, "-m", "reconciler.cli"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def base_env(sandbox: Any, home: Path, **extra: str) -> dict[str, str]:
    """The sandbox's management credentials, with AWS config files of our own (never the
    user's) and no colour; the CLI runs this checkout's code (PYTHONPATH), whatever the cwd."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                      env.get("PYTHONPATH")]))
    env.update(HOME=str(home), NO_COLOR="1",
               AWS_CONFIG_FILE=str(home / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"))
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, cwd: Path,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ORGSYNC, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def aws_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["aws", *args, "--output", "json"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def create_account(org: Any, *, name: str, email: str, **kwargs: Any) -> str:
    """CreateAccount and wait for it (the sandbox may keep it IN_PROGRESS for a while)."""
    request = org.create_account(AccountName=name, Email=email, **kwargs)["CreateAccountStatus"]
    deadline = time.monotonic() + 60
    while True:
        status = org.describe_create_account_status(
            CreateAccountRequestId=request["Id"])["CreateAccountStatus"]
        if status["State"] == "SUCCEEDED":
            return str(status["AccountId"])
        assert status["State"] == "IN_PROGRESS", status
        assert time.monotonic() < deadline, "CreateAccount did not finish"
        time.sleep(0.2)


def invite_and_accept(sandbox: Any, account: Any) -> None:
    """Invite a standalone account by id and accept with its own credentials."""
    org = sandbox.client("organizations")
    handshake = org.invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": account.id})["Handshake"]
    own = sandbox.client("organizations", account=account)
    own.accept_handshake(HandshakeId=handshake["Id"])


def accept_pending_invitations(sandbox: Any) -> int:
    """Accept every open invitation, each with its standalone account's own credentials."""
    accepted = 0
    for account in sandbox.info.standalone_accounts:
        own = sandbox.client("organizations", account=account)
        for handshake in own.list_handshakes_for_account()["Handshakes"]:
            if handshake["State"] in ("OPEN", "REQUESTED"):
                own.accept_handshake(HandshakeId=handshake["Id"])
                accepted += 1
    return accepted


def trust_management(management_account_id: str) -> str:
    return ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
            f'{{"AWS": "arn:aws:iam::{management_account_id}:root"}}, '
            '"Action": "sts:AssumeRole"}]}')


def write_credentials(home: Path, profiles: dict[str, tuple[str, str]]) -> None:
    lines = []
    for name, (key, secret) in profiles.items():
        lines += [f"[{name}]", f"aws_access_key_id = {key}", f"aws_secret_access_key = {secret}",
                  ""]
    (home / "aws-credentials").write_text("\n".join(lines))
