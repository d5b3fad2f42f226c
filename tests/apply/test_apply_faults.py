"""Crash safety: every mutating call of a full apply fails in turn (and, separately, the process is
killed at such calls), then a re-run converges with no duplicate accounts, invitations or
policies. Also: a partial failure skips only what depends on it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import pytest

from reconciler.sandbox.options import REALISTIC

from .conftest import (
    SMALL,
    Workdir,
    assert_no_duplicates,
    create_requests_by_name,
    invitations_by_target,
    output,
)
from .test_apply_refusals import mutating_calls

FAULT = "InjectedFault"  # a 400 that no SDK retries and that orgsync has no special case for
# The sweeps run against AWS as slow and concurrent as --realistic makes it (lags of about a
# second, Organizations concurrency 1, a ConcurrentModificationException rate): a re-run must
# converge there too. Lags shortened to keep the sweep's runtime down.
REALISTIC_SWEEP: dict[str, Any] = {**REALISTIC, "account_ready_lag_s": 1.0,
                                   "create_delay_s": 0.5}


def _fresh(sandbox: Any) -> None:
    sandbox.reset()
    sandbox.client("iam").create_user(UserName="alice")


def _baseline(workdir: Workdir) -> list[tuple[str, int]]:
    """Every mutating call (operation, nth) a full apply of SMALL makes from scratch."""
    control = workdir.sandbox.control
    _fresh(workdir.sandbox)
    control.reset_counters()
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    calls = mutating_calls(control.counters())
    return [(op, nth) for op, n in sorted(calls.items()) for nth in range(1, n + 1)]


def _assert_rerun_converges(workdir: Workdir, what: str) -> None:
    rerun = workdir.apply()
    found = re.search(r"orgsync force-unlock (\S+)", rerun.stderr)
    if rerun.returncode == 1 and found:
        # a run that died (or could not release) leaves the lock behind on purpose
        unlocked = workdir.orgsync("force-unlock", found.group(1))
        assert unlocked.returncode == 0, output(unlocked)
        rerun = workdir.apply()
    assert rerun.returncode == 0, f"after {what}:\n{output(rerun)}"
    assert "\nconverged:" in rerun.stdout or "Nothing to apply" in rerun.stdout, output(rerun)
    assert_no_duplicates(workdir.sandbox)
    assert create_requests_by_name(workdir.sandbox)["app"] == 1
    assert invitations_by_target(workdir.sandbox)["210987654321"] <= 1


# Every mutating call a full apply of SMALL makes from scratch, in the sandbox's counter names
# (test_sweep_list_is_every_mutating_call keeps this list honest). The lock's own CreatePolicy /
# DeletePolicy are included: a failure there must be survivable too.
SWEEP = [
    ("iam.AddUserToGroup", 1), ("iam.AttachRolePolicy", 1), ("iam.AttachRolePolicy", 2),
    ("iam.CreateGroup", 1), ("iam.CreatePolicy", 1), ("iam.CreateRole", 1),
    ("iam.DeactivateMFADevice", 1), ("iam.DeleteAccessKey", 1), ("iam.DeleteLoginProfile", 1),
    ("iam.DeletePolicy", 1), ("iam.DeleteRolePolicy", 1), ("iam.DeleteVirtualMFADevice", 1),
    ("iam.EnableOrganizationsRootCredentialsManagement", 1),
    ("iam.EnableOrganizationsRootSessions", 1), ("iam.PutGroupPolicy", 1),
    ("organizations.CreateAccount", 1), ("organizations.CreateOrganizationalUnit", 1),
    ("organizations.EnableAWSServiceAccess", 1),
    ("organizations.InviteAccountToOrganization", 1), ("organizations.MoveAccount", 1),
    ("organizations.MoveAccount", 2),
]
# Not marked slow (kept by -m 'not slow'): the calls a re-run must never repeat blindly.
DEFAULT_SWEEP = {("organizations.CreateAccount", 1),
                 ("organizations.InviteAccountToOrganization", 1), ("iam.CreateRole", 1),
                 ("iam.DeletePolicy", 1)}


def test_sweep_list_is_every_mutating_call(workdir: Workdir, sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True):
        workdir.write(SMALL)
        assert _baseline(workdir) == SWEEP


@pytest.mark.parametrize("operation,nth", [
    pytest.param(op, nth, id=f"{op}-{nth}",
                 marks=() if (op, nth) in DEFAULT_SWEEP else (pytest.mark.slow,))
    for op, nth in SWEEP])
def test_failing_call_then_rerun_converges(workdir: Workdir, sandbox_options: Any,
                                           operation: str, nth: int) -> None:
    with sandbox_options(auto_accept_invites=True, **REALISTIC_SWEEP) as sandbox:
        workdir.write(SMALL)
        _fresh(sandbox)
        sandbox.control.inject_fault(operation, code=FAULT, nth=nth)
        first = workdir.apply()
        sandbox.control.clear_faults()
        assert "Traceback" not in first.stderr
        # the failure is reported, in one line with the AWS reason
        assert FAULT in first.stdout + first.stderr, output(first)
        if operation == "iam.DeletePolicy":  # releasing the lock: the apply itself succeeded
            assert "could not release the apply lock" in first.stderr, output(first)
        else:
            assert first.returncode == 1, output(first)
        _assert_rerun_converges(workdir, f"{operation} #{nth} failed")


# A kill right after each kind of write that a re-run must not repeat blindly.
KILL_POINTS = [
    ("organizations.CreateOrganizationalUnit", 1),
    ("organizations.CreateAccount", 1),
    ("organizations.InviteAccountToOrganization", 1),
    ("organizations.MoveAccount", 1),
    ("iam.CreateRole", 1),
    ("iam.CreateGroup", 1),
    ("iam.DeleteLoginProfile", 1),
]


@pytest.mark.parametrize("operation,nth", KILL_POINTS, ids=[op for op, _ in KILL_POINTS])
def test_killed_after_a_write_then_rerun_converges(workdir: Workdir, sandbox_options: Any,
                                                   operation: str, nth: int) -> None:
    with sandbox_options(auto_accept_invites=True, **REALISTIC_SWEEP) as sandbox:
        workdir.write(SMALL)
        _fresh(sandbox)
        assert workdir.apply_killed_at(operation, nth), f"apply finished before {operation}"
        _assert_rerun_converges(workdir, f"a kill at {operation} #{nth}")


def _force_unlock(workdir: Workdir) -> None:
    held = workdir.orgsync("apply", "--auto-approve")
    if held.returncode == 0:
        return  # the kill landed before the lock was taken
    found = re.search(r"orgsync force-unlock (\S+)", held.stderr)
    assert found, output(held)
    unlocked = workdir.orgsync("force-unlock", found.group(1))
    assert unlocked.returncode == 0, output(unlocked)


def test_create_account_in_progress_survives_a_kill(workdir: Workdir,
                                                    sandbox_options: Any) -> None:
    # An hour: the request cannot finish on its own however slow the machine is; the sandbox
    # clock finishes it once the re-run waits for it.
    with sandbox_options(create_delay_s=3600) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL.replace("    bootstrap_profile: legacy-admin\n", ""))
        assert workdir.apply_killed_at("organizations.DescribeCreateAccountStatus", 1)
        orgs = sandbox.client("organizations")
        states = [s["State"] for s in orgs.list_create_account_status()["CreateAccountStatuses"]]
        assert states == ["IN_PROGRESS"]
        _force_unlock(workdir)
        control = sandbox.control
        polls = control.calls("organizations.DescribeCreateAccountStatus")
        process = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "apply",
                                    "--auto-approve"], env=workdir.env, cwd=str(workdir.path),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while (control.calls("organizations.DescribeCreateAccountStatus") == polls
                   and process.poll() is None and time.monotonic() < deadline):
                time.sleep(0.05)
            control.advance_clock(3600)  # the re-run is waiting for it: let it finish
            stdout, stderr = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        rerun = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        assert rerun.returncode == 0, output(rerun)
        # still IN_PROGRESS when the re-run planned: a create change that waits for it; on a
        # loaded machine it may have finished already: the account is there, nothing to create
        assert ("+ account.app (create)" in rerun.stdout
                and "continued earlier request" in rerun.stdout) or \
            "+ account.app (create)" not in rerun.stdout, output(rerun)
        assert sandbox.control.calls("organizations.CreateAccount") == 1
        assert_no_duplicates(sandbox)
        assert workdir.plan_exit() == 0


def test_a_failure_skips_only_its_dependents(workdir: Workdir, sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL)
        sandbox.control.inject_fault("organizations.CreateAccount", code=FAULT)
        result = workdir.apply()
        assert result.returncode == 1, output(result)
        assert re.search(r"FAILED account\.app: .*InjectedFault", result.stdout), output(result)
        assert re.search(r"skipped access_role\.app: skipped because account\.app failed",
                         result.stdout), output(result)
        # independent work still happened
        assert "done account.legacy-analytics" in result.stdout
        assert "done group.admins" in result.stdout or "skipped group.admins" in result.stdout
        assert "not converged" in result.stdout
        assert re.search(r"Apply finished: \d+ done, 1 failed, \d+ skipped", result.stdout)
