"""SIGTERM and SIGHUP stop an apply like Ctrl-C (issue 19): the apply lock is released and the
run says so, so that the next apply (a CI retry after ``timeout`` or a cancelled job) runs
without ``orgsync force-unlock``, and an account whose creation was under way is waited for,
never requested twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from reconciler.lock import LOCK_PATH
from tests.processes import default_signals

from .conftest import SMALL, Workdir, assert_no_duplicates, output

NO_BOOTSTRAP = SMALL.replace("    bootstrap_profile: legacy-admin\n", "")


def _lock_policies(sandbox: Any) -> list[str]:
    return [p["PolicyName"] for p in sandbox.client("iam").list_policies(
        Scope="Local", PathPrefix=LOCK_PATH)["Policies"]]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_create_account_releases_the_lock(workdir: Workdir, sandbox_options: Any,
                                                        signum: int) -> None:
    with sandbox_options(create_delay_s=4) as sandbox:
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(NO_BOOTSTRAP)
        control = sandbox.control
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply", "--auto-approve"],
            env=workdir.env, cwd=str(workdir.path), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
        try:
            deadline = time.monotonic() + 90
            while control.calls("organizations.DescribeCreateAccountStatus") < 1:
                assert process.poll() is None and time.monotonic() < deadline, \
                    "apply ended before it waited for CreateAccount"
                time.sleep(0.01)
            os.kill(process.pid, signum)  # while it waits for CreateAccount (IN_PROGRESS)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        name = signal.Signals(signum).name
        assert process.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        lines = stderr.strip().splitlines()
        assert lines[-1] == f"orgsync: terminated by {name}", stderr
        assert any(line.startswith(f"orgsync: stopped by {name}: the apply lock ")
                   and "was released" in line for line in lines), stderr
        assert _lock_policies(sandbox) == []
        # the next apply needs no force-unlock, and waits for the creation under way
        rerun = workdir.apply()
        assert rerun.returncode == 0, output(rerun)
        assert "force-unlock" not in rerun.stderr
        assert "\nconverged:" in rerun.stdout, output(rerun)
        assert control.calls("organizations.CreateAccount") == 1
        assert_no_duplicates(sandbox)
