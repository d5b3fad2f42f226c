"""Fixtures for apply's end-to-end tests: a working directory with a desired-state file and an AWS
config holding the invited account's ``legacy-admin`` bootstrap profile, and helpers that read the
sandbox's state through boto3 (as the management account) to check for duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import output as output  # the apply tests import it from here
from tests.desired_files import HEADER, ROOT_ABSENT

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "accounts.yaml"

# One of every kind of change apply makes, small enough for a fault sweep: one created account (in
# an OU, tagged, root credentials absent), one invited account bootstrapped through its profile
# (root credentials absent: the seeded standalone account has a password, a key and an MFA device),
# one group with a grant into both.
SMALL = HEADER + ROOT_ABSENT + """\
accounts:
  - name: app
    email: aws+app@example.com
    ou: /Workloads
    tags: {team: apps}
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
    ou: /Workloads
    bootstrap_profile: legacy-admin
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
"""


class Workdir:
    """A directory with accounts.yaml and the environment to run orgsync in it."""

    def __init__(self, path: Path, env: dict[str, str], sandbox: Any, run: Any) -> None:
        self.path = path
        self._run = run
        self.env = env
        self.sandbox = sandbox
        self.file = path / "accounts.yaml"

    def write(self, text: str) -> Path:
        self.file.write_text(text, encoding="utf-8")
        return self.file

    def orgsync(self, *args: str, timeout: float = 180, input: str | None = None) -> Any:
        return self._run(*args, env=self.env, cwd=str(self.path), timeout=timeout,
                           input=input)

    def apply(self, *args: str, timeout: float = 180) -> Any:
        return self.orgsync("apply", "--auto-approve", *args, timeout=timeout)

    def plan_exit(self) -> int:
        return int(self.orgsync("plan", "--detailed-exitcode").returncode)

    def apply_killed_at(self, operation: str, nth: int = 1, *, timeout: float = 60) -> bool:
        """Run apply in a subprocess and SIGKILL it as soon as the sandbox has seen call ``nth``
        of ``operation`` (counted from now); False if the apply finished first."""
        control = self.sandbox.control
        control.reset_counters()
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply", "--auto-approve"], env=self.env,
            cwd=str(self.path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if control.calls(operation) >= nth:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(10)
                    return True
                time.sleep(0.002)
            return False
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def add_bootstrap_profile(env: dict[str, str], sandbox: Any, *, index: int = 0,
                          profile: str = "legacy-admin") -> None:
    """Write ``profile`` (standalone account ``index``'s own keys) into the test's AWS files."""
    account = sandbox.info.standalone_accounts[index]
    with open(env["AWS_SHARED_CREDENTIALS_FILE"], "a", encoding="utf-8") as stream:
        stream.write(f"[{profile}]\naws_access_key_id = {account.access_key_id}\n"
                     f"aws_secret_access_key = {account.secret_access_key}\n\n")
    with open(env["AWS_CONFIG_FILE"], "a", encoding="utf-8") as stream:
        stream.write(f"[profile {profile}]\nregion = {sandbox.info.region}\n\n")


@pytest.fixture
def workdir(tmp_path: Path, aws_env: dict[str, str], sandbox: Any, orgsync: Any) -> Workdir:
    add_bootstrap_profile(aws_env, sandbox)
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    return Workdir(tmp_path, aws_env, sandbox, orgsync)


def accounts_by_email(sandbox: Any) -> Counter[str]:
    orgs = sandbox.client("organizations")
    emails: Counter[str] = Counter()
    for page in orgs.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            emails[account["Email"].lower()] += 1
    return emails


def create_requests_by_name(sandbox: Any) -> Counter[str]:
    """Non-failed CreateAccount requests per account name."""
    orgs = sandbox.client("organizations")
    names: Counter[str] = Counter()
    for page in orgs.get_paginator("list_create_account_status").paginate(
            States=["IN_PROGRESS", "SUCCEEDED"]):
        for request in page["CreateAccountStatuses"]:
            names[request["AccountName"]] += 1
    return names


def invitations_by_target(sandbox: Any) -> Counter[str]:
    orgs = sandbox.client("organizations")
    targets: Counter[str] = Counter()
    for page in orgs.get_paginator("list_handshakes_for_organization").paginate():
        for handshake in page["Handshakes"]:
            if handshake["State"] in ("CANCELED", "DECLINED", "EXPIRED"):
                continue
            for party in handshake["Parties"]:
                if party["Type"] == "ACCOUNT" and party["Id"] != "123456789012":
                    targets[party["Id"]] += 1
    return targets


def orgsync_policies(sandbox: Any) -> Counter[str]:
    iam = sandbox.client("iam")
    names: Counter[str] = Counter()
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page["Policies"]:
            names[policy["PolicyName"]] += 1
    return names


def assert_no_duplicates(sandbox: Any) -> None:
    for counter, what in ((accounts_by_email(sandbox), "accounts with one email"),
                          (create_requests_by_name(sandbox), "CreateAccount requests per name"),
                          (invitations_by_target(sandbox), "live invitations per account"),
                          (orgsync_policies(sandbox), "managed policies per name")):
        duplicates = {k: n for k, n in counter.items() if n > 1}
        assert not duplicates, f"duplicate {what}: {duplicates}"
