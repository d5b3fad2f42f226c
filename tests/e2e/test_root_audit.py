"""``orgsync root audit`` with the real CLI: every active member account's root user as an audit
session sees it agrees with the sandbox's root users, beside the file's policy; text and markdown
render the same document; refusals are one line."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reconciler.render.root_audit import render
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import RootSigningCertificate

LEGACY = "210987654321"  # seeded standalone account: password, MFA and a root access key


def _create(org: Any, name: str) -> str:
    status = org.create_account(AccountName=name, Email=f"aws+{name}@example.com")
    return str(org.describe_create_account_status(
        CreateAccountRequestId=status["CreateAccountStatus"]["Id"])["CreateAccountStatus"][
        "AccountId"])


def _organization(sandbox: Sandbox) -> dict[str, str]:
    org = sandbox.client("organizations")
    ids = {"old": _create(org, "old")}  # created before root credentials management: a password
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam = sandbox.client("iam")
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()
    ids["new"] = _create(org, "new")
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": LEGACY})
    sandbox.control.accept_handshake(handshake["Handshake"]["Id"])
    ids["legacy"] = LEGACY
    closed = _create(org, "gone")
    org.close_account(AccountId=closed)
    sandbox.state.root_users[ids["new"]].signing_certificates.append(RootSigningCertificate(
        "CERTNEW0000000000001", "-----BEGIN CERTIFICATE-----", datetime.now(timezone.utc)))
    return ids


def test_root_audit_agrees_with_the_sandbox(sandbox: Sandbox, aws_env: dict[str, str], orgsync,
                                            tmp_path: Path) -> None:
    ids = _organization(sandbox)
    (tmp_path / "accounts.yaml").write_text(
        'version: 1\norganization:\n  management_account_id: "123456789012"\n'
        "root_credentials:\n  features: [RootCredentialsManagement, RootSessions]\n"
        "  default: absent\naccounts:\n"
        "  - name: old\n    email: aws+old@example.com\n"
        f'  - name: legacy\n    email: aws+legacy-analytics@example.com\n    id: "{LEGACY}"\n'
        "    source: invited\n    root_credentials: password_recovery\n")
    sandbox.control.reset_counters()
    result = orgsync("root", "audit", "--format", "json", env=aws_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    by_id = {a["id"]: a for a in document["accounts"]}
    assert set(by_id) == set(ids.values())  # active members only: not the closed one
    for account_id, audited in by_id.items():
        root = sandbox.state.root_users[account_id]
        assert audited["error"] is None
        assert audited["password"] == (root.password_created is not None), account_id
        assert [k["id"] for k in audited["access_keys"]] == \
            [k.access_key_id for k in root.access_keys]
        assert [c["id"] for c in audited["signing_certificates"]] == \
            [c.certificate_id for c in root.signing_certificates]
        assert audited["mfa_devices"] == sorted(d.serial_number for d in root.mfa_devices
                                                if d.active)
    assert by_id[ids["old"]]["password"] is True and by_id[ids["new"]]["password"] is False
    assert len(by_id[LEGACY]["access_keys"]) == 1 and by_id[LEGACY]["mfa_devices"]
    # the file's policies beside them
    assert by_id[ids["old"]]["policy"] == "absent"
    assert by_id[ids["old"]]["findings"] == ["a password"]
    assert by_id[LEGACY]["policy"] == "password_recovery"
    assert by_id[LEGACY]["findings"] == ["1 access key(s)"]
    assert by_id[ids["new"]]["policy"] == "not in the file"
    assert document["caller"] == {"arn": "arn:aws:iam::123456789012:user/admin",
                                  "account_id": "123456789012", "as": "management"}
    # the calls are counted: one session and four reads per account, as the sandbox served them
    summary = document["summary"]
    assert summary["accounts"] == 3 and summary["not_as_the_file_says"] == 2
    assert sandbox.control.calls("sts.AssumeRoot") == 3
    assert sandbox.control.calls("iam.ListAccessKeys") == 3
    served = sum(sandbox.control.counters().values())
    assert summary["aws_calls"] == served

    text = render(document, "text")
    assert f"legacy-analytics ({LEGACY})" in text and "differs: 1 access key(s)" in text
    markdown = render(document, "markdown")
    assert f"| legacy-analytics | `{LEGACY}` |" in markdown


def test_root_audit_refusals(sandbox: Sandbox, aws_env: dict[str, str], orgsync,
                             tmp_path: Path) -> None:
    result = orgsync("root", "audit", env=aws_env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "orgsync: error: centralized root access is off: IAM has no trusted access in the "
        "organization (set root_credentials.features in the file and run orgsync apply with "
        "the management account)"]
