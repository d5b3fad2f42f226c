"""Groups end to end against the sandbox: a same-named group under another path is refused (by
the plan; apply re-checks in case one appears after the plan) and never taken over, and members
that are not IAM users yet are deferred, not a plan error."""

from __future__ import annotations

from typing import Any

from tests.desired_files import HEADER

from .conftest import Workdir, output

GROUP = HEADER + """\
accounts: []
groups:
  - name: {name}
    members: [{members}]
"""

FOREIGN_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                  '"Action":"s3:ListAllMyBuckets","Resource":"*"}]}')


def _group(iam: Any, name: str) -> tuple[str, list[str], list[str]]:
    found = iam.get_group(GroupName=name)
    return (found["Group"]["Path"], sorted(u["UserName"] for u in found["Users"]),
            sorted(iam.list_group_policies(GroupName=name)["PolicyNames"]))


def test_create_refuses_a_same_named_group_under_another_path(workdir: Workdir) -> None:
    iam = workdir.sandbox.client("iam")
    iam.create_user(UserName="carol")  # alice and bob: the workdir fixture's
    iam.create_group(GroupName="ops", Path="/")
    iam.add_user_to_group(GroupName="ops", UserName="carol")
    iam.put_group_policy(GroupName="ops", PolicyName="team", PolicyDocument=FOREIGN_POLICY)
    workdir.write(GROUP.format(name="ops", members="alice"))
    result = workdir.apply()
    assert result.returncode == 1, output(result)
    text = output(result)
    # refused at plan time (observe sees same-named groups outside orgsync's paths)
    assert "group ops: an IAM group of that name already exists at path / (not orgsync's)" in text
    assert "nothing was changed" in text
    assert "move that group and set its path" in text and "Traceback" not in text
    assert _group(iam, "ops") == ("/", ["carol"], ["team"])
    # elsewhere than "/", adopting is setting that path in the file
    iam.create_group(GroupName="dev", Path="/team/")
    workdir.write(GROUP.format(name="dev", members="alice"))
    other = workdir.apply()
    assert other.returncode == 1, output(other)
    assert "already exists at path /team/ (not orgsync's)" in output(other)
    assert "nothing was changed" in output(other)
    assert "set path: /team/ for it in the file" in output(other)
    assert _group(iam, "dev") == ("/team/", [], [])
    assert workdir.sandbox.control.calls("iam.UpdateGroup") == 0
    assert workdir.sandbox.control.calls("iam.AddUserToGroup") == 1  # carol, by this test
    # adopted: the path is set in the file, and the group becomes orgsync's
    workdir.write(GROUP.format(name="dev", members="alice") + "    path: /team/\n")
    adopted = workdir.apply()
    assert adopted.returncode == 0, output(adopted)
    assert _group(iam, "dev") == ("/team/", ["alice"], [])


def test_missing_member_is_deferred_and_added_once_the_user_exists(workdir: Workdir) -> None:
    iam = workdir.sandbox.client("iam")
    workdir.write(GROUP.format(name="auditors", members="alice, dave"))
    plan = workdir.orgsync("plan", "--detailed-exitcode")
    assert plan.returncode == 2, output(plan)
    text = output(plan)
    assert "IAM user(s) dave to exist in the management account" in text
    assert "do not exist in the management account" in text  # the warning
    applied = workdir.apply()
    assert applied.returncode == 0, output(applied)
    assert "\nconverged:" in applied.stdout  # only the deferred member is left
    assert _group(iam, "auditors") == ("/orgsync/", ["alice"], [])
    assert workdir.plan_exit() == 0  # nothing to do until dave exists
    iam.create_user(UserName="dave")
    assert workdir.plan_exit() == 2
    again = workdir.apply()
    assert again.returncode == 0, output(again)
    assert "added dave" in again.stdout
    assert _group(iam, "auditors") == ("/orgsync/", ["alice", "dave"], [])
    assert workdir.plan_exit() == 0
