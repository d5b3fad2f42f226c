"""``orgsync access`` shows Identity Center access, with the real CLI against the sandbox: an
assignment ``orgsync apply`` made shows granted (its group with the identity store's members),
one removed out of band shows missing_in_aws, and a reviewer holding exactly
``orgsync permissions --for plan`` gets the same document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.aws.seed import iam_user, key_env, sso_request_end
from tests.desired_files import HEADER

FILE = HEADER + """accounts:
  - name: prod
    email: aws+prod@example.com
identity_center:
  permission_sets:
    - name: Admin
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: [prod]
    - users: [linus]
      permission_set: Admin
      accounts: [prod]
"""


def test_access_shows_identity_center_assignments(sandbox: Any, aws_env: dict[str, str],
                                                  orgsync: Any, tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    applied = orgsync("apply", "-f", str(path), "--auto-approve", env=aws_env, timeout=300)
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-4000:]

    # out of band: linus's assignment removed
    sso = sandbox.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]
    arn = sso.list_permission_sets(InstanceArn=instance["InstanceArn"])["PermissionSets"][0]
    prod = next(a["Id"] for a in sandbox.client("organizations").list_accounts()["Accounts"]
                if a["Name"] == "prod")
    linus = sandbox.client("identitystore").get_user_id(
        IdentityStoreId=instance["IdentityStoreId"], AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "linus"}})
    request = sso.delete_account_assignment(
        InstanceArn=instance["InstanceArn"], TargetId=prod, TargetType="AWS_ACCOUNT",
        PermissionSetArn=arn, PrincipalType="USER", PrincipalId=linus["UserId"]
    )["AccountAssignmentDeletionStatus"]
    assert sso_request_end(sso, instance["InstanceArn"], request, "delete")["Status"] == "SUCCEEDED"

    result = orgsync("access", "-f", str(path), "--format", "json", env=aws_env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    part = document["identity_center"]
    assert part["instance_arn"] == instance["InstanceArn"]
    rows = {(r["principal_type"], r["principal"], r["account"], r["permission_set"]):
            (r["status"], r["members"], r["account_id"]) for r in part["assignments"]}
    assert rows == {
        ("GROUP", "platform-admins", "prod", "Admin"): ("granted", ["ada", "grace"], prod),
        ("USER", "linus", "prod", "Admin"): ("missing_in_aws", None, prod),
    }
    assert part["summary"] == {"granted": 1, "missing_in_aws": 1}

    text = orgsync("access", "-f", str(path), env=aws_env)
    assert text.returncode == 0, text.stderr
    assert "group platform-admins\n  members: ada, grace\n" in text.stdout
    assert "2 Identity Center assignment(s): 1 as the file says, 1 marked." in text.stdout
    markdown = orgsync("access", "-f", str(path), "--format", "markdown", env=aws_env)
    assert markdown.returncode == 0, markdown.stderr
    assert "| user linus | - | prod (" in markdown.stdout

    # the reads are the plan runner's: a reviewer with exactly that policy sees the same
    plan_policy = orgsync("permissions", "--for", "plan", env=aws_env)
    assert plan_policy.returncode == 0, plan_policy.stderr
    key = iam_user(sandbox, "reviewer", managed_policy=plan_policy.stdout)
    as_reviewer = orgsync("access", "-f", str(path), "--format", "json",
                          env=key_env(aws_env, key))
    assert as_reviewer.returncode == 0, as_reviewer.stderr
    assert json.loads(as_reviewer.stdout) == document

    # an identity-store group whose display name holds a line break (AWS's pattern allows \n),
    # assigned out of band: the text and markdown reports show it escaped, on one line, so that
    # it cannot fake a row; JSON keeps the name as it is
    store = sandbox.client("identitystore")
    evil = store.create_group(IdentityStoreId=instance["IdentityStoreId"],
                              DisplayName="ops\n  members: nobody")["GroupId"]
    request = sso.create_account_assignment(
        InstanceArn=instance["InstanceArn"], TargetId=prod, TargetType="AWS_ACCOUNT",
        PermissionSetArn=arn, PrincipalType="GROUP", PrincipalId=evil
    )["AccountAssignmentCreationStatus"]
    assert sso_request_end(sso, instance["InstanceArn"], request, "create")["Status"] == "SUCCEEDED"
    # (markdown escapes the backslash once more, so that it renders as one)
    for fmt, escaped in (("text", "ops\\n  members: nobody"),
                         ("markdown", "ops\\\\n  members: nobody")):
        shown = orgsync("access", "-f", str(path), "--format", fmt, env=aws_env)
        assert shown.returncode == 0, shown.stderr
        assert escaped in shown.stdout, shown.stdout
        assert "ops\n" not in shown.stdout
    raw = orgsync("access", "-f", str(path), "--format", "json", env=aws_env)
    assert any(r["principal"] == "ops\n  members: nobody"
               for r in json.loads(raw.stdout)["identity_center"]["assignments"])
