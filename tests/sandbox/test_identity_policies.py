"""Every call by an IAM user or role session is decided by its identity-based policies, as in AWS
(implicit deny without an Allow, explicit Deny wins, IAM resources by ARN with their path).
Driven with boto3 over HTTP against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox
from tests.aws.seed import iam_user, key_client


def _user(sandbox: Sandbox, name: str, statements: list[dict[str, Any]]) -> dict[str, str]:
    return iam_user(sandbox, name, policy={"Version": "2012-10-17", "Statement": statements})


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_implicit_deny_without_an_allow(sandbox: Sandbox) -> None:
    creds = _user(sandbox, "reader", [{"Effect": "Allow", "Action": ["iam:List*",
                                                                     "organizations:List*"],
                                       "Resource": "*"}])
    iam, orgs = key_client(sandbox, "iam", creds), key_client(sandbox, "organizations", creds)
    iam.list_users()
    orgs.list_accounts()
    assert _code(iam.create_group, GroupName="admins") == "AccessDenied"
    assert _code(orgs.describe_organization) == "AccessDeniedException"
    assert _code(orgs.create_account, AccountName="x",
                 Email="aws+x@example.com") == "AccessDeniedException"
    assert "admins" not in {g["GroupName"] for g in sandbox.client("iam").list_groups()["Groups"]}
    # no permission is needed to ask who you are
    assert key_client(sandbox, "sts", creds).get_caller_identity()["Arn"].endswith("user/reader")


def test_iam_resources_are_arns_with_their_path(sandbox: Sandbox) -> None:
    creds = _user(sandbox, "groups", [{
        "Effect": "Allow", "Action": ["iam:CreateGroup", "iam:PutGroupPolicy", "iam:GetGroup"],
        "Resource": "arn:aws:iam::123456789012:group/orgsync/*"}])
    iam = key_client(sandbox, "iam", creds)
    iam.create_group(GroupName="ops", Path="/orgsync/")
    iam.put_group_policy(GroupName="ops", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                 "Resource": "*"}]}))
    assert iam.get_group(GroupName="ops")["Group"]["Path"] == "/orgsync/"
    assert _code(iam.create_group, GroupName="elsewhere") == "AccessDenied"
    sandbox.client("iam").create_group(GroupName="theirs")  # the admin's, outside the path
    assert _code(iam.get_group, GroupName="theirs") == "AccessDenied"


def test_explicit_deny_wins(sandbox: Sandbox) -> None:
    creds = _user(sandbox, "almost", [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "organizations:CloseAccount", "Resource": "*"}])
    orgs = key_client(sandbox, "organizations", creds)
    orgs.list_roots()
    with pytest.raises(ClientError) as caught:
        orgs.close_account(AccountId="123456789012")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "explicit deny" in caught.value.response["Error"]["Message"]


def test_role_sessions_are_governed_by_the_role_policies(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="auditor",
                           PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    creds = sandbox.client("sts").assume_role(
        RoleArn="arn:aws:iam::123456789012:role/auditor", RoleSessionName="audit")["Credentials"]
    audit = key_client(sandbox, "iam", creds)
    audit.list_roles()
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]})
    assert _code(audit.create_role, RoleName="escalate",
                 AssumeRolePolicyDocument=trust) == "AccessDenied"
