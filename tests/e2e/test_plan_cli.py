"""``orgsync plan`` through the real CLI against a fresh sandbox organization: the example file
plans exactly the expected changes in every format, a saved plan is the same document, the wrong
organization is refused, plan errors exit 1, and no secret ever reaches an output or a plan file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.aws.seed import sandbox_secrets
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "accounts.yaml"

EXPECTED_CHANGES = [
    ("organization.organization", "update"),
    ("ou./Security", "create"),
    ("ou./Workloads", "create"),
    ("ou./Workloads/Prod", "create"),
    ("ou./Workloads/Staging", "create"),
    ("account.legacy-analytics", "invite"),
    ("account.log-archive", "create"),
    ("account.prod", "create"),
    ("account.security-audit", "create"),
    ("account.staging", "create"),
    ("access_role.log-archive", "create"),
    ("access_role.prod", "create"),
    ("access_role.security-audit", "create"),
    ("access_role.staging", "create"),
    ("group.auditors", "create"),
    ("group.platform-admins", "create"),
    ("permission_set.Admin", "create"),
    ("permission_set.ReadOnly", "create"),
    ("assignment.security-audit/ReadOnly/group:auditors", "create"),
    ("root_credentials.log-archive", "update"),
    ("root_credentials.prod", "update"),
    ("root_credentials.security-audit", "update"),
    ("root_credentials.staging", "update"),
]


@pytest.fixture
def example(sandbox: Any, tmp_path: Path) -> Path:
    """The example file in a fresh organization where its IAM users exist."""
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    path = tmp_path / "accounts.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def test_fresh_organization_plans_exactly_the_expected_changes(
        example: Path, orgsync: Any, aws_env: dict[str, str]) -> None:
    result = orgsync("plan", "-f", str(example), "--format", "json", "--detailed-exitcode",
                     env=aws_env)
    assert result.returncode == 2, result.stderr
    document = json.loads(result.stdout)
    assert sorted((c["address"], c["action"]) for c in document["changes"]) == \
        sorted(EXPECTED_CHANGES)
    assert document["management_account_id"] == "123456789012"
    # what the invited account gets once it has joined, each with its action
    assert sorted((d["address"], d["action"], d["destructive"]) for d in document["deferred"]) \
        == [("access_role.legacy-analytics", "create", False),
            ("account.legacy-analytics", "update", False),
            ("root_credentials.legacy-analytics", "update", True)]
    assert "root_credentials.legacy-analytics" in document["destructive"]
    assert document["summary"]["deferred"] == 3
    assert document["unmanaged"] == [
        {"kind": "account", "id": "123456789012", "name": "management"}]
    assert document["summary"]["create"] == 17 and document["summary"]["invite"] == 1
    assert document["errors"] == []
    by_address = {c["address"]: c for c in document["changes"]}
    assert by_address["account.prod"]["after"]["ou"] == "/Workloads/Prod"
    assert by_address["account.legacy-analytics"]["after"]["id"] == "210987654321"
    assert "account.old-experiments" not in by_address  # closed and absent: nothing to do


def test_text_and_markdown_show_the_same_plan(example: Path, orgsync: Any,
                                              aws_env: dict[str, str]) -> None:
    text = orgsync("plan", "-f", str(example), env=aws_env)
    assert text.returncode == 0, text.stderr  # changes, but no --detailed-exitcode
    for address, _action in EXPECTED_CHANGES:
        assert address in text.stdout
    assert "\x1b[" not in text.stdout  # not a terminal: no colour
    markdown = orgsync("plan", "-f", str(example), "--format", "markdown", env=aws_env)
    assert markdown.returncode == 0, markdown.stderr
    assert "account.prod" in markdown.stdout and "|" in markdown.stdout


def test_saved_plan_is_the_printed_document(example: Path, orgsync: Any,
                                            aws_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = orgsync("plan", "-f", str(example), "--format", "json", "--out", str(out),
                     env=aws_env)
    assert result.returncode == 0, result.stderr
    saved = json.loads(out.read_text())
    printed = json.loads(result.stdout)
    assert saved["changes"] == printed["changes"]
    assert saved["management_account_id"] == "123456789012"
    shown = orgsync("show", str(out), "--format", "json", env=aws_env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["changes"] == printed["changes"]


def test_wrong_management_account_is_refused(example: Path, orgsync: Any,
                                             aws_env: dict[str, str], tmp_path: Path) -> None:
    text = example.read_text().replace('management_account_id: "123456789012"',
                                       'management_account_id: "999999999999"')
    other = tmp_path / "other.yaml"
    other.write_text(text)
    result = orgsync("plan", "-f", str(other), "--detailed-exitcode", "--out",
                     str(tmp_path / "p.json"), env=aws_env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "123456789012" in result.stderr and "999999999999" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.json").exists()


def test_missing_group_members_are_deferred_not_plan_errors(
        sandbox: Any, tmp_path: Path, orgsync: Any, aws_env: dict[str, str]) -> None:
    path = tmp_path / "accounts.yaml"
    shutil.copy(EXAMPLE, path)  # alice and bob do not exist in this organization
    result = orgsync("plan", "-f", str(path), "--detailed-exitcode", env=aws_env)
    assert result.returncode == 2  # the rest of the plan stays reviewable
    assert "IAM user(s) alice, bob to exist in the management account" in result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("alice, bob do not exist" in line for line in lines)
    assert all(line.startswith("orgsync: ") for line in lines)


def test_unreachable_endpoint_is_one_line(example: Path, orgsync: Any,
                                          aws_env: dict[str, str]) -> None:
    env = {**aws_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    result = orgsync("plan", "-f", str(example), env=env, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "127.0.0.1:9" in result.stderr


def test_debug_prints_call_counts_per_operation(example: Path, orgsync: Any,
                                                aws_env: dict[str, str]) -> None:
    result = orgsync("plan", "-f", str(example), "--debug", env=aws_env)
    assert result.returncode == 0, result.stderr
    assert "organizations:ListAccountsForParent" in result.stderr
    assert "AWS calls:" in result.stderr


def test_nothing_secret_in_any_output_or_plan_file(
        sandbox: Any, example: Path, orgsync: Any, aws_env: dict[str, str],
        tmp_path: Path) -> None:
    # a real member account, so that plan assumes roles and opens root sessions
    apply = orgsync("apply", "-f", str(example), "--auto-approve", env=aws_env, timeout=300)
    outputs = [apply.stdout, apply.stderr]
    for fmt in ("text", "json", "markdown"):
        out = tmp_path / f"plan-{fmt}.json"
        result = orgsync("plan", "-f", str(example), "--format", fmt, "--out", str(out),
                         "--debug", env=aws_env)
        assert result.returncode in (0, 1), result.stderr
        outputs += [result.stdout, result.stderr]
        if out.exists():
            outputs.append(out.read_text())
    secrets = sandbox_secrets(sandbox)
    assert len(secrets) >= 4  # the management key plus assumed-role and root sessions
    for output in outputs:
        for secret in secrets:
            assert secret not in output
