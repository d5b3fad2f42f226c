"""S3 bucket policies and SQS queue policies, enforced the way AWS does where orgsync relies on it.

moto stores bucket and queue policies but never evaluates them, so a bucket whose policy denies
every principal stays open in moto, and ``orgsync root unlock-s3-bucket`` would prove nothing. The
middleware asks ``denial`` before moto serves an S3 or SQS request:

- An explicit ``Deny`` in the resource policy that matches the caller, the action and the
  resource refuses the request, whoever the caller is: the account's own administrator role too
  (IAM User Guide, "Policy evaluation logic": an explicit deny in any policy overrides any allow).
- A caller from another account needs an ``Allow`` for it in the resource policy. (Its identity
  policies are the identity-policy evaluator's concern; cross-account SQS is refused outright,
  because moto serves a queue URL in the caller's own account.)
- The exception that makes a lock-out recoverable: the root user of the bucket's own account may
  always call GetBucketPolicy, PutBucketPolicy and DeleteBucketPolicy, "even if their bucket policy
  explicitly denies the root principal's access" (S3 API Reference, DeleteBucketPolicy). The
  ``SQSUnlockQueuePolicy`` root-task session is what deletes a queue policy that denies all
  principals (IAM User Guide, "Perform a privileged task on an AWS Organizations member account"),
  so the queue owner's root session may read and set the queue's attributes in spite of it.
- Get/Put/DeleteBucketPolicy from an identity outside the bucket owner's account is refused with
  405 MethodNotAllowed (S3 API Reference, DeleteBucketPolicy).

What a root session may call at all is the task policy's business (``sts.ROOT_TASKS``, checked by
the middleware first). The policy matching below (principals, NotPrincipal, Action/NotAction,
Resource/NotResource with wildcards, the condition operators orgsync's tests use) is local to
resource policies; it should move onto the sandbox's shared policy evaluator once there is one.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from reconciler.sandbox.identity import Caller, _condition_holds, _principal_matches, identify
from reconciler.sandbox.protocol import Response, error_response, iam_action, s3_request
from reconciler.sandbox.state import SandboxState

BUCKET_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy",
                                   "s3:DeleteBucketPolicy"})
QUEUE_UNLOCK_ACTIONS = frozenset({"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"})
REGION = "us-east-1"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _glob(patterns: Any, value: str, *, fold: bool = False) -> bool:
    value = value.lower() if fold else value
    return any(fnmatch.fnmatchcase(value, str(p).lower() if fold else str(p))
               for p in _as_list(patterns))


def _negated_condition_holds(operator: str, block: dict[str, Any],
                             context: dict[str, Any]) -> bool | None:
    """The negated and ARN operators ``identity._condition_holds`` does not know (None: not one
    of them)."""
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in ("StringNotEquals", "StringNotLike", "ArnLike", "ArnEquals", "ArnNotLike",
                    "ArnNotEquals"):
        return None
    for key, expected in block.items():
        actual = context.get(key.lower())
        if actual is None:
            # a missing key makes the negated operators true (IAM User Guide, condition
            # operators: "...IfExists"; a negated operator matches when the key is absent)
            if base.startswith(("StringNot", "ArnNot")) or if_exists:
                continue
            return False
        values = [str(v).replace("${aws:PrincipalAccount}", str(context.get(
            "aws:principalaccount", ""))) for v in _as_list(expected)]
        like = base in ("StringNotLike", "ArnLike", "ArnNotLike")
        matched = any(fnmatch.fnmatchcase(str(actual), v) if like else str(actual) == v
                      for v in values)
        if matched == ("Not" in base):
            return False
    return True


def conditions_hold(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, block in (condition or {}).items():
        negated = _negated_condition_holds(operator, block, context)
        if negated is None:
            if not _condition_holds({operator: block}, context):
                return False
        elif not negated:
            return False
    return True


def statement_matches(statement: dict[str, Any], *, caller: Caller, action: str, resource: str,
                      context: dict[str, Any]) -> bool:
    """Whether a resource-policy statement applies to this request (its effect aside)."""
    if "Principal" in statement:
        principal = statement["Principal"]
        if not (principal == "*" or _principal_matches(principal, caller)):
            return False
    elif "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], caller):
        return False
    if "Action" in statement and not _glob(statement["Action"], action, fold=True):
        return False
    if "NotAction" in statement and _glob(statement["NotAction"], action, fold=True):
        return False
    if "Resource" in statement and not _glob(statement["Resource"], resource):
        return False
    if "NotResource" in statement and _glob(statement["NotResource"], resource):
        return False
    return conditions_hold(statement.get("Condition") or {}, context)


def evaluate(document: dict[str, Any] | None, *, caller: Caller, action: str, resource: str,
             context: dict[str, Any]) -> str:
    """``deny`` (an explicit deny applies), ``allow`` (an allow applies, no deny) or ``none``."""
    if not document:
        return "none"
    verdict = "none"
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        if not statement_matches(statement, caller=caller, action=action, resource=resource,
                                 context=context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if statement.get("Effect") == "Allow":
            verdict = "allow"
    return verdict


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
    return {"aws:principalarn": caller.role_arn or caller.arn,
            "aws:principalaccount": caller.account_id,
            "aws:resourceaccount": resource_account,
            "aws:sourceip": str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
            "aws:securetransport": "false"}


def _denied(service: str, caller: Caller, action: str, resource: str) -> Response:
    if service == "s3":
        return error_response("s3", "AccessDenied", "Access Denied")
    return error_response(service, "AccessDenied",
                          f"User: {caller.arn} is not authorized to perform: {action} on "
                          f"resource: {resource} with an explicit deny in a resource-based "
                          "policy")


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
        resource = f"arn:aws:s3:::{request.bucket}"
        if request.key is not None:
            resource += f"/{request.key}"
        own_root = caller.kind == "root-session" and caller.account_id == owner
        if own_root and action in BUCKET_POLICY_ACTIONS:
            return None
        verdict = evaluate(document, caller=caller, action=action, resource=resource,
                           context=_context(caller, owner, environ))
        if verdict == "deny" or (caller.account_id != owner and verdict != "allow"):
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
        resource = f"arn:aws:sqs:{REGION}:{owner}:{name}"
        if caller.account_id != owner:
            return _denied(service, caller, action, resource)
        if caller.kind == "root-session" and action in QUEUE_UNLOCK_ACTIONS:
            return None
        verdict = evaluate(document, caller=caller, action=action, resource=resource,
                           context=_context(caller, owner, environ))
        if verdict == "deny":
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
