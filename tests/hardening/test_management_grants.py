"""A grant never names the management account, however the file identifies it (issue 19): the
config check sees an ``id``; an entry with only the management account's email is found when the
plan matches the file with AWS, and refused there (named in a grant) or left out (``"*"``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.sandbox.options import MANAGEMENT_ACCOUNT_EMAIL
from tests.conftest import output

FILE = f"""\
version: 1
organization:
  management_account_id: "123456789012"
accounts:
  - name: management
    email: {MANAGEMENT_ACCOUNT_EMAIL}
  - name: app
    email: aws+app@example.com
groups:
  - name: admins
    assume:
      - accounts: [ACCOUNTS]
"""


def test_named_management_account_by_email_is_a_plan_error(tmp_path: Path, orgsync: Any,
                                                           aws_env: dict[str, str]) -> None:
    (tmp_path / "accounts.yaml").write_text(FILE.replace("ACCOUNTS", "management, app"))
    result = orgsync("plan", env=aws_env, cwd=tmp_path)
    assert result.returncode == 1, output(result)
    assert ("orgsync: error: group admins: grant names account management, which is the "
            "management account (123456789012, matched by its email "
            f"{MANAGEMENT_ACCOUNT_EMAIL}): a grant never names the management account; "
            "remove it from the grant") in result.stderr.splitlines(), output(result)


def test_wildcard_leaves_out_the_management_account_listed_by_email(
        tmp_path: Path, orgsync: Any, aws_env: dict[str, str]) -> None:
    (tmp_path / "accounts.yaml").write_text(FILE.replace("ACCOUNTS", '"*"'))
    result = orgsync("plan", "--format", "json", env=aws_env, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    [group] = [c for c in json.loads(result.stdout)["changes"] if c["kind"] == "group"]
    document = json.dumps(group["after"])
    assert "arn:aws:iam::123456789012:role" not in document
    assert "${account.app.id}" in document
