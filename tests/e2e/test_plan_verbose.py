"""``--verbose`` on plan, show and apply, through the real CLI against the sandbox: by default
the text plan shows each policy document one line per statement; ``--verbose`` prints the
documents in full; the JSON plan (the contract) is the same document either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.desired_files import HEADER

SMALL = HEADER + """\
accounts:
  - name: dev
    email: aws+dev@example.com
groups:
  - name: admins
    assume:
      - accounts: [dev]
        require_mfa: true
"""


def test_plan_and_show_are_compact_unless_verbose(orgsync: Any, aws_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(SMALL)
    saved = tmp_path / "plan.json"
    compact = orgsync("plan", "-f", str(path), "--out", str(saved), env=aws_env)
    assert compact.returncode == 0, compact.stderr
    policy_line = ("      + inline_policies.orgsync-assume = Allow sts:AssumeRole on "
                   "arn:aws:iam::(known after apply: dev):role/OrganizationAccountAccessRole "
                   "if Bool aws:MultiFactorAuthPresent=true\n")
    assert policy_line in compact.stdout
    assert '"Statement"' not in compact.stdout

    verbose = orgsync("plan", "-f", str(path), "--verbose", env=aws_env)
    assert verbose.returncode == 0, verbose.stderr
    assert '"Statement": [' in verbose.stdout
    assert '"aws:MultiFactorAuthPresent": "true"' in verbose.stdout

    as_json = orgsync("plan", "-f", str(path), "--format", "json", env=aws_env)
    as_json_verbose = orgsync("plan", "-f", str(path), "--format", "json", "--verbose",
                              env=aws_env)
    assert json.loads(as_json.stdout)["changes"] == json.loads(as_json_verbose.stdout)["changes"]

    shown = orgsync("show", str(saved), env=aws_env)  # the saved document has sorted keys
    assert '"Statement"' not in shown.stdout
    assert policy_line in shown.stdout
    shown_verbose = orgsync("show", str(saved), "--verbose", env=aws_env)
    assert '"Statement": [' in shown_verbose.stdout


def test_apply_shows_the_plan_in_full_with_verbose(orgsync: Any, aws_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(SMALL)
    result = orgsync("apply", "-f", str(path), "--auto-approve", "--verbose", env=aws_env)
    assert result.returncode == 0, result.stdout + result.stderr
    before_apply = result.stdout.split("\nApplying", 1)[0]
    assert '"aws:MultiFactorAuthPresent": "true"' in before_apply
    assert "converged" in result.stdout
