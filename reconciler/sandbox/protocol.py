"""Reading requests and writing errors the way each AWS protocol does.

The middleware must recognise the service and operation of every request (for counters, faults,
throttling and root-session checks) and answer some of them itself with an error in the exact
wire shape botocore parses: JSON 1.1 for Organizations, REST-JSON for Account Management, and the
query protocol's XML for IAM and STS. Status codes come from the installed service models.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ServiceModel

QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}
THROTTLING_CODES = {
    "organizations": ("TooManyRequestsException",
                      "AWS Organizations can't complete your request because another request "
                      "is already in progress. Try again later."),
    "iam": ("Throttling", "Rate exceeded"),
    "sts": ("Throttling", "Rate exceeded"),
    "account": ("TooManyRequestsException", "The request was denied due to request throttling."),
    "cloudformation": ("Throttling", "Rate exceeded"),
    "sso-admin": ("ThrottlingException", "Rate exceeded"),
    "identitystore": ("ThrottlingException", "Rate exceeded"),
}
# SigV4 signing names that are not the service's name in botocore (and in the sandbox's counters)
SIGNING_NAMES = {"sso": "sso-admin"}


@lru_cache(maxsize=8)
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=8)
def _rest_operations(service: str) -> dict[str, str]:
    model = service_model(service)
    return {model.operation_model(name).http["requestUri"]: name
            for name in model.operation_names}


def service_of(environ: dict[str, Any]) -> str | None:
    """The signing name from the SigV4 credential scope (.../region/service/aws4_request)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        name = scope.split("/")[3].lower()
        return SIGNING_NAMES.get(name, name)
    except IndexError:
        return None


def access_key_of(environ: dict[str, Any]) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return None
    return auth.split("Credential=", 1)[1].split("/", 1)[0]


def operation_of(service: str | None, environ: dict[str, Any], body: bytes) -> str | None:
    """The operation name as the service model spells it (e.g. ``ListAccounts``)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).split(".", 1)[-1]
    if service == "s3":
        return s3_request(environ).operation
    if service == "account":
        return _rest_operations("account").get(environ.get("PATH_INFO", ""))
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" in form:
        return form["Action"][0]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return query["Action"][0] if "Action" in query else None


# S3 subresources (the query string's first key) and the operation name they give, as botocore's
# S3 model names them: GET /bucket?policy is GetBucketPolicy, DELETE is DeleteBucketPolicy, ...
_S3_BUCKET_SUBRESOURCES = {
    "policy": "BucketPolicy", "acl": "BucketAcl", "tagging": "BucketTagging",
    "versioning": "BucketVersioning", "cors": "BucketCors", "encryption": "BucketEncryption",
    "lifecycle": "BucketLifecycleConfiguration", "policyStatus": "BucketPolicyStatus",
    "publicAccessBlock": "PublicAccessBlock", "ownershipControls": "BucketOwnershipControls",
    "website": "BucketWebsite", "logging": "BucketLogging", "replication": "BucketReplication",
    "notification": "BucketNotificationConfiguration", "object-lock": "ObjectLockConfiguration",
    "accelerate": "BucketAccelerateConfiguration", "requestPayment": "BucketRequestPayment",
}
# Operations whose IAM action has another name (Service Authorization Reference, Amazon S3).
_IAM_ACTIONS = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "CopyObject"): "s3:PutObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action a request needs (``s3``, ``ListBuckets`` -> ``s3:ListAllMyBuckets``)."""
    return _IAM_ACTIONS.get((service, operation), f"{service}:{operation}")


class S3Request:
    """What an S3 REST request is about: its operation, bucket and key (path-style addressing,
    which SDKs use with an IP-address endpoint such as the sandbox's)."""

    __slots__ = ("bucket", "key", "operation")

    def __init__(self, operation: str | None, bucket: str | None, key: str | None) -> None:
        self.operation, self.bucket, self.key = operation, bucket, key


def s3_request(environ: dict[str, Any]) -> S3Request:
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/"))
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    if bucket is None:
        return S3Request("ListBuckets" if method == "GET" else None, None, None)
    verbs = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
    if key is None:
        for name, noun in _S3_BUCKET_SUBRESOURCES.items():
            if name in query and method in verbs:
                return S3Request(verbs[method] + noun, bucket, None)
        operation = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(
            method)
        if method == "GET":
            operation = ("ListObjectVersions" if "versions" in query else
                         "ListMultipartUploads" if "uploads" in query else
                         "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects")
        elif method == "POST" and "delete" in query:
            operation = "DeleteObjects"
        return S3Request(operation, bucket, None)
    if "tagging" in query and method in verbs:
        return S3Request(verbs[method] + "ObjectTagging", bucket, key)
    if method == "PUT":
        operation = ("UploadPart" if "partNumber" in query else
                     "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject")
    elif method == "POST":
        operation = "CreateMultipartUpload" if "uploads" in query else \
            "CompleteMultipartUpload"
    else:
        operation = {"GET": "GetObject", "HEAD": "HeadObject",
                     "DELETE": "DeleteObject"}.get(method)
    return S3Request(operation, bucket, key)


def form_params(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def error_status(service: str, code: str) -> int:
    """The HTTP status the service model gives this error code (400 when unmodelled)."""
    if code in ("ServiceException", "ServiceFailure", "InternalFailure", "ServiceUnavailable"):
        default = 500
    else:
        default = 400
    try:
        model = service_model(service)
    except Exception:
        return default
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        error = shape.metadata.get("error")
        if shape.metadata.get("exception") and (shape_name == code or
                                                 (error or {}).get("code") == code):
            return int((error or {}).get("httpStatusCode", default))
    return default


Response = tuple[int, list[tuple[str, str]], bytes]


def error_response(service: str, code: str, message: str, *,
                   extra: dict[str, Any] | None = None, status: int | None = None) -> Response:
    """An AWS error in ``service``'s wire protocol, parseable by botocore (``status``: for
    errors the model does not declare, such as authentication errors)."""
    status = status or error_status(service, code)
    request_id = str(uuid.uuid4())
    if service in QUERY_NAMESPACES:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (f'<ErrorResponse xmlns="{QUERY_NAMESPACES[service]}"><Error><Type>{kind}</Type>'
                f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        return status, headers, body
    if service == "s3":  # REST-XML; HEAD responses have no body, botocore reads the status
        status = {"AccessDenied": 403, "MethodNotAllowed": 405, "NoSuchBucket": 404}.get(
            code, status)
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
                "</Error>").encode()
        return status, [("Content-Type", "application/xml"),
                        ("x-amz-request-id", request_id)], body
    document: dict[str, Any] = {"__type": code, "Message": message, **(extra or {})}
    if service == "sqs":  # JSON 1.0, query-compatible: botocore reads the code from the header
        status = 403 if code == "AccessDenied" else status
        document = {"__type": f"com.amazonaws.sqs#{code}", "message": message}
        headers = [("Content-Type", "application/x-amz-json-1.0"),
                   ("x-amzn-query-error", f"{code};Sender"), ("x-amzn-RequestId", request_id)]
        return status, headers, json.dumps(document).encode()
    if service == "account":
        document = {"message": message, **(extra or {})}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                   ("x-amzn-RequestId", request_id)]
    else:
        headers = [("Content-Type", "application/x-amz-json-1.1"),
                   ("x-amzn-RequestId", request_id)]
    return status, headers, json.dumps(document).encode()


def present(**members: Any) -> dict[str, Any]:
    """The optional members of an answer that have a value: AWS leaves an absent member out of
    its answers (never null, never an empty string), and botocore then leaves it out too."""
    return {name: value for name, value in members.items() if value is not None and value != ""}


def json_response(document: dict[str, Any]) -> Response:
    request_id = str(uuid.uuid4())
    return 200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], \
        json.dumps(document).encode()
