"""The apply lock when IAM reads lag its writes, and in the China and GovCloud partitions.

IAM is eventually consistent: a GetPolicy right after CreatePolicy may answer NoSuchEntity. The
sandbox's fault injection stands in for that lag (GetPolicy answering NoSuchEntity although the
lock exists), so these tests show the lock never relies on reading its own write, and that every
wait ends within the caller's timeout even when no read ever shows the lock."""

from __future__ import annotations

import time
from typing import Any

import pytest

import reconciler.lock as lock_module
from reconciler.aws import Aws
from reconciler.lock import LOCK_NAME, LOCK_PATH, LockHeld, apply_lock, force_unlock, read_lock

MANAGEMENT = "123456789012"


def _aws(sandbox: Any) -> Aws:
    return Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)


def _lag_reads(sandbox: Any, count: int) -> None:
    """The next ``count`` GetPolicy calls answer as a lagging read of a new policy does."""
    for _ in range(count):  # each fault fires once, on the first call after the previous one
        sandbox.control.inject_fault("iam.GetPolicy", code="NoSuchEntity", nth=1,
                                     message="Policy orgsync-apply-lock was not found.")


def test_release_waits_for_a_lagging_read_of_its_own_lock(sandbox_process_env: Any) -> None:
    sandbox = sandbox_process_env
    aws = _aws(sandbox)
    warnings: list[str] = []
    with apply_lock(aws, timeout_s=0, holder="alice@ci", on_warning=warnings.append) as mine:
        assert sandbox.control.calls("iam.GetPolicy") == 0  # ownership is the create's answer
        _lag_reads(sandbox, 2)
    assert warnings == []
    assert sandbox.control.calls("iam.DeletePolicy") == 1
    assert read_lock(aws, account_id=MANAGEMENT) is None
    assert mine.policy_arn.endswith(f":policy{LOCK_PATH}{LOCK_NAME}")


def test_held_lock_that_no_read_shows_ends_at_the_timeout(sandbox_process_env: Any,
                                                          monkeypatch: Any) -> None:
    sandbox = sandbox_process_env
    monkeypatch.setattr(lock_module, "READ_SETTLE_S", 0.5)
    with apply_lock(_aws(sandbox), timeout_s=0, holder="alice@ci"):
        _lag_reads(sandbox, 400)
        started = time.monotonic()
        with pytest.raises(LockHeld) as refused, apply_lock(_aws(sandbox), timeout_s=1.0,
                                                            holder="bob@ci", poll_s=0.2):
            pytest.fail("got a lock that is held")
        assert time.monotonic() - started < 10.0
        sandbox.control.clear_faults()
    message = str(refused.value)
    assert "exists but IAM does not show it yet" in message
    assert "\n" not in message


def test_lock_in_china_and_govcloud(sandbox_options: Any, monkeypatch: Any) -> None:
    for partition, region in (("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")):
        with sandbox_options(partition=partition) as sandbox:
            for name, value in sandbox.env().items():
                monkeypatch.setenv(name, value)
            aws = _aws(sandbox)
            assert aws.region == region
            with apply_lock(aws, timeout_s=0, holder="alice@ci") as mine:
                assert mine.policy_arn == (f"arn:{partition}:iam::{MANAGEMENT}:policy"
                                           f"{LOCK_PATH}{LOCK_NAME}")
                held = read_lock(aws, account_id=MANAGEMENT)
                assert held is not None and held.lock_id == mine.lock_id
                assert held.caller_arn.startswith(f"arn:{partition}:iam::")
            assert read_lock(aws, account_id=MANAGEMENT) is None
            with apply_lock(aws, timeout_s=0, holder="gone@ci") as left_behind:
                released = force_unlock(_aws(sandbox), lock_id=left_behind.lock_id)
                assert released.lock_id == left_behind.lock_id
            assert read_lock(aws, account_id=MANAGEMENT) is None
