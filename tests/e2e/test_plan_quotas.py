"""AWS's daily invitation quota through the real CLI: a plan that would send more invitations than
fit today exits 1 with one line saying how many fit, and apply refuses it before sending any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.desired_files import HEADER

FILE = HEADER + """\
accounts:
  - name: legacy-analytics
    email: aws+legacy-analytics@example.com
    source: invited
    id: "210987654321"
  - name: acquired-startup
    email: aws+acquired@example.com
    source: invited
    id: "310987654321"
"""


def test_invitations_over_the_daily_quota_are_a_plan_error(
        sandbox: Any, aws_env: dict[str, str], orgsync: Any, tmp_path: Path) -> None:
    orgs = sandbox.client("organizations")
    for i in range(19):  # earlier today, to people outside the sandbox
        orgs.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": f"someone-{i}@example.org"})
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE, encoding="utf-8")
    planned = orgsync("plan", "-f", str(path), env=aws_env)
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert ("invitations: the plan sends 2 but only 1 fit today (AWS allows 20 a day and 19 "
            "were sent in the last 24 hours)") in planned.stderr + planned.stdout
    assert "Traceback" not in planned.stderr
    applied = orgsync("apply", "--auto-approve", "-f", str(path), env=aws_env)
    assert applied.returncode == 1
    assert "nothing was changed" in applied.stderr
    handshakes = orgs.list_handshakes_for_organization()["Handshakes"]
    assert len(handshakes) == 19  # no invitation was sent
