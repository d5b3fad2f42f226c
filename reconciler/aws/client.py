"""The proxy every AWS call goes through: error translation and per-call credential binding.

botocore's exceptions never leave this module: a ``ClientError`` becomes ``AccessDenied``,
``CredentialsError``, ``Throttled``, ``NotFound`` or ``AwsError`` carrying the operation and the
account, and transport or configuration failures (no endpoint, no credentials, unknown profile)
become an ``AwsError`` whose message a user can act on. The rest of orgsync catches only
``reconciler.errors`` types.

Member-account and root-session clients are *bound* proxies over one shared boto3 client per
service: the proxy puts the account's temporary credentials into a context variable for the
duration of each call, and a ``before-call`` hook hands them to botocore's signer
(``context["signing"]["request_credentials"]``). Creating a boto3 client costs about 10 ms of CPU
and a few hundred KB, which for a thousand member accounts would cost more than the API calls
themselves; one client per service shares its connection pool and its adaptive-retry rate limiter.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from reconciler.errors import (
    AccessDenied,
    AwsError,
    CredentialsError,
    EndpointError,
    NotFound,
    Throttled,
)
from reconciler.terminal import one_line

ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "AccessDeniedForDependencyException",
    "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError",
})
# The caller's own credentials are bad, whatever the call: never read as "this resource refuses
# me" (an AssumeRole failing with these says nothing about the role).
CREDENTIALS_CODES = frozenset({
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
    "UnrecognizedClientException", "InvalidIdentityToken",
})
THROTTLED_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException", "BandwidthLimitExceeded",
})
# The request collided with another change of the same entity and changed nothing: making it
# again is safe. Organizations answers ConcurrentModificationException to writes (and some reads)
# "currently being modified by a different request. Try again later." (Organizations API
# reference, Common Errors; terraform-provider-aws#9195 retries it on every Organizations call).
# botocore's retry modes do not retry it.
CONFLICT_CODES = frozenset({"ConcurrentModificationException"})
CONFLICT_RETRIES = 8  # 0.2 s doubling to 5 s, with jitter: at most about 25 s in all
NOT_FOUND_CODES = frozenset({
    "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NotFound",
})


def conflict_backoff(*, retries: int = CONFLICT_RETRIES, first: float = 0.2,
                     maximum: float = 5.0) -> Iterator[float]:
    """Bounded, jittered delays before retrying a ConcurrentModificationException."""
    delay = first
    for _ in range(retries):
        yield delay * random.uniform(0.5, 1.0)
        delay = min(maximum, delay * 2)


@dataclass(frozen=True)
class Binding:
    """Who a client's calls act as: the scope, the account they concern and (for bound clients)
    how to get the credentials to sign with. ``credentials`` is called before every call, so a cache
    behind it can renew them shortly before they expire."""

    scope: str
    account_id: str | None = None
    credentials: Callable[[], Credentials] | None = None
    invalidate: Callable[[], None] | None = None  # drop cached credentials AWS called expired
    # called with an AccessDenied of the runner's own Organizations calls: may raise a clearer
    # error (member-account credentials), else returns and the AccessDenied is raised
    on_denied: Callable[[AwsError], None] | None = None


EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})


@dataclass(frozen=True)
class ActiveCall:
    """The binding of the call in progress, with its credentials resolved."""

    scope: str
    account_id: str | None
    credentials: Credentials | None


# Per thread (and per task), so concurrent calls through one shared client sign with their own
# credentials.
CURRENT_CALL: contextvars.ContextVar[ActiveCall | None] = contextvars.ContextVar(
    "orgsync_aws_call", default=None)


def translate(error: Exception, *, operation: str, account_id: str | None
              ) -> AwsError | EndpointError:
    """The orgsync error for a botocore exception (``ClientError``, ``BotoCoreError`` or a
    ``ResponseParserError``: an answer that is not in the service's protocol)."""
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        url = getattr(error, "kwargs", {}).get("endpoint_url") or "the endpoint"
        return EndpointError(f"{url} did not answer {operation} in time ({_plain_message(error)})"
                             "; is --endpoint-url (AWS_ENDPOINT_URL) right and the network up?")
    if isinstance(error, ResponseParserError):
        return EndpointError(f"the answer to {operation} is not an AWS API response (it could "
                             "not be parsed); is --endpoint-url (AWS_ENDPOINT_URL) an AWS "
                             "endpoint?")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(details.get("Code") or status or "Unknown")
        message = _one_line(str(details.get("Message") or error), status=status)
        # A modeled error member such as ConstraintViolationException's Reason is parsed to the
        # top of the response, not under "Error" (botocore's parsers put modeled members there)
        reason = error.response.get("Reason") or details.get("Reason")
        reason = str(reason) if reason else None
        if reason and reason not in message:
            message = f"{message} ({reason})"
        cls: type[AwsError] = AwsError
        if code in ACCESS_DENIED_CODES:
            cls = AccessDenied
        elif code in CREDENTIALS_CODES:
            cls = CredentialsError
        elif code in THROTTLED_CODES:
            cls = Throttled
        elif code in NOT_FOUND_CODES or code.endswith("NotFoundException"):
            cls = NotFound
        return cls(operation=operation, code=code, message=message, account_id=account_id,
                   reason=reason)
    return AwsError(operation=operation, code=type(error).__name__, message=_plain_message(error),
                    account_id=account_id)


def _one_line(message: str, *, status: object = None) -> str:
    """Error messages are printed one line per problem: no newlines, no HTML pages, bounded."""
    if "<html" in message.lower() or "<!doctype" in message.lower():
        return f"the endpoint answered HTTP {status or '?'} with an HTML error page"
    message = one_line(message)
    return message if len(message) <= 500 else message[:497] + "..."


def _plain_message(error: Exception) -> str:
    message = _one_line(str(error) or type(error).__name__)
    if type(error).__name__ == "EndpointConnectionError":
        message += " (is the endpoint right and reachable? see --endpoint-url / AWS_ENDPOINT_URL)"
    elif type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        message += " (set AWS_PROFILE or --profile, or the AWS_* credential variables)"
    return message


class Client:
    """A thin proxy over a boto3 client: the same methods and paginators, orgsync's errors.

    ``binding`` says which credentials sign the calls (None: the boto3 client's own).
    ``serial`` (a lock), when given, is held around every call and every page, so that calls
    from many threads reach the service one at a time (Organizations: see ``Aws.client``)."""

    def __init__(self, client: Any, *, binding: Binding,
                 serial: threading.RLock | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._binding = binding
        # Organizations: one request in flight per run, whatever the threads (see session.py)
        self._serial = serial
        self._sleep = sleep
        model = client.meta.service_model
        self._prefix = model.signing_name or model.endpoint_prefix

    @property
    def meta(self) -> Any:
        return self._client.meta

    @property
    def account_id(self) -> str | None:
        return self._binding.account_id

    @property
    def scope(self) -> str:
        return self._binding.scope

    def operation_name(self, method: str) -> str:
        """``list_roots`` -> ``organizations:ListRoots``."""
        api = self._client.meta.method_to_api_mapping.get(method, method)
        return f"{self._prefix}:{api}"

    def _activate(self) -> contextvars.Token[ActiveCall | None]:
        binding = self._binding
        credentials = binding.credentials() if binding.credentials is not None else None
        return CURRENT_CALL.set(ActiveCall(binding.scope, binding.account_id, credentials))

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        delays = conflict_backoff()
        renewed = False
        while True:
            try:
                return self._call_once(method, kwargs)
            except AwsError as error:
                # Cached credentials that AWS calls expired (clock skew, a long run): renew, once.
                if error.code in EXPIRED_CODES and self._binding.invalidate is not None \
                        and not renewed:
                    self._binding.invalidate()
                    renewed = True
                    continue
                delay = next(delays, None) if error.code in CONFLICT_CODES else None
                if delay is None:
                    raise
                self._sleep(delay)  # the failed request changed nothing: make it again

    def _call_once(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        operation = self.operation_name(method)
        with self._serial or contextlib.nullcontext():
            token = self._activate()
            try:
                result: dict[str, Any] = getattr(self._client, method)(**kwargs)
                return result
            except (ClientError, BotoCoreError, ResponseParserError) as error:
                raise self._explained(translate(error, operation=operation,
                                                account_id=self._binding.account_id)) from error
            finally:
                CURRENT_CALL.reset(token)

    def _explained(self, error: AwsError | EndpointError) -> AwsError | EndpointError:
        if isinstance(error, AccessDenied) and self._binding.on_denied is not None:
            self._binding.on_denied(error)  # raises the clearer error, if there is one
        return error

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        if name.startswith("_") or not callable(getattr(self._client, name, None)):
            raise AttributeError(name)

        def method(**kwargs: Any) -> dict[str, Any]:
            return self.call(name, **kwargs)

        method.__name__ = name
        return method

    def can_paginate(self, method: str) -> bool:
        return bool(self._client.can_paginate(method))

    def pages(self, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a paginated operation, through botocore's paginator (which goes on
        through empty pages as long as a next token comes back)."""
        operation = self.operation_name(method)
        paginator = self._client.get_paginator(method)
        pages_iterator = paginator.paginate(**kwargs)
        iterator = iter(pages_iterator)
        delays = conflict_backoff()
        while True:
            with self._serial or contextlib.nullcontext():
                token = self._activate()
                try:
                    page = next(iterator)
                    failure = None
                except StopIteration:
                    return
                except (ClientError, BotoCoreError, ResponseParserError) as error:
                    failure = self._explained(translate(
                        error, operation=operation, account_id=self._binding.account_id))
                    failure.__cause__ = error  # --debug shows what botocore said
                finally:
                    CURRENT_CALL.reset(token)
            if failure is not None:
                conflict = isinstance(failure, AwsError) and failure.code in CONFLICT_CODES
                delay = next(delays, None) if conflict else None
                if delay is None:
                    raise failure
                # go on from the page that failed (botocore's resume token), as if nothing was
                self._sleep(delay)
                config = dict(kwargs.get("PaginationConfig") or {})
                resume = getattr(pages_iterator, "resume_token", None)
                if resume:
                    config["StartingToken"] = resume
                pages_iterator = paginator.paginate(**{**kwargs, "PaginationConfig": config})
                iterator = iter(pages_iterator)
                continue
            yield page


def _method_name(client: Client, operation: str) -> str:
    """Accept ``list_roots`` or ``ListRoots``."""
    if operation in client.meta.method_to_api_mapping:
        return operation
    for method, api in client.meta.method_to_api_mapping.items():
        if api == operation:
            return str(method)
    service = client.meta.service_model.service_name
    raise ValueError(f"unknown operation {operation!r} for {service}")


def paginate(client: Client, operation: str, result_key: str, **kwargs: Any) -> Iterator[Any]:
    """The items under ``result_key`` across every page of ``operation``.

    Pages can be empty and still carry a NextToken (Organizations does this); iteration goes on
    until no token comes back."""
    for page in client.pages(_method_name(client, operation), **kwargs):
        yield from page.get(result_key) or ()


def pages(client: Client, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of ``operation`` (for results with several lists, e.g.
    GetAccountAuthorizationDetails)."""
    return client.pages(_method_name(client, operation), **kwargs)
