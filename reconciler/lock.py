"""The apply lock: two applies against one organization must never interleave.

Why an IAM customer managed policy, and not an S3 object or a DynamoDB item:
``iam:CreatePolicy`` is atomic on the policy's name (a second create fails with
``EntityAlreadyExists``), IAM writes are made by one control plane in us-east-1, and the management
account orgsync already works in has IAM. The lock therefore needs nothing to be provisioned first
and no setting naming a bucket or a table, and the pipeline role needs only three extra IAM actions,
scoped to one ARN (``arn:aws:iam::<management>:policy/orgsync-lock/*``). An S3 conditional put
(``PutObject`` with ``If-None-Match: *``) or a DynamoDB conditional write is just as atomic, but
both need a bucket or table that someone must create, name in the configuration, secure and pay for.

The lock is the policy ``orgsync-apply-lock`` under the path ``/orgsync-lock/`` (deliberately
outside ``/orgsync/``, where orgsync keeps the managed policies it plans, so that the lock is never
observed as drift). Its description holds the lock id, the holder (user@host, pid, caller ARN) and
since when, as JSON; a description cannot be changed after creation, so the lock id a user reads is
the one that was written when the lock was taken. The policy grants nothing that is not already
granted (``sts:GetCallerIdentity``), so attaching it by mistake changes nothing.

The lock lives in the organization's partition (``arn:aws-cn:iam::...`` in China,
``arn:aws-us-gov:iam::...`` in GovCloud), read from the caller's ARN.

Correctness never depends on reading our own writes: IAM is eventually consistent ("Changes that
I make are not always immediately visible", IAM User Guide, troubleshooting), so a GetPolicy
right after a CreatePolicy or DeletePolicy may show the old state. Ownership is decided by the
one strongly consistent answer IAM gives, CreatePolicy's success or EntityAlreadyExists on the
name; reads are only used to name the holder and, before a delete, to check that the lock is
still ours, and a read that disagrees with what this run wrote is repeated for a bounded time
(``READ_SETTLE_S``) before it is believed. Every wait is bounded by the caller's timeout.

A run that dies without releasing leaves the lock behind on purpose (as Terraform's state lock
does): an automatic expiry could let a slow but live apply be overtaken. ``force_unlock`` releases
it, and only when given the lock id, so that a user cannot release a lock they have not looked at.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from reconciler.errors import AwsError, NotFound, OrgsyncError, Refusal

if TYPE_CHECKING:
    from reconciler.aws import Aws

LOCK_PATH = "/orgsync-lock/"
LOCK_NAME = "orgsync-apply-lock"
DESCRIPTION_LIMIT = 1000  # IAM's maximum policy description length
READ_SETTLE_S = 5.0  # how long a read of the lock may lag this run's own write to it

# A policy must allow something; GetCallerIdentity needs no permission, so this grants nothing.
_LOCK_DOCUMENT = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "OrgsyncApplyLockGrantsNothing", "Effect": "Allow",
                   "Action": "sts:GetCallerIdentity", "Resource": "*"}],
}, separators=(",", ":"))

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("iam:CreatePolicy", "iam:GetPolicy", "iam:DeletePolicy",
                   "sts:GetCallerIdentity"),
}
"""What taking, inspecting and releasing the lock calls (``reconciler.permissions`` reads this)."""


class LockHeld(Refusal):
    """Another run holds the apply lock (and kept it past the wait timeout)."""

    def __init__(self, info: LockInfo | None, *, waited_s: float, arn: str = "") -> None:
        self.info = info
        waited = f" after waiting {waited_s:.0f}s" if waited_s > 0 else ""
        if info is None:  # IAM says the lock exists, but no read shows it yet
            super().__init__(
                f"another apply holds the lock{waited} ({arn} exists but IAM does not show it "
                "yet). Retry in a moment (see --lock-timeout); orgsync force-unlock needs the "
                "lock id, which a later run will show")
            return
        super().__init__(
            f"another apply holds the lock{waited}: {info.describe()}. Wait and retry (see "
            f"--lock-timeout), or if that run is gone for good: orgsync force-unlock {info.lock_id}"
        )


class LockError(OrgsyncError):
    """The lock is in a state orgsync did not expect (unreadable, attached, not released)."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds the apply lock, and since when."""

    lock_id: str
    holder: str  # user@host
    pid: int
    caller_arn: str
    since: str  # ISO 8601, UTC
    policy_arn: str = ""

    def describe(self) -> str:
        return (f"lock id {self.lock_id}, held by {self.holder} (pid {self.pid}, "
                f"{self.caller_arn or 'caller unknown'}) since {self.since}")

    def to_description(self) -> str:
        """The policy description: the lock's fields as compact JSON, within IAM's limit."""
        data: dict[str, Any] = {k: v for k, v in asdict(self).items() if k != "policy_arn"}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > DESCRIPTION_LIMIT:  # only a pathological ARN or host name gets here
            overflow = len(text) - DESCRIPTION_LIMIT
            data["caller_arn"] = data["caller_arn"][: max(0, len(data["caller_arn"]) - overflow)]
            text = json.dumps(data, separators=(",", ":"))
        return text[:DESCRIPTION_LIMIT]

    @classmethod
    def from_policy(cls, policy: dict[str, Any]) -> LockInfo:
        arn = str(policy.get("Arn", ""))
        description = str(policy.get("Description", ""))
        try:
            data = json.loads(description)
            return cls(lock_id=str(data["lock_id"]), holder=str(data.get("holder", "?")),
                       pid=int(data.get("pid", 0)), caller_arn=str(data.get("caller_arn", "")),
                       since=str(data.get("since", "")), policy_arn=arn)
        except (ValueError, KeyError, TypeError):
            # Not written by orgsync (or edited): the IAM policy id still identifies this lock.
            created = policy.get("CreateDate")
            since = created.isoformat() if isinstance(created, datetime) else str(created or "?")
            return cls(lock_id=str(policy.get("PolicyId", "?")), holder="unknown", pid=0,
                       caller_arn="", since=since, policy_arn=arn)


def default_holder() -> str:
    """``user@host`` of this process, for the lock's description."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def lock_arn(management_account_id: str, *, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{management_account_id}:policy{LOCK_PATH}{LOCK_NAME}"


def partition_of_arn(arn: str, *, default: str) -> str:
    """``arn:aws-cn:iam::...`` -> ``aws-cn``; ``default`` for anything that is not an ARN."""
    parts = arn.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "arn" and parts[1] else default


def caller_identity(aws: Aws) -> tuple[str, str]:
    """(account id, caller ARN) of the credentials orgsync runs with."""
    identity = aws.client("sts").get_caller_identity()
    return str(identity["Account"]), str(identity["Arn"])


def read_lock(aws: Aws, *, account_id: str, partition: str | None = None) -> LockInfo | None:
    """The lock as IAM shows it now (possibly lagging writes), or None when none shows.
    ``partition``: the organization's (default: the partition of ``aws``'s region)."""
    arn = lock_arn(account_id, partition=partition or aws.partition)
    try:
        policy = aws.client("iam").get_policy(PolicyArn=arn)["Policy"]
    except NotFound:
        return None
    return LockInfo.from_policy(policy)


def _read_settled(aws: Aws, *, account_id: str, partition: str | None, lock_id: str,
                  patience_s: float) -> LockInfo | None:
    """Read the lock until it shows ``lock_id`` (a lock this run wrote) or ``patience_s`` runs
    out; the last read otherwise. A lagging read shows no lock or an older one."""
    deadline = time.monotonic() + max(0.0, patience_s)
    delay = 0.1
    while True:
        current = read_lock(aws, account_id=account_id, partition=partition)
        left = deadline - time.monotonic()
        if (current is not None and current.lock_id == lock_id) or left <= 0:
            return current
        time.sleep(min(delay, left))
        delay = min(delay * 2, 1.0)


def try_acquire(aws: Aws, *, holder: str, account_id: str, caller_arn: str,
                lock_id: str | None = None, settle_s: float | None = None) -> LockInfo | None:
    """Take the lock if it is free: our LockInfo, or None when someone else holds it.

    CreatePolicy's success is the proof of ownership: IAM refuses a second policy of one name
    atomically (EntityAlreadyExists), and the sandbox serializes creates as IAM does. No read
    back: a read right after the create may lag it and show no lock, or a released one."""
    partition = partition_of_arn(caller_arn, default=aws.partition)
    info = LockInfo(lock_id=lock_id or str(uuid.uuid4()), holder=holder, pid=os.getpid(),
                    caller_arn=caller_arn,
                    since=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        created = aws.client("iam").create_policy(
            PolicyName=LOCK_NAME, Path=LOCK_PATH, PolicyDocument=_LOCK_DOCUMENT,
            Description=info.to_description())
    except AwsError as error:
        if error.code != "EntityAlreadyExists":
            raise
        # A lost reply to our own CreatePolicy: botocore retried and met the policy it had just
        # made. The lock id in the description says whose it is (ids are random per attempt).
        # A lock that exists but does not show yet may be that one: read until it settles.
        current = read_lock(aws, account_id=account_id, partition=partition)
        if current is None:
            current = _read_settled(aws, account_id=account_id, partition=partition,
                                    lock_id=info.lock_id,
                                    patience_s=READ_SETTLE_S if settle_s is None else settle_s)
        if current is None or current.lock_id != info.lock_id:
            return None
        return LockInfo(**{**asdict(info), "policy_arn": current.policy_arn})
    return LockInfo(**{**asdict(info), "policy_arn": str(created["Policy"]["Arn"])})


def release(aws: Aws, info: LockInfo, *, account_id: str) -> bool:
    """Release our lock: True when released, False when it was no longer ours (force-unlocked,
    perhaps taken by another run since): then nothing is deleted and the caller warns.

    The lock id is read right before the delete, but IAM has no conditional delete (DeletePolicy
    takes only the ARN, which every lock shares), so a window of one round trip remains: a lock
    force-unlocked *and* taken by another run between this read and the delete would be deleted.
    Both a person's force-unlock and the other run's CreatePolicy must land inside those
    milliseconds; ``force_unlock`` has the same window after its own check."""
    partition = partition_of_arn(info.policy_arn, default=aws.partition)
    current = _read_settled(aws, account_id=account_id, partition=partition,
                            lock_id=info.lock_id, patience_s=READ_SETTLE_S)
    if current is None or current.lock_id != info.lock_id:
        return False
    _delete(aws, account_id=account_id, partition=partition)
    return True


def force_unlock(aws: Aws, *, lock_id: str) -> LockInfo:
    """Release the lock, but only when its id is ``lock_id``; returns what was released."""
    account_id, caller_arn = caller_identity(aws)
    partition = partition_of_arn(caller_arn, default=aws.partition)
    current = read_lock(aws, account_id=account_id, partition=partition)
    if current is None:
        raise Refusal(f"no apply lock is held in account {account_id}; nothing to unlock")
    if current.lock_id != lock_id:
        raise Refusal(f"the apply lock has another id ({current.describe()}); nothing released. "
                      f"Check that the holder is gone, then pass that id")
    _delete(aws, account_id=account_id, partition=partition)
    return current


@contextmanager
def apply_lock(aws: Aws, *, timeout_s: float, holder: str | None = None, poll_s: float = 2.0,
               on_wait: Callable[[LockInfo], None] | None = None,
               on_warning: Callable[[str], None] | None = None) -> Iterator[LockInfo]:
    """Hold the organization's apply lock for the ``with`` block.

    Waits up to ``timeout_s`` seconds (0: try once) for a held lock, polling every ``poll_s``
    seconds with jitter, calling ``on_wait`` once with the holder. Raises ``LockHeld`` naming the
    holder, the lock id, since when and how to force-unlock. On leaving the block the lock is
    released if it is still ours; ``on_warning`` hears when it was not (someone force-unlocked it)
    or could not be released.
    """
    account_id, caller_arn = caller_identity(aws)
    partition = partition_of_arn(caller_arn, default=aws.partition)
    who = holder or default_holder()
    started = time.monotonic()
    told = False
    attempt = ""
    while True:
        attempt = str(uuid.uuid4())
        left = timeout_s - (time.monotonic() - started)
        try:
            mine = try_acquire(aws, holder=who, account_id=account_id, caller_arn=caller_arn,
                               lock_id=attempt, settle_s=min(READ_SETTLE_S, max(0.0, left)))
        except KeyboardInterrupt:  # Ctrl-C / SIGTERM while taking it: do not leave it behind
            _release_attempt(aws, attempt, account_id=account_id, partition=partition)
            raise
        if mine is not None:
            break
        current = read_lock(aws, account_id=account_id, partition=partition)
        waited = time.monotonic() - started
        if current is None:
            # released between our create and our read, or held but not readable yet (a read
            # lagging the holder's create): try again soon, within the timeout
            if waited >= timeout_s:
                raise LockHeld(None, waited_s=waited,
                               arn=lock_arn(account_id, partition=partition))
            time.sleep(min(0.2, max(0.05, timeout_s - waited)))
            continue
        if waited >= timeout_s:
            raise LockHeld(current, waited_s=waited)
        if not told and on_wait is not None:
            on_wait(current)
            told = True
        time.sleep(min(poll_s * random.uniform(0.75, 1.25), max(0.05, timeout_s - waited)))
    try:
        yield mine
    finally:
        _release_quietly(aws, mine, account_id=account_id, on_warning=on_warning)


def _release_attempt(aws: Aws, lock_id: str, *, account_id: str,
                     partition: str | None = None) -> None:
    """Release the lock if the interrupted attempt ``lock_id`` took it (best effort)."""
    try:
        current = read_lock(aws, account_id=account_id, partition=partition)
        if current is not None and current.lock_id == lock_id:
            _delete(aws, account_id=account_id, partition=partition or aws.partition)
    except (OrgsyncError, KeyboardInterrupt):
        pass


def _release_quietly(aws: Aws, info: LockInfo, *, account_id: str,
                     on_warning: Callable[[str], None] | None) -> None:
    """Release without hiding the error (if any) that ended the ``with`` block."""
    warn = on_warning or (lambda _message: None)
    try:
        if not release(aws, info, account_id=account_id):
            warn(f"the apply lock {info.lock_id} was no longer held by this run when it ended "
                 "(force-unlocked?): another apply may have run at the same time")
    except OrgsyncError as error:
        warn(f"could not release the apply lock ({error}); release it with: "
             f"orgsync force-unlock {info.lock_id}")


def _delete(aws: Aws, *, account_id: str, partition: str) -> None:
    arn = lock_arn(account_id, partition=partition)
    try:
        aws.client("iam").delete_policy(PolicyArn=arn)
    except NotFound:
        return
    except AwsError as error:
        if error.code == "DeleteConflict":
            raise LockError(f"the apply lock policy {arn} is attached to an "
                            "identity; detach it, then retry") from error
        raise
