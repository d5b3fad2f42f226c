"""``Aws``: the one place orgsync gets AWS clients and credentials from.

It owns the boto3 session (profile, region, endpoint from the options and the standard
environment), botocore's retry mode, the clients (created once per service and scope, shared by
every thread), the assumed-role and root-session credentials (cached until shortly before they
expire) and the call log fed by botocore's event hooks. Everything else asks it for a ``Client``.

With an MFA device (``mfa_serial`` + ``mfa_token``) it also owns one MFA session: a single
sts:GetSessionToken made with the runner's own credentials on first need. Those session credentials
carry ``aws:MultiFactorAuthPresent``, so access roles whose trust requires MFA admit the
sts:AssumeRole made with them; they are used for nothing else, because AWS refuses AssumeRoot and
most STS calls from session credentials (and MFA never carries through role chaining anyway).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError

from reconciler.aws.calls import MANAGEMENT, CallLog
from reconciler.aws.client import CURRENT_CALL, EXPIRED_CODES, Binding, Client, translate
from reconciler.errors import AwsError, EndpointError, NotManagementCredentials, OrgsyncError
from reconciler.terminal import printable

DEFAULT_REGION = "us-east-1"
DEFAULT_RETRY_MODE = "adaptive"
DEFAULT_MAX_ATTEMPTS = 8
ROLE_SESSION_NAME = "orgsync"
ROOT_SESSION_SECONDS = 900
# Credentials are renewed this long before they expire, so that a call never starts with
# credentials that run out while it is being retried.
ROLE_RENEW_MARGIN_S = 300.0
ROOT_RENEW_MARGIN_S = 120.0

MEMBER = "member"
ROOT = "root"
PROFILE = "profile"
# The scope of the boto3 client whose calls are signed with the MFA session's credentials. Its
# calls are recorded as the management account's: the session acts as the runner's own IAM user.
MFA = "mfa"
MFA_SESSION_SECONDS = 3600
# An MFA session this close to its end is not used for another AssumeRole: it cannot be renewed
# without a new code, so the run stops with a clear message instead of failing call by call.
MFA_RENEW_MARGIN_S = 60.0

# What the AWS layer calls on its own (permissions.py collects every module's declaration).
# AWS needs no permission for GetSessionToken; it is declared so that every call is accounted for.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:GetSessionToken",),
}


# How long one AWS call may go unanswered, retries included, before the run stops with one line
# (an endpoint that accepts connections and never answers would otherwise hang for minutes:
# botocore's 60 s read timeout times every attempt). AWS APIs answer in well under a second;
# ORGSYNC_CALL_TIMEOUT_S changes the bound (each attempt may wait half of it).
CALL_TIMEOUT_S = 60.0
CALL_TIMEOUT_ENV = "ORGSYNC_CALL_TIMEOUT_S"
_TIMEOUTS = ("ReadTimeoutError", "ConnectTimeoutError")

_ACCOUNT_ID = re.compile(r"\d{12}")
_TARGET_PARAMETERS = ("AccountId", "ResourceId", "TargetPrincipal")


def target_account(params: dict[str, Any]) -> str | None:
    """The member account a management-account call concerns (AssumeRole's role, AssumeRoot's
    target, an Organizations call's account), so that calls are counted per member account."""
    arn = params.get("RoleArn")
    if isinstance(arn, str) and arn.count(":") >= 5:
        return arn.split(":")[4] or None
    for name in _TARGET_PARAMETERS:
        value = params.get(name)
        if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
            return value
    return None


class MfaSessionError(OrgsyncError):
    """No usable MFA session: GetSessionToken refused the device or code, or the session ran out.

    Not an ``AwsError`` on purpose: callers that treat a refused AssumeRole as "this account's role
    cannot be assumed" must not mistake a bad MFA code for that, for every account at once."""


@dataclass(frozen=True)
class _Cached:
    credentials: Credentials
    expires_at: float  # epoch seconds
    margin: float

    def fresh(self) -> bool:
        return time.time() < self.expires_at - self.margin


class Aws:
    """Sessions, clients, credentials and call counting for one orgsync run (thread-safe)."""

    def __init__(self, *, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, parallelism: int = 10,
                 retry_mode: str | None = None, max_attempts: int | None = None,
                 mfa_serial: str | None = None, mfa_token: str | None = None) -> None:
        try:
            self._session = boto3.session.Session(profile_name=profile)
        except BotoCoreError as error:
            raise translate(error, operation="configure", account_id=None) from error
        self.profile = profile
        # AWS_REGION as the AWS CLI and the other SDKs read it (botocore reads only
        # AWS_DEFAULT_REGION and the profile's region).
        self.region: str = (region or os.environ.get("AWS_REGION") or self._session.region_name
                            or DEFAULT_REGION)
        self.endpoint_url = _checked_endpoint(endpoint_url)
        self.call_timeout_s = _call_timeout()
        self.parallelism = parallelism
        self.calls = CallLog()
        # The standard AWS settings (AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, or the profile's
        # retry_mode / max_attempts) win over orgsync's defaults; explicit arguments win over both.
        configured = self._configured_retries()
        retry_mode = retry_mode or configured[0] or DEFAULT_RETRY_MODE
        max_attempts = max_attempts or configured[1] or DEFAULT_MAX_ATTEMPTS
        self.retry_mode, self.max_attempts = retry_mode, max_attempts
        self._config = Config(
            region_name=self.region,
            # botocore's "max_attempts" counts retries; orgsync's counts every attempt.
            retries={"mode": retry_mode, "max_attempts": max(0, max_attempts - 1)},
            max_pool_connections=max(parallelism + 4, 10),
            user_agent_appid="orgsync",
            connect_timeout=min(10.0, self.call_timeout_s / 2),
            read_timeout=self.call_timeout_s / 2,
        )
        self._lock = threading.Lock()
        # Organizations calls from every thread of the run (reads and writes) go out one at a
        # time: its limits are low and undocumented, it throttles requests in flight, and
        # concurrent writes are answered with ConcurrentModificationException /
        # TooManyRequestsException (AWS-FACTS, DESIGN).
        self._organizations_serial = threading.RLock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._proxies: dict[tuple[str, str], Client] = {}
        self._caller_identity: dict[str, str] | None = None
        self._credentials: dict[tuple[str, str, str], _Cached] = {}
        self._key_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._partition: str | None = None
        self.mfa_serial: str | None = mfa_serial or None
        self._mfa_token = mfa_token or None
        self._mfa_lock = threading.Lock()
        self._mfa_session: _Cached | None = None
        self._mfa_failure: str | None = None
        self._denied_checked = False

    def _configured_retries(self) -> tuple[str | None, int | None]:
        scoped: dict[str, Any] = {}
        try:
            scoped = dict(self._session._session.get_scoped_config())
        except BotoCoreError:
            scoped = {}
        mode = os.environ.get("AWS_RETRY_MODE") or scoped.get("retry_mode")
        attempts = os.environ.get("AWS_MAX_ATTEMPTS") or scoped.get("max_attempts")
        try:
            attempts_n = int(attempts) if attempts else None
        except ValueError:
            attempts_n = None
        return (str(mode) if mode in ("standard", "adaptive", "legacy") else None,
                attempts_n if attempts_n and attempts_n > 0 else None)

    # -- clients ---------------------------------------------------------------------------

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn``, ``aws-us-gov``...: the partition of the region, for ARNs."""
        if self._partition is None:
            try:
                self._partition = str(self._session.get_partition_for_region(self.region)
                                      or "aws")
            except Exception:  # an unknown region (a private endpoint): the commercial one
                self._partition = "aws"
        return self._partition

    def client(self, service: str) -> Client:
        """A client acting with the runner's own (management-account) credentials."""
        on_denied = self._explain_denied if service == "organizations" else None
        return self._proxy(service, MANAGEMENT, "", Binding(MANAGEMENT, on_denied=on_denied))

    def _explain_denied(self, error: AwsError) -> None:
        """An Organizations call of the runner refused: when the credentials are a member
        account's (DescribeOrganization works for members, everything else is refused), say so
        in one line instead of the raw AccessDenied. Checked once per run."""
        with self._lock:
            if self._denied_checked:
                return
            self._denied_checked = True
        try:
            identity = self.client("sts").get_caller_identity()
            organization = self.client("organizations").describe_organization()["Organization"]
        except (AwsError, OrgsyncError):
            return
        caller, management = str(identity.get("Account", "")), str(
            organization.get("MasterAccountId", ""))
        if caller and management and caller != management:
            raise NotManagementCredentials(
                f"these are not the management account's credentials: they belong to account "
                f"{caller} ({identity.get('Arn', '?')}), a member of organization "
                f"{organization.get('Id', '?')} whose management account is {management}; run "
                f"orgsync with credentials of {management} (a profile or role there) "
                f"({error.operation} was refused: {error.code})")

    def member_client(self, service: str, *, account_id: str, role_name: str) -> Client:
        """A client acting in a member account through ``role_name`` (AssumeRole on first use,
        credentials cached per account and role). A refused AssumeRole raises ``AccessDenied``
        with operation ``sts:AssumeRole``."""
        key = ("role", account_id, role_name)
        binding = Binding(MEMBER, account_id,
                          lambda: self._role_credentials(account_id, role_name),
                          invalidate=lambda: self._drop(key))
        return self._proxy(service, MEMBER, f"{account_id}/{role_name}", binding)

    def root_client(self, service: str, *, account_id: str, task: str) -> Client:
        """A client in a privileged root session of a member account (``sts:AssumeRoot`` with the
        task policy ``task``, e.g. ``IAMAuditRootUserCredentials``; 900 s, cached per task)."""
        key = ("root", account_id, task)
        binding = Binding(ROOT, account_id, lambda: self._root_credentials(account_id, task),
                          invalidate=lambda: self._drop(key))
        return self._proxy(service, ROOT, f"{account_id}/{task}", binding)

    def profile_client(self, service: str, *, profile: str) -> Client:
        """A client with a named profile's credentials (an invited account's bootstrap profile)."""
        return self._proxy(service, PROFILE, profile, Binding(PROFILE, None))

    def keys_client(self, service: str, *, account_id: str, access_key_id: str,
                    secret_access_key: str) -> Client:
        """A client signed with an account's own access keys (``orgsync sandbox
        accept-invitation``: a sandbox's standalone account accepts its invitation itself, as
        the invited account does in AWS)."""
        credentials = Credentials(access_key_id, secret_access_key)
        return self._proxy(service, MEMBER, f"{account_id}/keys",
                           Binding(MEMBER, account_id, lambda: credentials))

    def _proxy(self, service: str, scope: str, key: str, binding: Binding) -> Client:
        with self._lock:
            proxy = self._proxies.get((service, scope + ":" + key))
        if proxy is not None:
            return proxy
        base_key = (service, scope, key if scope == PROFILE else "")
        base = self._base_client(base_key)
        # Organizations throttles requests in flight, not only a rate ("another request is
        # already in progress"): every Organizations call of the run shares one lock, so that
        # --parallelism never multiplies them (observe's per-account tag reads included)
        proxy = Client(base, binding=binding,
                       serial=self._organizations_serial if service == "organizations" else None)
        with self._lock:
            return self._proxies.setdefault((service, scope + ":" + key), proxy)

    def _base_client(self, key: tuple[str, str, str]) -> Any:
        service, scope, profile = key
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            # boto3 sessions are not thread-safe while they create clients: keep the lock.
            try:
                session = (boto3.session.Session(profile_name=profile) if scope == PROFILE
                           else self._session)
                client = session.client(service, region_name=self.region,
                                        endpoint_url=self.endpoint_url, config=self._config)
            except BotoCoreError as error:
                raise translate(error, operation=f"{service}:configure",
                                account_id=None) from error
            self._install_hooks(client, scope=scope)
            self._clients[key] = client
            return client

    def _install_hooks(self, client: Any, *, scope: str) -> None:
        calls = self.calls
        bound = scope in (MEMBER, ROOT, MFA)
        prefix = (client.meta.service_model.signing_name
                  or client.meta.service_model.endpoint_prefix)

        def before_parameter_build(params: dict[str, Any], model: Any, context: dict[str, Any],
                                   **_: Any) -> None:
            context["orgsync_target"] = target_account(params)

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
            active = CURRENT_CALL.get()
            if bound and (active is None or active.credentials is None):
                raise RuntimeError("a member/root client was called without its credentials")
            if bound and active is not None:
                context.setdefault("signing", {})["request_credentials"] = active.credentials
            account = context.get("orgsync_target") or (active.account_id if active else None)
            context["orgsync_scope"] = active.scope if active else scope
            context["orgsync_account"] = account
            calls.record_call(scope=context["orgsync_scope"], account_id=account,
                              operation=f"{prefix}:{model.name}")

        def response_received(context: dict[str, Any], **kwargs: Any) -> None:
            name = kwargs.get("event_name", "")
            operation = name.rsplit(".", 1)[-1] if name else "?"
            calls.record_attempt(scope=context.get("orgsync_scope", scope),
                                 account_id=context.get("orgsync_account"),
                                 operation=f"{prefix}:{operation}")

        endpoint = str(client.meta.endpoint_url)
        limit = self.call_timeout_s

        def started(context: dict[str, Any], **_: Any) -> None:
            context.setdefault("orgsync_started", time.monotonic())

        def before_parse(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
            """A successful answer that is an HTML page (a proxy, a captive portal, a web server
            at the endpoint URL) is not AWS's: say so instead of parsing it."""
            body = response_dict.get("body") or b""
            head = bytes(body[:512]).lstrip().lower() if isinstance(body, (bytes, bytearray)) \
                else b""
            status = int(response_dict.get("status_code") or 0)
            # an HTML error status (a load balancer's 503 page) is retried and reported as it is
            # the body decides: emulators and proxies label real answers text/html too
            if status < 300 and head.startswith((b"<!doctype html", b"<html")):
                raise EndpointError(
                    f"{endpoint} answered {prefix}:{operation_model.name} with an HTML page "
                    f"(HTTP {status}), not an AWS API response; "
                    "is --endpoint-url (AWS_ENDPOINT_URL) an AWS endpoint?")

        def needs_retry(caught_exception: Any = None, request_dict: Any = None,
                        operation: Any = None, **_: Any) -> None:
            """Stop retrying an endpoint that does not answer once the call's bound is spent."""
            if caught_exception is None or type(caught_exception).__name__ not in _TIMEOUTS:
                return
            context = (request_dict or {}).get("context") or {}
            first = context.get("orgsync_started", time.monotonic())
            if time.monotonic() - first + limit / 2 > limit:
                name = getattr(operation, "name", "?")
                raise EndpointError(
                    f"{endpoint} did not answer {prefix}:{name} within {limit:g} s (retries "
                    f"included); is --endpoint-url (AWS_ENDPOINT_URL) right and the network up? "
                    f"({CALL_TIMEOUT_ENV} sets the bound)")

        events = client.meta.events
        events.register("before-parameter-build", before_parameter_build)
        events.register("before-call", before_call)
        events.register("before-call", started)
        events.register("response-received", response_received)
        events.register("before-parse", before_parse)
        events.register_first("needs-retry", needs_retry)

    # -- credentials -----------------------------------------------------------------------

    def forget(self, account_id: str) -> None:
        """Drop every cached credential for ``account_id`` (e.g. after its role changed)."""
        with self._lock:
            for key in [k for k in self._credentials if k[1] == account_id]:
                del self._credentials[key]

    def _drop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._credentials.pop(key, None)

    def assume_role(self, *, account_id: str, role_name: str) -> None:
        """Get (or reuse) credentials for ``role_name`` in ``account_id`` now; raises
        ``AccessDenied`` when the role cannot be assumed."""
        self._role_credentials(account_id, role_name)

    def assume_root(self, *, account_id: str, task: str) -> None:
        """Get (or reuse) a root session for ``task`` in ``account_id`` now; raises
        ``AccessDenied`` when AWS refuses it."""
        self._root_credentials(account_id, task)

    def role_arn(self, account_id: str, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{role_name}"

    @property
    def has_mfa(self) -> bool:
        """Whether member accounts are entered with an MFA session (``--mfa-serial``)."""
        return self.mfa_serial is not None

    def assume_role_client(self) -> Client:
        """The STS client for sts:AssumeRole into member accounts: signed with the MFA session's
        credentials when there is an MFA device (GetSessionToken on first use), else the
        management client. Raises ``MfaSessionError`` (not an ``AwsError``) when there is no
        usable MFA session."""
        if self.mfa_serial is None:
            return self.client("sts")
        return self._proxy("sts", MFA, "", Binding(MANAGEMENT, None, self._mfa_credentials))

    def _mfa_credentials(self) -> Credentials:
        serial = self.mfa_serial
        # One GetSessionToken per run, whatever the number of threads asking: the others wait.
        with self._mfa_lock:
            if self._mfa_failure is not None:
                raise MfaSessionError(self._mfa_failure)
            session = self._mfa_session
            if session is not None:
                if session.fresh():
                    return session.credentials
                raise MfaSessionError(
                    f"the MFA session of {serial} has expired (orgsync asks for "
                    f"{MFA_SESSION_SECONDS // 60} minutes); run orgsync again with a new code")
            if not self._mfa_token:
                self._mfa_failure = (f"an MFA code is needed for {serial}: pass --mfa-token "
                                     "or ORGSYNC_MFA_TOKEN")
                raise MfaSessionError(self._mfa_failure)
            try:
                response = self.client("sts").get_session_token(
                    SerialNumber=serial, TokenCode=self._mfa_token,
                    DurationSeconds=MFA_SESSION_SECONDS)
            except AwsError as error:
                self._mfa_failure = _mfa_failure_message(str(serial), error)
                raise MfaSessionError(self._mfa_failure) from error
            finally:
                self._mfa_token = None  # a code is good for one session only
            raw = response["Credentials"]
            expiration = raw.get("Expiration")
            expires_at = (expiration.timestamp() if hasattr(expiration, "timestamp")
                          else time.time() + MFA_SESSION_SECONDS)
            credentials = Credentials(raw["AccessKeyId"], raw["SecretAccessKey"],
                                      raw.get("SessionToken"))
            self._mfa_session = _Cached(credentials, expires_at, MFA_RENEW_MARGIN_S)
            return credentials

    def _role_credentials(self, account_id: str, role_name: str) -> Credentials:
        def fetch() -> dict[str, Any]:
            try:
                return self.assume_role_client().assume_role(
                    RoleArn=self.role_arn(account_id, role_name),
                    RoleSessionName=ROLE_SESSION_NAME)
            except AwsError as error:
                if self.mfa_serial is None or error.code not in EXPIRED_CODES:
                    raise
                # Not the role's fault: every further AssumeRole would fail the same way.
                raise MfaSessionError(
                    f"the MFA session of {self.mfa_serial} has expired ({error.code}); run "
                    "orgsync again with a new code") from error

        return self._cached(("role", account_id, role_name), fetch, ROLE_RENEW_MARGIN_S)

    def _root_credentials(self, account_id: str, task: str) -> Credentials:
        arn = f"arn:{self.partition}:iam::aws:policy/root-task/{task}"

        def fetch() -> dict[str, Any]:
            return self._regional_sts().assume_root(
                TargetPrincipal=account_id, TaskPolicyArn={"arn": arn},
                DurationSeconds=ROOT_SESSION_SECONDS)

        return self._cached(("root", account_id, task), fetch, ROOT_RENEW_MARGIN_S)

    def _cached(self, key: tuple[str, str, str], fetch: Callable[[], dict[str, Any]],
                margin: float) -> Credentials:
        with self._lock:
            cached = self._credentials.get(key)
            if cached is not None and cached.fresh():
                return cached.credentials
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One fetch per key at a time; other keys go on in parallel.
        with key_lock:
            with self._lock:
                cached = self._credentials.get(key)
            if cached is not None and cached.fresh():
                return cached.credentials
            try:
                response = fetch()
            except AwsError as error:
                if error.account_id is not None:
                    raise
                # The call was the management account's, but the problem is the target's.
                raise type(error)(operation=error.operation, code=error.code,
                                  message=error.aws_message, account_id=key[1],
                                  reason=error.reason) from error
            raw = response["Credentials"]
            credentials = Credentials(raw["AccessKeyId"], raw["SecretAccessKey"],
                                      raw.get("SessionToken"))
            expiration = raw.get("Expiration")
            expires_at = (expiration.timestamp() if hasattr(expiration, "timestamp")
                          else time.time() + ROOT_SESSION_SECONDS)
            # Never cache for less than a call's worth of time, even with a short session.
            margin = min(margin, max(0.0, (expires_at - time.time()) / 3))
            with self._lock:
                self._credentials[key] = _Cached(credentials, expires_at, margin)
            return credentials

    def _regional_sts(self) -> Client:
        """STS at the region's own endpoint: AssumeRoot is refused by the global endpoint, which
        botocore still picks for us-east-1 when a profile says ``sts_regional_endpoints =
        legacy``. A custom endpoint (the sandbox) is used as it is."""
        if self.endpoint_url:
            return self.client("sts")
        with self._lock:
            proxy = self._proxies.get(("sts", "management:regional"))
        if proxy is not None:
            return proxy
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        with self._lock:
            try:
                client = self._session.client(
                    "sts", region_name=self.region, config=self._config,
                    endpoint_url=f"https://sts.{self.region}.{suffix}")
            except BotoCoreError as error:
                raise translate(error, operation="sts:configure", account_id=None) from error
            self._install_hooks(client, scope=MANAGEMENT)
            return self._proxies.setdefault(("sts", "management:regional"),
                                            Client(client, binding=Binding(MANAGEMENT)))

    def caller_identity(self) -> dict[str, str]:
        """The runner's own identity (sts:GetCallerIdentity: Account, Arn, UserId), asked once
        per ``Aws``: the credentials do not change while it lives."""
        with self._lock:
            known = self._caller_identity
        if known is None:
            response = self.client("sts").get_caller_identity()
            known = {k: str(response.get(k, "")) for k in ("Account", "Arn", "UserId")}
            with self._lock:
                self._caller_identity = known
        return dict(known)

    def caller_account_id(self) -> str:
        """The account the runner's own credentials belong to (sts:GetCallerIdentity)."""
        return self.caller_identity()["Account"]


def _checked_endpoint(endpoint_url: str | None) -> str | None:
    """``--endpoint-url`` / ``AWS_ENDPOINT_URL`` as botocore needs it: http(s)://host[:port]."""
    url = (endpoint_url or "").strip()
    if not url:
        return None
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise EndpointError(f"--endpoint-url (AWS_ENDPOINT_URL) {printable(url)!r} is not an "
                            "endpoint URL: expected http(s)://host[:port], e.g. "
                            "https://organizations.us-east-1.amazonaws.com")
    return url


def _call_timeout() -> float:
    try:
        value = float(os.environ.get(CALL_TIMEOUT_ENV) or CALL_TIMEOUT_S)
    except ValueError:
        return CALL_TIMEOUT_S
    return value if value > 0 else CALL_TIMEOUT_S


def _mfa_failure_message(serial: str, error: AwsError) -> str:
    """One line that names the device and says what to do."""
    text = f"could not start an MFA session with {serial}: {error.code}: {error.aws_message}"
    if "session credentials" in error.aws_message:
        text += (" (--mfa-serial needs the long-term access keys of the IAM user that owns the "
                 "device, not role or session credentials)")
    elif error.code in ("AccessDenied", "ValidationError", "InvalidParameterValue"):
        text += " (check the device ARN and use a current code)"
    return text


__all__ = ["MFA_SESSION_SECONDS", "PERMISSIONS", "Aws", "MfaSessionError"]
