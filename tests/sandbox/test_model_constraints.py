"""The sandbox refuses what AWS refuses and botocore lets through: maximum lengths and values,
patterns and enums of the service models, each with its service's error shape. Driven with
boto3 over HTTP (botocore's own validation cannot reject these: it checks only minimums)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.constraints import compile_pattern

TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


def _create(sandbox: Sandbox) -> str:
    org = sandbox.client("organizations")
    request = org.create_account(AccountName="dev", Email="aws+dev@example.com")
    status = org.describe_create_account_status(
        CreateAccountRequestId=request["CreateAccountStatus"]["Id"])["CreateAccountStatus"]
    return str(status["AccountId"])


@pytest.mark.parametrize(("value", "valid"), [
    ("prod", True), ("cost:center/42 = a+b@c_d.e-f", True), ("Équipe ünïcode 日本 ٣", True),
    ("", True), ("a<b", False), ("semi;colon", False), ("quote\"", False), ("tab\there", False),
    ("emoji \U0001f600", False), ("comma,", False),
])
def test_tag_pattern_is_unicode_aware(value: str, valid: bool) -> None:
    assert bool(compile_pattern(TAG_PATTERN).fullmatch(value)) is valid


@pytest.mark.parametrize(("tags", "reason"), [
    ([{"Key": "team", "Value": "a<b"}], "INVALID_PATTERN"),
    ([{"Key": "bad;key", "Value": "x"}], "INVALID_PATTERN"),
    ([{"Key": "k" * 129, "Value": "x"}], "MAX_LENGTH_EXCEEDED"),
    ([{"Key": "team", "Value": "v" * 257}], "MAX_LENGTH_EXCEEDED"),
])
def test_organizations_tags_refused(sandbox: Sandbox, error, tags: list[dict[str, str]],
                                    reason: str) -> None:
    account_id = _create(sandbox)
    org = sandbox.client("organizations")
    caught = error(org, "TagResource", "InvalidInputException", ResourceId=account_id,
                   Tags=tags)
    assert caught.response["Reason"] == reason
    assert "failed to satisfy constraint" in caught.response["Error"]["Message"]
    assert org.list_tags_for_resource(ResourceId=account_id)["Tags"] == []
    error(org, "CreateAccount", "InvalidInputException", AccountName="x",
          Email="aws+x@example.com", Tags=tags)


def test_organizations_tags_valid_unicode_accepted(sandbox: Sandbox, call) -> None:
    account_id = _create(sandbox)
    org = sandbox.client("organizations")
    call(org, "TagResource", ResourceId=account_id,
         Tags=[{"Key": "équipe", "Value": "plateforme données"}])
    assert org.list_tags_for_resource(ResourceId=account_id)["Tags"] == [
        {"Key": "équipe", "Value": "plateforme données"}]


@pytest.mark.parametrize("operation", ["ListAccounts", "ListRoots",
                                       "ListCreateAccountStatus",
                                       "ListHandshakesForOrganization"])
def test_organizations_max_results_above_20(sandbox: Sandbox, call, error,
                                            operation: str) -> None:
    org = sandbox.client("organizations")
    caught = error(org, operation, "InvalidInputException", MaxResults=21)
    assert caught.response["Reason"] == "MAX_VALUE_EXCEEDED"
    call(org, operation, MaxResults=20)


def test_organizations_enum_and_pattern(sandbox: Sandbox, error) -> None:
    org = sandbox.client("organizations")
    caught = error(org, "ListCreateAccountStatus", "InvalidInputException",
                   States=["DONE"])
    assert caught.response["Reason"] == "INVALID_ENUM"
    caught = error(org, "DescribeAccount", "InvalidInputException", AccountId="12345")
    assert caught.response["Reason"] == "INVALID_PATTERN"


def test_put_account_name_pattern(sandbox: Sandbox) -> None:
    account_id = _create(sandbox)
    account = sandbox.client("account")
    for name in ("a<b", "x>y", "tab\tname", "é"):
        with pytest.raises(account.exceptions.ValidationException) as caught:
            account.put_account_name(AccountId=account_id, AccountName=name)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert "accountName" in caught.value.response["Error"]["Message"]
    with pytest.raises(account.exceptions.ValidationException):
        account.put_account_name(AccountId=account_id, AccountName="n" * 51)
    account.put_account_name(AccountId=account_id, AccountName="ok name; (2) ~ok")
    assert sandbox.client("organizations").describe_account(
        AccountId=account_id)["Account"]["Name"] == "ok name; (2) ~ok"


def _iam_error(function: Any, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        function(**params)
    return caught.value.response["Error"]


def test_iam_policy_name_up_to_128(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    iam.create_group(GroupName="g", Path="/orgsync/")
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    found = _iam_error(iam.put_group_policy, GroupName="g", PolicyName="p" * 129,
                       PolicyDocument=document)
    assert found["Code"] == "ValidationError"
    assert "policyName" in found["Message"] and "128" in found["Message"]
    iam.put_group_policy(GroupName="g", PolicyName="p" * 128, PolicyDocument=document)
    found = _iam_error(iam.create_policy, PolicyName="q" * 129, PolicyDocument=document)
    assert found["Code"] == "ValidationError"
    found = _iam_error(iam.create_group, GroupName="bad name!")
    assert found["Code"] == "ValidationError" and "groupName" in found["Message"]
    found = _iam_error(iam.create_role, RoleName="r", AssumeRolePolicyDocument=document,
                       MaxSessionDuration=43201)
    assert found["Code"] == "ValidationError" and "maxSessionDuration" in found["Message"]


def test_sts_session_name_pattern(sandbox: Sandbox) -> None:
    sts = sandbox.client("sts")
    found = _iam_error(sts.assume_role, RoleArn="arn:aws:iam::123456789012:role/x",
                       RoleSessionName="has space")
    assert found["Code"] == "ValidationError" and "roleSessionName" in found["Message"]
