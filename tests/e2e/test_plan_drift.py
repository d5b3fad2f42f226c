"""``orgsync plan`` through the real CLI against the sandbox: a converged organization (set up with
boto3 alone) plans no change, and each kind of drift plans exactly the one expected change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.aws.seed import (
    CONVERGED_FILE,
    ROLE,
    account_admin_client,
    converge,
    dumps,
    ensure_ou,
    key_client,
    member_client,
    root_id,
    trust_policy,
)

MANAGEMENT = "123456789012"


def plan_json(orgsync: Any, aws_env: dict[str, str], path: Path) -> tuple[int, dict[str, Any]]:
    result = orgsync("plan", "-f", str(path), "--format", "json", "--detailed-exitcode",
                     env=aws_env)
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def changes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["address"], c["action"]) for c in document["changes"]]


@pytest.fixture
def converged(sandbox: Any, tmp_path: Path) -> tuple[dict[str, str], Path]:
    path = tmp_path / "accounts.yaml"
    path.write_text(CONVERGED_FILE)
    return converge(sandbox), path


def test_converged_organization_plans_no_change(
        converged: tuple[dict[str, str], Path], orgsync: Any, aws_env: dict[str, str]) -> None:
    _ids, path = converged
    code, document = plan_json(orgsync, aws_env, path)
    assert changes(document) == []
    assert code == 0
    assert document["unmanaged"] == [{"kind": "account", "id": MANAGEMENT, "name": "management"}]


def _edit_trust(sandbox: Any, ids: dict[str, str]) -> None:
    document = trust_policy(MANAGEMENT)
    document["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::"
                                  "444455556666:root"}, "Action": "sts:AssumeRole"})
    member_client(sandbox, "iam", ids["prod"]).update_assume_role_policy(
        RoleName=ROLE, PolicyDocument=dumps(document))


def _remove_admin(sandbox: Any, ids: dict[str, str]) -> None:
    iam = account_admin_client(sandbox, "iam", ids["prod"])
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ROLE, PolicyName=name)


def _delete_role(sandbox: Any, ids: dict[str, str]) -> None:
    iam = account_admin_client(sandbox, "iam", ids["dev"])
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
    iam.delete_role(RoleName=ROLE)


def _remove_member(sandbox: Any, ids: dict[str, str]) -> None:
    sandbox.client("iam").remove_user_from_group(GroupName="admins", UserName="bob")


def _move_account(sandbox: Any, ids: dict[str, str]) -> None:
    org = sandbox.client("organizations")
    org.move_account(AccountId=ids["prod"], SourceParentId=ensure_ou(org, "/Workloads/Prod"),
                     DestinationParentId=root_id(org))


def _change_tag(sandbox: Any, ids: dict[str, str]) -> None:
    sandbox.client("organizations").tag_resource(
        ResourceId=ids["prod"], Tags=[{"Key": "team", "Value": "marketing"}])


def _recreate_root_password(sandbox: Any, ids: dict[str, str]) -> None:
    sts = sandbox.client("sts")
    session = sts.assume_root(
        TargetPrincipal=ids["dev"], DurationSeconds=900,
        TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword"})
    credentials = session["Credentials"]
    key_client(sandbox, "iam", credentials).create_login_profile()


def _disable_feature(sandbox: Any, ids: dict[str, str]) -> None:
    sandbox.client("iam").disable_organizations_root_credentials_management()


DRIFTS: dict[str, tuple[Callable[[Any, dict[str, str]], None], tuple[str, str]]] = {
    "trust policy edited": (_edit_trust, ("access_role.prod", "update")),
    # without its permissions the role lets orgsync in but not read or repair anything (AWS
    # decides the session's calls by the role's policies): a bootstrap, not an update
    "admin permissions removed": (_remove_admin, ("access_role.prod", "bootstrap")),
    "role deleted": (_delete_role, ("access_role.dev", "bootstrap")),
    "member removed from a group": (_remove_member, ("group.admins", "update")),
    "account moved to another OU": (_move_account, ("account.prod", "update")),
    "tag changed": (_change_tag, ("account.prod", "update")),
    "root password re-created": (_recreate_root_password, ("root_credentials.dev", "update")),
    "feature disabled": (_disable_feature, ("organization.organization", "update")),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_each_drift_plans_exactly_one_change(
        drift: str, sandbox: Any, converged: tuple[dict[str, str], Path], orgsync: Any,
        aws_env: dict[str, str]) -> None:
    ids, path = converged
    make_drift, expected = DRIFTS[drift]
    make_drift(sandbox, ids)
    code, document = plan_json(orgsync, aws_env, path)
    assert changes(document) == [expected], json.dumps(document["changes"], indent=1)
    assert code == 2
