"""S3 bucket policies and SQS queue policies, enforced the way AWS does where orgsync relies on it.

moto stores bucket and queue policies but never evaluates them, so a bucket whose policy denies
every principal stays open in moto, and ``orgsync root unlock-s3-bucket`` would prove nothing. The
middleware asks ``denial`` before moto serves an S3 or SQS request:

- Every request is decided by the sandbox's policy evaluator (``policy_eval.authorize``) from
  the caller's identity policies and the resource policy, as AWS decides it: an explicit ``Deny``
  in either refuses the request, whoever the caller is (the account's own administrator role
  too); within the account an ``Allow`` in either suffices; across accounts both must allow (IAM
  User Guide, "Policy evaluation logic" and "Cross-account policy evaluation logic").
  Cross-account SQS is refused outright, because moto serves a queue URL in the caller's own
  account.
- The exception that makes a lock-out recoverable: the root user of the bucket's own account may
  always call GetBucketPolicy, PutBucketPolicy and DeleteBucketPolicy, "even if their bucket policy
  explicitly denies the root principal's access" (S3 API Reference, DeleteBucketPolicy). The
  ``SQSUnlockQueuePolicy`` root-task session is what deletes a queue policy that denies all
  principals (IAM User Guide, "Perform a privileged task on an AWS Organizations member account"),
  so the queue owner's root session may read and set the queue's attributes in spite of it.
- Get/Put/DeleteBucketPolicy from an identity outside the bucket owner's account is refused with
  405 MethodNotAllowed (S3 API Reference, DeleteBucketPolicy).

What a root session may call at all is the task policy's business (``sts.root_task_denies``,
checked by the middleware first).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from reconciler.sandbox.identity import Caller, identify, identity_policies, principal_of
from reconciler.sandbox.policy_eval import Decision, authorize
from reconciler.sandbox.protocol import Response, error_response, iam_action, s3_request
from reconciler.sandbox.state import SandboxState

BUCKET_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy",
                                   "s3:DeleteBucketPolicy"})
QUEUE_UNLOCK_ACTIONS = frozenset({"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"})
REGION = "us-east-1"
# The root user's access is not granted by policies; a root session's limits are its task policy,
# which the middleware checks before this module is asked.
_ROOT_IDENTITY = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _load(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _bucket(name: str) -> tuple[str | None, dict[str, Any] | None]:
    """(owner account id, bucket policy) of a bucket, (None, None) when there is no bucket."""
    from moto.s3.models import s3_backends

    place = s3_backends.bucket_accounts.get(name)
    if place is None:
        return None, None
    partition, account_id = place
    bucket = dict.get(dict.get(s3_backends, account_id) or {}, partition)
    found = bucket.buckets.get(name) if bucket is not None else None
    if found is None:
        return None, None
    return account_id, _load(found.policy)


def _queue(url: str) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """(owner account id, queue name, queue policy) of a queue URL (``.../<account>/<name>``)."""
    from moto.sqs.models import sqs_backends

    parts = [p for p in urlparse(url).path.split("/") if p]
    if len(parts) < 2 or not parts[-2].isdigit():
        return None, None, None
    account_id, name = parts[-2], parts[-1]
    backend = dict.get(dict.get(sqs_backends, account_id) or {}, REGION)
    queue = backend.queues.get(name) if backend is not None else None
    return account_id, name, _load(queue.policy) if queue is not None else None


def _queue_url(environ: dict[str, Any], body: bytes) -> str | None:
    if environ.get("HTTP_X_AMZ_TARGET"):
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return None
        url = params.get("QueueUrl") if isinstance(params, dict) else None
        return str(url) if url else None
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    query = parse_qs(environ.get("QUERY_STRING", ""))
    url = (form.get("QueueUrl") or query.get("QueueUrl") or [None])[0]
    return url or None


def _context(caller: Caller, resource_account: str, environ: dict[str, Any]) -> dict[str, Any]:
    """The global condition keys a resource policy may test (IAM User Guide, "AWS global
    condition context keys"); ``aws:SecureTransport`` is true, as AWS's endpoints speak TLS."""
    principal_type = {"assumed-role": "AssumedRole", "root-session": "Account"}.get(caller.kind,
                                                                                "User")
    context = {"aws:principalarn": caller.role_arn or caller.arn,
               "aws:principalaccount": caller.account_id, "aws:principaltype": principal_type,
               "aws:resourceaccount": resource_account,
               "aws:sourceip": str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
               "aws:securetransport": "true"}
    if caller.user_name:
        context["aws:username"] = caller.user_name
    return context


def _decision(caller: Caller, *, document: dict[str, Any] | None, owner: str, action: str,
              resource: str, environ: dict[str, Any]) -> Decision:
    policies = [_ROOT_IDENTITY] if caller.kind == "root-session" else identity_policies(caller)
    return authorize(principal=principal_of(caller), identity_policies=policies,
                     resource_policy=document, resource_account=owner, action=action,
                     resource=resource, context=_context(caller, owner, environ))


def _denied(service: str, caller: Caller, action: str, resource: str) -> Response:
    if service == "s3":
        return error_response("s3", "AccessDenied", "Access Denied")
    return error_response(service, "AccessDenied",
                          f"User: {caller.arn} is not authorized to perform: {action} on "
                          f"resource: {resource}")


def denial(state: SandboxState, *, access_key: str, service: str, operation: str,
           environ: dict[str, Any], body: bytes) -> Response | None:
    """The refusal AWS gives this S3/SQS request under the resource's policy, else None."""
    caller = identify(state, access_key)
    action = iam_action(service, operation)
    if service == "s3":
        request = s3_request(environ)
        if request.bucket is None:
            return None
        owner, document = _bucket(request.bucket)
        if owner is None:
            return None  # moto answers NoSuchBucket
        resource = f"arn:{state.partition}:s3:::{request.bucket}"
        if request.key is not None:
            resource += f"/{request.key}"
        own_root = caller.kind == "root-session" and caller.account_id == owner
        if own_root and action in BUCKET_POLICY_ACTIONS:
            return None
        decision = _decision(caller, document=document, owner=owner, action=action,
                             resource=resource, environ=environ)
        if not decision.allowed:
            return _denied(service, caller, action, resource)
        if caller.account_id != owner and action in BUCKET_POLICY_ACTIONS:
            return error_response("s3", "MethodNotAllowed",
                                  "The specified method is not allowed against this resource.")
        return None
    if service == "sqs":
        url = _queue_url(environ, body)
        if url is None:
            return None
        owner, name, document = _queue(url)
        if owner is None or name is None:
            return None
        resource = f"arn:{state.partition}:sqs:{REGION}:{owner}:{name}"
        if caller.account_id != owner:
            return _denied(service, caller, action, resource)
        if caller.kind == "root-session" and action in QUEUE_UNLOCK_ACTIONS:
            return None
        decision = _decision(caller, document=document, owner=owner, action=action,
                             resource=resource, environ=environ)
        if not decision.allowed:
            return _denied(service, caller, action, resource)
    return None


def _no_moto_bucket_verdict(self: Any, action: str, resource: str) -> Any:
    from moto.iam.access_control import PermissionResult

    return PermissionResult.NEUTRAL


def install() -> None:
    """moto evaluates bucket policies itself for object requests, ignoring principals and
    conditions (a Deny limited to aws:SecureTransport refuses every request): ``denial`` is the
    one enforcement, so moto's verdict is turned off."""
    from moto.s3.models import FakeBucket

    setattr(FakeBucket, "get_permission", _no_moto_bucket_verdict)  # noqa: B010
