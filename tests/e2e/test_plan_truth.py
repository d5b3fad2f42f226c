"""Plans tell the whole truth (issue 11), through the real CLI against the sandbox.

Apply does only what the plan it applies lists: deferred work the plan can foresee (an invited
account's rename, move, role and root-credential deletion once its invitation is accepted) is
listed with its action and counted in every format's summary and destructive banner; a
CreateAccount in progress is a change, never "no changes"; an invitation accepted during the run
converges in that run; refusals of a saved plan name the command with the plan file and say what
changed; a group member that is not an IAM user gets a "did you mean"."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.apply.conftest import Workdir, add_bootstrap_profile, create_requests_by_name, output
from tests.desired_files import HEADER

LEGACY = "210987654321"  # seeded standalone account "legacy-analytics"

# The invited account gets another name and an OU from the file: apply must rename and move it
# once it has joined, and delete its root credentials (the seeded account has a password, an
# access key and an MFA device).
INVITED = HEADER + """\
root_credentials:
  features: [RootCredentialsManagement, RootSessions]
  default: unmanaged
accounts:
  - name: analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
    ou: /Legacy
    tags: {team: data}
    root_credentials: absent
    bootstrap_profile: legacy-admin
"""

CREATED = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
    ou: /Workloads
"""


def _workdir(tmp_path: Path, aws_env: dict[str, str], sandbox: Any, orgsync: Any) -> Workdir:
    add_bootstrap_profile(aws_env, sandbox)
    return Workdir(tmp_path, aws_env, sandbox, orgsync)


def test_invited_account_deferred_work_is_listed_destructive_and_converges_in_one_apply(
        tmp_path: Path, aws_env: dict[str, str], sandbox_options: Any, orgsync: Any) -> None:
    with sandbox_options(auto_accept_invites=True) as sandbox:
        work = _workdir(tmp_path, aws_env, sandbox, orgsync)
        work.write(INVITED)
        saved = work.orgsync("plan", "--out", "p.json")
        assert saved.returncode == 0, output(saved)
        # case 1: the root-credential deletion is visible in text ...
        assert "!! DESTRUCTIVE: 1 change destroys something: root_credentials.analytics " \
               "(update, deferred)" in saved.stdout, output(saved)
        assert "root_credentials.analytics (update, DESTRUCTIVE): waiting for" in saved.stdout
        assert "access_role.analytics (create): waiting for" in saved.stdout
        assert "account.analytics (update): waiting for" in saved.stdout
        assert "Deferred until what they wait for happens: 1 to create, 2 to update, " \
               "1 destructive." in saved.stdout
        # ... in the saved plan / JSON ...
        document = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
        assert document["destructive"] == ["root_credentials.analytics"]
        assert document["summary"]["deferred"] == 3
        listed = {d["address"]: d for d in document["deferred"]}
        assert listed["root_credentials.analytics"]["action"] == "update"
        assert listed["root_credentials.analytics"]["destructive"] is True
        assert listed["root_credentials.analytics"]["after"]["password"] is False
        assert listed["account.analytics"]["after"] == {
            "id": LEGACY, "name": "analytics", "ou": "/Legacy", "tags": {"team": "data"}}
        # ... and in markdown
        markdown = work.orgsync("plan", "--format", "markdown")
        assert markdown.returncode == 0, output(markdown)
        assert "> [!CAUTION]" in markdown.stdout
        assert "`root_credentials.analytics` (update, deferred)" in markdown.stdout
        # case 3: the invitation is accepted during the run; everything is done in that run
        applied = work.orgsync("apply", "--auto-approve", "p.json")
        assert applied.returncode == 0, output(applied)
        assert "Now possible" in applied.stdout
        assert re.search(r"done root_credentials\.analytics: deleted the root password",
                         applied.stdout), output(applied)
        assert "renamed 'legacy-analytics' to 'analytics'" in applied.stdout, output(applied)
        assert "\nconverged: a new plan has no changes." in applied.stdout, output(applied)
        orgs = sandbox.client("organizations")
        assert orgs.describe_account(AccountId=LEGACY)["Account"]["Name"] == "analytics"
        parent = orgs.list_parents(ChildId=LEGACY)["Parents"][0]
        assert orgs.describe_organizational_unit(
            OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]["Name"] == "Legacy"
        assert work.plan_exit() == 0


def test_follow_up_runs_nothing_the_plan_did_not_list(
        tmp_path: Path, aws_env: dict[str, str], sandbox_options: Any, orgsync: Any) -> None:
    # root_credentials: unmanaged for the invited account: the plan lists no root work, so the
    # follow-up round (after the invitation is accepted) never touches its root user.
    with sandbox_options(auto_accept_invites=True) as sandbox:
        work = _workdir(tmp_path, aws_env, sandbox, orgsync)
        work.write(INVITED.replace("    root_credentials: absent\n", ""))
        saved = work.orgsync("plan", "--out", "p.json")
        assert saved.returncode == 0, output(saved)
        assert "DESTRUCTIVE" not in saved.stdout
        sandbox.control.reset_counters()
        applied = work.orgsync("apply", "--auto-approve", "p.json")
        assert applied.returncode == 0, output(applied)
        assert "root_credentials" not in applied.stdout
        assert sandbox.control.calls("sts.AssumeRoot") == 0
        assert "\nconverged:" in applied.stdout, output(applied)


def test_create_account_in_progress_is_a_pending_change(
        tmp_path: Path, aws_env: dict[str, str], sandbox_options: Any, orgsync: Any) -> None:
    with sandbox_options(create_delay_s=600) as sandbox:
        work = _workdir(tmp_path, aws_env, sandbox, orgsync)
        work.write(CREATED)
        # what an apply killed while it waited for CreateAccount leaves behind
        request = sandbox.client("organizations").create_account(
            Email="aws+app@example.com", AccountName="app")["CreateAccountStatus"]
        planned = work.orgsync("plan", "--detailed-exitcode")
        assert planned.returncode == 2, output(planned)
        assert "No changes" not in planned.stdout
        assert "+ account.app (create)" in planned.stdout
        assert f"CreateAccount request {request['Id']} is IN_PROGRESS" in planned.stdout
        document = json.loads(work.orgsync("plan", "--format", "json").stdout)
        change = next(c for c in document["changes"] if c["address"] == "account.app")
        assert change["action"] == "create"
        assert change["before"] == {"create_request_id": request["Id"], "state": "IN_PROGRESS"}
        markdown = work.orgsync("plan", "--format", "markdown").stdout
        assert "| create | 3 |" in markdown
        assert "<code>+ account.app</code> create: CreateAccount request" in markdown
        # apply waits for the request: once it polls, the sandbox clock is moved past the delay
        sandbox.control.reset_counters()
        running = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply", "--auto-approve"], cwd=tmp_path,
            env=work.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while sandbox.control.calls("organizations.DescribeCreateAccountStatus") == 0:
            assert running.poll() is None and time.monotonic() < deadline, running.communicate()
            time.sleep(0.2)
        sandbox.control.advance_clock(601)
        stdout, stderr = running.communicate(timeout=180)
        applied = subprocess.CompletedProcess(running.args, running.returncode, stdout, stderr)
        assert applied.returncode == 0, output(applied)
        assert f"continued earlier request {request['Id']}" in applied.stdout, output(applied)
        assert "\nconverged:" in applied.stdout
        assert sandbox.control.calls("organizations.CreateAccount") == 0  # waited, no second one
        assert create_requests_by_name(sandbox) == {"app": 1}
        assert work.plan_exit() == 0


def test_refusals_of_a_saved_plan_name_the_command_with_the_plan_file(
        tmp_path: Path, aws_env: dict[str, str], sandbox: Any, orgsync: Any) -> None:
    work = _workdir(tmp_path, aws_env, sandbox, orgsync)
    work.write(CREATED)
    (tmp_path / "out").mkdir()
    saved = work.orgsync("plan", "--out", "out/plan.json")
    assert saved.returncode == 0, output(saved)
    # case 4: no terminal to approve (stdin is not a terminal)
    refused = work.orgsync("apply", "out/plan.json", input="")
    assert refused.returncode == 1, output(refused)
    assert "`orgsync apply --auto-approve out/plan.json`" in refused.stderr, output(refused)
    assert "`orgsync apply --auto-approve`" not in refused.stderr
    # an altered plan: make a new one, with the same file name
    plan_path = tmp_path / "out" / "plan.json"
    plan_path.write_text(plan_path.read_text(encoding="utf-8").replace(
        '"aws+app@example.com"', '"aws+evil@example.com"'), encoding="utf-8")
    altered = work.orgsync("apply", "--auto-approve", "out/plan.json")
    assert altered.returncode == 1, output(altered)
    assert "altered" in altered.stderr
    assert "`orgsync plan --out out/plan.json`" in altered.stderr, output(altered)
    assert "`orgsync apply out/plan.json`" in altered.stderr
    assert sandbox.control.calls("organizations.CreateAccount") == 0


def test_a_stale_plan_lists_what_differs_in_text_and_json(
        tmp_path: Path, aws_env: dict[str, str], sandbox: Any, orgsync: Any) -> None:
    work = _workdir(tmp_path, aws_env, sandbox, orgsync)
    work.write(CREATED.replace("    ou: /Workloads\n", "    ou: /Workloads\n    tags: {team: a}\n"))
    first = work.apply()
    assert first.returncode == 0, output(first)
    work.write(CREATED.replace("    ou: /Workloads\n", "    ou: /Workloads\n    tags: {team: b}\n"))
    saved = work.orgsync("plan", "--out", "p.json")
    assert saved.returncode == 0 and "~ account.app (update)" in saved.stdout, output(saved)
    # out of band: the account is moved back to the root
    orgs = sandbox.client("organizations")
    app = next(a for a in orgs.list_accounts()["Accounts"] if a["Name"] == "app")
    parent = orgs.list_parents(ChildId=app["Id"])["Parents"][0]["Id"]
    root = orgs.list_roots()["Roots"][0]["Id"]
    orgs.move_account(AccountId=app["Id"], SourceParentId=parent, DestinationParentId=root)
    sandbox.control.reset_counters()
    stale = work.orgsync("apply", "--auto-approve", "p.json")
    assert stale.returncode == 1, output(stale)
    assert "stale plan: the organization changed" in stale.stderr
    assert 'account.app: ou_path: "/Workloads" -> "/"' in stale.stderr, output(stale)
    assert "make a new plan: orgsync plan --out p.json, review it, then orgsync apply p.json" \
        in stale.stderr
    as_json = work.orgsync("apply", "--auto-approve", "--format", "json", "p.json")
    assert as_json.returncode == 1, output(as_json)
    document = json.loads(as_json.stdout)
    assert document["refused"] is True and document["error"].startswith("stale plan:")
    assert document["command"].endswith("orgsync apply p.json")
    assert {"address": "account.app", "attribute": "ou_path", "before": "/Workloads",
            "after": "/"} in document["differences"]
    for text in (stale.stdout, stale.stderr, as_json.stdout, as_json.stderr):
        assert sandbox.info.secret_access_key not in text
    assert sandbox.control.calls("organizations.TagResource") == 0  # nothing was changed
    # a changed file is listed line by line
    work.write(CREATED.replace("    ou: /Workloads\n", "    ou: /Workloads\n    tags: {team: c}\n"))
    edited = work.orgsync("apply", "--auto-approve", "p.json")
    assert edited.returncode == 1, output(edited)
    assert 'file accounts.yaml: line 8: "    tags: {team: b}" -> "    tags: {team: c}"' in \
        edited.stderr, output(edited)


GROUP = HEADER + """\
groups:
  - name: admins
    members: [{member}]
"""


def test_a_mistyped_member_gets_did_you_mean_and_the_removal_is_plain(
        tmp_path: Path, aws_env: dict[str, str], sandbox: Any, orgsync: Any) -> None:
    work = _workdir(tmp_path, aws_env, sandbox, orgsync)
    sandbox.client("iam").create_user(UserName="alice")
    work.write(GROUP.format(member="alice"))
    first = work.apply()
    assert first.returncode == 0, output(first)
    work.write(GROUP.format(member="alcie"))
    planned = work.orgsync("plan", "--detailed-exitcode")
    assert planned.returncode == 2, output(planned)
    assert "~ group.admins (update)" in planned.stdout
    assert "# REMOVES existing member(s) alice from the group (the file lists alcie, which is " \
           "not an IAM user: did you mean alice?)" in planned.stdout, output(planned)
    assert '- members[0] = "alice"' in planned.stdout
    assert "IAM user(s) alcie (did you mean alice?) do not exist" in planned.stderr
    markdown = work.orgsync("plan", "--format", "markdown").stdout
    assert "REMOVES existing member(s) alice" in markdown
