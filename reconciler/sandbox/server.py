"""The sandbox: moto's server, extended, on loopback, seeded the same way every time.

``Sandbox`` is a context manager that serves the extended moto on a free port in a background
thread (threaded, so added latency never serialises requests) and seeds it: an all-features
organization whose management account is 123456789012 with an IAM user holding stable keys and a
virtual MFA device, and standalone accounts outside the organization whose stable keys act as
those accounts. moto's backends are process-global, so only one sandbox may run in a process at a
time.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import warnings
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from reconciler.sandbox import (
    account_settings,
    consistency,
    delegated,
    identity_center,
    keys,
    resources,
)
from reconciler.sandbox import cloudformation as cfn_ext
from reconciler.sandbox import iam as iam_ext
from reconciler.sandbox import organizations as org_ext
from reconciler.sandbox import sts as sts_ext
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.control import Control
from reconciler.sandbox.options import (
    ADMIN_USER_NAME,
    MANAGEMENT_ACCOUNT_EMAIL,
    MANAGEMENT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_NAME,
    THROTTLED_SERVICES,
    SandboxInfo,
    SandboxOptions,
    StandaloneAccount,
    admin_mfa_serial,
    check_runtime_options,
    stable_access_key_id,
    stable_secret_access_key,
    standalone_accounts,
)
from reconciler.sandbox.state import (
    Clock,
    RootAccessKey,
    RootMfaDevice,
    RootUser,
    SandboxState,
)

SEED = 20161128


class _QuietHandler(WSGIRequestHandler):
    """Keep-alive (as AWS endpoints), no access log, and no noise when a test drops a
    connection on purpose."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class SandboxError(RuntimeError):
    """The sandbox cannot start (another one runs in this process, port in use, ...)."""


class Sandbox:
    """A running AWS organization emulator; use as ``with Sandbox(SandboxOptions()) as sb:``."""

    _process_lock = threading.Lock()  # moto's backends are process-global: one sandbox at once

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self.clock = Clock()
        self.state = SandboxState(self.options, self.clock)
        self.control = Control(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._endpoint_url: str | None = None
        self._owns_lock = False
        self._clients: dict[tuple[str, str | None, str], Any] = {}

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        if not Sandbox._process_lock.acquire(blocking=False):
            raise SandboxError("another sandbox is already running in this process "
                               "(moto's state is process-wide)")
        self._owns_lock = True
        try:
            warnings.filterwarnings("ignore", message=r"Exception\(SandboxAwsError\)")
            org_ext.install()
            delegated.install()
            resources.install()
            iam_ext.install(self.state)
            account_settings.install()
            sts_ext.install()
            cfn_ext.install()
            consistency.install()
            keys.install(self.state)
            self._reset_moto_and_seed()
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._server = make_server(self.options.host, self.options.port, SandboxApp(self),
                                       threaded=True, request_handler=_QuietHandler)
            self._server.daemon_threads = True  # type: ignore[attr-defined]
        except OSError as error:
            self._release()
            raise SandboxError(f"cannot listen on {self.options.host}:{self.options.port}: "
                               f"{error.strerror or error}") from None
        except BaseException:
            self._release()
            raise
        host, port = self._server.server_address[:2]
        self._endpoint_url = f"http://{_url_host(str(host))}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="orgsync-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._clients.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._release()

    def _release(self) -> None:
        if self._owns_lock:
            self._owns_lock = False
            Sandbox._process_lock.release()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until the serving thread ends (``stop`` from another thread, or Ctrl-C)."""
        assert self._thread is not None, "start() first"
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    # --- what it publishes ------------------------------------------------------------------

    @property
    def info(self) -> SandboxInfo:
        """What the sandbox publishes (follows options changed with a reset, e.g. the
        partition, whose region clients must sign for)."""
        if self._endpoint_url is None:
            raise SandboxError("the sandbox is not running")
        return self._make_info(self._endpoint_url)

    @property
    def endpoint_url(self) -> str:
        return self.info.endpoint_url

    def env(self) -> dict[str, str]:
        """Environment variables that point an AWS SDK or CLI at this sandbox as the
        management account's admin (merge into a copy of ``os.environ``; no profile)."""
        info = self.info
        return {
            "AWS_ENDPOINT_URL": info.endpoint_url,
            "AWS_ACCESS_KEY_ID": info.access_key_id,
            "AWS_SECRET_ACCESS_KEY": info.secret_access_key,
            "AWS_REGION": info.region,
            "AWS_DEFAULT_REGION": info.region,
        }

    def client(self, service: str, *, account: StandaloneAccount | None = None,
               **kwargs: Any) -> Any:
        """A boto3 client on this sandbox, as the management admin or a standalone account
        (clients without extra arguments are cached: they stay valid across resets)."""
        import boto3

        info = self.info
        key = (service, account.id if account else None, info.region)
        if not kwargs and key in self._clients:
            return self._clients[key]
        client = boto3.client(
            service, endpoint_url=info.endpoint_url, region_name=info.region,
            aws_access_key_id=account.access_key_id if account else info.access_key_id,
            aws_secret_access_key=account.secret_access_key if account
            else info.secret_access_key, **kwargs)
        if not kwargs:
            self._clients[key] = client
        return client

    # --- runtime options ----------------------------------------------------------------------

    def set_options(self, *, latency_ms: float | None = None,
                    throttle: dict[str, float] | None = None,
                    create_delay_s: float | None = None,
                    **consistency_options: float | int | None) -> SandboxOptions:
        """Change the added latency and the per-service throttling of a running sandbox,
        keeping its state (a benchmark seeds thousands of accounts, then adds latency).
        ``throttle`` replaces the whole map ({} turns throttling off); None keeps a setting.
        Also the lags and Organizations limits (consistency.py): ``account_ready_lag_s``,
        ``iam_lag_s``, ``close_lag_s``, ``rename_lag_s``, ``org_concurrency``,
        ``concurrent_modification``, ``seed``, and Identity Center's ``sso_lag_s``."""
        changes: dict[str, Any] = check_runtime_options(
            {k: v for k, v in consistency_options.items() if v is not None})
        if create_delay_s is not None:  # for requests made from now on
            if create_delay_s < 0:
                raise ValueError("create_delay_s must be 0 or more")
            changes["create_delay_s"] = float(create_delay_s)
        if latency_ms is not None:
            if latency_ms < 0:
                raise ValueError("latency_ms must be 0 or more")
            changes["latency_ms"] = float(latency_ms)
        if throttle is not None:
            rates = {str(service).lower(): float(rps) for service, rps in throttle.items()}
            unknown = sorted(set(rates) - set(THROTTLED_SERVICES))
            if unknown:
                raise ValueError(f"throttle: unknown service {unknown[0]!r}; expected one of "
                                 f"{', '.join(THROTTLED_SERVICES)}")
            if any(rps <= 0 for rps in rates.values()):
                raise ValueError("throttle: requests per second must be greater than 0")
            changes["throttle"] = rates
        with self.state.lock:
            options = dataclasses.replace(self.options, **changes)
            # the app reads the sandbox's options, throttling reads the state's
            self.options = options
            self.state.options = options
            self.state.throttle_windows.clear()
        return options

    # --- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded state: moto's reset, the sandbox's own state, the seed."""
        with self.state.lock:
            self._reset_moto_and_seed()

    def _reset_moto_and_seed(self) -> None:
        from moto.core.base_backend import BackendDict
        from moto.core.model_instances import reset_model_data
        from moto.moto_api._internal import mock_random
        from moto.organizations.models import organizations_backends
        from moto.s3.models import s3_backends

        # moto's BackendDict.reset() re-initialises every backend before dropping it; dropping
        # them is enough (they are rebuilt on first use) and much faster
        for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
            backend_dict.clear()
        reset_model_data()
        organizations_backends.master_accounts.clear()
        s3_backends.bucket_accounts.clear()  # S3's global bucket namespace outlives its backends
        mock_random.seed(SEED)
        self.clock = Clock()
        fresh = SandboxState(self.options, self.clock)
        # keep the same object (handlers and the app hold it); replace its contents
        self.state.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "lock"})
        self._seed()

    def _seed(self) -> None:
        from moto.iam.models import iam_backends
        from moto.organizations.models import organizations_backends

        state = self.state
        now = self.clock.now()
        partition, region = self.options.partition, self.options.region
        org_backend = organizations_backends[MANAGEMENT_ACCOUNT_ID][partition]
        # moto derives every ARN's partition from the region (the organization's, a request's)
        org_backend.create_organization(region=region, FeatureSet="ALL")
        assert org_backend.org is not None
        org_backend.org.master_account_email = MANAGEMENT_ACCOUNT_EMAIL
        management = org_backend.accounts[0]
        management.name, management.email = MANAGEMENT_ACCOUNT_NAME, MANAGEMENT_ACCOUNT_EMAIL
        org_backend.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
        management_iam = iam_backends[MANAGEMENT_ACCOUNT_ID][partition]
        _seed_admin(management_iam, MANAGEMENT_ACCOUNT_ID, region=region)
        keys.remember(state, stable_access_key_id(MANAGEMENT_ACCOUNT_ID),
                      account_id=MANAGEMENT_ACCOUNT_ID, partition=partition)
        device = management_iam.create_virtual_mfa_device(ADMIN_USER_NAME, "/")
        assert device.serial_number == admin_mfa_serial(partition)
        management_iam.enable_mfa_device(ADMIN_USER_NAME, device.serial_number, "123456",
                                         "654321")
        state.root_users[MANAGEMENT_ACCOUNT_ID] = RootUser(
            account_id=MANAGEMENT_ACCOUNT_ID, password_created=now,
            mfa_devices=[RootMfaDevice(f"arn:{partition}:iam::{MANAGEMENT_ACCOUNT_ID}:mfa/"
                                       "root-account-mfa-device", now)])
        for user_name in self.options.users:
            management_iam.create_user(region_name=region, user_name=user_name)
        if self.options.identity_center:
            # enabling Identity Center enables its trusted access in Organizations
            org_backend.enable_aws_service_access(
                ServicePrincipal=identity_center.SERVICE_PRINCIPAL)
            identity_center.seed(state, owner=MANAGEMENT_ACCOUNT_ID,
                                 iam_users=self.options.users,
                                 extra_groups=self.options.sso_groups)
        for index, account in enumerate(standalone_accounts(self.options.standalone_accounts)):
            state.standalone[account.id] = {"name": account.name, "email": account.email}
            _seed_admin(iam_backends[account.id][partition], account.id, region=region)
            keys.remember(state, account.access_key_id, account_id=account.id,
                          partition=partition)
            root = RootUser(account_id=account.id, password_created=now, mfa_devices=[
                RootMfaDevice(f"arn:{partition}:iam::{account.id}:mfa/root-account-mfa-device",
                              now)])
            if index == 0:  # an old root access key that still works (see Control)
                key_id = stable_access_key_id(account.id, purpose="root")
                root.access_keys.append(RootAccessKey(
                    key_id, now, secret_access_key=stable_secret_access_key(
                        account.id, purpose="root")))
                state.root_keys[key_id] = account.id
            state.root_users[account.id] = root

    def _make_info(self, endpoint_url: str) -> SandboxInfo:
        return SandboxInfo(
            endpoint_url=endpoint_url, region=self.options.region,
            management_account_id=MANAGEMENT_ACCOUNT_ID,
            access_key_id=stable_access_key_id(MANAGEMENT_ACCOUNT_ID),
            secret_access_key=stable_secret_access_key(MANAGEMENT_ACCOUNT_ID),
            standalone_accounts=standalone_accounts(self.options.standalone_accounts),
            mfa_serial=admin_mfa_serial(self.options.partition))


def _seed_admin(iam: Any, account_id: str, *, region: str) -> None:
    """An IAM user ``admin`` with administrator access and the account's stable keys."""
    iam.create_user(region_name=region, user_name=ADMIN_USER_NAME)
    key = iam.create_access_key(ADMIN_USER_NAME)
    del iam.access_keys[key.physical_resource_id]
    key.access_key_id = stable_access_key_id(account_id)
    key.secret_access_key = stable_secret_access_key(account_id)
    iam.access_keys[key.access_key_id] = key
    iam.attach_user_policy(f"arn:{iam.partition}:iam::aws:policy/AdministratorAccess",
                           ADMIN_USER_NAME)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
