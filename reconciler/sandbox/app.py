"""The WSGI application in front of moto.

Everything that applies to every call lives here rather than in each handler: the test control
API under ``/_orgsync/``, per-operation counters, injected faults (an AWS error or a dropped
connection on the Nth call), throttling in each service's own error shape, added latency, the
limits of root sessions and of users' session credentials, time-driven transitions, and the
Account Management operations moto does not route (``PutAccountName``,
``GetAccountInformation``, the alternate contacts).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from reconciler.sandbox import (
    account_settings,
    authorization,
    cloudformation,
    consistency,
    constraints,
    identity_center,
    organizations,
    resources,
    signing,
)
from reconciler.sandbox.common import ENVIRON_KEY, epoch
from reconciler.sandbox.keys import account_of_key
from reconciler.sandbox.protocol import (
    THROTTLING_CODES,
    Response,
    access_key_of,
    error_response,
    form_params,
    iam_action,
    json_response,
    operation_of,
    service_of,
)
from reconciler.sandbox.state import SandboxState
from reconciler.sandbox.sts import ALWAYS_ALLOWED, SESSION_CREDENTIALS, root_task_denies

if TYPE_CHECKING:
    from reconciler.sandbox.server import Sandbox

StartResponse = Callable[..., Any]
LOST_RESPONSE_KEY = "orgsync.lost_response"
ACCESS_DENIED = {"organizations": "AccessDeniedException", "account": "AccessDeniedException",
                 "iam": "AccessDenied", "sts": "AccessDenied", "cloudformation": "AccessDenied",
                 "sso-admin": "AccessDeniedException", "identitystore": "AccessDeniedException"}
EXPIRED = {"iam": "ExpiredToken", "sts": "ExpiredTokenException",
           "organizations": "ExpiredTokenException", "account": "ExpiredTokenException",
           "cloudformation": "ExpiredToken", "sso-admin": "ExpiredTokenException",
           "identitystore": "ExpiredTokenException"}
IN_FLIGHT_KEY = "orgsync.sandbox.organizations_in_flight"
STATUS_TEXT = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
               409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}


def _send(start_response: StartResponse, response: Response) -> Iterable[bytes]:
    status, headers, body = response
    headers = [*headers, ("Content-Length", str(len(body)))]
    start_response(f"{status} {STATUS_TEXT.get(status, 'Error')}", headers)
    return [body]


def _resource_of(service: str, account_id: str, body: bytes, *, partition: str) -> str:
    """The ARN a root session's call acts on, for the task policy's resource checks: an IAM call
    without UserName acts on the root user itself; with UserName, on that IAM user."""
    if service == "iam":
        user = form_params(body).get("UserName") if body else None
        return f"arn:{partition}:iam::{account_id}:user/{user}" if user else \
            f"arn:{partition}:iam::{account_id}:root"
    return "*"


def _user_session_denial(state: SandboxState, access_key: str, service: str,
                         operation: str) -> Response | None:
    """What AWS refuses to GetSessionToken credentials: any call once expired, IAM without MFA,
    and every STS operation except AssumeRole and GetCallerIdentity."""
    with state.lock:
        session = state.user_sessions.get(access_key)
    if session is None:
        return None
    if session.expiration <= state.clock.now():
        return error_response(service, EXPIRED.get(service, "ExpiredToken"),
                              "The security token included in the request is expired")
    action = f"{service}:{operation}"
    denied = ACCESS_DENIED.get(service, "AccessDenied")
    if service == "sts" and operation == "GetSessionToken":
        return error_response(service, denied, SESSION_CREDENTIALS)
    if service == "sts" and operation not in ("AssumeRole", "GetCallerIdentity"):
        return error_response(service, denied, f"User: {session.user_arn} is not authorized to "
                                               f"perform: {action}: credentials from "
                                               "GetSessionToken can call only sts:AssumeRole "
                                               "and sts:GetCallerIdentity")
    if service == "iam" and session.mfa_serial is None:
        return error_response(service, denied, f"User: {session.user_arn} is not authorized to "
                                               f"perform: {action}: credentials from "
                                               "GetSessionToken without MFA cannot call IAM")
    return None


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host name: moto answers by listing
    its package directory on disk (~100 stat calls), twice per request, which was a third of the
    sandbox's CPU per call. The answer depends on the host name alone."""

    MAX_HOSTS = 256  # host names come from the request (service.region...): bound the memory

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # moto calls this with its lock held
        if host in self._backends:
            return self._backends[host]
        backend = super().get_backend_for_host(host)
        if len(self._backends) < self.MAX_HOSTS:
            self._backends[host] = backend
        return backend


def _cache_handler_names() -> None:
    """moto finds a request's handler among its response class's methods by listing them with
    ``inspect.getmembers`` on every request (a tenth of the sandbox's CPU per call). The classes
    change only when the sandbox installs its handlers, before it serves: list each once per
    sandbox start (the app is built after the handlers are installed)."""
    from moto.core import responses

    original = getattr(responses, "_orgsync_original_method_names_from_class",
                       responses.method_names_from_class)
    responses._orgsync_original_method_names_from_class = original  # type: ignore[attr-defined]
    names: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = original(clazz)
        return found

    responses.method_names_from_class = method_names_from_class


class SandboxApp:
    """WSGI app: the sandbox's cross-cutting behaviour, then moto."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.moto = _Dispatcher()
        _cache_handler_names()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_orgsync/"):
            return _send(start_response, self.sandbox.control.handle_http(environ))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        state = self.sandbox.state
        environ[ENVIRON_KEY] = state
        unsigned = signing.missing(environ)
        if unsigned is not None:
            return _send(start_response, unsigned)
        service = service_of(environ)
        operation = operation_of(service, environ, body)
        organizations.advance(state)
        cloudformation.advance(state)
        try:
            response = self._intercept(state, environ, service, operation, body)
            delay = self.sandbox.options.latency_ms / 1000.0 - (time.monotonic() - started)
            if environ.get(LOST_RESPONSE_KEY):
                if not isinstance(response, tuple):
                    self._perform(environ)
                self._drop(environ)
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
            if response == "drop":
                self._drop(environ)
                # werkzeug's write to the closed socket raises ConnectionError, which it ignores
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
            if delay > 0:
                time.sleep(delay)
            if isinstance(response, tuple):
                return _send(start_response, response)
            return self.moto(environ, start_response)
        finally:
            if environ.pop(IN_FLIGHT_KEY, False):
                consistency.leave_organizations(state)

    def _intercept(self, state: SandboxState, environ: dict[str, Any], service: str | None,
                   operation: str | None, body: bytes) -> Response | str | None:
        if not service or not operation:
            return None
        name = f"{service}.{operation}"
        access_key = access_key_of(environ) or ""
        with state.lock:
            session = state.root_sessions.get(access_key)
        account_id = session.account_id if session else account_of_key(state, access_key)
        state.count(name, account_id)
        refused = signing.check(state, environ, body, service)
        if refused is not None:
            return refused
        fault = state.take_fault(name)
        if fault is not None:
            if fault.lost_response:  # served below as usual, then the reply is lost
                environ[LOST_RESPONSE_KEY] = True
            elif fault.drop:
                return "drop"
            else:
                return error_response(service, fault.code or "ServiceException", fault.message)
        if state.throttled(service):
            code, message = THROTTLING_CODES.get(service, ("Throttling", "Rate exceeded"))
            return error_response(service, code, message)
        if service == "organizations":
            if not consistency.enter_organizations(state):
                return error_response(service, *THROTTLING_CODES["organizations"])
            environ[IN_FLIGHT_KEY] = True
        if session is not None:
            if session.expiration <= state.clock.now():
                return error_response(service, EXPIRED.get(service, "ExpiredToken"),
                                      "The security token included in the request is expired")
            action = iam_action(service, operation)
            resource = _resource_of(service, session.account_id, body,
                                    partition=state.partition)
            if action not in ALWAYS_ALLOWED and root_task_denies(
                    session.task, action=action, resource=resource,
                    account_id=session.account_id, partition=state.partition):
                arn = f"arn:{state.partition}:iam::{session.account_id}:root"
                return error_response(service, ACCESS_DENIED.get(service, "AccessDenied"),
                                      f"User: {arn} is not authorized to perform: {action} on "
                                      f"resource: {resource} with an explicit deny in a "
                                      "session policy")
        denial = _user_session_denial(state, access_key, service, operation)
        if denial is not None:
            return denial
        denial = authorization.denial(state, access_key=access_key, service=service,
                                      operation=operation, body=body,
                                      remote=str(environ.get("REMOTE_ADDR") or "127.0.0.1"))
        if denial is not None:
            return denial
        invalid = constraints.check_request(service, operation, body)
        if invalid is not None:
            return invalid
        if service == "account":
            return self._account(state, account_id, operation, body)
        if service == "organizations" and consistency.concurrent_modification(state, operation,
                                                                              body):
            return error_response(service, *consistency.CONCURRENT_MODIFICATION)
        if service in identity_center.SERVICES:
            return identity_center.serve(state, access_key=access_key, caller_account=account_id,
                                         service=service, operation=operation, body=body,
                                         remote=str(environ.get("REMOTE_ADDR") or "127.0.0.1"))
        if service in ("s3", "sqs"):
            return resources.denial(state, access_key=access_key, service=service,
                                    operation=operation, environ=environ, body=body)
        return None

    def _account(self, state: SandboxState, caller: str, operation: str,
                 body: bytes) -> Response:
        """AWS Account Management: the name and creation date of an account, and its alternate
        contacts (account_settings.py)."""
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        target = params.get("AccountId") or caller
        with state.lock:
            owner = organizations.management_backend(target)
            account = None
            if owner is not None:
                account = next((a for a in owner.accounts if a.id == target), None)
            standalone = state.standalone.get(target)
            if params.get("AccountId") == caller and owner is not None \
                    and owner.account_id == caller:
                return error_response(
                    "account", "ValidationException",
                    "The management account can't specify its own AccountId; call the "
                    "operation without the AccountId parameter.")
            if target != caller:
                trusted = owner is not None and any(
                    s["ServicePrincipal"] == "account.amazonaws.com" for s in owner.services)
                if owner is None or owner.account_id != caller or account is None:
                    return error_response("account", "AccessDeniedException",
                                          "You don't have permissions to access this resource.")
                if not trusted:
                    return error_response(
                        "account", "AccessDeniedException",
                        "The management account can only be used with trusted access for "
                        "account.amazonaws.com enabled in AWS Organizations.")
            if operation in account_settings.CONTACT_OPERATIONS:
                return account_settings.alternate_contact(
                    state, target=target, account=account, operation=operation, params=params)
            if operation == "PutAccountName":
                name = params.get("AccountName") or ""
                if not 1 <= len(name) <= 50:
                    return error_response("account", "ValidationException",
                                          "AccountName must be 1-50 characters.")
                if account is not None:
                    consistency.record_rename(state, target, account.name)
                    account.name = name
                if standalone is not None:
                    standalone["name"] = name
                return 200, [("Content-Type", "application/json")], b""
            if operation == "GetAccountInformation":
                if account is not None:
                    return json_response({"AccountId": target, "AccountName": account.name,
                                          "AccountCreatedDate": account.create_time.isoformat()
                                          + "Z"})
                if standalone is not None:
                    return json_response({"AccountId": target, "AccountName": standalone["name"],
                                          "AccountCreatedDate": "2020-01-01T00:00:00Z"})
                return error_response("account", "ResourceNotFoundException",
                                      "The account was not found.")
        return error_response("account", "ValidationException",
                              f"The sandbox does not implement account:{operation}.")

    def _perform(self, environ: dict[str, Any]) -> None:
        """Serve the call through moto (the write happens) and discard the reply."""
        def swallow(*_args: Any, **_kwargs: Any) -> Callable[[bytes], None]:
            return lambda _data: None

        body = self.moto(environ, swallow)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


__all__ = ["SandboxApp", "epoch"]
