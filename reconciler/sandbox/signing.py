"""Signature Version 4 checks: a request signed with the wrong secret key is refused, as in AWS.

moto serves any request whose access key it can map to an account, whatever the signature (its
own check hides behind ``INITIAL_NO_AUTH_ACTION_COUNT`` together with a policy engine that ignores
resources). A tool tested against that never learns that a rotated or mistyped secret fails, so
the sandbox recomputes every request's SigV4 signature with the secret it issued for the key
(IAM users' keys, role and user sessions, root sessions, root users' own keys) and answers as
AWS does (AWS General Reference, "Signing AWS API requests" and "Troubleshoot signing errors",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html):

- an access key nobody issued: ``InvalidClientTokenId`` (query protocol: IAM, STS) or
  ``UnrecognizedClientException`` (JSON protocols: Organizations, Account), "The security token
  included in the request is invalid";
- a temporary key presented without its session token, with another one, or a long-term key
  presented with one: the same error;
- a signature that does not match: ``SignatureDoesNotMatch`` (query) or
  ``InvalidSignatureException`` (JSON), "The request signature we calculated does not match the
  signature you provided. ...";
- no signature at all: ``MissingAuthenticationToken`` / ``MissingAuthenticationTokenException``.

The request time is not compared with the sandbox clock: tests move that clock by days while
clients sign with the real time.
"""

from __future__ import annotations

import hmac
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from reconciler.sandbox.keys import account_of_key
from reconciler.sandbox.protocol import QUERY_NAMESPACES, Response, error_response
from reconciler.sandbox.state import SandboxState

INVALID_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details.")
MISSING = "Request is missing Authentication Token"


def _codes(service: str) -> tuple[str, str, str]:
    """(unknown key, bad signature, missing signature) error codes in ``service``'s protocol."""
    if service in QUERY_NAMESPACES:
        return "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken"
    return ("UnrecognizedClientException", "InvalidSignatureException",
            "MissingAuthenticationTokenException")


def _header(environ: dict[str, Any], name: str) -> str | None:
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        value = environ.get(key)
    else:
        value = environ.get(f"HTTP_{key}")
    return None if value is None else str(value)


def _between(text: str, start: str, end: str) -> str:
    return text.partition(start)[2].partition(end)[0]


def _secret_and_token(state: SandboxState, access_key: str) -> tuple[str, str | None] | None:
    """The secret the sandbox issued with ``access_key`` and the session token that must come
    with it (None: a long-term key); None when the sandbox never issued the key."""
    root_key = state.root_key(access_key)
    if root_key is not None:
        secret = root_key[1].secret_access_key
        return (secret, None) if secret else None
    account_id = account_of_key(state, access_key)
    key = iam_backends[account_id][state.partition].access_keys.get(access_key)
    if key is None:
        return None
    with state.lock:
        root_session = state.root_sessions.get(access_key)
        user_session = state.user_sessions.get(access_key)
    if root_session is not None:
        return key.secret_access_key, root_session.session_token
    if user_session is not None:
        return key.secret_access_key, user_session.session_token
    if key.role_arn:
        assumed = sts_backends[account_id][state.partition].get_assumed_role_from_access_key(
            access_key)
        if assumed is None:
            return None
        return assumed.secret_access_key, assumed.session_token
    if getattr(key, "status", "Active") != "Active":
        return None
    return key.secret_access_key, None


def _expected_signature(environ: dict[str, Any], body: bytes, authorization: str,
                        credentials: Credentials) -> str | None:
    scope = _between(authorization, "Credential=", ",").split("/")
    if len(scope) != 5:
        return None
    region, service = scope[2], scope[3]
    signed = [h for h in _between(authorization, "SignedHeaders=", ",").split(";") if h]
    headers: dict[str, str] = {}
    for name in signed:
        value = _header(environ, name)
        if value is not None:
            headers[name] = value
    date = _header(environ, "x-amz-date")
    if date is None:
        return None
    uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or
              environ.get("PATH_INFO", "/"))
    if "?" not in uri and environ.get("QUERY_STRING"):
        uri = f"{uri}?{environ['QUERY_STRING']}"
    host = headers.get("host") or str(environ.get("HTTP_HOST", "localhost"))
    request = AWSRequest(method=str(environ.get("REQUEST_METHOD", "POST")),
                         url=f"http://{host}{uri}", data=body, headers=headers)
    request.context["timestamp"] = date
    auth = SigV4Auth(credentials, service, region)
    canonical = auth.canonical_request(request)
    return str(auth.signature(auth.string_to_sign(request, canonical), request))


def check(state: SandboxState, environ: dict[str, Any], body: bytes,
          service: str) -> Response | None:
    """AWS's authentication error for this request, or None when it is signed correctly."""
    unknown, mismatch, _missing = _codes(service)
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    access_key = _between(authorization, "Credential=", "/")
    issued = _secret_and_token(state, access_key)
    token = _header(environ, "x-amz-security-token")
    if issued is None or token != issued[1]:
        return error_response(service, unknown, INVALID_TOKEN, status=403)
    secret, _ = issued
    expected = _expected_signature(environ, body, authorization,
                                   Credentials(access_key, secret, token))
    given = _between(authorization, "Signature=", ",")
    if expected is None or not hmac.compare_digest(expected, given):
        return error_response(service, mismatch, BAD_SIGNATURE, status=403)
    return None


def missing(environ: dict[str, Any]) -> Response | None:
    """The error for an AWS request that carries no signature at all (None: it carries one,
    in the Authorization header or in a presigned URL's query)."""
    if environ.get("HTTP_AUTHORIZATION") or "X-Amz-Signature" in str(
            environ.get("QUERY_STRING", "")):
        return None
    service = "organizations" if environ.get("HTTP_X_AMZ_TARGET") else "sts"
    return error_response(service, _codes(service)[2], MISSING, status=403)
