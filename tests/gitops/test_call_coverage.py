"""Every AWS operation orgsync performs is allowed by ``orgsync permissions``.

Two sources of recorded calls (ORGSYNC_CALL_LOG, written by the AWS layer's call log):

1. A life cycle of examples/accounts.yaml run here through the real CLI: plan, apply of a saved
   plan (create, invite, groups, root features), the invitation accepted, apply again (bootstrap
   of the invited account's role with its profile, root credentials removed), then a changed file
   (rename, move, tags, a group removed, an account closed): plan and apply; then export.
2. Every orgsync CLI run of this test session (tests/gitops/conftest.py points ORGSYNC_CALL_LOG at
   a session file; this test runs last in its process).

Calls by ``orgsync plan`` must be allowed by the plan policy, all calls by the apply policy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .coverage import Call, read_calls, uncovered
from .helpers import orgsync

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "accounts.yaml"
# Commands that talk to the local emulator for their own set-up, not to the user's AWS.
NOT_ORGSYNC_AWS_ACCESS = frozenset({"demo", "sandbox"})


def _bootstrap_profile(aws_env: dict[str, str], sandbox) -> None:
    """The invited account's own credentials as the profile ``legacy-admin`` (its admin)."""
    account = next(a for a in sandbox.info.standalone_accounts if a.id == "210987654321")
    Path(aws_env["AWS_CONFIG_FILE"]).write_text(
        f"[profile legacy-admin]\nregion = {sandbox.info.region}\n")
    Path(aws_env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[legacy-admin]\naws_access_key_id = {account.access_key_id}\n"
        f"aws_secret_access_key = {account.secret_access_key}\n")


def _run(args: list[str], *, aws_env: dict[str, str], cwd: Path, log: Path,
         ok: tuple[int, ...] = (0,)) -> str:
    result = orgsync(args, env=aws_env, cwd=cwd, extra_env={"ORGSYNC_CALL_LOG": str(log)})
    assert result.returncode in ok, f"orgsync {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def _changed(text: str) -> str:
    """The example after a second pull request: rename, move, re-tag, close, drop a group."""
    text = text.replace(
        "    ou: /Workloads/Staging\n    tags: {team: payments, environment: staging}",
        "    ou: /Workloads/Prod\n    tags: {team: platform}")
    text = text.replace("  - name: staging\n", "  - name: staging-eu\n")
    text = text.replace("        - staging]", "        - staging-eu]")
    text = text.replace("[prod, staging]", "[prod, staging-eu]")
    text = text.replace("  - name: log-archive\n    email: aws+log-archive@example.com\n",
                        "  - name: log-archive\n    email: aws+log-archive@example.com\n"
                        "    state: closed\n")
    head, sep, _auditors = text.partition("  - name: auditors\n")
    assert sep, "the example changed: update this test's edits"
    return head


@pytest.mark.timeout(600)
def test_example_life_cycle_calls_are_covered(sandbox, aws_env, tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(EXAMPLE.read_text())
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    _bootstrap_profile(aws_env, sandbox)

    _run(["plan", "-f", str(accounts), "--out", str(tmp_path / "plan.json")],
         aws_env=aws_env, cwd=tmp_path, log=log)
    _run(["apply", str(tmp_path / "plan.json"), "-f", str(accounts), "--auto-approve"],
         aws_env=aws_env, cwd=tmp_path, log=log, ok=(0, 1))
    orgs = sandbox.client("organizations")
    pending = [h for h in orgs.list_handshakes_for_organization()["Handshakes"]
               if h["State"] in ("OPEN", "REQUESTED")]
    for handshake in pending:
        sandbox.control.accept_handshake(handshake["Id"])
    _run(["apply", "-f", str(accounts), "--auto-approve"], aws_env=aws_env, cwd=tmp_path,
         log=log, ok=(0, 1))
    _run(["plan", "-f", str(accounts), "--detailed-exitcode"], aws_env=aws_env, cwd=tmp_path,
         log=log, ok=(0, 2))

    accounts.write_text(_changed(accounts.read_text()))
    _run(["plan", "-f", str(accounts), "--detailed-exitcode"], aws_env=aws_env, cwd=tmp_path,
         log=log, ok=(2,))
    _run(["apply", "-f", str(accounts), "--auto-approve"], aws_env=aws_env, cwd=tmp_path,
         log=log, ok=(0, 1))
    _run(["export", "--out", str(tmp_path / "exported.yaml")], aws_env=aws_env, cwd=tmp_path,
         log=log)

    calls = read_calls([log])
    operations = {c.operation for c in calls}
    # The life cycle really exercised each kind (else the check below proves little).
    for expected in ("organizations:CreateAccount", "organizations:InviteAccountToOrganization",
                     "organizations:CreateOrganizationalUnit", "organizations:MoveAccount",
                     "organizations:CloseAccount", "iam:CreateGroup", "iam:DeleteGroup",
                     "sts:AssumeRole", "sts:AssumeRoot", "iam:CreateRole"):
        assert expected in operations, f"{expected} was never called: {sorted(operations)}"
    assert {c.scope for c in calls} >= {"management", "member", "root", "profile"}
    assert {c.command for c in calls} >= {"plan", "apply", "export"}
    assert uncovered(calls) == []
    assert sandbox.info.secret_access_key not in log.read_text()


@pytest.mark.call_coverage_last
def test_every_orgsync_run_of_this_session_is_covered() -> None:
    path = os.environ.get("ORGSYNC_CALL_LOG")
    if not path:
        pytest.skip("ORGSYNC_CALL_LOG is not set (tests/gitops/conftest.py sets it)")
    calls = [c for c in read_calls([Path(path)])
             if c.command and c.command not in NOT_ORGSYNC_AWS_ACCESS]
    if not calls:
        pytest.skip("no orgsync run against the sandbox was recorded in this session")
    assert uncovered(calls) == []


def test_checker_flags_what_the_policies_do_not_allow() -> None:
    """The checker can fail: calls outside the policies are reported, by policy."""
    calls = [Call("organizations:CreateAccount", "management", "plan"),
             Call("organizations:DeleteOrganization", "management", "apply"),
             Call("iam:DeleteLoginProfile", "root", "plan"),
             Call("iam:CreateRole", "member", "plan"),
             Call("organizations:ListRoots", "management", "plan")]
    problems = uncovered(calls)
    assert any("CreateAccount" in p and "--for plan" in p for p in problems)
    assert any("DeleteOrganization" in p and "--for apply" in p for p in problems)
    assert any("DeleteLoginProfile" in p and "root task" in p for p in problems)
    assert any("iam:CreateRole" in p and "--for member" in p for p in problems)
    assert not any("ListRoots" in p for p in problems)
    assert json.dumps(problems)
