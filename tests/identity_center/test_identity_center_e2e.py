"""IAM Identity Center end to end with the real CLI against the sandbox (sso-admin and
identitystore served with AWS's asynchronous semantics).

Permission sets and assignments for two groups (and a user) across a created and an invited
account converge in one apply; the next plan is empty; drift made out of band (an inline policy
edited, an assignment removed) plans exactly the expected changes and one apply repairs it;
``orgsync export`` writes a section that plans clean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws import Aws
from reconciler.config import load_text
from reconciler.pipeline import read_sso_assignments
from tests.aws.seed import sso_request_end
from tests.conftest import apply_ok, plan_json
from tests.desired_files import HEADER

LEGACY = "210987654321"
FILE = HEADER + """accounts:
  - name: prod
    email: aws+prod@example.com
  - name: legacy
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
    bootstrap_profile: legacy-admin
identity_center:
  permission_sets:
    - name: Admin
      description: Full administrator
      session_duration: PT4H
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
    - name: ReadOnly
      session_duration: PT2H
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      inline_policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Deny, Action: "s3:GetObject", Resource: "*"}
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: ["*"]
    - group: auditors
      permission_set: ReadOnly
      accounts: [prod, legacy]
    - users: [linus]
      permission_set: ReadOnly
      accounts: [prod]
"""
EXPECTED_ASSIGNMENTS = {
    "assignment.legacy/Admin/group:platform-admins",
    "assignment.legacy/ReadOnly/group:auditors",
    "assignment.prod/Admin/group:platform-admins",
    "assignment.prod/ReadOnly/group:auditors",
    "assignment.prod/ReadOnly/user:linus",
}


def _env(sandbox: Any, aws_env: dict[str, str]) -> dict[str, str]:
    legacy = next(a for a in sandbox.info.standalone_accounts if a.id == LEGACY)
    Path(aws_env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[legacy-admin]\naws_access_key_id = {legacy.access_key_id}\n"
        f"aws_secret_access_key = {legacy.secret_access_key}\n")
    return aws_env


def _changes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((c["address"], c["action"]) for c in document["changes"])


@pytest.fixture
def converged(sandbox: Any, sandbox_options: Any, aws_env: dict[str, str], orgsync: Any,
              tmp_path: Path) -> Any:
    with sandbox_options(auto_accept_invites=True) as sb:
        env = _env(sb, aws_env)
        path = tmp_path / "accounts.yaml"
        path.write_text(FILE)
        code, first = plan_json(path, env=env)
        assert code == 2
        planned = {c["address"] for c in first["changes"]}
        assert {"permission_set.Admin", "permission_set.ReadOnly"} <= planned
        # the created account's assignments are changes; the invited account's wait (listed
        # deferred items, carried out by apply's follow-up round once the invitation is accepted)
        assert {"assignment.prod/Admin/group:platform-admins",
                "assignment.prod/ReadOnly/group:auditors",
                "assignment.prod/ReadOnly/user:linus"} <= planned
        deferred = {d["address"]: d for d in first["deferred"]}
        assert deferred["assignment.legacy/Admin/group:platform-admins"]["action"] == "create"
        output = apply_ok(path, env=env)
        assert "assignment.legacy/ReadOnly/group:auditors" in output
        yield sb, env, path


def test_one_apply_converges_and_drift_is_exact(converged: Any, orgsync: Any) -> None:
    sandbox, env, path = converged
    code, again = plan_json(path, env=env)
    assert (code, again["changes"], again["deferred"]) == (0, [], [])
    assert [u for u in again["unmanaged"] if u["kind"] != "account"] == []

    sso = sandbox.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    by_name = {}
    for arn in sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]:
        name = sso.describe_permission_set(InstanceArn=instance,
                                           PermissionSetArn=arn)["PermissionSet"]["Name"]
        by_name[name] = arn
    prod = next(a["Id"] for a in sandbox.client("organizations").list_accounts()["Accounts"]
                if a["Name"] == "prod")
    # every expected assignment exists in AWS
    assigned = sso.list_account_assignments(InstanceArn=instance, AccountId=LEGACY,
                                            PermissionSetArn=by_name["Admin"])
    assert len(assigned["AccountAssignments"]) == 1

    # drift: the inline policy edited, an assignment removed, both out of band
    sso.put_inline_policy_to_permission_set(
        InstanceArn=instance, PermissionSetArn=by_name["ReadOnly"], InlinePolicy=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]}))
    store = sandbox.client("identitystore")
    store_id = sso.list_instances()["Instances"][0]["IdentityStoreId"]
    group = store.get_group_id(IdentityStoreId=store_id, AlternateIdentifier={
        "UniqueAttribute": {"AttributePath": "displayName",
                            "AttributeValue": "platform-admins"}})["GroupId"]
    removed = sso.delete_account_assignment(
        InstanceArn=instance, TargetId=prod, TargetType="AWS_ACCOUNT",
        PermissionSetArn=by_name["Admin"], PrincipalType="GROUP", PrincipalId=group
    )["AccountAssignmentDeletionStatus"]
    done = sso_request_end(sso, instance, removed, "delete")
    assert done["Status"] == "SUCCEEDED", done

    code, drift = plan_json(path, env=env)
    assert code == 2
    assert _changes(drift) == [("assignment.prod/Admin/group:platform-admins", "create"),
                               ("permission_set.ReadOnly", "update")]
    update = next(c for c in drift["changes"] if c["kind"] == "permission_set")
    # the edited statement, and (AWS does not provision an edit by itself) the accounts that now
    # hold an older version of the set, which apply provisions again
    paths = {d["path"] for d in update["diff"]}
    assert paths == {"inline_policy.Statement[0].Action[0]", "outdated_accounts"}, paths
    inline = next(d for d in update["diff"] if d["path"].startswith("inline_policy"))
    assert (inline["before"], inline["after"]) == ("s3:PutObject", "s3:GetObject")
    assert not drift["destructive"]

    apply_ok(path, env=env)
    code, clean = plan_json(path, env=env)
    assert (code, clean["changes"]) == (0, [])


def test_export_then_plan_is_clean(converged: Any, orgsync: Any, tmp_path: Path) -> None:
    _sandbox, env, _path = converged
    out = tmp_path / "exported.yaml"
    exported = orgsync("export", "--out", str(out), env=env, timeout=300)
    assert exported.returncode == 0, exported.stderr
    text = out.read_text()
    assert "identity_center:" in text and "group: auditors" in text
    code, document = plan_json(out, env=env)
    assert (code, document["changes"]) == (0, []), document["changes"]
    assert [u for u in document["unmanaged"] if u["kind"] != "account"] == []


def _profile_names(text: str) -> list[str]:
    return [line[len("[profile "):-1] for line in text.splitlines()
            if line.startswith("[profile ")]


def test_sso_profiles_for_a_user_and_for_everyone(converged: Any, orgsync: Any,
                                                   tmp_path: Path,
                                                   sandbox_process_env: Any) -> None:
    _sandbox, env, path = converged
    # linus: a direct assignment (his group, developers, has none); margaret: through auditors
    linus = orgsync("profiles", "-f", str(path), "--format", "sso", "--user", "linus", env=env)
    assert linus.returncode == 0, linus.stderr
    assert _profile_names(linus.stdout) == ["prod-readonly"]
    assert "[sso-session orgsync-123456789012]" in linus.stdout
    assert "sso_role_name = ReadOnly" in linus.stdout and "sso_start_url = https://d-" in \
        linus.stdout
    margaret = orgsync("profiles", "-f", str(path), "--format", "sso", "--user", "margaret",
                       env=env)
    assert _profile_names(margaret.stdout) == ["legacy-readonly", "prod-readonly"]
    everyone = orgsync("profiles", "-f", str(path), "--format", "sso", env=env)
    assert _profile_names(everyone.stdout) == ["legacy-admin", "legacy-readonly", "prod-admin",
                                               "prod-readonly"]
    unknown = orgsync("profiles", "-f", str(path), "--format", "sso", "--user", "nobody",
                      env=env)
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    # the accounts are named from one ListAccounts (the file's prod has no id: matched by email)
    aws = Aws(endpoint_url=sandbox_process_env.info.endpoint_url)
    read = read_sso_assignments(load_text(FILE, filename="accounts.yaml"), aws, user=None)
    assert sorted((name, permission_set) for name, _id, permission_set in read.pairs) == [
        ("legacy", "Admin"), ("legacy", "ReadOnly"), ("prod", "Admin"), ("prod", "ReadOnly"),
        ("prod", "ReadOnly")]
    assert aws.calls.by_operation()["organizations:ListAccounts"] == 1
    # --write: a block of its own beside the access-role profiles' block
    config = tmp_path / "config"
    for fmt in ("ini", "sso", "sso"):
        written = orgsync("profiles", "-f", str(path), "--format", fmt, "--write",
                          "--config-file", str(config), env=env)
        assert written.returncode == 0, written.stderr
    text = config.read_text()
    assert text.count("[sso-session ") == 1
    assert text.count("# BEGIN orgsync managed profiles") == 2
