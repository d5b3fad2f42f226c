"""The apply lock against the sandbox over real HTTP: mutual exclusion, waiting, clean refusal,
and a forced unlock that needs the lock id."""

from __future__ import annotations

import itertools
import threading
import time
from contextlib import ExitStack

import pytest

from reconciler.aws import Aws
from reconciler.errors import Refusal
from reconciler.lock import (
    LOCK_NAME,
    LOCK_PATH,
    LockHeld,
    apply_lock,
    force_unlock,
    read_lock,
)

from .helpers import orgsync

MANAGEMENT = "123456789012"


@pytest.fixture()
def aws(sandbox_process_env) -> Aws:
    return _new_aws(sandbox_process_env)


def _new_aws(sandbox) -> Aws:
    return Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)


def test_lock_is_held_inside_and_released_after(aws: Aws) -> None:
    assert read_lock(aws, account_id=MANAGEMENT) is None
    with apply_lock(aws, timeout_s=0, holder="alice@ci") as info:
        held = read_lock(aws, account_id=MANAGEMENT)
        assert held is not None
        assert held.lock_id == info.lock_id
        assert held.holder == "alice@ci"
        assert held.policy_arn.endswith(f":policy{LOCK_PATH}{LOCK_NAME}")
        assert held.caller_arn.startswith("arn:aws:")
        assert held.since.endswith("+00:00")
    assert read_lock(aws, account_id=MANAGEMENT) is None


def test_lock_is_released_when_the_block_fails(aws: Aws) -> None:
    with pytest.raises(RuntimeError), apply_lock(aws, timeout_s=0, holder="bob@ci"):
        raise RuntimeError("apply blew up")
    assert read_lock(aws, account_id=MANAGEMENT) is None


def test_second_holder_is_refused_naming_holder_id_since_and_force_unlock(sandbox,
                                                                         aws: Aws) -> None:
    with apply_lock(aws, timeout_s=0, holder="alice@ci") as first:
        started = time.monotonic()
        with pytest.raises(LockHeld) as refused, apply_lock(_new_aws(sandbox), timeout_s=1.0,
                                                            holder="bob@laptop", poll_s=0.2):
            pytest.fail("got a lock that is held")
        assert 1.0 <= time.monotonic() - started < 30.0  # generous: a loaded machine
    message = str(refused.value)
    assert "alice@ci" in message
    assert first.lock_id in message
    assert first.since in message
    assert f"orgsync force-unlock {first.lock_id}" in message
    assert "\n" not in message
    assert isinstance(refused.value, Refusal)


def test_waiter_gets_the_lock_once_the_holder_releases(sandbox, aws: Aws) -> None:
    holder_done = threading.Event()
    seen_waiting: list[str] = []

    def hold_briefly() -> None:
        with apply_lock(_new_aws(sandbox), timeout_s=0, holder="first@ci"):
            holder_done.wait(10)
            time.sleep(0.8)

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while read_lock(aws, account_id=MANAGEMENT) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        holder_done.set()
        with apply_lock(aws, timeout_s=15, holder="second@ci", poll_s=0.2,
                        on_wait=lambda info: seen_waiting.append(info.holder)) as mine:
            assert read_lock(aws, account_id=MANAGEMENT).lock_id == mine.lock_id  # type: ignore
    finally:
        holder_done.set()
        thread.join(15)
    assert seen_waiting == ["first@ci"]


def test_racing_holders_never_overlap(sandbox, aws: Aws) -> None:
    """Eight runs race for the lock at once; the intervals in which each held it never overlap."""
    intervals: list[tuple[float, float]] = []
    errors: list[BaseException] = []
    guard = threading.Lock()
    start = threading.Barrier(8)

    def run(i: int) -> None:
        try:
            client = _new_aws(sandbox)
            start.wait(10)
            with apply_lock(client, timeout_s=60, holder=f"runner-{i}@ci", poll_s=0.1):
                began = time.monotonic()
                time.sleep(0.15)
                ended = time.monotonic()
            with guard:
                intervals.append((began, ended))
        except BaseException as error:  # reported below
            with guard:
                errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not errors, errors
    assert len(intervals) == 8
    ordered = sorted(intervals)
    for (_, end), (begin, _) in itertools.pairwise(ordered):
        assert end <= begin, "two holders held the apply lock at the same time"


def test_force_unlock_needs_the_lock_id(aws: Aws) -> None:
    with pytest.raises(Refusal, match="no apply lock is held"):
        force_unlock(aws, lock_id="whatever")
    warnings: list[str] = []
    with ExitStack() as later:
        with apply_lock(aws, timeout_s=0, holder="crashed@ci", on_warning=warnings.append) as info:
            with pytest.raises(Refusal, match="another id"):
                force_unlock(aws, lock_id="not-" + info.lock_id)
            assert read_lock(aws, account_id=MANAGEMENT) is not None
            released = force_unlock(aws, lock_id=info.lock_id)
            assert released.holder == "crashed@ci"
            assert read_lock(aws, account_id=MANAGEMENT) is None
            # Another run takes the lock before this one ends: ending must not release theirs.
            other = later.enter_context(apply_lock(aws, timeout_s=0, holder="next@ci"))
        assert len(warnings) == 1 and info.lock_id in warnings[0]
        held = read_lock(aws, account_id=MANAGEMENT)
        assert held is not None and held.lock_id == other.lock_id
    assert read_lock(aws, account_id=MANAGEMENT) is None


def test_force_unlock_command(aws_env: dict[str, str], aws: Aws, tmp_path) -> None:
    env = aws_env
    with apply_lock(aws, timeout_s=0, holder="gone@ci", on_warning=lambda _m: None) as info:
        wrong = orgsync(["force-unlock", "nope", "-f", str(tmp_path / "absent.yaml")], env=env,
                        cwd=tmp_path)
        assert wrong.returncode == 1
        assert wrong.stderr.count("\n") == 1, wrong.stderr
        assert "orgsync: error:" in wrong.stderr and "Traceback" not in wrong.stderr
        assert read_lock(aws, account_id=MANAGEMENT) is not None
        right = orgsync(["force-unlock", info.lock_id, "-f", str(tmp_path / "absent.yaml")],
                        env=env, cwd=tmp_path)
        assert right.returncode == 0, right.stderr
        assert info.lock_id in right.stdout and "gone@ci" in right.stdout
        assert read_lock(aws, account_id=MANAGEMENT) is None


def test_force_unlock_refuses_another_organizations_file(aws_env: dict[str, str], aws: Aws,
                                                         tmp_path) -> None:
    other = tmp_path / "accounts.yaml"
    other.write_text('version: 1\norganization:\n  management_account_id: "999999999999"\n'
                     'accounts: []\n')
    with apply_lock(aws, timeout_s=0, holder="still-here@ci") as info:
        refused = orgsync(["force-unlock", info.lock_id, "-f", str(other)], env=aws_env,
                          cwd=tmp_path)
        assert refused.returncode == 1
        assert "999999999999" in refused.stderr and "nothing released" in refused.stderr
        assert read_lock(aws, account_id=MANAGEMENT) is not None
