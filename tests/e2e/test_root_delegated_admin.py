"""IAM's delegated administrator end to end with the real CLI: ``root_credentials.delegated_admin``
planned, applied and read back; then plan, apply and ``root audit`` run with the delegated
administrator's own credentials: root credentials are enforced through its root sessions, and what
only the management account can do is listed as needing it, never attempted; removing the key
deregisters it, shown as destructive."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import RootAccessKey
from tests.desired_files import HEADER, ROOT_ABSENT

ROLE = "OrganizationAccountAccessRole"
FILE = HEADER + ROOT_ABSENT + """\
  delegated_admin: security
accounts:
  - name: security
    email: aws+security@example.com
  - name: workload
    email: aws+workload@example.com
"""


def _delegated_env(sandbox: Sandbox, aws_env: dict[str, str], account_id: str) -> dict[str, str]:
    """The environment of a person working in the delegated administrator account (its admin
    role's session credentials)."""
    creds = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}",
        RoleSessionName="security-engineer")["Credentials"]
    return {**aws_env, "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def _ids(sandbox: Sandbox) -> dict[str, str]:
    accounts = sandbox.client("organizations").list_accounts()["Accounts"]
    return {a["Name"]: a["Id"] for a in accounts}


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def test_delegated_admin_life_cycle(sandbox: Sandbox, aws_env: dict[str, str], orgsync,
                                    tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(FILE)
    org = sandbox.client("organizations")

    # planned (the accounts do not exist yet) and applied by the management account
    planned = json.loads(_ok(orgsync("plan", "-f", str(accounts), "--format", "json",
                                     env=aws_env)))
    change = next(c for c in planned["changes"] if c["kind"] == "delegated_admin")
    assert (change["address"], change["action"], change["destructive"]) == \
        ("delegated_admin.security", "create", False)
    assert "organization.organization" in change["depends_on"]
    assert "account.security" in change["depends_on"]
    _ok(orgsync("apply", "-f", str(accounts), "--auto-approve", env=aws_env))
    ids = _ids(sandbox)
    admins = org.list_delegated_administrators(ServicePrincipal="iam.amazonaws.com")
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [ids["security"]]
    assert "No changes" in _ok(orgsync("plan", "-f", str(accounts), env=aws_env))

    # a root access key appears in workload; a tag is asked for (a management-only change)
    now = datetime.now(timezone.utc)
    sandbox.state.root_users[ids["workload"]].access_keys.append(
        RootAccessKey("AKIAROOTKEYWORKLOAD01", now))
    accounts.write_text(FILE.replace("    email: aws+workload@example.com\n",
                                     "    email: aws+workload@example.com\n"
                                     "    tags: {team: payments}\n"))
    delegated = _delegated_env(sandbox, aws_env, ids["security"])
    result = orgsync("plan", "-f", str(accounts), "--format", "json", env=delegated)
    document = json.loads(_ok(result))
    assert [(c["address"], c["destructive"]) for c in document["changes"]] == \
        [("root_credentials.workload", True)]
    deferred = {d["address"]: d for d in document["deferred"]}
    assert "management account" in deferred["account.workload"]["waiting_for"]
    assert deferred["account.workload"]["action"] == "update"
    assert any("delegated administrator" in w for w in document["warnings"])

    tags_before = sandbox.control.calls("organizations.TagResource")
    output = _ok(orgsync("apply", "-f", str(accounts), "--auto-approve", env=delegated))
    assert "converged" in output
    assert sandbox.state.root_users[ids["workload"]].access_keys == []
    assert sandbox.control.calls("organizations.TagResource") == tags_before  # never attempted
    assert org.list_tags_for_resource(ResourceId=ids["workload"])["Tags"] == []

    # the delegated administrator's root audit sees what the sandbox holds
    audit = json.loads(_ok(orgsync("root", "audit", "-f", str(accounts), "--format", "json",
                                   env=delegated)))
    assert audit["caller"]["as"] == "delegated_administrator"
    assert audit["caller"]["account_id"] == ids["security"]
    by_id = {a["id"]: a for a in audit["accounts"]}
    assert set(by_id) == {ids["security"], ids["workload"]}
    assert by_id[ids["workload"]]["access_keys"] == []
    assert by_id[ids["workload"]]["policy"] == "absent"
    assert by_id[ids["workload"]]["findings"] == []

    # the key removed: deregistration is planned as destructive, and applied
    accounts.write_text(FILE.replace("  delegated_admin: security\n", ""))
    planned = json.loads(_ok(orgsync("plan", "-f", str(accounts), "--format", "json",
                                     env=aws_env)))
    assert [(c["address"], c["action"], c["destructive"]) for c in planned["changes"]] == \
        [("delegated_admin.security", "delete", True)]
    assert "delegated_admin.security" in planned["destructive"]
    text = _ok(orgsync("plan", "-f", str(accounts), env=aws_env))
    assert "delegated_admin.security" in text
    _ok(orgsync("apply", "-f", str(accounts), "--auto-approve", env=aws_env))
    assert org.list_delegated_administrators(
        ServicePrincipal="iam.amazonaws.com")["DelegatedAdministrators"] == []

    # no longer delegated: its credentials are refused with one line
    result = orgsync("plan", "-f", str(accounts), env=delegated)
    assert result.returncode == 1
    assert "not the management account" in result.stderr
    assert "Traceback" not in result.stderr
