"""The sandbox's own state: what AWS has and moto does not.

moto keeps organizations, IAM and STS objects; this module keeps, per sandbox, everything the
extensions add: a controllable clock, invitations (handshakes), asynchronous account creation and
closure, root users, IAM organizations features, root sessions, users' session credentials
(GetSessionToken), and the test controls (faults, counters, throttling windows). One
``SandboxState`` exists per running sandbox; ``reset`` replaces its contents together with moto's
reset.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler.sandbox.options import SandboxOptions

HANDSHAKE_TTL = timedelta(days=15)
CLOSE_QUOTA_WINDOW = timedelta(days=30)


class Clock:
    """Wall-clock time plus an offset that tests can advance (never goes back)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds


@dataclass
class RootAccessKey:
    access_key_id: str
    created: datetime
    status: str = "Active"
    secret_access_key: str | None = None  # None: a key on record that nobody can sign with


@dataclass
class RootSigningCertificate:
    certificate_id: str
    body: str
    created: datetime
    status: str = "Active"


@dataclass
class RootMfaDevice:
    serial_number: str
    enabled: datetime
    active: bool = True


@dataclass
class RootUser:
    """The root user of one account: the credentials centralized root access manages."""

    account_id: str
    password_created: datetime | None = None
    access_keys: list[RootAccessKey] = field(default_factory=list)
    signing_certificates: list[RootSigningCertificate] = field(default_factory=list)
    mfa_devices: list[RootMfaDevice] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "AccountPasswordPresent": int(self.password_created is not None),
            "AccountAccessKeysPresent": int(bool(self.access_keys)),
            "AccountSigningCertificatesPresent": int(bool(self.signing_certificates)),
            "AccountMFAEnabled": int(any(d.active for d in self.mfa_devices)),
        }


@dataclass
class Handshake:
    id: str
    organization_id: str
    management_account_id: str
    management_email: str
    management_name: str
    feature_set: str
    target_type: str  # ACCOUNT | EMAIL
    target_id: str
    target_account_id: str | None  # resolved account, None if no sandbox account matches
    notes: str | None
    requested: datetime
    expires: datetime
    state: str = "OPEN"
    action: str = "INVITE"
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CreateRequest:
    id: str
    account_name: str
    email: str
    role_name: str
    tags: list[dict[str, str]]
    iam_user_access_to_billing: str
    requested: datetime
    completes: datetime
    owner: str  # the management account that asked
    root_password: bool  # False once RootCredentialsManagement was enabled
    state: str = "IN_PROGRESS"
    account_id: str | None = None
    failure_reason: str | None = None
    completed: datetime | None = None


@dataclass
class Closure:
    account_id: str
    requested: datetime
    completes: datetime
    done: bool = False


@dataclass
class RootSession:
    access_key_id: str
    account_id: str
    task: str
    expiration: datetime
    caller_arn: str
    session_token: str | None = None


@dataclass
class UserSession:
    """Credentials from sts:GetSessionToken: they act as the IAM user who asked for them and
    carry MFA when the request passed the user's device and a code."""

    access_key_id: str
    account_id: str
    user_name: str
    user_arn: str
    issued: datetime
    expiration: datetime
    mfa_serial: str | None = None  # None: a session without MFA
    session_token: str | None = None


@dataclass
class Fault:
    operation: str  # "organizations.CreateAccount"
    nth: int  # 1 = the next call
    code: str | None  # AWS error code, None with drop
    message: str
    drop: bool
    # perform the call, then drop the connection before the reply: the write happened and the
    # client never hears of it (a lost response), as when a connection breaks mid-reply
    lost_response: bool = False
    seen: int = 0
    fired: bool = False


class SandboxState:
    """Everything the sandbox adds to moto; guarded by one re-entrant lock."""

    def __init__(self, options: SandboxOptions, clock: Clock) -> None:
        self.options = options
        self.clock = clock
        self.lock = threading.RLock()
        self.standalone: dict[str, dict[str, str]] = {}  # account id -> {name, email}
        self.root_users: dict[str, RootUser] = {}
        self.handshakes: dict[str, Handshake] = {}
        self.create_requests: dict[str, CreateRequest] = {}
        self.closures: dict[str, Closure] = {}
        self.org_features: dict[str, set[str]] = defaultdict(set)  # management id -> features
        self.root_sessions: dict[str, RootSession] = {}
        self.user_sessions: dict[str, UserSession] = {}  # GetSessionToken keys
        self.faults: list[Fault] = []
        self.counters: dict[str, int] = defaultdict(int)
        self.account_counters: dict[str, int] = defaultdict(int)  # "account:service.Op"
        self.throttle_windows: dict[str, deque[float]] = defaultdict(deque)
        # access key id -> (account id, partition): see keys.py
        self.key_accounts: dict[str, tuple[str, str]] = {}
        self.pending_creates: dict[str, CreateRequest] = {}  # IN_PROGRESS only
        # CreateAccount concurrency as AWS saw it: the most requests IN_PROGRESS at once, and
        # how many calls were refused with ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED
        self.creations: dict[str, int] = {"peak_in_flight": 0, "refused_rate_limit": 0}
        # eventual consistency and concurrency (consistency.py); times are the clock's
        self.accounts_created: dict[str, float] = {}  # account id -> when SUCCEEDED
        # (account id, role name) -> [(when, trust policy or None once deleted)]
        self.role_versions: dict[tuple[str, str], list[tuple[float, Any]]] = {}
        self.identity_writes: dict[tuple[str, str, str], float] = {}  # (account, kind, name)
        self.closes_visible: dict[str, float] = {}  # account id -> when its closure shows
        self.renames_visible: dict[str, tuple[str, float]] = {}  # id -> (old name, shows at)
        self.org_in_flight = 0
        self.cme_seen: dict[str, int] = {}  # request digest -> times seen
        self.cme_failed: set[str] = set()  # requests whose last attempt failed
        self.root_keys: dict[str, str] = {}  # root users' access key id -> account id
        # CloudFormation stack sets (reconciler.sandbox.cloudformation), by owner:region:id
        self.stack_sets: dict[str, Any] = {}
        self.identity_center: Any = None  # identity_center.IdentityCenter, seeded
        # IAM account aliases (account id -> alias) and Account Management alternate contacts
        # ((account id, SECURITY|OPERATIONS|BILLING) -> contact): account_settings.py
        self.account_aliases: dict[str, str] = {}
        self.alternate_contacts: dict[tuple[str, str], dict[str, str]] = {}

    def root_key(self, access_key_id: str) -> tuple[str, RootAccessKey] | None:
        """(account id, key) when ``access_key_id`` is an active access key of a root user
        (the index is a hint: the key must still be on the root user)."""
        with self.lock:
            account_id = self.root_keys.get(access_key_id)
            root = self.root_users.get(account_id) if account_id else None
            if root is None:
                return None
            key = next((k for k in root.access_keys if k.access_key_id == access_key_id), None)
            if key is None:
                self.root_keys.pop(access_key_id, None)
                return None
            return (root.account_id, key) if key.status == "Active" else None

    @property
    def partition(self) -> str:
        """The AWS partition the sandbox's organization lives in (``aws``, ``aws-cn``, ...)."""
        return self.options.partition

    def count(self, operation: str, account_id: str) -> None:
        with self.lock:
            self.counters[operation] += 1
            self.account_counters[f"{account_id}:{operation}"] += 1

    def take_fault(self, operation: str) -> Fault | None:
        """The fault that fires on this call of ``operation``, if any (each fires once)."""
        with self.lock:
            for fault in self.faults:
                if fault.fired or fault.operation != operation:
                    continue
                fault.seen += 1
                if fault.seen == fault.nth:
                    fault.fired = True
                    return fault
        return None

    def throttled(self, service: str) -> bool:
        """A sliding one-second window per service: True when this call is over the rate."""
        rate = self.options.throttle.get(service)
        if not rate:
            return False
        now = time.monotonic()
        with self.lock:
            window = self.throttle_windows[service]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= rate:
                return True
            window.append(now)
            return False

    def counters_document(self) -> dict[str, Any]:
        with self.lock:
            return {"operations": dict(self.counters), "by_account": dict(self.account_counters),
                    "creations": dict(self.creations)}
