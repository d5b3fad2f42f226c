"""A group member uses the profile orgsync generates for a non-admin role the group is granted,
with the real AWS CLI against the sandbox (which evaluates the caller's identity policies on
sts:AssumeRole, as AWS does): ``orgsync apply`` makes the group and its grant, ``orgsync profiles
--group readers --source-profile alice --write`` writes the profile, ``aws --profile web-readonly
sts get-caller-identity`` answers as the ReadOnly role. The access role's profile, which the group
is not granted, is refused for the same user.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.aws.seed import iam_user, member_client
from tests.export.helpers import (
    base_env,
    create_account,
    run_cli,
    trust_management,
    write_credentials,
)

AWS_CLI = str(Path(sys.executable).parent / "aws")


def file_text(web: str) -> str:
    return f"""\
version: 1
organization:
  management_account_id: "123456789012"
accounts:
  - name: web
    email: aws+web@example.com
    id: "{web}"
groups:
  - name: readers
    members: [alice]
    assume:
      - accounts: [web]
        role: ReadOnly
"""


def aws(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS_CLI, *args, "--output", "json"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_group_member_uses_generated_profile_for_granted_role(sandbox: Any,
                                                              tmp_path: Path) -> None:
    web = create_account(sandbox.client("organizations"), name="web",
                         email="aws+web@example.com")
    member_client(sandbox, "iam", web).create_role(
        RoleName="ReadOnly", AssumeRolePolicyDocument=trust_management("123456789012"))
    key = iam_user(sandbox, "alice")
    write_credentials(tmp_path, {"alice": (key["AccessKeyId"], key["SecretAccessKey"])})
    (tmp_path / "accounts.yaml").write_text(file_text(web))
    env = base_env(sandbox, tmp_path)
    applied = run_cli(env, "apply", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    written = run_cli(env, "profiles", "--group", "readers", "--source-profile", "alice",
                      "--write", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    config = (tmp_path / "aws-config").read_text()
    assert "[profile web-readonly]" in config and "[profile web]" not in config

    as_alice = {k: v for k, v in env.items()
                if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    result = aws(as_alice, "--profile", "web-readonly", "sts", "get-caller-identity",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    caller = json.loads(result.stdout)
    assert caller["Account"] == web
    assert caller["Arn"] == f"arn:aws:sts::{web}:assumed-role/ReadOnly/orgsync-web-readonly"

    # Every role, written for alice too: the access role's profile exists, AWS refuses it.
    every = run_cli(env, "profiles", "--source-profile", "alice", "--write", cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    refused = aws(as_alice, "--profile", "web", "sts", "get-caller-identity", cwd=tmp_path)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
