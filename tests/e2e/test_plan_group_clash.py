"""``orgsync plan`` through the real CLI: a group of the file whose name IAM already has at a path
that is not orgsync's is one plan error line and exit 1, found at plan time (not at apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.desired_files import HEADER

FILE = HEADER + """\
accounts: []
groups:
  - name: ops
    members: []
"""


def test_same_named_group_at_root_fails_the_plan(sandbox: Any, tmp_path: Path, orgsync: Any,
                                                 aws_env: dict[str, str]) -> None:
    iam = sandbox.client("iam")
    iam.create_group(GroupName="ops", Path="/")
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE, encoding="utf-8")
    out = tmp_path / "plan.json"
    result = orgsync("plan", "-f", str(path), "--detailed-exitcode", "--out", str(out),
                     env=aws_env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "orgsync: error: group ops: an IAM group of that name already exists at path / (not "
        "orgsync's); rename it in the file, or move that group and set its path"], lines
    assert "group.ops" not in result.stdout  # no create is planned
    assert not out.exists()
    assert iam.get_group(GroupName="ops")["Group"]["Path"] == "/"
