"""orgsync with an MFA session, through the real CLI against the sandbox.

The example's ``prod`` account has ``require_mfa: true``: its access role admits only sessions with
MFA, orgsync's own included. Applied with ``--mfa-serial``/``--mfa-token`` the example converges
completely (prod's role is created with the MFA condition and test-assumed with the MFA session),
a plan with MFA has nothing left, a plan without MFA defers ``access_role.prod`` and says how to
run with MFA, ``assume prod`` works with MFA only, and a wrong device is one error line. The
options' own errors (no code and no terminal, a code without a device, a malformed code) and the
prompt on a terminal are checked too. No secret and no MFA code reaches any output."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.aws.seed import key_client, sandbox_secrets
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "accounts.yaml"
CODE = "864209"
LEGACY = "210987654321"


def _bootstrap_profile(env: dict[str, str], sandbox: Any) -> None:
    """The invited account's own keys as the example's ``legacy-admin`` profile."""
    account = next(a for a in sandbox.info.standalone_accounts if a.id == LEGACY)
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[legacy-admin]\naws_access_key_id = {account.access_key_id}\n"
        f"aws_secret_access_key = {account.secret_access_key}\n")
    Path(env["AWS_CONFIG_FILE"]).write_text(
        f"[profile legacy-admin]\nregion = {sandbox.info.region}\n")


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("orgsync: error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_example_with_mfa_converges_and_without_mfa_defers_prod(
        sandbox_options: Any, aws_env: dict[str, str], orgsync: Any, tmp_path: Path) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        for user in ("alice", "bob"):
            sandbox.client("iam").create_user(UserName=user)
        _bootstrap_profile(aws_env, sandbox)
        example = tmp_path / "accounts.yaml"
        shutil.copy(EXAMPLE, example)
        serial = sandbox.info.mfa_serial
        mfa = ["--mfa-serial", serial, "--mfa-token", CODE]
        env_mfa = {**aws_env, "ORGSYNC_MFA_SERIAL": serial, "ORGSYNC_MFA_TOKEN": CODE}
        outputs: list[str] = []

        def run(*args: str, env: dict[str, str] = aws_env) -> subprocess.CompletedProcess[str]:
            result = orgsync(*args, "-f", str(example), env=env, cwd=str(tmp_path))
            outputs.append(result.stdout + result.stderr)
            return result

        applied = run("apply", "--auto-approve", *mfa)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "converged: a new plan has no changes." in applied.stdout
        assert re.search(r"done access_role\.prod: .*assumable from the management account "
                         r"with MFA", applied.stdout), applied.stdout
        assert "deferred access_role.prod" not in applied.stdout

        # the role really is there, with the MFA condition, and admits an MFA session only
        org = sandbox.client("organizations")
        prod = next(a["Id"] for a in org.list_accounts()["Accounts"]
                    if a["Email"] == "aws+prod@example.com")
        arn = f"arn:aws:iam::{prod}:role/OrganizationAccountAccessRole"
        credentials = sandbox.client("sts").assume_role(
            RoleArn=arn, RoleSessionName="check", SerialNumber=serial,
            TokenCode="111111")["Credentials"]
        iam = key_client(sandbox, "iam", credentials)
        trust = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"][
            "AssumeRolePolicyDocument"]
        assert [s.get("Condition") for s in trust["Statement"]] == [
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}}]

        # with MFA (here from the environment) nothing is left, nothing deferred
        again = run("plan", "--detailed-exitcode", "--format", "json", env=env_mfa)
        assert again.returncode == 0, again.stdout + again.stderr
        document = json.loads(again.stdout)
        assert document["changes"] == [] and document["deferred"] == []

        # a plan saved with MFA applies with a new code (same observation: not stale)
        saved = run("plan", "--out", str(tmp_path / "saved.plan"), *mfa)
        assert saved.returncode == 0, saved.stderr
        reviewed = orgsync("apply", str(tmp_path / "saved.plan"), "--auto-approve", "-f",
                           str(example), "--mfa-serial", serial, "--mfa-token", "975310",
                           env=aws_env, cwd=str(tmp_path))
        outputs.append(reviewed.stdout + reviewed.stderr)
        assert reviewed.returncode == 0, reviewed.stdout + reviewed.stderr
        assert "Nothing to apply." in reviewed.stdout

        # without MFA the role cannot be read: deferred, with how to run with MFA
        plain = run("plan", "--detailed-exitcode", "--format", "json")
        assert plain.returncode == 0, plain.stdout + plain.stderr
        deferred = {d["address"]: d["waiting_for"] for d in json.loads(plain.stdout)["deferred"]}
        assert list(deferred) == ["access_role.prod"]
        assert deferred["access_role.prod"].startswith("credentials with MFA: ")
        assert "--mfa-serial" in deferred["access_role.prod"]
        assert "ORGSYNC_MFA_SERIAL" in deferred["access_role.prod"]

        # a device that is not the caller's: one line naming it, exit 1
        wrong = "arn:aws:iam::123456789012:mfa/nobody"
        refused = run("plan", "--mfa-serial", wrong, "--mfa-token", CODE)
        line = _one_error_line(refused)
        assert f"could not start an MFA session with {wrong}" in line

        # assume: the role's credentials with MFA, a refusal without
        assumed = orgsync("assume", "prod", "-f", str(example), "--credential-process", *mfa,
                          env=aws_env, cwd=str(tmp_path))
        assert assumed.returncode == 0, assumed.stderr
        process = json.loads(assumed.stdout)
        sts = key_client(sandbox, "sts", process)
        assert sts.get_caller_identity()["Arn"].startswith(
            f"arn:aws:sts::{prod}:assumed-role/OrganizationAccountAccessRole/")
        denied = run("assume", "prod")
        assert "AccessDenied" in _one_error_line(denied)

        secrets = sandbox_secrets(sandbox)
        for text in outputs:
            assert CODE not in text
            assert not any(secret in text for secret in secrets)
        # one MFA session per command that entered member accounts
        assert sandbox.control.calls("sts.GetSessionToken") == 6


def test_mfa_option_errors_are_one_line(orgsync: Any, aws_env: dict[str, str],
                                        tmp_path: Path) -> None:
    example = tmp_path / "accounts.yaml"
    shutil.copy(EXAMPLE, example)
    serial = "arn:aws:iam::123456789012:mfa/admin"
    no_code = orgsync("plan", "-f", str(example), "--mfa-serial", serial, env=aws_env)
    line = _one_error_line(no_code)
    assert serial in line and "--mfa-token" in line and "ORGSYNC_MFA_TOKEN" in line
    no_device = orgsync("apply", "-f", str(example), "--auto-approve", env={
        **aws_env, "ORGSYNC_MFA_TOKEN": "123456"})
    assert "needs --mfa-serial" in _one_error_line(no_device)
    malformed = orgsync("export", "--mfa-serial", serial, "--mfa-token", "12345", env=aws_env)
    assert "6 digits" in _one_error_line(malformed)


def test_the_code_is_asked_for_on_a_terminal(sandbox: Any, aws_env: dict[str, str],
                                             tmp_path: Path) -> None:
    from tests.aws.seed import create_member

    create_member(sandbox.client("organizations"), name="solo", email="aws+solo@example.com")
    path = tmp_path / "accounts.yaml"
    path.write_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                    "accounts:\n  - name: solo\n    email: aws+solo@example.com\n"
                    "    access_role: {require_mfa: true}\n")
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "plan", "-f", str(path), "--detailed-exitcode",
         "--mfa-serial", sandbox.info.mfa_serial], stdin=slave, stdout=slave, stderr=slave,
        env=aws_env, cwd=tmp_path, close_fds=True)
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the process has ended
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"MFA code for " + sandbox.info.mfa_serial.encode() in seen:
                os.write(master, b"135790\n")
                answered = True
        code = process.wait(timeout=30)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    text = seen.decode(errors="replace")
    assert answered, text
    # the trust of the created account's role gains the MFA condition: one update, read with MFA
    assert code == 2, text
    assert "access_role.solo" in text and "credentials with MFA" not in text
    assert sandbox.control.calls("sts.GetSessionToken") == 1
