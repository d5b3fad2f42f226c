"""The kind registry is the one list of kinds: a kind registered from outside orgsync's code (a
fake one, defined here) is in ``orgsync permissions``, is read (once after the core read, and per
member account inside the core read's per-account jobs, through the access role's part it
declares it needs), planned and applied by the real CLI against the sandbox, with no other edit
anywhere."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import registered
from reconciler.observe.registry import account_reads
from reconciler.planner.registry import planned_kinds
from tests.aws.seed import create_member
from tests.conftest import REPO_ROOT
from tests.desired_files import HEADER

# Real operations no built-in kind calls, so that the test sees them appear only with the fake.
READ_ACTION = "organizations:DescribeResourcePolicy"
ACCOUNT_READ_ACTION = "organizations:ListPoliciesForTarget"
WRITE_ACTION = "organizations:PutResourcePolicy"

PLUGIN = textwrap.dedent(f'''
    """A kind that keeps a marker file, and one per member account: read them (the accounts'
    inside the core read's per-account jobs, with the account's service control policies),
    plan their creation, create them."""
    import dataclasses
    import os
    import sys
    import threading
    import types
    from pathlib import Path

    from reconciler.kinds import Kind, register
    from reconciler.observe.reads import AccountRead
    from reconciler.plan import Action, Change
    from reconciler.planner.registry import PlanStep

    MARKER = Path(os.environ.get("FAKE_KIND_MARKER", "marker.txt"))
    seen = {{}}

    observe = types.ModuleType("fake_observe")
    observe.PERMISSIONS = {{"management": ("{READ_ACTION}", "{ACCOUNT_READ_ACTION}")}}
    apply = types.ModuleType("fake_apply")
    apply.PERMISSIONS = {{"management": ("{WRITE_ACTION}",)}}

    def read(desired, aws, observed):
        seen["present"] = MARKER.exists()
        return observed

    def account_marker(account_id):
        return MARKER.with_name(f"{{MARKER.stem}}-{{account_id}}.txt")

    def wants(account, reading):
        return not account.management and "access_role" in reading

    def read_account(account, parts):
        policies = account.scope.aws.client("organizations").list_policies_for_target(
            TargetId=account.id, Filter="SERVICE_CONTROL_POLICY")["Policies"]
        return {{"name": account.spec.name, "present": account_marker(account.id).exists(),
                "scps": sorted(p["Name"] for p in policies),
                "role": parts["access_role"].status,
                "thread": threading.current_thread().name}}

    def land(observed, parts):
        seen["accounts"] = dict(parts)
        return observed

    def plan_marker(ctx):
        if not seen.get("present"):
            ctx.changes.append(Change(kind="fake", key="marker", action=Action.CREATE,
                                      reason="the marker is missing", before=None,
                                      after={{"path": str(MARKER)}}))
        for account_id, part in seen.get("accounts", {{}}).items():
            if not part["present"]:
                ctx.changes.append(Change(
                    kind="fake", key=part["name"], action=Action.CREATE,
                    reason="the account's marker is missing", before=None,
                    after={{"path": str(account_marker(account_id)), "scps": part["scps"],
                           "role": part["role"], "thread": part["thread"]}}))

    def apply_change(change, ctx):
        Path(change.after["path"]).write_text("made by the fake kind")
        return "marker written"

    apply.apply_change = apply_change
    register(Kind("fake", observe=observe, apply=apply, reader=read),
             plan_steps=(PlanStep("fake", 95, plan_marker),),
             account_reads=(AccountRead("fake", wants=wants, read=read_account, land=land,
                                        needs=("access_role",)),))

    from reconciler.cli import main

    main(sys.argv[1:])
''')

FILE = HEADER + """\
accounts:
  - name: alpha
    email: aws+alpha@example.com
  - name: beta
    email: aws+beta@example.com
"""


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    path = tmp_path / "with_fake_kind.py"
    path.write_text(PLUGIN)
    return path


def _run(plugin: Path, *args: str, env: dict[str, str], cwd: Path) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(plugin), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def _actions(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def test_a_registered_kind_is_in_orgsync_permissions(plugin: Path, tmp_path: Path,
                                                      orgsync: Any) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    fakes = {READ_ACTION, ACCOUNT_READ_ACTION, WRITE_ACTION}
    for for_, expected in (("plan", {READ_ACTION, ACCOUNT_READ_ACTION}), ("apply", fakes)):
        without = orgsync("permissions", "--for", for_, env=env, cwd=tmp_path)
        assert without.returncode == 0, without.stderr
        assert not _actions(json.loads(without.stdout)) & fakes
        with_fake = _run(plugin, "permissions", "--for", for_, env=env, cwd=tmp_path)
        assert with_fake.returncode == 0, with_fake.stderr
        assert _actions(json.loads(with_fake.stdout)) & fakes == expected
    # the registration lived in that process only
    assert "fake" not in registered() and "fake" not in planned_kinds()
    assert all(r.kind != "fake" for r in account_reads())


def test_a_registered_kind_is_read_planned_and_applied(plugin: Path, tmp_path: Path,
                                                       sandbox: Any,
                                                       aws_env: dict[str, str]) -> None:
    org = sandbox.client("organizations")
    ids = {name: create_member(org, name=name, email=f"aws+{name}@example.com")
           for name in ("alpha", "beta")}
    marker = tmp_path / "marker.txt"
    env = {**aws_env, "FAKE_KIND_MARKER": str(marker)}
    (tmp_path / "accounts.yaml").write_text(FILE)
    planned = _run(plugin, "plan", "--format", "json", env=env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    fake = {c["address"]: c for c in json.loads(planned.stdout)["changes"] if c["kind"] == "fake"}
    assert sorted((a, c["action"]) for a, c in fake.items()) == [
        ("fake.alpha", "create"), ("fake.beta", "create"), ("fake.marker", "create")]
    for name in ("alpha", "beta"):
        after = fake[f"fake.{name}"]["after"]
        # read in the account's job of the core read, after (and with) its access role
        assert after["thread"].startswith("orgsync-observe"), after
        assert after["role"] == "ok" and after["scps"] == ["FullAWSAccess"], after
        assert after["path"] == str(tmp_path / f"marker-{ids[name]}.txt")
    applied = _run(plugin, "apply", "--auto-approve", env=env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.count("marker written") == 3, applied.stdout
    assert "converged" in applied.stdout
    assert marker.read_text() == "made by the fake kind"
    assert (tmp_path / f"marker-{ids['beta']}.txt").read_text() == "made by the fake kind"
    again = _run(plugin, "plan", "--format", "json", env=env, cwd=tmp_path)
    assert [c["address"] for c in json.loads(again.stdout)["changes"]] == []


def test_a_read_is_registered_only_after_the_kinds_it_needs() -> None:
    from reconciler.kinds import Kind, register
    from reconciler.observe.reads import AccountRead

    read: AccountRead[object] = AccountRead(
        "late", wants=lambda account, reading: True, read=lambda account, parts: None,
        land=lambda observed, parts: observed, needs=("access_role", "nowhere"))
    with pytest.raises(ValueError, match="needs nowhere, which must be registered before it"):
        register(Kind("late"), account_reads=(read,))
    assert "late" not in registered() and read not in account_reads()
    # the built-in reads that get in through the access role come after it
    order = [r.kind for r in account_reads()]
    assert order.index("access_role") < order.index("account") < order.index("account_alias")
