"""Scale of change: account creations pipelined at AWS's pace, through the real CLI.

AWS lets about 5 CreateAccount requests be in flight per organization and answers a 6th with
ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED. The sandbox enforces that limit
and counts what it saw (``control.creations()``: the peak of requests IN_PROGRESS at once, and the
calls it refused), so these tests show that apply keeps 5 in flight without asking for a 6th, that
a refusal mid-batch (requests someone else has in flight) is waited out instead of failing the
run, and that a kill with five creations in flight is re-attached to on the next run.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .conftest import Workdir, accounts_by_email, assert_no_duplicates, output


def accounts_file(count: int, *, prefix: str = "team", group: bool = True) -> str:
    """``count`` created accounts in an OU, tagged, and (``group``) a group granted them all."""
    lines = ['version: 1', 'organization:', '  management_account_id: "123456789012"',
             'accounts:']
    for i in range(count):
        lines += [f"  - name: {prefix}-{i:02d}", f"    email: aws+{prefix}-{i:02d}@example.com",
                  "    ou: /Teams", f"    tags: {{index: '{i}'}}"]
    if group:
        lines += ["groups:", "  - name: team-admins", "    members: [alice]", "    assume:",
                  '      - accounts: ["*"]']
    return "\n".join(lines) + "\n"


def test_creations_run_five_at_a_time_and_never_a_sixth(workdir: Workdir,
                                                        sandbox_options: Any) -> None:
    with sandbox_options(create_delay_s=1.5) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(accounts_file(8))
        result = workdir.apply("--parallelism", "4", timeout=300)
        assert result.returncode == 0, output(result)
        assert "\nconverged:" in result.stdout, output(result)
        creations = sandbox.control.creations()
        assert creations["peak_in_flight"] == 5, creations  # pipelined, up to AWS's limit
        assert creations["refused_rate_limit"] == 0, creations  # and never beyond it
        assert sandbox.control.calls("organizations.CreateAccount") == 8
        assert_no_duplicates(sandbox)
        emails = accounts_by_email(sandbox)
        assert all(emails[f"aws+team-{i:02d}@example.com"] == 1 for i in range(8))
        assert workdir.plan_exit() == 0


def test_rate_limit_answer_mid_batch_is_waited_out(workdir: Workdir,
                                                   sandbox_options: Any) -> None:
    """Three creations someone else started hold three of AWS's five places: orgsync's third
    request is refused ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED, waits for a place and goes on."""
    with sandbox_options(create_delay_s=3600) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        orgs = sandbox.client("organizations")
        for i in range(3):  # they hold their places until the sandbox clock moves
            orgs.create_account(Email=f"aws+other-{i}@example.com", AccountName=f"other-{i}")
        sandbox.set_options(create_delay_s=0.5)  # orgsync's own requests
        workdir.write(accounts_file(4, group=False))
        control = sandbox.control
        result = _apply_until(workdir, lambda: control.creations()["refused_rate_limit"] > 0,
                              then=lambda: control.advance_clock(3600))
        assert result.returncode == 0, output(result)
        assert "\nconverged:" in result.stdout, output(result)
        creations = control.creations()
        assert creations["refused_rate_limit"] >= 1, creations  # the refusal did happen
        assert creations["peak_in_flight"] == 5, creations  # and orgsync used every place
        assert "as many account creations in flight as AWS allows" in result.stdout, \
            output(result)
        assert_no_duplicates(sandbox)
        emails = accounts_by_email(sandbox)
        assert all(emails[f"aws+team-{i:02d}@example.com"] == 1 for i in range(4))


def _apply_until(workdir: Workdir, condition: Callable[[], bool], *,
                 then: Callable[[], None]) -> subprocess.CompletedProcess[str]:
    """``orgsync apply --auto-approve`` in the background; once ``condition()`` holds (or the
    apply ended), ``then()``; the finished apply."""
    process = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "apply",
                                "--auto-approve"], env=workdir.env, cwd=str(workdir.path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not condition() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        then()
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_throttled_create_account_is_waited_out(workdir: Workdir,
                                                sandbox_options: Any) -> None:
    """CreateAccount throttled even after botocore's own retries: waited out, not a failure."""
    with sandbox_options(create_delay_s=0.5) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.env["AWS_MAX_ATTEMPTS"] = "2"  # botocore gives up after one retry
        for _ in range(2):  # each fault fires on the first call it sees: calls 1 and 2
            sandbox.control.inject_fault("organizations.CreateAccount", nth=1,
                                         code="TooManyRequestsException")
        workdir.write(accounts_file(1, group=False))
        result = workdir.apply(timeout=300)
        assert result.returncode == 0, output(result)
        assert "Organizations is throttling" in result.stdout, output(result)
        assert sandbox.control.calls("organizations.CreateAccount") == 3
        assert_no_duplicates(sandbox)


def test_kill_with_five_creations_in_flight_reattaches_to_all_five(
        workdir: Workdir, sandbox_options: Any) -> None:
    # An hour per creation: nothing finishes on its own while the first run is killed and
    # the second one starts; the sandbox clock finishes them once the second run waits.
    with sandbox_options(create_delay_s=3600) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(accounts_file(6))
        control = sandbox.control
        first = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "apply",
                                  "--auto-approve"], env=workdir.env, cwd=str(workdir.path),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while control.creations()["peak_in_flight"] < 5 and time.monotonic() < deadline:
                assert first.poll() is None, "the first apply ended before five creations"
                time.sleep(0.05)
            assert control.creations()["peak_in_flight"] == 5
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        orgs = sandbox.client("organizations")
        in_progress = orgs.list_create_account_status(
            States=["IN_PROGRESS"])["CreateAccountStatuses"]
        assert len(in_progress) == 5
        assert control.creations()["refused_rate_limit"] == 0

        sandbox.set_options(create_delay_s=0.5)  # requests made from now on
        unlocked = _force_unlock(workdir)
        control.reset_counters()
        # the second run's plan lists the five as creations in progress; once it polls them,
        # let them finish
        result = _apply_until(
            workdir, lambda: control.calls("organizations.DescribeCreateAccountStatus") > 0,
            then=lambda: control.advance_clock(3600))
        stdout = result.stdout
        assert result.returncode == 0, f"{unlocked}\n{output(result)}"
        assert "\nconverged:" in stdout, output(result)
        assert len(re.findall(r"continued earlier request car-", stdout)) == 5, output(result)
        # the sixth waited for one of the five (they are this run's now): no refusal, one call
        assert control.calls("organizations.CreateAccount") == 1
        assert control.creations()["refused_rate_limit"] == 0
        requests = orgs.list_create_account_status(
            States=["IN_PROGRESS", "SUCCEEDED"])["CreateAccountStatuses"]
        assert sorted(r["AccountName"] for r in requests) == [f"team-{i:02d}" for i in range(6)]
        assert_no_duplicates(sandbox)
        assert workdir.plan_exit() == 0


def _force_unlock(workdir: Workdir) -> str:
    """The killed run left the apply lock behind on purpose: release it as a person would."""
    held = workdir.apply(timeout=60)  # refused at once while the lock is held: no change
    found = re.search(r"orgsync force-unlock (\S+)", held.stderr)
    assert held.returncode == 1 and found is not None, output(held)
    unlocked = workdir.orgsync("force-unlock", found.group(1))
    assert unlocked.returncode == 0, output(unlocked)
    return unlocked.stdout
