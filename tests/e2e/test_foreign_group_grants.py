"""A group built by another tool, the way Terraform's aws_iam_group_policy and
aws_iam_group_policy_attachment make it (an inline policy ``assume-prod`` and a customer managed
policy attached), under orgsync's path: ``orgsync export`` lists its grants and ``orgsync plan``
on the export shows no change (its policies are adopted, never deleted). With the real AWS CLI, a
member of the group assumes a granted role and a non-member is refused (the sandbox evaluates the
caller's identity policies, as AWS does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from reconciler.config import load
from tests.aws.seed import iam_user, key_env
from tests.export.helpers import base_env, create_account, run_cli

ROLE = "OrganizationAccountAccessRole"
AWS_CLI = str(Path(sys.executable).parent / "aws")


def _grant(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Resource": f"arn:aws:iam::{account_id}:role/{ROLE}"}]})


def _terraform_built_group(sandbox: Any) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """(prod id, staging id, alice's key, mallory's key)."""
    org = sandbox.client("organizations")
    prod = create_account(org, name="prod", email="aws+prod@example.com")
    staging = create_account(org, name="staging", email="aws+staging@example.com")
    iam = sandbox.client("iam")
    iam.create_group(GroupName="platform", Path="/orgsync/")
    iam.put_group_policy(GroupName="platform", PolicyName="assume-prod",
                         PolicyDocument=_grant(prod))
    arn = iam.create_policy(PolicyName="assume-staging",
                            PolicyDocument=_grant(staging))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="platform", PolicyArn=arn)
    keys = {user: key_env({}, iam_user(sandbox, user)) for user in ("alice", "mallory")}
    iam.add_user_to_group(GroupName="platform", UserName="alice")
    return prod, staging, keys["alice"], keys["mallory"]


def _aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS_CLI, *args, "--output", "json"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_terraform_built_group_exports_and_plans_with_no_change(sandbox: Any,
                                                                tmp_path: Path) -> None:
    prod, staging, alice, _ = _terraform_built_group(sandbox)
    env = base_env(sandbox, tmp_path)
    exported = run_cli(env, "export", "--out", "exported.yaml", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    desired = load(tmp_path / "exported.yaml")
    (group,) = desired.groups
    assert group.members == ("alice",)
    assert sorted(t.account for t in group.grants) == ["prod", "staging"]
    planned = run_cli(env, "plan", "-f", "exported.yaml", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    applied = run_cli(env, "apply", "-f", "exported.yaml", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    iam = sandbox.client("iam")
    assert iam.list_group_policies(GroupName="platform")["PolicyNames"] == ["assume-prod"]
    assert [p["PolicyName"] for p in iam.list_attached_group_policies(
        GroupName="platform")["AttachedPolicies"]] == ["assume-staging"]
    sts_env = {**env, **alice}
    for account_id in (prod, staging):
        result = _aws(sts_env, "sts", "assume-role", "--role-arn",
                      f"arn:aws:iam::{account_id}:role/{ROLE}", "--role-session-name", "alice")
        assert result.returncode == 0, result.stderr


def test_aws_cli_group_member_assumes_and_non_member_is_refused(sandbox: Any,
                                                               tmp_path: Path) -> None:
    prod, _staging, alice, mallory = _terraform_built_group(sandbox)
    env = {k: v for k, v in base_env(sandbox, tmp_path).items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    role = f"arn:aws:iam::{prod}:role/{ROLE}"
    granted = _aws({**env, **alice}, "sts", "assume-role", "--role-arn", role,
                   "--role-session-name", "alice")
    assert granted.returncode == 0, granted.stderr
    credentials = json.loads(granted.stdout)["Credentials"]
    who = _aws({**env, "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"]}, "sts", "get-caller-identity")
    assert json.loads(who.stdout)["Arn"] == f"arn:aws:sts::{prod}:assumed-role/{ROLE}/alice"
    refused = _aws({**env, **mallory}, "sts", "assume-role", "--role-arn", role,
                   "--role-session-name", "mallory")
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stderr
    assert "arn:aws:iam::123456789012:user/mallory is not authorized to perform: " \
           "sts:AssumeRole" in refused.stderr
    # a wrong secret key is refused with AWS's error, by the CLI too
    wrong = _aws({**env, **alice, "AWS_SECRET_ACCESS_KEY": "wrong" * 8}, "sts",
                 "get-caller-identity")
    assert wrong.returncode != 0 and "SignatureDoesNotMatch" in wrong.stderr
    assert os.path.exists(AWS_CLI)
