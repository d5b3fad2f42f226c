"""``orgsync export`` end to end in the sandbox, with the real CLI over real HTTP.

Two organizations:
- one that orgsync built (the shipped example, applied with ``orgsync apply --auto-approve``, with
  an MFA session from ORGSYNC_MFA_SERIAL/ORGSYNC_MFA_TOKEN because prod's access role requires
  MFA: every command then reads that role too, and the export keeps ``require_mfa``);
- one orgsync never touched (accounts made with CreateAccount and by invitation with boto3, roles
  made by hand, one of them under another name).
Each is exported, the export validates, and ``orgsync plan --detailed-exitcode`` on it exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.config import load

from .helpers import (
    base_env,
    create_account,
    invite_and_accept,
    run_cli,
    trust_management,
    write_credentials,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts.yaml"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_applied_example_round_trips(sandbox: Any, sandbox_options: Any,
                                     tmp_path: Path) -> None:
    with sandbox_options(auto_accept_invites=True):
        _applied_example_round_trips(sandbox, tmp_path)


def _applied_example_round_trips(sandbox: Any, tmp_path: Path) -> None:
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    legacy = next(a for a in sandbox.info.standalone_accounts if a.id == "210987654321")
    write_credentials(tmp_path, {"legacy-admin": (legacy.access_key_id,
                                                  legacy.secret_access_key)})
    env = base_env(sandbox, tmp_path, ORGSYNC_MFA_SERIAL=sandbox.info.mfa_serial,
                   ORGSYNC_MFA_TOKEN="123456")
    source = tmp_path / "accounts.yaml"
    source.write_text(EXAMPLE.read_text())

    applied = run_cli(env, "apply", "-f", str(source), "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    clean = run_cli(env, "plan", "-f", str(source), "--detailed-exitcode", cwd=tmp_path)
    assert clean.returncode == 0, "the example itself does not converge:\n" + clean.stdout

    exported = run_cli(env, "export", "--out", "exported.yaml", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "note:" not in exported.stderr.replace("stay unmanaged", "")
    validated = run_cli(env, "validate", "-f", "exported.yaml", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    planned = run_cli(env, "plan", "-f", "exported.yaml", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr

    desired = load(tmp_path / "exported.yaml")
    names = {a.name for a in desired.accounts}
    assert {"management", "prod", "staging", "security-audit", "log-archive",
            "legacy-analytics"} <= names
    audit = desired.account("security-audit")
    assert audit.access_role.name == "OrgAuditRole"
    assert set(audit.access_role.policies) == {"arn:aws:iam::aws:policy/SecurityAudit", READ_ONLY}
    assert dict(desired.account("prod").tags or {}) == {"team": "payments",
                                                          "environment": "production"}
    assert desired.account("prod").access_role.require_mfa
    assert desired.account("legacy-analytics").source == "invited"
    assert desired.root_credentials.features == ("RootCredentialsManagement", "RootSessions")
    assert desired.root_credentials.default == "unmanaged"
    groups = {g.name: g for g in desired.groups}
    assert groups["platform-admins"].members == ("alice", "bob")
    admin_grants = {(t.account, t.role, t.require_mfa, t.source_ips)
                    for t in groups["platform-admins"].grants}
    assert ("security-audit", "OrgAuditRole", True,
            ("2001:db8::/32", "203.0.113.0/24")) in admin_grants
    assert len(admin_grants) == 5
    text = (tmp_path / "exported.yaml").read_text()
    assert "log-archive (" in text and "): password" in text  # password_recovery left a password


def test_untouched_organization_round_trips(sandbox: Any, tmp_path: Path) -> None:
    org = sandbox.client("organizations")
    management = sandbox.info.management_account_id
    root_id = org.list_roots()["Roots"][0]["Id"]
    apps = org.create_organizational_unit(ParentId=root_id, Name="Apps")["OrganizationalUnit"]
    web = org.create_organizational_unit(ParentId=apps["Id"], Name="Web")["OrganizationalUnit"]
    alpha = create_account(org, name="alpha", email="aws+alpha@example.com",
                           Tags=[{"Key": "team", "Value": "web"},
                                 {"Key": "cost-center", "Value": "0042"}])
    org.move_account(AccountId=alpha, SourceParentId=root_id, DestinationParentId=web["Id"])
    beta = create_account(org, name="beta", email="aws+beta@example.com",
                          RoleName="AWSControlTowerExecution")
    acquired, partner = (next(a for a in sandbox.info.standalone_accounts if a.id == wanted)
                         for wanted in ("310987654321", "410987654321"))
    invite_and_accept(sandbox, acquired)
    invite_and_accept(sandbox, partner)
    own_iam = sandbox.client("iam", account=acquired)
    own_iam.create_role(RoleName="OrganizationAccountAccessRole",
                        AssumeRolePolicyDocument=trust_management(management))
    own_iam.attach_role_policy(RoleName="OrganizationAccountAccessRole", PolicyArn=READ_ONLY)
    # A group outside orgsync's path is not orgsync's: it must not show up.
    sandbox.client("iam").create_group(GroupName="hand-made", Path="/")
    env = base_env(sandbox, tmp_path)

    # partner-sandbox has no role orgsync can get into yet: the export says so, and the plan's
    # only change is the bootstrap step for it.
    first = run_cli(env, "export", "--out", "first.yaml", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "access_role.partner-sandbox (bootstrap)" in first.stderr
    first_plan = run_cli(env, "plan", "-f", "first.yaml", "--detailed-exitcode", "--format",
                         "json", cwd=tmp_path)
    assert first_plan.returncode == 2, first_plan.stderr
    changes = json.loads(first_plan.stdout)["changes"]
    assert [(c["address"], c["action"]) for c in changes] == [
        ("access_role.partner-sandbox", "bootstrap")]

    # Its administrator creates a role with a name of their own; export finds it when told.
    partner_iam = sandbox.client("iam", account=partner)
    partner_iam.create_role(RoleName="PartnerAdmin",
                            AssumeRolePolicyDocument=trust_management(management))
    partner_iam.attach_role_policy(RoleName="PartnerAdmin",
                                   PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    second = run_cli(env, "export", "--access-role", "PartnerAdmin", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "note: the plan will still show" not in second.stderr
    (tmp_path / "accounts.yaml").write_text(second.stdout)
    validated = run_cli(env, "validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    planned = run_cli(env, "plan", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr

    desired = load(tmp_path / "accounts.yaml")
    assert desired.organization.access_role == "OrganizationAccountAccessRole"
    by_id = {a.id: a for a in desired.accounts}
    assert by_id[alpha].ou == "/Apps/Web"
    assert dict(by_id[alpha].tags or {}) == {"team": "web", "cost-center": "0042"}
    assert by_id[beta].access_role.name == "AWSControlTowerExecution"
    assert by_id[acquired.id].source == "invited"
    assert by_id[acquired.id].access_role.policies == (READ_ONLY,)
    assert by_id[partner.id].access_role.name == "PartnerAdmin"
    assert by_id[management].name == "management"
    assert desired.groups == ()
    assert "# access role is named AWSControlTowerExecution" in second.stdout
    secret = sandbox.info.secret_access_key
    assert secret not in second.stdout + second.stderr + first.stderr
