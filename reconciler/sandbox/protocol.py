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
}
THROTTLING_CODES = {
    "organizations": ("TooManyRequestsException",
                      "AWS Organizations can't complete your request because another request "
                      "is already in progress. Try again later."),
    "iam": ("Throttling", "Rate exceeded"),
    "sts": ("Throttling", "Rate exceeded"),
    "account": ("TooManyRequestsException", "The request was denied due to request throttling."),
}


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
        return scope.split("/")[3].lower()
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
    if service == "account":
        return _rest_operations("account").get(environ.get("PATH_INFO", ""))
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" in form:
        return form["Action"][0]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return query["Action"][0] if "Action" in query else None


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
                   extra: dict[str, str] | None = None, status: int | None = None) -> Response:
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
    document: dict[str, Any] = {"__type": code, "Message": message, **(extra or {})}
    if service == "account":
        document = {"message": message, **(extra or {})}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                   ("x-amzn-RequestId", request_id)]
    else:
        headers = [("Content-Type", "application/x-amz-json-1.1"),
                   ("x-amzn-RequestId", request_id)]
    return status, headers, json.dumps(document).encode()


def json_response(document: dict[str, Any]) -> Response:
    request_id = str(uuid.uuid4())
    return 200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], \
        json.dumps(document).encode()
