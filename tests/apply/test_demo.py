"""``orgsync demo`` runs the whole workflow with no AWS account, without touching ~/.aws, fast."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from reconciler.commands.demo import EXAMPLE_RESOURCE

from .conftest import EXAMPLE, output

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_workflow(tmp_path: Path, orgsync: Any) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A user's own AWS settings that the demo must neither use nor change.
    env.update({"HOME": str(home), "AWS_PROFILE": "users-own-profile",
                "AWS_CONFIG_FILE": str(home / "config"), "NO_COLOR": "1",
                "PYTHONPATH": str(REPO_ROOT)})
    # about 20-40 s on a quiet machine (the demo prints its time; 83 s was seen at load 17): the
    # timeout only catches a demo that hangs, its speed is not asserted
    result = orgsync("demo", env=env, timeout=300, cwd=str(tmp_path))
    assert result.returncode == 0, output(result)
    for step in ("orgsync validate", "orgsync plan", "orgsync apply --auto-approve",
                 "orgsync plan --detailed-exitcode (again)"):
        assert step in result.stdout
    assert "\nconverged:" in result.stdout
    # prod's access role requires MFA: the demo runs with an MFA session and manages it fully
    assert "so orgsync runs with an MFA session: --mfa-serial arn:aws:iam::123456789012:mfa/admin" \
        in result.stdout
    assert "assumable from the management account with MFA" in result.stdout
    # the invited account's root-credential deletion is shown as destructive before apply
    first_plan = result.stdout.split("orgsync plan", 1)[1].split("orgsync apply", 1)[0]
    assert "root_credentials.legacy-analytics (update, deferred)" in first_plan
    assert "root_credentials.legacy-analytics (update, DESTRUCTIVE): waiting for" in first_plan
    final_plan = result.stdout.split("orgsync plan --detailed-exitcode (again)", 1)[1]
    final_plan = final_plan.split("\n== ", 1)[0]  # up to the next step
    # both ways into an invited account: legacy-analytics through its profile, acquired-startup
    # (nobody signs in) through orgsync's service-managed stack set
    assert re.search(r"done access_role\.legacy-analytics: .*via profile legacy-admin",
                     result.stdout), output(result)
    assert re.search(r"done access_role\.acquired-startup: .*via stack set "
                     r"orgsync-access-roles", result.stdout), output(result)
    assert result.stdout.count("\nconverged:") == 2
    assert "No changes." in final_plan
    assert "Deferred" not in final_plan and "credentials with MFA" not in final_plan
    assert "alice and bob" in result.stdout
    assert "Demo finished" in result.stdout
    # the demo reads in a screen or two: policy documents one line per statement (--verbose
    # shows them in full), the stack set step's plan not repeated, switch-role links only
    lines = (result.stdout + result.stderr).count("\n")
    assert lines < 200, f"the demo printed {lines} lines (at most 199):\n{result.stdout}"
    assert "+ trust_policy = Allow sts:AssumeRole by AWS arn:aws:iam::123456789012:root if Bool " \
        "aws:MultiFactorAuthPresent=true" in first_plan
    assert '"Statement"' not in result.stdout
    assert "Traceback" not in result.stderr
    assert not (home / "config").exists()
    assert not (home / ".aws").exists()
    # no secret is ever printed
    from reconciler.sandbox.options import stable_secret_access_key, standalone_accounts

    secrets = [stable_secret_access_key("123456789012"),
               *(a.secret_access_key for a in standalone_accounts(3))]
    assert not any(s in result.stdout + result.stderr for s in secrets)


def test_packaged_example_is_the_repository_example() -> None:
    packaged = REPO_ROOT / "reconciler" / "data" / EXAMPLE_RESOURCE
    assert packaged.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8"), (
        f"copy examples/accounts.yaml to reconciler/data/{EXAMPLE_RESOURCE}")
    assert sys.version_info >= (3, 10)
