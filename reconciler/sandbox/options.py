"""What a sandbox is started with and what it tells its users.

Kept apart from the server so that tests, the demo and the CLI can build options and read the
published info (CONTRACT.md section 5) without importing moto. Every identity the sandbox seeds
is derived from fixed strings, so ids, emails and keys are the same in every run.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MANAGEMENT_ACCOUNT_ID = "123456789012"
MANAGEMENT_ACCOUNT_NAME = "management"
MANAGEMENT_ACCOUNT_EMAIL = "aws+management@example.com"
ADMIN_USER_NAME = "admin"
ADMIN_MFA_SERIAL = f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:mfa/{ADMIN_USER_NAME}"
REGION = "us-east-1"
# the region a sandbox of each partition answers in (and its clients sign for): Organizations,
# IAM and STS of each partition (AWS General Reference, "AWS service endpoints")
PARTITION_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
THROTTLED_SERVICES = ("organizations", "iam", "sts", "account", "sso-admin", "identitystore")

_NAMED_STANDALONE = (
    ("210987654321", "legacy-analytics", "aws+legacy-analytics@example.com"),
    ("310987654321", "acquired-startup", "aws+acquired@example.com"),
    ("410987654321", "partner-sandbox", "aws+partner@example.com"),
)


def admin_mfa_serial(partition: str = "aws") -> str:
    """The management admin's virtual MFA device in a sandbox of ``partition``."""
    return f"arn:{partition}:iam::{MANAGEMENT_ACCOUNT_ID}:mfa/{ADMIN_USER_NAME}"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(("orgsync-sandbox", *parts)).encode()).digest()


def stable_access_key_id(account_id: str, *, purpose: str = "admin") -> str:
    """A 20-character AKIA key id that is the same in every run (moto needs [A-Z0-9]{20})."""
    return "AKIA" + base64.b32encode(_digest("key", account_id, purpose)).decode()[:16]


def stable_secret_access_key(account_id: str, *, purpose: str = "admin") -> str:
    return base64.b64encode(_digest("secret", account_id, purpose)).decode()[:40]


@dataclass(frozen=True)
class StandaloneAccount:
    """An AWS account outside the organization, with credentials that act inside it."""

    id: str
    name: str
    email: str
    access_key_id: str
    secret_access_key: str


def standalone_accounts(count: int) -> list[StandaloneAccount]:
    """The seeded standalone accounts: the three named ones first, then ``standalone-<i>``."""
    result = []
    for i in range(1, count + 1):
        if i <= len(_NAMED_STANDALONE):
            account_id, name, email = _NAMED_STANDALONE[i - 1]
        else:
            account_id, name = f"5{i:011d}", f"standalone-{i}"
            email = f"aws+standalone-{i}@example.com"
        result.append(StandaloneAccount(
            id=account_id, name=name, email=email,
            access_key_id=stable_access_key_id(account_id),
            secret_access_key=stable_secret_access_key(account_id),
        ))
    return result


@dataclass(frozen=True)
class SandboxOptions:
    """How a sandbox behaves; every field has the CLI's default."""

    host: str = "127.0.0.1"
    port: int = 0
    standalone_accounts: int = 3
    latency_ms: float = 0.0
    throttle: dict[str, float] = field(default_factory=dict)  # service -> requests per second
    create_delay_s: float = 0.0
    close_delay_s: float = 0.0
    auto_accept_invites: bool = False
    close_quota: int | None = None  # None: 10% of member accounts, between 10 and 1,000
    invites_per_day: int = 20  # AWS's default quota of invitations sent per day
    max_concurrent_creates: int = 5
    # how long a CloudFormation stack-set operation stays RUNNING (AWS: a minute or more)
    stackset_operation_s: float = 1.0
    # IAM users seeded in the management account (``--users alice,bob``): the users a file's
    # groups name as members, so a tutorial's groups can be applied without creating them first
    users: tuple[str, ...] = ()
    # AWS's eventual consistency and concurrency limits (consistency.py cites each); 0 = off
    account_ready_lag_s: float = 0.0  # a new account refuses AssumeRole/AssumeRoot this long
    iam_lag_s: float = 0.0  # a role, trust policy or group grant takes effect this late
    close_lag_s: float = 0.0  # a closing account keeps reading ACTIVE this long
    rename_lag_s: float = 0.0  # Organizations shows a new account name this late
    org_concurrency: int = 0  # Organizations requests in flight at once (0: no limit)
    concurrent_modification: float = 0.0  # fraction of Organizations writes failing once
    seed: int = 0  # makes the concurrent-modification draws reproducible
    partition: str = "aws"  # aws | aws-cn | aws-us-gov: ARNs and the region follow it
    # IAM Identity Center (identity_center.py): how long account assignment and provisioning
    # requests stay IN_PROGRESS, and groups added to the seeded identity store
    sso_lag_s: float = 0.0
    sso_groups: tuple[str, ...] = ()
    identity_center: bool = True  # False: the organization has no Identity Center instance

    def __post_init__(self) -> None:
        if self.partition not in PARTITION_REGIONS:
            raise ValueError(f"partition {self.partition!r}: expected one of "
                             f"{', '.join(PARTITION_REGIONS)}")

    @property
    def region(self) -> str:
        return PARTITION_REGIONS[self.partition]


# What ``--realistic`` turns on: AWS's behaviours at values that keep a test run short. Each knob
# and what it stands for in AWS is in docs/sandbox.md. Explicit options win over the preset.
REALISTIC: dict[str, float | int] = {
    "account_ready_lag_s": 2.0,  # AWS: "a few minutes" after CreateAccount SUCCEEDED
    "iam_lag_s": 1.0,  # AWS: seconds (IAM is eventually consistent)
    "close_lag_s": 1.0,  # AWS: DescribeAccount can read ACTIVE for over ten minutes
    "rename_lag_s": 1.0,  # AWS: "up to four hours" to propagate
    "org_concurrency": 1,  # AWS: "another request is already in progress"
    "concurrent_modification": 0.05,  # AWS: seen around account creation
    "create_delay_s": 1.0,  # AWS: CreateAccount stays IN_PROGRESS for minutes
    "sso_lag_s": 1.0,  # AWS: assignment and provisioning requests take seconds to minutes
}
LAG_OPTIONS = ("account_ready_lag_s", "iam_lag_s", "close_lag_s", "rename_lag_s", "sso_lag_s")
RUNTIME_OPTIONS = ("latency_ms", "throttle", *LAG_OPTIONS, "org_concurrency",
                   "concurrent_modification", "seed")


def realistic(options: SandboxOptions, **explicit: Any) -> SandboxOptions:
    """``options`` with the ``--realistic`` preset, then ``explicit`` values (not None) on top."""
    changes: dict[str, Any] = dict(REALISTIC)
    changes.update({k: v for k, v in explicit.items() if v is not None})
    return replace(options, **changes)


def check_runtime_options(changes: dict[str, Any]) -> dict[str, Any]:
    """Validated values of the lag and concurrency options (ValueError names the bad one)."""
    result: dict[str, Any] = {}
    for name, value in changes.items():
        if name in LAG_OPTIONS:
            seconds = float(value)
            if not seconds >= 0:
                raise ValueError(f"{name} must be 0 or more seconds")
            result[name] = seconds
        elif name == "org_concurrency":
            count = int(value)
            if count < 0 or count != float(value):
                raise ValueError("org_concurrency must be a whole number, 0 or more (0: no limit)")
            result[name] = count
        elif name == "concurrent_modification":
            fraction = float(value)
            if not 0.0 <= fraction <= 1.0:
                raise ValueError("concurrent_modification must be a fraction between 0 and 1")
            result[name] = fraction
        elif name == "seed":
            result[name] = int(value)
        else:
            raise ValueError(f"unknown option {name!r}")
    return result


@dataclass(frozen=True)
class SandboxInfo:
    """What a running sandbox publishes (the ``--info-file`` JSON, CONTRACT.md section 5)."""

    endpoint_url: str
    region: str
    management_account_id: str
    access_key_id: str
    secret_access_key: str
    standalone_accounts: list[StandaloneAccount]
    # the management admin's virtual MFA device: pass it as SerialNumber (with any 6-digit
    # TokenCode) to GetSessionToken or AssumeRole for MFA-authenticated credentials
    mfa_serial: str | None = None

    def to_document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SandboxInfo:
        accounts = [StandaloneAccount(**a) for a in document.get("standalone_accounts", [])]
        return cls(
            endpoint_url=document["endpoint_url"], region=document["region"],
            management_account_id=document["management_account_id"],
            access_key_id=document["access_key_id"],
            secret_access_key=document["secret_access_key"], standalone_accounts=accounts,
            mfa_serial=document.get("mfa_serial"),
        )


def parse_throttle(values: list[str] | tuple[str, ...]) -> dict[str, float]:
    """``["organizations=2", "iam=10"]`` -> ``{"organizations": 2.0, "iam": 10.0}``."""
    result: dict[str, float] = {}
    for value in values:
        service, sep, rate = value.partition("=")
        service = service.strip().lower()
        if not sep or service not in THROTTLED_SERVICES:
            raise ValueError(f"--throttle {value!r}: expected SERVICE=RPS with SERVICE one of "
                             "organizations, iam, sts, account, sso-admin, identitystore")
        try:
            rps = float(rate)
        except ValueError:
            raise ValueError(f"--throttle {value!r}: RPS must be a number") from None
        if rps <= 0:
            raise ValueError(f"--throttle {value!r}: RPS must be greater than 0")
        result[service] = rps
    return result
