"""``invited_bootstrap: stackset`` end to end with the real CLI against the sandbox: an invited
account nobody signs in to gets its access role from orgsync's service-managed stack set in one
apply (also when a role of that name already trusts another account), the role is assumable with
the real AWS CLI, the next plan is empty; every stack-set write may fail and a re-run converges;
a kill during the stack-set operation is followed on re-run without a second operation; leaving
the stack set removes the stack instance and keeps the role."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from reconciler.stackset import ADOPT_ROLE, STACK_SET_NAME
from tests.desired_files import HEADER

from .conftest import Workdir, add_bootstrap_profile, output

AWS_CLI = os.path.join(os.path.dirname(sys.executable), "aws")
ROLE = "OrganizationAccountAccessRole"
LEGACY = "210987654321"
ACQUIRED = "310987654321"
FAULT = "InjectedFault"

FILE = HEADER + """\
  invited_bootstrap: stackset
accounts:
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
"""

TWO_WAYS = FILE + """\
  - name: acquired-startup
    email: aws+acquired@example.com
    source: invited
    id: "310987654321"
    bootstrap_profile: acquired-admin
"""


def _foreign_role(sandbox: Any, index: int = 0) -> None:
    """A role of the access role's name left over from another organization."""
    iam = sandbox.client("iam", account=sandbox.info.standalone_accounts[index])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=ROLE, PolicyName="old-org", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))


def _aws_cli_assumes(workdir: Workdir, account_id: str) -> None:
    result = subprocess.run(
        [AWS_CLI, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{account_id}:role/{ROLE}",
         "--role-session-name", "orgsync-check"], env=workdir.env, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{account_id}:assumed-role/{ROLE}/")


def _converges_in_one_apply(workdir: Workdir) -> Any:
    plan = workdir.orgsync("plan")
    assert plan.returncode == 0, output(plan)
    assert "trusted_access_cloudformation: false -> true" in plan.stdout, output(plan)
    assert f"then stack set {STACK_SET_NAME} deploys the role" in plan.stdout, output(plan)
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    assert "\nconverged: a new plan has no changes." in result.stdout, output(result)
    assert re.search(r"done access_role\.legacy-analytics: .*via stack set "
                     f"{STACK_SET_NAME}", result.stdout), output(result)
    _aws_cli_assumes(workdir, LEGACY)
    assert workdir.plan_exit() == 0
    return result


def test_invited_account_converges_in_one_apply(workdir: Workdir,
                                                sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        workdir.write(FILE)
        _converges_in_one_apply(workdir)
        assert sandbox.control.calls("cloudformation.CreateStackInstances") == 1
        cfn = sandbox.client("cloudformation")
        instances = cfn.list_stack_instances(StackSetName=STACK_SET_NAME)["Summaries"]
        assert [(i["Account"], i["Status"]) for i in instances] == [(LEGACY, "CURRENT")]


def test_existing_role_trusting_another_account_is_taken_over(workdir: Workdir,
                                                              sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        _foreign_role(sandbox)
        workdir.write(FILE)
        result = _converges_in_one_apply(workdir)
        assert "already exists" in result.stdout, output(result)
        assert "helper role removed" in result.stdout, output(result)
        iam = sandbox.client("iam", account=sandbox.info.standalone_accounts[0])
        role = iam.get_role(RoleName=ROLE)["Role"]
        assert "999999999999" not in json.dumps(role["AssumeRolePolicyDocument"])
        assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == []
        assert ADOPT_ROLE not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_existing_role_through_bootstrap_profile(workdir: Workdir,
                                                 sandbox_options: Any) -> None:
    """The other path for the same situation: the profile's credentials update the role."""
    with sandbox_options(auto_accept_invites=True) as sandbox:
        _foreign_role(sandbox, index=1)
        add_bootstrap_profile(workdir.env, sandbox, index=1, profile="acquired-admin")
        workdir.write(TWO_WAYS)
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "\nconverged:" in result.stdout, output(result)
        assert re.search(r"done access_role\.acquired-startup: .*via profile acquired-admin",
                         result.stdout), output(result)
        _aws_cli_assumes(workdir, ACQUIRED)
        _aws_cli_assumes(workdir, LEGACY)
        # the stack set serves only the account without a profile
        cfn = sandbox.client("cloudformation")
        assert [i["Account"] for i in cfn.list_stack_instances(
            StackSetName=STACK_SET_NAME)["Summaries"]] == [LEGACY]
        assert workdir.plan_exit() == 0


def test_leaving_the_stack_set_removes_the_instance_and_keeps_the_role(
        workdir: Workdir, sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        workdir.write(FILE)
        assert workdir.apply().returncode == 0
        # the workdir's AWS config holds legacy-admin (the account's own keys)
        workdir.write(FILE + "    bootstrap_profile: legacy-admin\n")
        plan = workdir.orgsync("plan")
        assert f"~ stack_set.{STACK_SET_NAME} (update)" in plan.stdout, output(plan)
        assert "RetainStacks" in plan.stdout, output(plan)
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "RetainStacks: the access roles stay" in result.stdout, output(result)
        cfn = sandbox.client("cloudformation")
        assert cfn.list_stack_instances(StackSetName=STACK_SET_NAME)["Summaries"] == []
        _aws_cli_assumes(workdir, LEGACY)
        assert workdir.plan_exit() == 0


STACK_SET_WRITES = [
    ("cloudformation.ActivateOrganizationsAccess", 1, False),
    ("cloudformation.CreateStackSet", 1, False),
    ("cloudformation.CreateStackInstances", 1, False),
    ("cloudformation.UpdateStackInstances", 1, True),  # adopt: the helper role
    ("cloudformation.UpdateStackInstances", 2, True),  # adopted: the helper goes
]


@pytest.mark.parametrize("operation,nth,foreign", STACK_SET_WRITES,
                         ids=[f"{op}-{n}" for op, n, _f in STACK_SET_WRITES])
def test_failing_stack_set_write_then_rerun_converges(workdir: Workdir, sandbox_options: Any,
                                                      operation: str, nth: int,
                                                      foreign: bool) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        if foreign:
            _foreign_role(sandbox)
        workdir.write(FILE)
        sandbox.control.inject_fault(operation, code=FAULT, nth=nth)
        first = workdir.apply()
        sandbox.control.clear_faults()
        assert "Traceback" not in first.stderr
        assert FAULT in first.stdout + first.stderr, output(first)
        assert first.returncode == 1, output(first)
        rerun = workdir.apply()
        assert rerun.returncode == 0, output(rerun)
        assert "\nconverged:" in rerun.stdout, output(rerun)
        _aws_cli_assumes(workdir, LEGACY)
        assert workdir.plan_exit() == 0


def test_kill_during_the_operation_is_followed_on_rerun(workdir: Workdir,
                                                       sandbox_options: Any) -> None:
    # the operation runs until the test moves the sandbox's clock: no race with a loaded machine
    with sandbox_options(auto_accept_invites=True, stackset_operation_s=3600) as sandbox:
        workdir.write(FILE)
        control = sandbox.control
        workdir.apply_killed_at("cloudformation.CreateStackInstances", timeout=180)
        assert control.calls("cloudformation.CreateStackInstances") == 1
        cfn = sandbox.client("cloudformation")
        running = [o for o in cfn.list_stack_set_operations(
            StackSetName=STACK_SET_NAME)["Summaries"] if o["Status"] == "RUNNING"]
        assert len(running) == 1
        operation_id = running[0]["OperationId"]
        plan = workdir.orgsync("plan")
        assert f"operation {operation_id} of the stack set is still running" in plan.stdout, \
            output(plan)
        held = workdir.apply()
        found = re.search(r"orgsync force-unlock (\S+)", held.stderr)
        assert held.returncode == 1 and found, output(held)  # the killed run held the lock
        assert workdir.orgsync("force-unlock", found.group(1)).returncode == 0
        following = control.calls("cloudformation.DescribeStackSetOperation")
        rerun = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply", "--auto-approve"],
            env=workdir.env, cwd=str(workdir.path), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 180
            while rerun.poll() is None and time.monotonic() < deadline and \
                    control.calls("cloudformation.DescribeStackSetOperation") <= following:
                time.sleep(0.05)
            control.advance_clock(3600)  # the earlier run's operation ends now
            stdout, stderr = rerun.communicate(timeout=180)
        finally:
            if rerun.poll() is None:
                rerun.kill()
                rerun.wait(10)
        assert rerun.returncode == 0, stdout + stderr
        assert f"followed operation {operation_id} started by an earlier run" in stdout, stdout
        assert "\nconverged:" in stdout, stdout
        assert control.calls("cloudformation.CreateStackInstances") == 1  # no second one
        assert control.calls("cloudformation.UpdateStackInstances") == 0
        _aws_cli_assumes(workdir, LEGACY)
        assert workdir.plan_exit() == 0
