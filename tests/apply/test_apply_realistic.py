"""orgsync against a sandbox that is as slow, strict and concurrent as AWS (``--realistic``: new
accounts unreachable for a while, IAM changes, closures and renames that take effect late,
Organizations concurrency 1, a ConcurrentModificationException rate): one
``apply --auto-approve`` converges with no step failed, and the next
``plan --detailed-exitcode`` has nothing to do. Both the example and a file that invites, closes
and renames accounts."""

from __future__ import annotations

import re
from typing import Any

from reconciler.sandbox.options import REALISTIC
from tests.desired_files import HEADER

from .conftest import EXAMPLE, Workdir, add_bootstrap_profile, assert_no_duplicates, output

# the preset itself, with a CME rate high enough that a run surely meets several
PRESET: dict[str, Any] = {**REALISTIC, "concurrent_modification": 0.15, "seed": 12}

ACCOUNTS = HEADER + """\
accounts:
{accounts}
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
"""
BEFORE = """\
  - name: billing
    email: aws+billing@example.com
    ou: /Workloads
    tags: {team: finance}
  - name: retiring
    email: aws+retiring@example.com
    ou: /Workloads
  - name: data
    email: aws+data@example.com
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
    bootstrap_profile: legacy-admin
"""
AFTER = """\
  - name: billing-and-costs
    email: aws+billing@example.com
    ou: /Workloads
    tags: {team: finance, cost-center: "42"}
  - name: retiring
    email: aws+retiring@example.com
    ou: /Workloads
    state: closed
  - name: data-lake
    email: aws+data@example.com
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
    bootstrap_profile: legacy-admin
  - name: acquired-startup
    email: aws+acquired@example.com
    source: invited
    id: "310987654321"
    ou: /Workloads
    bootstrap_profile: acquired-admin
"""


def _apply_once_then_nothing_to_do(workdir: Workdir) -> str:
    result = workdir.apply(timeout=600)
    assert result.returncode == 0, output(result)
    assert "FAILED" not in result.stdout and " 0 failed" in result.stdout, output(result)
    assert "\nconverged:" in result.stdout, output(result)
    plan = workdir.orgsync("plan", "--detailed-exitcode")
    assert plan.returncode == 0, output(plan)
    return str(result.stdout)


def test_example_converges_in_one_apply_against_realistic_aws(workdir: Workdir,
                                                              sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True, **PRESET) as sandbox:
        iam = sandbox.client("iam")
        for user in ("alice", "bob"):
            iam.create_user(UserName=user)
        workdir.write(EXAMPLE.read_text(encoding="utf-8"))
        sandbox.control.reset_counters()
        _apply_once_then_nothing_to_do(workdir)
        # AWS's slowness was met, not avoided: the sandbox refused calls along the way
        assert sandbox.control.calls("sts.AssumeRole") > 5
        assert_no_duplicates(sandbox)


def test_invite_close_and_rename_against_realistic_aws(workdir: Workdir,
                                                       sandbox_options: Any) -> None:
    with sandbox_options(auto_accept_invites=True, **PRESET) as sandbox:
        add_bootstrap_profile(workdir.env, sandbox, index=1, profile="acquired-admin")
        sandbox.client("iam").create_user(UserName="alice")
        workdir.write(ACCOUNTS.format(accounts=BEFORE))
        _apply_once_then_nothing_to_do(workdir)
        workdir.write(ACCOUNTS.format(accounts=AFTER))
        stdout = _apply_once_then_nothing_to_do(workdir)
        assert re.search(r"done account\.billing-and-costs: renamed 'billing'", stdout), stdout
        assert re.search(r"done account\.retiring: .*clos", stdout), stdout
        assert re.search(r"done account\.acquired-startup: invited 310987654321", stdout), stdout
        orgs = sandbox.client("organizations")
        states = {a["Email"]: a["State"] for a in orgs.list_accounts()["Accounts"]}
        assert states["aws+retiring@example.com"] in ("PENDING_CLOSURE", "CLOSED")
        assert states["aws+acquired@example.com"] == "ACTIVE"
        assert_no_duplicates(sandbox)
