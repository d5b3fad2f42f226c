"""``orgsync access`` agrees with what AWS lets each user assume: against the sandbox, which
evaluates the caller's identity policies together with the role's trust policy on
sts:AssumeRole, every (user, account, role) the report says is reachable is allowed, and every
other combination of the same users, accounts and roles is refused. The file's view and AWS's
differ on purpose: a grant and a member the file adds after apply (marked missing in AWS), and a
grant another tool added out of band (marked not in the file, and really usable).
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import Any

from botocore.config import Config

from reconciler.access import reachable, render_text
from tests.aws.seed import iam_user, key_client, key_env, member_client
from tests.desired_files import HEADER
from tests.export.helpers import base_env, create_account, run_cli, trust_management

ACCESS_ROLE = "OrganizationAccountAccessRole"
USERS = ("alice", "bob", "carol", "mallory")
ROLES = (ACCESS_ROLE, "ReadOnly", "Deployer")
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})

APPLIED = HEADER + """\
accounts:
  - name: web
    email: aws+web@example.com
    id: "{web}"
  - name: data
    email: aws+data@example.com
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
  - name: readers
    members: [bob, carol]
    assume:
      - accounts: [web]
        role: ReadOnly
      - accounts: [data]
        role: ReadOnly
        source_ips: [127.0.0.0/8, "::1/128"]
"""
# after apply: a grant and a member the file adds that AWS does not have yet
EDITED = APPLIED.replace("    members: [bob, carol]", "    members: [bob, carol, dave]") + """\
      - accounts: [web]
        role: Deployer
"""


def assume(sandbox: Any, key: dict[str, str], role_arn: str) -> bool:
    sts = key_client(sandbox, "sts", key, config=NO_RETRY)
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="access-check")
    except sts.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error
        return False
    return True


def test_access_report_agrees_with_assume_role(sandbox: Any, tmp_path: Path) -> None:
    org = sandbox.client("organizations")
    ids = {"web": create_account(org, name="web", email="aws+web@example.com"),
           "data": create_account(org, name="data", email="aws+data@example.com")}
    for account_id in ids.values():
        for role in ("ReadOnly", "Deployer"):
            member_client(sandbox, "iam", account_id).create_role(
                RoleName=role, AssumeRolePolicyDocument=trust_management("123456789012"))
    iam = sandbox.client("iam")
    keys = {user: iam_user(sandbox, user) for user in USERS}
    (tmp_path / "accounts.yaml").write_text(APPLIED.format(web=ids["web"]))
    env = base_env(sandbox, tmp_path)
    applied = run_cli(env, "apply", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    # Out of band: another tool grants the readers the access role of data.
    iam.put_group_policy(GroupName="readers", PolicyName="extra", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ids['data']}:role/{ACCESS_ROLE}"}]}))
    (tmp_path / "accounts.yaml").write_text(EDITED.format(web=ids["web"]))

    result = run_cli(env, "access", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    statuses = {(r["group"], r["account"], r["role"]): r["status"] for r in document["grants"]}
    assert statuses == {
        ("admins", "web", ACCESS_ROLE): "granted",
        ("admins", "data", ACCESS_ROLE): "granted",
        ("readers", "web", "ReadOnly"): "granted",
        ("readers", "data", "ReadOnly"): "granted",
        ("readers", "web", "Deployer"): "missing_in_aws",
        ("readers", "data", ACCESS_ROLE): "not_in_file",
    }
    readers = next(g for g in document["groups"] if g["name"] == "readers")
    assert readers["members"] == [{"name": "bob", "status": "member"},
                                  {"name": "carol", "status": "member"},
                                  {"name": "dave", "status": "no_such_user"}]

    # A reviewer holding exactly `orgsync permissions --for plan` gets the same report (the
    # sandbox decides every call by the caller's identity policies, as AWS does).
    plan_policy = run_cli(env, "permissions", "--for", "plan", cwd=tmp_path)
    assert plan_policy.returncode == 0, plan_policy.stderr
    reviewer_key = iam_user(sandbox, "reviewer", managed_policy=plan_policy.stdout)
    as_reviewer = run_cli(key_env(env, reviewer_key), "access", "--format", "json", cwd=tmp_path)
    assert as_reviewer.returncode == 0, as_reviewer.stderr
    assert json.loads(as_reviewer.stdout) == document
    # ... and without it, one clear line (mallory holds no policy at all)
    as_mallory = run_cli(key_env(env, keys["mallory"]), "access", cwd=tmp_path)
    assert as_mallory.returncode == 1 and as_mallory.stdout == ""
    assert "AccessDenied" in as_mallory.stderr and "Traceback" not in as_mallory.stderr
    assert len(as_mallory.stderr.strip().splitlines()) == 1, as_mallory.stderr

    said = reachable(document)
    assert ("bob", ids["data"], ACCESS_ROLE) in said
    assert ("bob", ids["web"], "Deployer") not in said
    for user, account, role in product(USERS, ids.values(), ROLES):
        allowed = assume(sandbox, keys[user], f"arn:aws:iam::{account}:role/{role}")
        assert allowed == ((user, account, role) in said), (user, account, role)

    text = render_text(document)  # what `orgsync access` prints (the same document)
    assert "group readers\n  members: bob, carol, dave (no such IAM user)\n" in text
    assert "MISSING IN AWS: the file grants it, AWS does not" in text
    assert "from 127.0.0.0/8, ::1/128" in text
    assert "6 grant(s): 4 as the file says, 2 marked." in text
    markdown = run_cli(env, "access", "--format", "markdown", cwd=tmp_path)
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.count("\n| readers |") == 5  # the group's members, 4 grants
    assert "**NOT IN THE FILE: AWS grants it, the file does not (inline policy extra, not " \
        "orgsync's: apply keeps it)**" in markdown.stdout
