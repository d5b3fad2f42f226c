"""The kind registry is the one list of kinds: a kind registered from outside orgsync's code (a
fake one, defined here) is in ``orgsync permissions``, is read, planned and applied by the real
CLI against the sandbox, with no other edit anywhere."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import registered
from reconciler.planner.registry import planned_kinds
from tests.conftest import REPO_ROOT

# Real operations no built-in kind calls, so that the test sees them appear only with the fake.
READ_ACTION = "organizations:DescribeResourcePolicy"
WRITE_ACTION = "organizations:PutResourcePolicy"

PLUGIN = textwrap.dedent(f'''
    """A kind that keeps a marker file: read it, plan its creation, create it."""
    import dataclasses
    import os
    import sys
    import types
    from pathlib import Path

    from reconciler.kinds import Kind, register
    from reconciler.plan import Action, Change
    from reconciler.planner.registry import PlanStep

    MARKER = Path(os.environ.get("FAKE_KIND_MARKER", "marker.txt"))
    seen = {{}}

    observe = types.ModuleType("fake_observe")
    observe.PERMISSIONS = {{"management": ("{READ_ACTION}",)}}
    apply = types.ModuleType("fake_apply")
    apply.PERMISSIONS = {{"management": ("{WRITE_ACTION}",)}}

    def read(desired, aws, observed):
        seen["present"] = MARKER.exists()
        return observed

    def plan_marker(ctx):
        if not seen.get("present"):
            ctx.changes.append(Change(kind="fake", key="marker", action=Action.CREATE,
                                      reason="the marker is missing", before=None,
                                      after={{"path": str(MARKER)}}))

    def apply_change(change, ctx):
        Path(change.after["path"]).write_text("made by the fake kind")
        return "marker written"

    apply.apply_change = apply_change
    register(Kind("fake", observe=observe, apply=apply, reader=read),
             plan_steps=(PlanStep("fake", 95, plan_marker),))

    from reconciler.cli import main

    main(sys.argv[1:])
''')

FILE = """\
version: 1
organization:
  management_account_id: "123456789012"
accounts: []
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
    for for_, expected in (("plan", {READ_ACTION}), ("apply", {READ_ACTION, WRITE_ACTION})):
        without = orgsync("permissions", "--for", for_, env=env, cwd=tmp_path)
        assert without.returncode == 0, without.stderr
        assert not _actions(json.loads(without.stdout)) & {READ_ACTION, WRITE_ACTION}
        with_fake = _run(plugin, "permissions", "--for", for_, env=env, cwd=tmp_path)
        assert with_fake.returncode == 0, with_fake.stderr
        assert _actions(json.loads(with_fake.stdout)) & {READ_ACTION, WRITE_ACTION} == expected
    # the registration lived in that process only
    assert "fake" not in registered() and "fake" not in planned_kinds()


def test_a_registered_kind_is_read_planned_and_applied(plugin: Path, tmp_path: Path,
                                                       aws_env: dict[str, str]) -> None:
    marker = tmp_path / "marker.txt"
    env = {**aws_env, "FAKE_KIND_MARKER": str(marker)}
    (tmp_path / "accounts.yaml").write_text(FILE)
    planned = _run(plugin, "plan", "--format", "json", env=env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    changes = [(c["address"], c["action"]) for c in json.loads(planned.stdout)["changes"]]
    assert ("fake.marker", "create") in changes, changes
    applied = _run(plugin, "apply", "--auto-approve", env=env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "marker written" in applied.stdout
    assert "converged" in applied.stdout
    assert marker.read_text() == "made by the fake kind"
    again = _run(plugin, "plan", "--format", "json", env=env, cwd=tmp_path)
    assert [c["address"] for c in json.loads(again.stdout)["changes"]] == []
