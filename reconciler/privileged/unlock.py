"""Removing a resource policy that locks everyone out: an S3 bucket policy or an SQS queue policy.

AWS's answer to "a bucket policy denies every principal, our own administrators included" is a
root session of the owning account with the task policy ``S3UnlockBucketPolicy`` (or
``SQSUnlockQueuePolicy`` for a queue): those sessions may read and delete the policy and nothing
else (the task policies' own statements; IAM User Guide, "Perform a privileged task on an AWS
Organizations member account"). A queue policy is deleted by setting its ``Policy`` attribute to
the empty string (SQS API Reference, SetQueueAttributes).

``read`` shows what would be deleted, ``delete`` deletes it and ``verify`` reads again to prove it
is gone; the command around them writes the audit record in between.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from reconciler.aws import Aws
from reconciler.errors import AccessDenied, AwsError, Refusal

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRoot",),
    "root": ("s3:GetBucketPolicy", "s3:DeleteBucketPolicy", "sqs:GetQueueAttributes",
             "sqs:SetQueueAttributes"),
}

S3_TASK = "S3UnlockBucketPolicy"
SQS_TASK = "SQSUnlockQueuePolicy"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MISSING_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@dataclass(frozen=True)
class Target:
    """A resource whose policy is to be removed, in a member account."""

    kind: str  # "s3-bucket" | "sqs-queue"
    account_id: str
    name: str  # the bucket name, or the queue name
    url: str | None = None  # the queue URL
    region: str = ""

    @property
    def task(self) -> str:
        return S3_TASK if self.kind == "s3-bucket" else SQS_TASK

    @property
    def arn(self) -> str:
        if self.kind == "s3-bucket":
            return f"arn:aws:s3:::{self.name}"
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{self.name}"

    @property
    def label(self) -> str:
        return f"bucket {self.name}" if self.kind == "s3-bucket" else f"queue {self.url}"


def bucket_target(account_id: str, bucket: str) -> Target:
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise Refusal(f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, "
                      "digits, dots and hyphens)")
    return Target("s3-bucket", account_id, bucket)


def queue_target(account_id: str, queue_url: str, *, region: str) -> Target:
    """The queue of ``queue_url`` (``https://sqs.<region>.amazonaws.com/<account>/<name>``), which
    must belong to ``account_id``: a root session acts only on its own account's queues."""
    parsed = urlparse(queue_url)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme not in ("http", "https") or len(parts) != 2 or not re.fullmatch(
            r"\d{12}", parts[0]) or not re.fullmatch(r"[\w-]{1,80}(\.fifo)?", parts[1]):
        raise Refusal(f"{queue_url!r} is not an SQS queue URL (https://sqs.<region>.amazonaws."
                      "com/<account id>/<queue name>)")
    if parts[0] != account_id:
        raise Refusal(f"queue {queue_url} belongs to account {parts[0]}, not {account_id}: "
                      "a root session can unlock only its own account's queues")
    host = parsed.hostname or ""
    found = re.match(r"sqs\.([a-z0-9-]+)\.", host)
    return Target("sqs-queue", account_id, parts[1], url=queue_url,
                  region=found.group(1) if found else region)


def _client(aws: Aws, target: Target) -> Any:
    service = "s3" if target.kind == "s3-bucket" else "sqs"
    return aws.root_client(service, account_id=target.account_id, task=target.task)


def _refusal(error: AwsError, target: Target) -> Refusal | None:
    """The one-line refusal for an error that means "nothing to unlock here"."""
    where = f"account {target.account_id}"
    if error.code == "NoSuchBucket":
        return Refusal(f"bucket {target.name} does not exist (looked for it from {where})")
    if error.code == "NoSuchBucketPolicy":
        return Refusal(f"bucket {target.name} in {where} has no bucket policy: nothing to "
                       "unlock")
    if error.code in _MISSING_QUEUE:
        return Refusal(f"queue {target.url} does not exist in {where}")
    if isinstance(error, AccessDenied) and target.kind == "s3-bucket":
        return Refusal(f"the root session of {where} may not read the policy of bucket "
                       f"{target.name}: the bucket is not in {where} ({error.code})")
    return None


def read(aws: Aws, target: Target) -> dict[str, Any]:
    """The policy document that would be deleted; refuses when there is none to delete."""
    client = _client(aws, target)
    try:
        if target.kind == "s3-bucket":
            text = client.get_bucket_policy(Bucket=target.name).get("Policy")
        else:
            attributes = client.get_queue_attributes(
                QueueUrl=target.url, AttributeNames=["Policy"]).get("Attributes") or {}
            text = attributes.get("Policy")
    except AwsError as error:
        refusal = _refusal(error, target)
        if refusal is not None:
            raise refusal from error
        raise
    if not text:
        raise Refusal(f"{target.label} in account {target.account_id} has no policy: nothing "
                      "to unlock")
    try:
        document = json.loads(text)
    except ValueError:
        document = {"unparsed": str(text)}
    return document if isinstance(document, dict) else {"unparsed": document}


def delete(aws: Aws, target: Target) -> None:
    client = _client(aws, target)
    if target.kind == "s3-bucket":
        client.delete_bucket_policy(Bucket=target.name)
    else:
        client.set_queue_attributes(QueueUrl=target.url, Attributes={"Policy": ""})


def verify(aws: Aws, target: Target) -> bool:
    """Whether the policy is gone (read again through the same task session)."""
    try:
        read(aws, target)
    except Refusal as refusal:
        return "nothing to unlock" in str(refusal)
    return False
