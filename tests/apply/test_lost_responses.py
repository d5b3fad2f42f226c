"""Lost responses: AWS performs a write, the reply never arrives, botocore retries, and the retry
meets the run's own earlier success (EntityAlreadyExists, NoSuchEntity, EMAIL_ALREADY_EXISTS for
the account this run created, the lock it took itself). Every write of a full apply loses its
reply in turn (the sandbox's ``lost_response`` fault): each run must end converged, in one go,
and report no failure for its own write."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.lock import LOCK_PATH

from .conftest import SMALL, Workdir, assert_no_duplicates, create_requests_by_name, output
from .test_apply_faults import SWEEP

# Kept by -m 'not slow': the writes whose retry meets the run's own success in a way the
# executor must recognise (the rest are covered by the full sweep).
DEFAULT_LOST = {("organizations.CreateAccount", 1), ("iam.CreatePolicy", 1),
                ("iam.DeleteRolePolicy", 1), ("iam.DeactivateMFADevice", 1),
                ("iam.CreateRole", 1), ("organizations.InviteAccountToOrganization", 1)}


@pytest.mark.parametrize("operation,nth", [
    pytest.param(op, nth, id=f"{op}-{nth}",
                 marks=() if (op, nth) in DEFAULT_LOST else (pytest.mark.slow,))
    for op, nth in SWEEP])
def test_lost_response_run_converges_without_failure(workdir: Workdir, sandbox_options: Any,
                                                     operation: str, nth: int) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL)
        sandbox.control.inject_fault(operation, nth=nth, lost_response=True)
        first = workdir.apply()
        fired = [f for f in sandbox.state.faults if f.fired]
        sandbox.control.clear_faults()
        assert fired, f"the apply never made call {nth} of {operation}"
        assert first.returncode == 0, output(first)
        assert "Traceback" not in first.stderr
        assert "FAILED" not in first.stdout and " 0 failed" in first.stdout, output(first)
        assert "\nconverged:" in first.stdout, output(first)
        assert "warning" not in first.stderr, output(first)
        assert_no_duplicates(sandbox)
        assert create_requests_by_name(sandbox)["app"] == 1
        assert workdir.plan_exit() == 0
        # the run released its own lock (the next apply needs no force-unlock)
        assert _lock_policies(sandbox) == [], output(first)


def _lock_policies(sandbox: Any) -> list[str]:
    iam = sandbox.client("iam")
    return [p["PolicyName"] for p in iam.list_policies(Scope="Local",
                                                        PathPrefix=LOCK_PATH)["Policies"]]


def test_lost_create_login_profile_is_not_a_failure(workdir: Workdir,
                                                    sandbox_options: Any) -> None:
    """password_recovery: CreateLoginProfile's retry meets EntityAlreadyExists, its own work."""
    with sandbox_options(auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL.replace("default: absent", "default: password_recovery"))
        sandbox.control.inject_fault("iam.CreateLoginProfile", lost_response=True)
        first = workdir.apply()
        assert [f for f in sandbox.state.faults if f.fired], output(first)
        assert first.returncode == 0, output(first)
        assert "FAILED" not in first.stdout and "\nconverged:" in first.stdout, output(first)
        assert "enabled password recovery" in first.stdout, output(first)
