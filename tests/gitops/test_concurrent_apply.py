"""Two ``orgsync apply --auto-approve`` runs against one organization at the same time.

One waits for the other's lock (or, without ``--lock-timeout``, fails cleanly naming the holder),
the organization ends converged, and nothing is done twice: every account is created once
(counted from each process's own call log and from the organization itself).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import boto3

from reconciler.aws import Aws
from reconciler.lock import apply_lock, read_lock
from tests.desired_files import HEADER

from .helpers import orgsync, start_orgsync

MANAGEMENT = "123456789012"
NEW_ACCOUNTS = ("race-a", "race-b", "race-c")
ACCOUNTS_YAML = HEADER + """accounts:
""" + "".join(f"""  - name: {name}
    email: aws+{name}@example.com
    ou: /Race/Workloads
    tags: {{team: {name}}}
""" for name in NEW_ACCOUNTS) + """groups:
  - name: race-admins
    members: []
    assume:
      - accounts: ["*"]
"""


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(ACCOUNTS_YAML)
    return path


def _organizations(sandbox):
    info = sandbox.info
    return boto3.client("organizations", endpoint_url=info.endpoint_url, region_name=info.region,
                        aws_access_key_id=info.access_key_id,
                        aws_secret_access_key=info.secret_access_key)


def _account_emails(sandbox) -> Counter[str]:
    client = _organizations(sandbox)
    emails: Counter[str] = Counter()
    for page in client.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            emails[account["Email"]] += 1
    return emails


def _calls(log: Path) -> Counter[str]:
    if not log.exists():
        return Counter()
    return Counter(json.loads(line)["operation"] for line in log.read_text().splitlines())


def _assert_converged(sandbox, aws_env: dict[str, str], accounts_file: Path, secret: str
                      ) -> None:
    again = orgsync(["plan", "-f", str(accounts_file), "--detailed-exitcode"],
                    env=aws_env, cwd=accounts_file.parent)
    assert again.returncode == 0, again.stdout + again.stderr
    assert secret not in again.stdout + again.stderr
    emails = _account_emails(sandbox)
    for name in NEW_ACCOUNTS:
        assert emails[f"aws+{name}@example.com"] == 1, emails


def test_two_applies_at_once_one_waits_and_nothing_is_done_twice(
        sandbox, aws_env, tmp_path: Path, sandbox_process_env) -> None:
    accounts_file = _write(tmp_path)
    gate = Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)
    logs = [tmp_path / "calls-1.jsonl", tmp_path / "calls-2.jsonl"]
    # Hold the lock while both start, so that both are certainly running (and contending) at
    # once; once it is released, they race for it.
    with apply_lock(gate, timeout_s=0, holder="test-gate@pytest"):
        runs = [start_orgsync(["apply", "-f", str(accounts_file), "--auto-approve",
                               "--lock-timeout", "180"], env=aws_env, cwd=tmp_path,
                              extra_env={"ORGSYNC_CALL_LOG": str(log)}) for log in logs]
        deadline = time.monotonic() + 60
        # Both have found the lock held: a refused CreatePolicy is followed by a GetPolicy of the
        # holder (the call log records a call as it is made, so allow its answer to arrive).
        while (sum(_calls(log)["iam:GetPolicy"] >= 1 for log in logs) < 2
               and time.monotonic() < deadline):
            time.sleep(0.1)
        time.sleep(0.5)
        assert all(run.poll() is None for run in runs), "a run ended while the lock was held"
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
        assert "waiting up to 180 s for the apply lock held by" in stderr
        assert "Traceback" not in stderr
        assert sandbox.info.secret_access_key not in stdout + stderr

    creates = [_calls(log)["organizations:CreateAccount"] for log in logs]
    assert sorted(creates) == [0, len(NEW_ACCOUNTS)], creates
    idle = outputs[creates.index(0)][0]
    assert "Nothing to apply" in idle
    assert read_lock(gate, account_id=MANAGEMENT) is None
    _assert_converged(sandbox, aws_env, accounts_file, sandbox.info.secret_access_key)


def test_two_applies_started_together_converge_without_duplicates(sandbox, aws_env,
                                                                  tmp_path: Path) -> None:
    """No gate: whichever takes the lock first applies; the other applies nothing."""
    accounts_file = _write(tmp_path)
    logs = [tmp_path / "calls-1.jsonl", tmp_path / "calls-2.jsonl"]
    runs = [start_orgsync(["apply", "-f", str(accounts_file), "--auto-approve",
                           "--lock-timeout", "180"], env=aws_env, cwd=tmp_path,
                          extra_env={"ORGSYNC_CALL_LOG": str(log)}) for log in logs]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
    creates = [_calls(log)["organizations:CreateAccount"] for log in logs]
    assert sorted(creates) == [0, len(NEW_ACCOUNTS)], creates
    _assert_converged(sandbox, aws_env, accounts_file, sandbox.info.secret_access_key)


def test_apply_without_lock_timeout_fails_cleanly_while_another_holds_it(
        sandbox, aws_env, tmp_path: Path, sandbox_process_env) -> None:
    accounts_file = _write(tmp_path)
    other = Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)
    log = tmp_path / "calls.jsonl"
    with apply_lock(other, timeout_s=0, holder="colleague@laptop") as held:
        refused = orgsync(["apply", "-f", str(accounts_file), "--auto-approve"],
                          env=aws_env, cwd=tmp_path,
                          extra_env={"ORGSYNC_CALL_LOG": str(log)})
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    (line,) = lines
    assert line.startswith("orgsync: error:")
    for expected in ("colleague@laptop", held.lock_id, held.since,
                     f"orgsync force-unlock {held.lock_id}"):
        assert expected in line
    # Refused before reading or changing anything in the organization.
    assert not [op for op in _calls(log) if op.startswith("organizations:")]
    assert _account_emails(sandbox)["aws+race-a@example.com"] == 0


def test_lock_is_released_after_a_failed_apply(sandbox, aws_env, tmp_path: Path,
                                               sandbox_process_env) -> None:
    """An apply refused inside the lock (wrong organization) leaves no lock behind."""
    path = tmp_path / "accounts.yaml"
    path.write_text(ACCOUNTS_YAML.replace('"123456789012"', '"999999999999"'))
    result = orgsync(["apply", "-f", str(path), "--auto-approve"],
                     env=aws_env, cwd=tmp_path)
    assert result.returncode == 1
    aws = Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)
    assert read_lock(aws, account_id=MANAGEMENT) is None


def test_the_lock_is_not_seen_as_drift_by_a_saved_plan(sandbox, aws_env, tmp_path: Path,
                                                       sandbox_process_env) -> None:
    """Apply takes the lock before it re-reads AWS to check a saved plan: the lock policy must
    not count as something observed (or every reviewed plan would be stale)."""
    accounts_file = _write(tmp_path)
    saved = tmp_path / "plan.json"
    planned = orgsync(["plan", "-f", str(accounts_file), "--out", str(saved)], env=aws_env,
                      cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    other = Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)
    with apply_lock(other, timeout_s=0, holder="reviewer@laptop"):
        again = orgsync(["plan", "-f", str(accounts_file), "--format", "json"], env=aws_env,
                        cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changes"] == json.loads(saved.read_text())["changes"]
    applied = orgsync(["apply", str(saved), "-f", str(accounts_file), "--auto-approve"],
                      env=aws_env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "stale" not in applied.stdout + applied.stderr
    _assert_converged(sandbox, aws_env, accounts_file, sandbox.info.secret_access_key)
