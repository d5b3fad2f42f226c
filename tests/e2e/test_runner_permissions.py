"""The policy ``orgsync permissions`` prints is what a runner needs, no more and no less: the
sandbox decides every call by the caller's identity policies (as AWS does), so a runner holding
exactly ``--for apply`` converges an organization from nothing, one holding ``--for plan`` plans
it, and one missing a single action is refused with one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.aws.seed import iam_user, key_env
from tests.desired_files import HEADER, ROOT_ABSENT

FILE = HEADER + ROOT_ABSENT + """\
accounts:
  - name: app
    email: aws+app@example.com
    ou: /Workloads
    tags: {team: apps}
  - name: data
    email: aws+data@example.com
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
"""


def _runner(sandbox: Any, name: str, policy: dict[str, Any], env: dict[str, str]
            ) -> dict[str, str]:
    """An IAM user whose only permissions are ``policy`` (a customer managed policy), and the
    environment that runs orgsync as it."""
    return key_env(env, iam_user(sandbox, name, managed_policy=policy))


def _policy(orgsync: Any, path: Path, env: dict[str, str], purpose: str) -> dict[str, Any]:
    result = orgsync("permissions", "--for", purpose, "-f", str(path), env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_printed_policies_are_enough(sandbox: Any, orgsync: Any, aws_env: dict[str, str],
                                         tmp_path: Path) -> None:
    sandbox.client("iam").create_user(UserName="alice")
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    applier = _runner(sandbox, "applier", _policy(orgsync, path, aws_env, "apply"), aws_env)
    planner = _runner(sandbox, "planner", _policy(orgsync, path, aws_env, "plan"), aws_env)
    applied = orgsync("apply", "-f", str(path), "--auto-approve", env=applier, timeout=300)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "AccessDenied" not in applied.stdout + applied.stderr
    planned = orgsync("plan", "-f", str(path), "--detailed-exitcode", env=planner)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    # the read-only runner cannot change anything, whatever it is asked
    path.write_text(FILE.replace("team: apps", "team: platform"))
    refused = orgsync("apply", "-f", str(path), "--auto-approve", env=planner, timeout=300)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    # refused at the apply lock (a policy under orgsync-lock/), before any change
    assert "iam:CreatePolicy" in refused.stderr and "orgsync-apply-lock" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    tags = sandbox.client("organizations").list_tags_for_resource(ResourceId=next(
        a["Id"] for a in sandbox.client("organizations").list_accounts()["Accounts"]
        if a["Name"] == "app"))["Tags"]
    assert tags == [{"Key": "team", "Value": "apps"}]


def test_a_missing_action_is_one_clear_refusal(sandbox: Any, orgsync: Any,
                                               aws_env: dict[str, str], tmp_path: Path) -> None:
    sandbox.client("iam").create_user(UserName="alice")
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    policy = _policy(orgsync, path, aws_env, "apply")
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]]
        statement["Action"] = [a for a in actions if a != "organizations:CreateAccount"]
    short = _runner(sandbox, "short", policy, aws_env)
    result = orgsync("apply", "-f", str(path), "--auto-approve", env=short, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "organizations:CreateAccount" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.client("organizations").list_accounts()["Accounts"][0]["Id"] == "123456789012"
    assert len(sandbox.client("organizations").list_accounts()["Accounts"]) == 1
