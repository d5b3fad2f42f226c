"""``orgsync root unlock-s3-bucket`` / ``unlock-sqs-queue`` end to end with the real CLI: a member
account's bucket and queue carry policies that deny every principal (its admin role is refused);
the commands remove them through the unlock root sessions, write the audit record first, and the
admin role gets in again. Without a terminal and without --auto-approve nothing changes; every
refusal is one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox
from tests.aws.seed import key_client, member_credentials

ROLE = "OrganizationAccountAccessRole"
BUCKET = "acme-workload-logs"
DENY_ALL_BUCKET = {"Version": "2012-10-17", "Statement": [{
    "Sid": "Oops", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}
DENY_ALL_QUEUE = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]}


def _admin_client(sandbox: Sandbox, account_id: str, service: str) -> Any:
    return key_client(sandbox, service,
                      member_credentials(sandbox, account_id, role=ROLE, session="admin"))


@pytest.fixture
def workload(sandbox: Sandbox, tmp_path: Path) -> dict[str, Any]:
    """A member account ``workload`` with a deny-all bucket and queue; root sessions on; a file
    naming the account."""
    org = sandbox.client("organizations")
    status = org.create_account(AccountName="workload", Email="aws+workload@example.com")
    account_id = org.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"])["CreateAccountStatus"][
        "AccountId"]
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    sandbox.client("iam").enable_organizations_root_sessions()
    s3 = _admin_client(sandbox, account_id, "s3")
    sqs = _admin_client(sandbox, account_id, "sqs")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="app.log", Body=b"started\n")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DENY_ALL_BUCKET))
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(DENY_ALL_QUEUE)})
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        'version: 1\norganization:\n  management_account_id: "123456789012"\n'
        "accounts:\n  - name: workload\n    email: aws+workload@example.com\n")
    return {"id": account_id, "s3": s3, "sqs": sqs, "queue": url, "file": str(accounts),
            "audit": tmp_path / "audit"}


def _refused(call: Any) -> bool:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] == "AccessDenied"
    return False


def _one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith("orgsync: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unlock_bucket_and_queue(sandbox: Sandbox, aws_env: dict[str, str], orgsync,
                                 workload: dict[str, Any]) -> None:
    s3, sqs, url = workload["s3"], workload["sqs"], workload["queue"]
    assert _refused(lambda: s3.get_object(Bucket=BUCKET, Key="app.log"))
    assert _refused(lambda: sqs.receive_message(QueueUrl=url))
    audit_dir = workload["audit"]
    common = ["-f", workload["file"], "--audit-dir", str(audit_dir)]

    # no terminal, no --auto-approve: refused before anything is read or changed
    line = _one_error_line(orgsync("root", "unlock-s3-bucket", "workload", BUCKET, *common,
                                   env=aws_env))
    assert "no terminal" in line and "nothing was changed" in line
    line = _one_error_line(orgsync("root", "unlock-sqs-queue", "workload", url, *common,
                                   env=aws_env))
    assert "no terminal" in line
    assert _refused(lambda: s3.get_object(Bucket=BUCKET, Key="app.log"))
    assert _refused(lambda: sqs.receive_message(QueueUrl=url))
    assert not audit_dir.exists()
    assert sandbox.control.calls("sts.AssumeRoot") == 0

    result = orgsync("root", "unlock-s3-bucket", "workload", BUCKET, "--auto-approve", *common,
                     env=aws_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"Sid": "Oops"' in result.stdout  # the policy is shown before it is deleted
    assert "S3UnlockBucketPolicy" in result.stdout
    assert s3.get_object(Bucket=BUCKET, Key="app.log")["Body"].read() == b"started\n"

    result = orgsync("root", "unlock-sqs-queue", workload["id"], url, "--auto-approve", *common,
                     env=aws_env)
    assert result.returncode == 0, result.stdout + result.stderr
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "job-1"

    records = sorted(audit_dir.glob("*.json"))
    assert len(records) == 2
    by_kind = {json.loads(p.read_text())["resource"]["type"]: json.loads(p.read_text())
               for p in records}
    bucket_record, queue_record = by_kind["s3-bucket"], by_kind["sqs-queue"]
    assert bucket_record["deleted_policy"] == DENY_ALL_BUCKET
    assert queue_record["deleted_policy"] == DENY_ALL_QUEUE
    for record in (bucket_record, queue_record):
        assert record["account_id"] == workload["id"]
        assert record["who"] == "arn:aws:iam::123456789012:user/admin"
        assert record["outcome"] == "deleted" and record["verified_gone"] is True
        assert record["when"]
    assert bucket_record["task_policy"].endswith("root-task/S3UnlockBucketPolicy")
    assert queue_record["task_policy"].endswith("root-task/SQSUnlockQueuePolicy")
    assert queue_record["resource"]["url"] == url
    text = "".join(p.read_text() for p in records)
    assert sandbox.info.secret_access_key not in text
    assert "SecretAccessKey" not in text and "SessionToken" not in text



def _in_process(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The same CLI entry point in this process (cheaper than a subprocess per refusal): the
    refusal's one stderr line, after checking the exit code and that nothing else was printed."""
    from reconciler.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exited.value.code == 1, err
    assert len(lines) == 1 and lines[0].startswith("orgsync: error: "), err
    return lines[0]


def test_refusals_are_one_line(sandbox_process_env: Sandbox, workload: dict[str, Any],
                               capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = sandbox_process_env
    common = ["-f", workload["file"], "--audit-dir", str(workload["audit"]), "--auto-approve"]
    url = workload["queue"]
    workload["s3"].create_bucket(Bucket="acme-no-policy")
    plain = workload["sqs"].create_queue(QueueName="plain")["QueueUrl"]

    def refusal(*args: str) -> str:
        return _in_process(capsys, "root", *args, *common)

    assert "management account" in refusal("unlock-s3-bucket", "123456789012", BUCKET)
    assert "has no bucket policy" in refusal("unlock-s3-bucket", "workload", "acme-no-policy")
    assert "has no policy" in refusal("unlock-sqs-queue", "workload", plain)
    assert "does not exist" in refusal("unlock-s3-bucket", "workload", "acme-no-such-bucket")
    missing = url.rsplit("/", 1)[0] + "/no-such-queue"
    assert "does not exist" in refusal("unlock-sqs-queue", "workload", missing)
    assert "belongs to account" in refusal("unlock-sqs-queue", "workload",
                                           url.replace(workload["id"], "210987654321"))
    assert "not in the organization" in refusal("unlock-s3-bucket", "210987654321", BUCKET)
    assert "neither a 12-digit account id nor an account name" in refusal(
        "unlock-s3-bucket", "prod", BUCKET)
    sandbox.client("iam").disable_organizations_root_sessions()
    assert "RootSessions is off" in refusal("unlock-s3-bucket", "workload", BUCKET)
    assert "RootSessions is off" in refusal("unlock-sqs-queue", "workload", url)
    assert not workload["audit"].exists()
    assert _refused(lambda: workload["s3"].get_bucket_policy(Bucket=BUCKET))
