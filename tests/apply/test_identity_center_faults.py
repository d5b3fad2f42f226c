"""Crash safety of the Identity Center writes: every sso-admin write of an apply that updates,
provisions, creates and deletes (permission sets and assignments) fails in turn, then a re-run
converges with no duplicate; and a kill while an assignment request is IN_PROGRESS is followed
by a re-run that re-attaches to that request instead of making a second one.

Kept beside the organization's own fault sweep (``test_apply_faults.py``), whose fixtures it uses;
every sweep case but one is marked slow (CI runs them; ``-m 'not slow'`` keeps the quick one).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.desired_files import HEADER

from .conftest import Workdir, output
from .test_apply_refusals import mutating_calls

FAULT = "InjectedFault"
# Both files: the account and the Admin permission set, up to its inline policy's statement.
ADMIN = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
identity_center:
  exclusive: true
  permission_sets:
    - name: Admin
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
      inline_policy:
        Version: "2012-10-17"
"""
BASE = ADMIN + """\
        Statement: [{Effect: Deny, Action: "s3:GetObject", Resource: "*"}]
    - name: Legacy
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: [app]
    - group: auditors
      permission_set: Legacy
      accounts: [app]
"""
# Legacy and its assignment leave the file (exclusive: deleted), Admin's inline policy changes
# (then it is provisioned again), a new permission set is made and assigned to a user.
CHANGED = ADMIN + """\
        Statement: [{Effect: Deny, Action: "s3:PutObject", Resource: "*"}]
    - name: ReadOnly
      session_duration: PT2H
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: [app]
    - users: [margaret]
      permission_set: ReadOnly
      accounts: [app]
"""
SWEEP = [
    ("sso-admin.AttachManagedPolicyToPermissionSet", 1),
    ("sso-admin.CreateAccountAssignment", 1),
    ("sso-admin.CreatePermissionSet", 1),
    ("sso-admin.DeleteAccountAssignment", 1),
    ("sso-admin.DeletePermissionSet", 1),
    ("sso-admin.ProvisionPermissionSet", 1),
    ("sso-admin.PutInlinePolicyToPermissionSet", 1),
]
DEFAULT_SWEEP = {("sso-admin.CreateAccountAssignment", 1)}


def _start(workdir: Workdir) -> None:
    workdir.write(BASE)
    first = workdir.apply()
    assert first.returncode == 0, output(first)
    workdir.write(CHANGED)


def _assert_converged(workdir: Workdir, what: str) -> None:
    rerun = workdir.apply()
    assert rerun.returncode == 0, f"after {what}:\n{output(rerun)}"
    planned = workdir.orgsync("plan", "--format", "json", "--detailed-exitcode")
    assert planned.returncode == 0, f"after {what}:\n{output(planned)}"
    assert json.loads(planned.stdout)["changes"] == []
    sso = workdir.sandbox.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    names = [sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)
             ["PermissionSet"]["Name"]
             for arn in sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]]
    assert sorted(names) == ["Admin", "ReadOnly"], names  # no duplicate, Legacy gone


def test_sweep_list_is_every_identity_center_write(workdir: Workdir) -> None:
    _start(workdir)
    control = workdir.sandbox.control
    control.reset_counters()
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    counters = control.counters()
    calls = {op: n for op, n in {**mutating_calls(counters), "sso-admin.ProvisionPermissionSet":
                                 counters.get("sso-admin.ProvisionPermissionSet", 0)}.items()
             if op.startswith("sso-admin.") and n}
    assert [(op, nth) for op, n in sorted(calls.items()) for nth in range(1, n + 1)] == SWEEP


@pytest.mark.parametrize("operation,nth", [
    pytest.param(op, nth, id=f"{op}-{nth}",
                 marks=() if (op, nth) in DEFAULT_SWEEP else (pytest.mark.slow,))
    for op, nth in SWEEP])
def test_failing_write_then_rerun_converges(workdir: Workdir, operation: str, nth: int) -> None:
    _start(workdir)
    workdir.sandbox.control.inject_fault(operation, code=FAULT, nth=nth)
    first = workdir.apply()
    workdir.sandbox.control.clear_faults()
    assert "Traceback" not in first.stderr
    assert FAULT in first.stdout + first.stderr, output(first)
    assert first.returncode == 1, output(first)
    _assert_converged(workdir, f"{operation} #{nth} failed")


def test_kill_while_an_assignment_is_in_progress_then_rerun_follows_it(
        workdir: Workdir, sandbox_options: Any) -> None:
    # An assignment request stays IN_PROGRESS for 20 s: the kill lands while it is in flight.
    with sandbox_options(sso_lag_s=20.0) as sandbox:
        workdir.write(BASE.replace("    - group: auditors\n      permission_set: Legacy\n"
                                   "      accounts: [app]\n", ""))
        control = sandbox.control
        workdir.apply_killed_at("sso-admin.CreateAccountAssignment", timeout=120)
        assert control.calls("sso-admin.CreateAccountAssignment") == 1
        held = workdir.orgsync("plan", "--format", "json")
        document = json.loads(held.stdout)
        (change,) = [c for c in document["changes"] if c["kind"] == "assignment"]
        assert change["before"]["status"] == "IN_PROGRESS", change
        # the re-run follows the request (the sandbox clock lets it finish): no second request
        control.reset_counters()
        control.advance_clock(30)
        rerun = workdir.apply()
        found = re.search(r"orgsync force-unlock (\S+)", rerun.stderr)
        if rerun.returncode == 1 and found:  # the killed run left its lock behind, on purpose
            assert workdir.orgsync("force-unlock", found.group(1)).returncode == 0
            rerun = workdir.apply()
        assert rerun.returncode == 0, output(rerun)
        assert control.calls("sso-admin.CreateAccountAssignment") == 0, output(rerun)
        clean = workdir.orgsync("plan", "--detailed-exitcode")
        assert clean.returncode == 0, output(clean)
