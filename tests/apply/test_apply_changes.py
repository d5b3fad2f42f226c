"""Changes after the first apply: invitations pending, declined and expired; renames, moves and
tags; groups changed and deleted; managed grant policies at IAM's five-version limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import ApplyOptions, SilentReporter, apply_plan
from reconciler.aws import Aws
from reconciler.observed import ObservedOrganization, ObservedState
from reconciler.plan import Action, Change, Plan
from tests.desired_files import HEADER

from .conftest import Workdir, invitations_by_target, output

LEGACY = "210987654321"

INVITED = HEADER + """\
accounts:
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
"""


def _invitations(sandbox: Any) -> list[dict[str, Any]]:
    orgs = sandbox.client("organizations")
    return [h for h in orgs.list_handshakes_for_organization()["Handshakes"]
            if any(p["Id"] == LEGACY for p in h["Parties"])]


def test_pending_invitation_is_not_sent_twice_and_a_declined_one_is_resent(
        workdir: Workdir) -> None:
    workdir.write(INVITED)
    first = workdir.apply()
    assert first.returncode == 0, output(first)
    assert "waiting for invitation" in first.stdout
    assert "\nconverged:" in first.stdout  # only deferred work is left
    pending = workdir.apply()
    assert pending.returncode == 0, output(pending)
    assert len(_invitations(workdir.sandbox)) == 1
    assert workdir.sandbox.control.calls("organizations.InviteAccountToOrganization") == 1
    handshake = _invitations(workdir.sandbox)[0]["Id"]
    workdir.sandbox.control.decline_handshake(handshake)
    resent = workdir.apply()
    assert resent.returncode == 0, output(resent)
    assert "invited 210987654321" in resent.stdout
    assert invitations_by_target(workdir.sandbox)[LEGACY] == 1  # the declined one is not live
    assert workdir.sandbox.control.calls("organizations.InviteAccountToOrganization") == 2


def test_expired_invitation_is_resent(workdir: Workdir) -> None:
    workdir.write(INVITED)
    assert workdir.apply().returncode == 0
    workdir.sandbox.control.advance_clock(16 * 24 * 3600)
    states = {h["State"] for h in _invitations(workdir.sandbox)}
    assert states == {"EXPIRED"}
    again = workdir.apply()
    assert again.returncode == 0, output(again)
    assert "invited 210987654321" in again.stdout
    assert invitations_by_target(workdir.sandbox)[LEGACY] == 1


ACCOUNT = HEADER + """\
accounts:
  - name: {name}
    email: aws+renamed@example.com
    ou: {ou}
    tags: {tags}
groups:
  - name: ops
    members: {members}
    assume:
      - accounts: ["*"]
"""


def test_rename_move_retag_and_group_changes_converge(workdir: Workdir) -> None:
    workdir.write(ACCOUNT.format(name="before", ou="/A", tags="{team: x, old: y}",
                                 members="[alice, bob]"))
    assert workdir.apply().returncode == 0
    workdir.write(ACCOUNT.format(name="after", ou="/B/C", tags="{team: z}", members="[bob]"))
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    assert "renamed 'before' to 'after'" in result.stdout
    assert "moved to /B/C" in result.stdout
    assert "removed tags old" in result.stdout
    assert "removed alice" in result.stdout
    assert "\nconverged:" in result.stdout
    assert workdir.plan_exit() == 0
    orgs = workdir.sandbox.client("organizations")
    account = next(a for a in orgs.list_accounts()["Accounts"]
                   if a["Email"] == "aws+renamed@example.com")
    assert account["Name"] == "after"
    tags = orgs.list_tags_for_resource(ResourceId=account["Id"])["Tags"]
    assert tags == [{"Key": "team", "Value": "z"}]
    # the group leaves the file: it is deleted (its members and policies first)
    workdir.write(ACCOUNT.split("groups:")[0].format(name="after", ou="/B/C", tags="{team: z}"))
    deleted = workdir.apply()
    assert deleted.returncode == 0, output(deleted)
    assert "deleted group ops" in deleted.stdout
    groups = workdir.sandbox.client("iam").list_groups(PathPrefix="/orgsync/")["Groups"]
    assert groups == []


def _policy_change(document: dict[str, Any]) -> Change:
    return Change(kind="group", key="big", action=Action.UPDATE, before=None, reason="test",
                  after={"name": "big", "path": "/orgsync/", "members": [],
                         "inline_policies": {},
                         "managed_policies": [{"name": "orgsync-big-assume-1",
                                               "path": "/orgsync/", "document": document}]})


def test_managed_grant_policy_versions_stay_within_iams_limit(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    aws = Aws(region="us-east-1", endpoint_url=sandbox.info.endpoint_url)
    observed = ObservedState(organization=ObservedOrganization(
        id="o-x", arn="arn", feature_set="ALL", management_account_id="123456789012",
        root_id="r-x"))
    from reconciler.config import load_text

    desired = load_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                        'accounts: []\n', filename="accounts.yaml")
    arn = "arn:aws:iam::123456789012:policy/orgsync/orgsync-big-assume-1"
    iam = sandbox.client("iam")
    for i in range(8):
        document = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{100000000000 + i}:role/Admin"}]}
        result = apply_plan(Plan(management_account_id="123456789012",
                                 changes=(_policy_change(document),)),
                            desired=desired, observed=observed, aws=aws,
                            reporter=SilentReporter(), options=ApplyOptions())
        assert result.ok, result.steps
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        assert len(versions) <= 5
        default = next(v for v in versions if v["IsDefaultVersion"])
        current = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])
        stored = current["PolicyVersion"]["Document"]
        if isinstance(stored, str):
            stored = json.loads(stored)
        assert json.dumps(stored).count(str(100000000000 + i)) == 1
    attached = iam.list_attached_group_policies(GroupName="big")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]
    # the same document again changes nothing
    again = apply_plan(Plan(management_account_id="123456789012",
                            changes=(_policy_change(document),)),
                       desired=desired, observed=observed, aws=aws, reporter=SilentReporter())
    assert again.steps[0].detail == "already as wanted"


def test_apply_converges_under_organizations_throttling(workdir: Workdir,
                                                       sandbox_options: Any) -> None:
    from .conftest import SMALL

    with sandbox_options(throttle={"organizations": 8.0}, auto_accept_invites=True) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(SMALL)
        result = workdir.apply()
        assert result.returncode == 0, output(result)
        assert "\nconverged:" in result.stdout
        assert "FAILED" not in result.stdout


def test_create_account_failing_late_is_a_clear_failure(workdir: Workdir) -> None:
    # The email of a standalone (existing) AWS account: CreateAccount is accepted, then FAILED.
    workdir.write(HEADER + """\
accounts:
  - name: taken
    email: aws+acquired@example.com
""")
    result = workdir.apply()
    assert result.returncode == 1, output(result)
    assert "FAILED account.taken: CreateAccount" in result.stdout
    assert "EMAIL_ALREADY_EXISTS" in result.stdout
    assert "skipped access_role.taken: skipped because account.taken failed" in result.stdout
    assert "Traceback" not in result.stderr
