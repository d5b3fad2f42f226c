"""S3 bucket policies and SQS queue policies in member accounts, as AWS enforces them: a policy
that denies every principal locks out the account's own administrator role; only the owner's
root session (S3UnlockBucketPolicy / SQSUnlockQueuePolicy) can read and delete it, and the task
policies allow exactly their own calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox
from tests.sandbox.member_accounts import admin_client, new_member

TASK = "arn:aws:iam::aws:policy/root-task/"
BUCKET = "acme-locked-logs"
DENY_ALL_BUCKET = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyEveryone", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}
DENY_ALL_QUEUE = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sqs:*", "Resource": "*"}]}


def _root(sandbox: Sandbox, call, as_session, account_id: str, task: str, service: str) -> Any:
    creds = call(sandbox.client("sts"), "AssumeRoot", TargetPrincipal=account_id,
                 TaskPolicyArn={"arn": TASK + task})["Credentials"]
    return as_session(service, creds)


@pytest.fixture
def locked(sandbox: Sandbox, call, as_session) -> dict[str, Any]:
    """A member account with a deny-all bucket and a deny-all queue; root sessions enabled."""
    call(sandbox.client("organizations"), "EnableAWSServiceAccess",
         ServicePrincipal="iam.amazonaws.com")
    call(sandbox.client("iam"), "EnableOrganizationsRootSessions")
    member = new_member(sandbox, call)
    s3 = admin_client(sandbox, call, as_session, member, "s3")
    sqs = admin_client(sandbox, call, as_session, member, "sqs")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="report.csv", Body=b"a,b\n")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DENY_ALL_BUCKET))
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(DENY_ALL_QUEUE)})
    return {"account": member, "s3": s3, "sqs": sqs, "queue": url}


def _code(call_: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call_()
    return str(caught.value.response["Error"]["Code"])


def test_deny_all_bucket_policy_locks_out_the_admin_role(locked: dict[str, Any]) -> None:
    s3 = locked["s3"]
    assert _code(lambda: s3.get_object(Bucket=BUCKET, Key="report.csv")) == "AccessDenied"
    assert _code(lambda: s3.list_objects_v2(Bucket=BUCKET)) == "AccessDenied"
    assert _code(lambda: s3.get_bucket_policy(Bucket=BUCKET)) == "AccessDenied"
    assert _code(lambda: s3.delete_bucket_policy(Bucket=BUCKET)) == "AccessDenied"
    assert _code(lambda: s3.put_bucket_policy(Bucket=BUCKET, Policy="{}")) == "AccessDenied"


def test_deny_all_queue_policy_locks_out_the_admin_role(locked: dict[str, Any]) -> None:
    sqs, url = locked["sqs"], locked["queue"]
    assert _code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x")) == "AccessDenied"
    assert _code(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])) \
        == "AccessDenied"
    assert _code(lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})) \
        == "AccessDenied"


def test_s3_unlock_task_session_deletes_the_policy(sandbox: Sandbox, call, as_session,
                                                   locked: dict[str, Any]) -> None:
    root = _root(sandbox, call, as_session, locked["account"], "S3UnlockBucketPolicy", "s3")
    assert json.loads(root.get_bucket_policy(Bucket=BUCKET)["Policy"]) == DENY_ALL_BUCKET
    assert BUCKET in [b["Name"] for b in root.list_buckets()["Buckets"]]
    # the task allows only its four calls: not the bucket's contents
    assert _code(lambda: root.list_objects_v2(Bucket=BUCKET)) == "AccessDenied"
    assert _code(lambda: root.get_object(Bucket=BUCKET, Key="report.csv")) == "AccessDenied"
    root.delete_bucket_policy(Bucket=BUCKET)
    assert _code(lambda: root.get_bucket_policy(Bucket=BUCKET)) == "NoSuchBucketPolicy"
    s3 = locked["s3"]
    assert s3.get_object(Bucket=BUCKET, Key="report.csv")["Body"].read() == b"a,b\n"


def test_sqs_unlock_task_session_deletes_the_policy(sandbox: Sandbox, call, as_session,
                                                    locked: dict[str, Any]) -> None:
    url = locked["queue"]
    root = _root(sandbox, call, as_session, locked["account"], "SQSUnlockQueuePolicy", "sqs")
    policy = root.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert json.loads(policy["Policy"]) == DENY_ALL_QUEUE
    assert root.get_queue_url(QueueName="orders")["QueueUrl"] == url
    assert _code(lambda: root.send_message(QueueUrl=url, MessageBody="x")) == "AccessDenied"
    assert _code(lambda: root.delete_queue(QueueUrl=url)) == "AccessDenied"
    root.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    sqs = locked["sqs"]
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url,
                                                     AttributeNames=["All"])["Attributes"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")


def test_each_task_allows_only_its_own_service(sandbox: Sandbox, call, as_session,
                                               locked: dict[str, Any]) -> None:
    account = locked["account"]
    sqs_root = _root(sandbox, call, as_session, account, "S3UnlockBucketPolicy", "sqs")
    assert _code(lambda: sqs_root.get_queue_attributes(
        QueueUrl=locked["queue"], AttributeNames=["Policy"])) == "AccessDenied"
    s3_root = _root(sandbox, call, as_session, account, "SQSUnlockQueuePolicy", "s3")
    assert _code(lambda: s3_root.delete_bucket_policy(Bucket=BUCKET)) == "AccessDenied"
    audit = _root(sandbox, call, as_session, account, "IAMAuditRootUserCredentials", "s3")
    assert _code(lambda: audit.get_bucket_policy(Bucket=BUCKET)) == "AccessDenied"


def test_another_accounts_root_session_cannot_unlock(sandbox: Sandbox, call, as_session,
                                                     locked: dict[str, Any]) -> None:
    other = new_member(sandbox, call, "other")
    s3 = _root(sandbox, call, as_session, other, "S3UnlockBucketPolicy", "s3")
    assert _code(lambda: s3.delete_bucket_policy(Bucket=BUCKET)) == "AccessDenied"
    sqs = _root(sandbox, call, as_session, other, "SQSUnlockQueuePolicy", "sqs")
    assert _code(lambda: sqs.set_queue_attributes(
        QueueUrl=locked["queue"], Attributes={"Policy": ""})) == "AccessDenied"


def test_policies_that_do_not_deny_leave_the_owner_in(sandbox: Sandbox, call, as_session,
                                                      locked: dict[str, Any]) -> None:
    s3 = admin_client(sandbox, call, as_session, locked["account"], "s3")
    s3.create_bucket(Bucket="acme-open")
    s3.put_bucket_policy(Bucket="acme-open", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-open/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    s3.put_object(Bucket="acme-open", Key="k", Body=b"v")
    assert s3.get_object(Bucket="acme-open", Key="k")["Body"].read() == b"v"
    # a bucket of another account without a grant is refused
    other = admin_client(sandbox, call, as_session, new_member(sandbox, call, "other"), "s3")
    assert _code(lambda: other.get_object(Bucket="acme-open", Key="k")) == "AccessDenied"
