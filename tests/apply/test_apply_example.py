"""End to end through the real CLI: the example from scratch, bootstrapping an invited account with
and without its profile, root credentials, closures and the closure quota."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT

from .conftest import EXAMPLE, SMALL, Workdir, assert_no_duplicates, output

LEGACY = "210987654321"


def test_example_from_scratch_converges_in_one_apply(workdir: Workdir,
                                                     sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        iam = sandbox.client("iam")
        for user in ("alice", "bob"):  # the swap reset the sandbox
            iam.create_user(UserName=user)
        workdir.write(EXAMPLE.read_text(encoding="utf-8"))
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "\nconverged:" in result.stdout
        assert "FAILED" not in result.stdout
        # the invited account was bootstrapped through its profile, in the same apply
        assert re.search(r"done access_role\.legacy-analytics: created role "
                         r"OrganizationAccountAccessRole.*via profile legacy-admin", result.stdout)
        assert "verified with an audit session" in result.stdout
        assert workdir.plan_exit() == 0
        # reachable from the management account with sts:AssumeRole
        sts = sandbox.client("sts")
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{LEGACY}:role/OrganizationAccountAccessRole",
            RoleSessionName="test")["Credentials"]
        assert credentials["AccessKeyId"]
        assert_no_duplicates(sandbox)


def test_invited_account_with_profile_is_reachable(workdir: Workdir,
                                                   sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL)
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "via profile legacy-admin" in result.stdout
        assert "\nconverged:" in result.stdout
        assert workdir.plan_exit() == 0
        role = sandbox.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{LEGACY}:role/OrganizationAccountAccessRole",
            RoleSessionName="test")
        assert role["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{LEGACY}:assumed-role/")
        # the standalone account's root password, key and MFA device are gone (absent)
        assert "deleted the root password" in result.stdout
        # a second apply has nothing to do
        again = workdir.apply()
        assert again.returncode == 0, output(again)
        assert "Nothing to apply" in again.stdout


def test_without_profile_the_bootstrap_step_is_printed(workdir: Workdir,
                                                       sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL.replace("    bootstrap_profile: legacy-admin\n", ""))
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "aws cloudformation deploy" in result.stdout
        assert "needs a person" in result.stdout
        assert "\nconverged:" in result.stdout
        assert "bootstrap" in result.stdout
        # the rest converged: the only change left is the bootstrap step
        plan = workdir.orgsync("plan", "--format", "json")
        assert plan.returncode == 0, output(plan)
        changes = json.loads(plan.stdout)["changes"]
        assert [(c["address"], c["action"]) for c in changes] == [
            ("access_role.legacy-analytics", "bootstrap")]


ROOT_FILE = HEADER + """\
{root}
accounts:
  - name: keep-out
    email: aws+keep-out@example.com
    root_credentials: {keep}
  - name: break-glass
    email: aws+break-glass@example.com
    root_credentials: {glass}
"""


def test_root_credentials_absent_and_password_recovery(workdir: Workdir) -> None:
    # Accounts created before centralized root access have a root password.
    workdir.write(ROOT_FILE.format(root="", keep="unmanaged", glass="unmanaged"))
    first = workdir.apply()
    assert first.returncode == 0, output(first)
    features = "root_credentials:\n  features: [RootCredentialsManagement, RootSessions]"
    workdir.write(ROOT_FILE.format(root=features, keep="absent", glass="absent"))
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    # Turning root access on and enforcing the policy happen in one apply (a follow-up round).
    for name in ("keep-out", "break-glass"):
        assert re.search(rf"done root_credentials\.{name}: deleted the root password.*verified "
                         r"with an audit session", result.stdout), output(result)
    assert "\nconverged: a new plan has no changes" in result.stdout, output(result)
    # password_recovery on an account with no root password: CreateLoginProfile, then verified.
    workdir.write(ROOT_FILE.format(root=features, keep="absent", glass="password_recovery"))
    recovery = workdir.apply()
    assert recovery.returncode == 0, output(recovery)
    assert re.search(r"done root_credentials\.break-glass: .*verified with an audit session",
                     recovery.stdout), output(recovery)
    assert "root_credentials.keep-out" not in recovery.stdout
    assert "\nconverged: a new plan has no changes" in recovery.stdout, output(recovery)
    assert workdir.plan_exit() == 0


CLOSE_FILE = HEADER + """\
accounts:
  - name: one
    email: aws+one@example.com
    state: {one}
  - name: two
    email: aws+two@example.com
    state: {two}
"""


def test_closure_works_and_respects_the_quota(workdir: Workdir, sandbox_options: Any) -> None:
    with sandbox_options(close_quota=1):
        workdir.write(CLOSE_FILE.format(one="active", two="active"))
        created = workdir.apply()
        assert created.returncode == 0, output(created)
        workdir.write(CLOSE_FILE.format(one="closed", two="closed"))
        result = workdir.apply()
        assert result.returncode == 1, output(result)
        assert re.search(r"done account\.one: closing account \d{12} \((PENDING_CLOSURE|CLOSED)\)",
                         result.stdout), output(result)
        assert re.search(r"FAILED account\.two: .*closure quota", result.stdout), output(result)
        assert "never" not in result.stdout.split("FAILED account.two", 1)[1].split("\n")[0]


def test_management_account_is_never_closed(workdir: Workdir) -> None:
    workdir.write(HEADER + MANAGEMENT_ACCOUNT + """\
    state: closed
""")
    result = workdir.apply()
    assert result.returncode == 1, output(result)
    assert "management account" in result.stdout + result.stderr
    status = workdir.sandbox.client("organizations").describe_account(AccountId="123456789012")
    assert status["Account"].get("State", status["Account"].get("Status")) == "ACTIVE"
