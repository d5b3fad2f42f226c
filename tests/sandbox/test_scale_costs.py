"""What keeps the sandbox cheap per call stays correct: the access-key index, the AWS managed
policies accounts share until they change them, keep-alive, O(page) listings, and the runtime
options control (latency and throttling changed without losing state)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.iam.models import iam_backends

from reconciler.sandbox import RemoteControl, Sandbox
from reconciler.sandbox.keys import account_of_key
from tests.aws.seed import key_client

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _client(sandbox: Sandbox, service: str, key: dict[str, Any]) -> Any:
    return key_client(sandbox, service, key, config=NO_RETRY)


def test_key_index_follows_created_and_deleted_keys(sandbox: Sandbox) -> None:
    standalone = sandbox.info.standalone_accounts[0]
    iam = sandbox.client("iam", account=standalone)
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    assert sandbox.state.key_accounts[key["AccessKeyId"]] == (standalone.id, "aws")
    carol = _client(sandbox, "sts", key)
    assert carol.get_caller_identity()["Account"] == standalone.id
    iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    # a deleted key is no longer believed to be the account's
    assert account_of_key(sandbox.state, key["AccessKeyId"]) != standalone.id
    assert key["AccessKeyId"] not in sandbox.state.key_accounts
    sandbox.reset()
    assert key["AccessKeyId"] not in sandbox.state.key_accounts


def test_key_index_finds_assumed_role_keys_without_creating_backends(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations")
    org.create_account(AccountName="member", Email="aws+member@example.com")
    account_id = next(a["Id"] for a in org.list_accounts()["Accounts"] if a["Name"] == "member")
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="test")["Credentials"]
    member = _client(sandbox, "sts", credentials)
    assert member.get_caller_identity()["Account"] == account_id
    # found without a scan: the key was indexed as moto created it
    assert sandbox.state.key_accounts[credentials["AccessKeyId"]] == (account_id, "aws")
    sandbox.state.key_accounts.clear()  # the scan finds it again, and remembers it
    assert member.get_caller_identity()["Account"] == account_id
    assert sandbox.state.key_accounts[credentials["AccessKeyId"]][0] == account_id
    # moto's own scan would have created an IAM backend per partition for every account
    for owner in (account_id, sandbox.info.management_account_id):
        assert dict.get(iam_backends[owner], "aws-cn") is None


def test_aws_managed_policies_count_attachments_per_account(sandbox: Sandbox) -> None:
    standalone = sandbox.info.standalone_accounts[0]
    mine, theirs = sandbox.client("iam"), sandbox.client("iam", account=standalone)
    theirs.create_user(UserName="dave")
    theirs.attach_user_policy(UserName="dave", PolicyArn=READ_ONLY)
    assert theirs.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 1
    assert mine.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 0
    attached = theirs.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert {p["Arn"] for p in attached} == {ADMIN, READ_ONLY}  # the seeded admin has ADMIN
    assert {p["Arn"] for p in mine.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]} \
        == {ADMIN}
    theirs.tag_policy(PolicyArn=READ_ONLY, Tags=[{"Key": "k", "Value": "v"}])
    assert mine.list_policy_tags(PolicyArn=READ_ONLY)["Tags"] == []
    theirs.detach_user_policy(UserName="dave", PolicyArn=READ_ONLY)
    assert theirs.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 0
    # every account still lists all of AWS's managed policies
    pages = mine.get_paginator("list_policies").paginate(Scope="AWS")
    assert sum(len(page["Policies"]) for page in pages) > 1000
    sandbox.reset()
    assert theirs.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 0


def test_connections_are_kept_alive(sandbox: Sandbox) -> None:
    sts = sandbox.client("sts", config=NO_RETRY)
    for _ in range(5):
        sts.get_caller_identity()
    pool = sts._endpoint.http_session._manager.connection_from_url(sandbox.info.endpoint_url)
    assert pool.num_connections == 1
    assert pool.num_requests >= 5


def test_list_accounts_pages_stay_complete(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations")
    for i in range(25):
        org.create_account(AccountName=f"a{i}", Email=f"aws+a{i}@example.com")
    pages = list(org.get_paginator("list_accounts").paginate())
    assert [len(p["Accounts"]) for p in pages] == [20, 6]
    names = [a["Name"] for p in pages for a in p["Accounts"]]
    assert names[1:] == [f"a{i}" for i in range(25)]
    root = org.list_roots()["Roots"][0]["Id"]
    per_parent = [a for p in org.get_paginator("list_accounts_for_parent").paginate(ParentId=root)
                  for a in p["Accounts"]]
    assert len(per_parent) == 26


def _post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_options_change_at_runtime_and_keep_state(sandbox: Sandbox) -> None:
    original = sandbox.options
    remote = RemoteControl(sandbox.info.endpoint_url)
    iam = sandbox.client("iam", config=NO_RETRY)
    org = sandbox.client("organizations", config=NO_RETRY)
    iam.create_user(UserName="erin")
    try:
        document = remote.set_options(latency_ms=200)
        assert (document["latency_ms"], document["throttle"]) == (200.0, {})
        began = time.monotonic()
        iam.get_user(UserName="erin")  # the state survived
        assert time.monotonic() - began >= 0.19
        remote.set_options(latency_ms=0, throttle={"organizations": 1})
        org.list_roots()
        with pytest.raises(ClientError) as caught:
            org.list_roots()
        assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert sandbox.control.options()["throttle"] == {"organizations": 1.0}
        assert remote.set_options(throttle={})["throttle"] == {}
        org.list_roots()
        org.list_roots()
        url = f"{sandbox.info.endpoint_url}/_orgsync/options"
        assert _post(url, {"latency": 5})[0] == 400
        assert _post(url, {"throttle": {"ec2": 3}})[0] == 400
        assert _post(url, {"throttle": {"iam": 0}})[0] == 400
        assert _post(url, {"latency_ms": -1})[0] == 400
        document = remote.options()
        assert (document["latency_ms"], document["throttle"]) == (0.0, {})
        assert remote.cpu_seconds() > 0
    finally:
        sandbox.set_options(latency_ms=original.latency_ms, throttle=original.throttle)


def test_local_policies_in_details_and_summary(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam", account=sandbox.info.standalone_accounts[1])
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="mine", PolicyDocument=document)["Policy"]["Arn"]
    iam.create_user(UserName="frank")
    iam.attach_user_policy(UserName="frank", PolicyArn=arn)
    iam.attach_user_policy(UserName="frank", PolicyArn=READ_ONLY)
    local = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])
    assert [p["Arn"] for p in local["Policies"]] == [arn]
    assert local["UserDetailList"] == [] and local["RoleDetailList"] == []
    both = iam.get_account_authorization_details(Filter=["LocalManagedPolicy",
                                                         "AWSManagedPolicy"], MaxItems=1000)
    assert arn in {p["Arn"] for p in both["Policies"]}
    users = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    frank = next(u for u in users if u["UserName"] == "frank")
    assert {p["PolicyArn"] for p in frank["AttachedManagedPolicies"]} == {arn, READ_ONLY}
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Policies"] == 1
    assert summary["PolicyVersionsInUse"] == 3  # mine, ReadOnlyAccess, the admin's Admin...


def test_created_accounts_get_the_default_policies(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations")
    org.create_account(AccountName="scp", Email="aws+scp@example.com")
    account_id = next(a["Id"] for a in org.list_accounts()["Accounts"] if a["Name"] == "scp")
    policies = org.list_policies_for_target(TargetId=account_id,
                                            Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Name"] for p in policies] == ["FullAWSAccess"]
    targets = org.list_targets_for_policy(PolicyId=policies[0]["Id"])["Targets"]
    assert account_id in {t["TargetId"] for t in targets}
