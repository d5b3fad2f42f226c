"""What apply refuses, and that a refusal changes nothing: no terminal without --auto-approve,
saved plans that are altered or stale, plans with errors."""

from __future__ import annotations

import json

from .conftest import SMALL, Workdir, output

MUTATING_PREFIXES = ("Create", "Put", "Delete", "Attach", "Detach", "Enable", "Disable", "Invite",
                     "Move", "Tag", "Untag", "Close", "Add", "Remove", "Update", "Deactivate")


def mutating_calls(counters: dict[str, int]) -> dict[str, int]:
    return {op: n for op, n in counters.items()
            if op.split(".", 1)[1].startswith(MUTATING_PREFIXES)}


def test_no_terminal_without_auto_approve_is_refused(workdir: Workdir) -> None:
    workdir.write(SMALL)
    workdir.sandbox.control.reset_counters()
    result = workdir.orgsync("apply")
    assert result.returncode == 1, output(result)
    assert "no terminal" in result.stderr
    assert "Traceback" not in result.stderr
    assert mutating_calls(workdir.sandbox.control.counters()) == {}


def test_saved_plan_applies_when_nothing_changed(workdir: Workdir) -> None:
    workdir.write(SMALL.replace("    bootstrap_profile: legacy-admin\n", ""))
    saved = workdir.orgsync("plan", "--out", "plan.json")
    assert saved.returncode == 0, output(saved)
    result = workdir.orgsync("apply", "plan.json", "--auto-approve")
    assert result.returncode == 0, output(result)
    assert "done account.app" in result.stdout


def test_altered_saved_plan_is_refused(workdir: Workdir) -> None:
    workdir.write(SMALL)
    assert workdir.orgsync("plan", "--out", "plan.json").returncode == 0
    plan_file = workdir.path / "plan.json"
    document = json.loads(plan_file.read_text())
    document["changes"][0]["reason"] = "something else"
    plan_file.write_text(json.dumps(document, indent=2))
    workdir.sandbox.control.reset_counters()
    result = workdir.orgsync("apply", "plan.json", "--auto-approve")
    assert result.returncode == 1, output(result)
    assert "altered" in result.stderr
    assert mutating_calls(workdir.sandbox.control.counters()) == {}


def test_stale_saved_plan_is_refused_when_aws_changed(workdir: Workdir) -> None:
    workdir.write(SMALL)
    assert workdir.orgsync("plan", "--out", "plan.json").returncode == 0
    # Something orgsync observed changes, even though the plan does not change it.
    orgs = workdir.sandbox.client("organizations")
    root = orgs.list_roots()["Roots"][0]["Id"]
    orgs.create_organizational_unit(ParentId=root, Name="Workloads")
    workdir.sandbox.control.reset_counters()
    result = workdir.orgsync("apply", "plan.json", "--auto-approve")
    assert result.returncode == 1, output(result)
    assert "stale" in result.stderr
    counters = workdir.sandbox.control.counters()
    # the apply lock is taken and released (IAM CreatePolicy/DeletePolicy on /orgsync-lock/);
    # nothing else is written
    assert {op for op in mutating_calls(counters)} <= {"iam.CreatePolicy", "iam.DeletePolicy"}
    assert counters.get("organizations.CreateAccount", 0) == 0


def test_stale_saved_plan_is_refused_when_the_file_changed(workdir: Workdir) -> None:
    workdir.write(SMALL)
    assert workdir.orgsync("plan", "--out", "plan.json").returncode == 0
    workdir.write(SMALL.replace("team: apps", "team: other"))
    result = workdir.orgsync("apply", "plan.json", "--auto-approve")
    assert result.returncode == 1, output(result)
    assert "stale" in result.stderr and "accounts.yaml" in result.stderr


def test_plan_errors_are_refused(workdir: Workdir) -> None:
    # an id the organization does not have, on an account orgsync would create: a plan error
    # (a group member that is not an IAM user is deferred instead: test_group_ownership.py)
    workdir.write(SMALL.replace("  - name: app\n", '  - name: app\n    id: "999999999999"\n'))
    workdir.sandbox.control.reset_counters()
    result = workdir.apply()
    assert result.returncode == 1, output(result)
    assert "nothing was changed" in result.stderr
    assert {op for op in mutating_calls(workdir.sandbox.control.counters())} <= {
        "iam.CreatePolicy", "iam.DeletePolicy"}


def _apply_on_terminal(workdir: Workdir, answer: str) -> tuple[int, str]:
    """Run ``orgsync apply`` with a pseudo-terminal as stdin and stderr, answering ``answer``."""
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply"], env=workdir.env,
            cwd=str(workdir.path), stdin=slave, stderr=slave, stdout=subprocess.PIPE, text=True)
        os.write(master, (answer + "\n").encode())
        stdout, _ = process.communicate(timeout=120)
        return process.returncode, stdout
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_apply_asks_and_only_yes_applies(workdir: Workdir) -> None:
    workdir.write(SMALL.replace("    bootstrap_profile: legacy-admin\n", ""))
    workdir.sandbox.control.reset_counters()
    code, stdout = _apply_on_terminal(workdir, "no")
    assert code == 1
    assert "Only 'yes' will be accepted" in stdout
    assert workdir.sandbox.control.calls("organizations.CreateAccount") == 0
    code, stdout = _apply_on_terminal(workdir, "yes")
    assert code == 0, stdout
    assert "done account.app" in stdout
