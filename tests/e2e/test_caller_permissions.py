"""Whose credentials orgsync runs with, through the real CLI: an account's root user is refused up
front (AWS lets root users assume no role), and an IAM user whose policies do not allow
sts:AssumeRole is told so instead of getting a bootstrap planned for every member account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.aws.seed import iam_user, key_client, key_env, member_credentials
from tests.desired_files import HEADER

FILE = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
  - name: data
    email: aws+data@example.com
"""
READ_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["organizations:Describe*", "organizations:List*",
                                   "iam:Get*", "iam:List*", "iam:SimulatePrincipalPolicy"],
     "Resource": "*"}]})


def _organization(sandbox: Any, tmp_path: Path) -> Path:
    org = sandbox.client("organizations")
    for name in ("app", "data"):
        status = org.create_account(AccountName=name, Email=f"aws+{name}@example.com")
        org.describe_create_account_status(
            CreateAccountRequestId=status["CreateAccountStatus"]["Id"])
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    return path


def test_root_user_credentials_are_refused_up_front(sandbox: Any, orgsync: Any,
                                                    aws_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    path = _organization(sandbox, tmp_path)
    root = sandbox.control.create_root_access_key("123456789012")
    env = {**aws_env, "AWS_ACCESS_KEY_ID": root["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": root["SecretAccessKey"]}
    for command in (("plan",), ("apply", "--auto-approve"), ("export", "--out",
                                                             str(tmp_path / "out.yaml"))):
        args = [*command, "-f", str(path)] if command[0] != "export" else list(command)
        result = orgsync(*args, env=env)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "root user of account 123456789012" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert root["SecretAccessKey"] not in result.stdout + result.stderr
    assert sandbox.control.calls("sts.AssumeRole") == 0
    assert sandbox.control.calls("organizations.CreateAccount") == 2  # only the setup's


def test_caller_without_assume_role_permission_is_told_so(sandbox: Any, orgsync: Any,
                                                          aws_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    path = _organization(sandbox, tmp_path)
    env = key_env(aws_env, iam_user(sandbox, "reader", policy=READ_ONLY))
    result = orgsync("plan", "-f", str(path), "--format", "json", env=env)
    assert result.returncode == 1, result.stdout
    assert "could not assume the access role of any of the 2 member account(s)" in result.stderr
    assert "arn:aws:iam::123456789012:user/reader" in result.stderr
    assert "no permission for sts:AssumeRole" in result.stderr
    assert "bootstrap" not in result.stdout
    # granted what AWS requires, the same user plans no change
    iam = sandbox.client("iam")
    iam.put_user_policy(UserName="reader", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}]}))
    result = orgsync("plan", "-f", str(path), "--detailed-exitcode", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_roles_that_do_not_trust_us_are_still_planned_as_bootstraps(
        sandbox: Any, orgsync: Any, aws_env: dict[str, str], tmp_path: Path) -> None:
    """The caller may assume roles (admin), but no role trusts it: that is the roles' problem,
    and orgsync plans their bootstrap as before."""
    path = _organization(sandbox, tmp_path)
    org = sandbox.client("organizations")
    for account in org.list_accounts()["Accounts"]:
        if account["Id"] == "123456789012":
            continue
        member = key_client(sandbox, "iam",
                            member_credentials(sandbox, account["Id"], session="break"))
        member.update_assume_role_policy(
            RoleName="OrganizationAccountAccessRole", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                    "Action": "sts:AssumeRole"}]}))
    result = orgsync("plan", "-f", str(path), "--format", "json", env=aws_env)
    assert result.returncode == 0, result.stderr
    actions = {c["address"]: c["action"] for c in json.loads(result.stdout)["changes"]}
    assert actions == {"access_role.app": "bootstrap", "access_role.data": "bootstrap"}
