"""The CLI, through the real ``orgsync`` command against the sandbox: management
account tags converge, a saved plan is checked against the file it was made from, AWS_REGION is
honoured, and Ctrl-C exits 1 (CONTRACT section 3 has no other code for it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT
from tests.processes import default_signals

MANAGEMENT = "123456789012"

MANAGEMENT_TAGS = HEADER + MANAGEMENT_ACCOUNT + """\
    tags: {team: platform, cost-center: "42"}
"""


def test_management_account_tags_already_set_plan_no_change(
        sandbox: Any, tmp_path: Path, orgsync: Any, aws_env: dict[str, str]) -> None:
    sandbox.client("organizations").tag_resource(ResourceId=MANAGEMENT, Tags=[
        {"Key": "team", "Value": "platform"}, {"Key": "cost-center", "Value": "42"}])
    path = tmp_path / "accounts.yaml"
    path.write_text(MANAGEMENT_TAGS)
    result = orgsync("plan", "-f", str(path), "--format", "json", "--detailed-exitcode",
                     env=aws_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["changes"] == []

    sandbox.client("organizations").untag_resource(ResourceId=MANAGEMENT, TagKeys=["team"])
    result = orgsync("plan", "-f", str(path), "--format", "json", "--detailed-exitcode",
                     env=aws_env)
    assert result.returncode == 2, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [(c["address"], c["action"]) for c in changes] == [("account.management", "update")]


def test_saved_plan_is_checked_against_the_file_it_was_made_from(
        sandbox: Any, tmp_path: Path, orgsync: Any, aws_env: dict[str, str]) -> None:
    source = tmp_path / "repo" / "accounts.yaml"
    source.parent.mkdir()
    source.write_text(MANAGEMENT_TAGS.replace("    tags: {team: platform, cost-center: \"42\"}\n",
                                              ""))
    workdir = tmp_path / "work"
    workdir.mkdir()
    unrelated = workdir / "accounts.yaml"  # apply's -f default, not the plan's file
    unrelated.write_text(source.read_text() + "# another file\n")
    made = orgsync("plan", "-f", str(source), "--out", "plan.json", env=aws_env, cwd=workdir)
    assert made.returncode == 0, made.stderr

    applied = orgsync("apply", "plan.json", "--auto-approve", env=aws_env, cwd=workdir)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Nothing to apply" in applied.stdout

    explicit = orgsync("apply", "plan.json", "-f", str(unrelated), "--auto-approve",
                       env=aws_env, cwd=workdir)
    assert explicit.returncode == 1
    assert f"stale plan: {unrelated} changed" in explicit.stderr

    missing = orgsync("apply", "plan.json", "-f", "nope.yaml", "--auto-approve", env=aws_env,
                      cwd=workdir)
    assert missing.returncode == 1 and "nope.yaml" in missing.stderr

    source.write_text(source.read_text() + "# edited after review\n")
    stale = orgsync("apply", "plan.json", "--auto-approve", env=aws_env, cwd=workdir)
    assert stale.returncode == 1
    assert f"stale plan: {source} changed" in stale.stderr


def test_aws_region_is_the_default_region(tmp_path: Path, orgsync: Any,
                                          aws_env: dict[str, str]) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(MANAGEMENT_TAGS + """\
  - name: prod
    email: aws+prod@example.com
    id: "210987654321"
""")
    env = {**aws_env, "AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}
    result = orgsync("profiles", "-f", str(path), "--format", "ini", env=env)
    assert result.returncode == 0, result.stderr
    assert "region = eu-west-2" in result.stdout
    env.pop("AWS_REGION")
    result = orgsync("profiles", "-f", str(path), "--format", "ini", env=env)
    assert "region = us-east-1" in result.stdout
    result = orgsync("profiles", "-f", str(path), "--format", "ini", "--region", "sa-east-1",
                     env={**env, "AWS_REGION": "eu-west-2"})
    assert "region = sa-east-1" in result.stdout


def test_ctrl_c_exits_1_with_one_line(sandbox_options: Any, tmp_path: Path,
                                      aws_env: dict[str, str]) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(MANAGEMENT_TAGS)
    with sandbox_options(latency_ms=4000) as sandbox:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "plan", "-f", str(path)], env=aws_env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=default_signals)
        try:
            deadline = time.monotonic() + 30
            while not sandbox.control.counters() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sandbox.control.counters(), "orgsync never called the sandbox"
            os.kill(process.pid, signal.SIGINT)  # while its first call is in flight
            _stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 1
    assert stderr.strip().splitlines() == ["orgsync: interrupted"]
