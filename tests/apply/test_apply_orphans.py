"""Left-over managed grant policies end to end: a crash between CreatePolicy and
AttachGroupPolicy, or a group deleted by hand, leaves ``orgsync-<group>-assume-N`` behind; the
next plan shows its deletion, apply removes it (old versions first), and the plan after that is
empty. The executor is idempotent and refuses, in one line, a left-over that something else uses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.apply import ApplyOptions, SilentReporter, apply_plan
from reconciler.aws import Aws
from reconciler.config import load_text
from reconciler.observed import ObservedOrganization, ObservedState
from reconciler.plan import Action, Change, Plan
from tests.desired_files import HEADER

from .conftest import Workdir, output

FILE = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
groups:
  - name: ops
    members: [alice]
    assume:
      - accounts: ["*"]
"""

GRANT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole",
    "Resource": "arn:aws:iam::999999999999:role/OrganizationAccountAccessRole"}]}


def _left_over(iam: Any, name: str, *, versions: int = 1) -> str:
    """A grant policy as orgsync makes them, never attached (what a crash leaves)."""
    arn = str(iam.create_policy(PolicyName=name, Path="/orgsync/",
                                PolicyDocument=json.dumps(GRANT))["Policy"]["Arn"])
    for _ in range(versions - 1):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(GRANT),
                                  SetAsDefault=True)
    return arn


def _grant_policies(iam: Any) -> list[str]:
    return sorted(p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(
        Scope="Local", PathPrefix="/orgsync/") for p in page["Policies"])


def test_left_over_grant_policies_are_planned_deleted_and_converge(workdir: Workdir) -> None:
    workdir.write(FILE)
    first = workdir.apply()
    assert first.returncode == 0, output(first)
    iam = workdir.sandbox.client("iam")
    _left_over(iam, "orgsync-ops-assume-3", versions=3)  # group in the file
    _left_over(iam, "orgsync-gone-assume-1")  # group deleted by hand, not in the file

    plan = workdir.orgsync("plan", "--detailed-exitcode")
    assert plan.returncode == 2, output(plan)
    assert "~ group.ops (update)" in plan.stdout
    assert "- managed_policies.orgsync-ops-assume-3" in plan.stdout
    assert "- group.gone (delete)" in plan.stdout
    assert ("grant policies left behind for a group not in the file (no group of that "
            "name at orgsync's paths)") in plan.stdout
    assert "DESTRUCTIVE" in plan.stdout
    document = json.loads(workdir.orgsync("plan", "--format", "json").stdout)
    changes = {c["address"]: c for c in document["changes"]}
    assert set(changes) == {"group.ops", "group.gone"}
    assert [p["name"] for p in changes["group.ops"]["before"]["managed_policies"]
            if p.get("attached") is False] == ["orgsync-ops-assume-3"]
    assert changes["group.ops"]["after"]["managed_policies"] == []
    assert changes["group.gone"]["destructive"] is True
    assert changes["group.gone"]["before"]["path"] is None

    applied = workdir.apply()
    assert applied.returncode == 0, output(applied)
    assert "deleted left-over policy orgsync-ops-assume-3" in applied.stdout
    assert "deleted left-over policy orgsync-gone-assume-1" in applied.stdout
    assert _grant_policies(iam) == []
    assert [g["GroupName"] for g in iam.list_groups(PathPrefix="/orgsync/")["Groups"]] == ["ops"]
    assert workdir.plan_exit() == 0


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(region="us-east-1", endpoint_url=sandbox_process_env.info.endpoint_url)


def _apply(aws: Aws, change: Change) -> Any:
    desired = load_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                        'accounts: []\n', filename="accounts.yaml")
    observed = ObservedState(organization=ObservedOrganization(
        id="o-x", arn="arn", feature_set="ALL", management_account_id="123456789012",
        root_id="r-x"))
    return apply_plan(Plan(management_account_id="123456789012", changes=(change,)),
                      desired=desired, observed=observed, aws=aws, reporter=SilentReporter(),
                      options=ApplyOptions())


def _delete_left_over(*names: str) -> Change:
    return Change(kind="group", key="gone", action=Action.DELETE, destructive=True,
                  reason="test", after=None,
                  before={"name": "gone", "path": None, "members": [], "inline_policies": {},
                          "managed_policies": [{"name": n, "path": "/orgsync/",
                                                "document": GRANT, "attached": False}
                                               for n in names]})


def test_delete_is_idempotent_and_detaches_a_late_attachment(sandbox: Any, aws: Aws) -> None:
    iam = sandbox.client("iam")
    iam.create_group(GroupName="gone", Path="/orgsync/")
    attached = _left_over(iam, "orgsync-gone-assume-1")
    _left_over(iam, "orgsync-gone-assume-2", versions=2)
    iam.attach_group_policy(GroupName="gone", PolicyArn=attached)  # attached after the plan
    change = _delete_left_over("orgsync-gone-assume-1", "orgsync-gone-assume-2")
    first = _apply(aws, change)
    assert first.ok, first.steps
    assert "detached orgsync-gone-assume-1" in first.steps[0].detail
    assert _grant_policies(iam) == []
    # the group (path null in the plan: not orgsync's to delete) is kept
    assert iam.get_group(GroupName="gone")["Group"]["GroupName"] == "gone"
    again = _apply(aws, change)
    assert again.ok, again.steps
    assert again.steps[0].detail == "left-over grant policies were already gone"


def test_left_over_in_use_elsewhere_is_refused_in_one_line(sandbox: Any, aws: Aws) -> None:
    iam = sandbox.client("iam")
    iam.create_user(UserName="bob")
    used = _left_over(iam, "orgsync-gone-assume-1")
    _left_over(iam, "orgsync-gone-assume-2")
    iam.attach_user_policy(UserName="bob", PolicyArn=used)
    result = _apply(aws, _delete_left_over("orgsync-gone-assume-1", "orgsync-gone-assume-2"))
    assert not result.ok
    (step,) = result.steps
    assert step.status == "failed"
    assert "orgsync-gone-assume-1 (attached to user bob)" in step.detail
    assert "\n" not in step.detail
    # the other one was still deleted
    assert _grant_policies(iam) == ["orgsync-gone-assume-1"]
