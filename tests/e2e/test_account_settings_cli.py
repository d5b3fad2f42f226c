"""Account aliases and alternate contacts through the real CLI against the sandbox: plan (trusted
access for account.amazonaws.com planned when off), apply, re-plan empty; a change out of band
is exactly one change; ``alias: null`` deletes (destructive); a plain ``export`` round-trips with no
changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.aws.seed import member_client
from tests.conftest import apply_ok, plan_json

MANAGEMENT = "123456789012"
FILE = """\
version: 1
organization: {management_account_id: "123456789012"}
accounts:
  - name: management
    email: aws+management@example.com
    id: "123456789012"
    alias: acme-root
    contacts:
      billing: {name: Finance, title: CFO office, email: billing@example.com, phone: "+1 555 0199"}
  - name: prod
    email: aws+prod@example.com
    alias: acme-prod
    contacts:
      security: {name: Sec Team, title: SecOps, email: sec@example.com, phone: "+1 555 0100"}
      operations: {name: Ops, title: On call, email: ops@example.com, phone: "(555) 0101"}
  - name: dev
    email: aws+dev@example.com
    alias: acme-dev
"""


def _changes(document: dict[str, Any], *kinds: str) -> list[tuple[str, str]]:
    return [(c["address"], c["action"]) for c in document["changes"]
            if not kinds or c["kind"] in kinds]


def _ids(sandbox: Any) -> dict[str, str]:
    org = sandbox.client("organizations")
    return {a["Name"]: a["Id"] for a in org.list_accounts()["Accounts"]}


def test_plan_apply_drift_and_delete(sandbox: Any, orgsync: Any, aws_env: dict[str, str],
                                     tmp_path: Path) -> None:
    sandbox.client("organizations").disable_aws_service_access(
        ServicePrincipal="account.amazonaws.com")
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    code, document = plan_json(path, env=aws_env)
    assert code == 2
    organization = next(c for c in document["changes"] if c["kind"] == "organization")
    assert organization["after"] == {"trusted_access_account": True}
    assert _changes(document, "account_alias", "alternate_contacts") == [
        ("account_alias.dev", "create"), ("account_alias.management", "create"),
        ("account_alias.prod", "create"), ("alternate_contacts.management", "create"),
        ("alternate_contacts.prod", "create")]
    by_address = {c["address"]: c for c in document["changes"]}
    assert "account.prod" in by_address["alternate_contacts.prod"]["depends_on"]
    assert "organization.organization" in by_address["alternate_contacts.prod"]["depends_on"]
    assert {"account.prod", "access_role.prod"} <= set(
        by_address["account_alias.prod"]["depends_on"])
    assert document["destructive"] == []

    apply_ok(path, env=aws_env)
    code, document = plan_json(path, env=aws_env)
    assert (code, document["changes"]) == (0, [])
    ids = _ids(sandbox)
    account = sandbox.client("account")
    security = account.get_alternate_contact(AccountId=ids["prod"],
                                             AlternateContactType="SECURITY")["AlternateContact"]
    assert (security["Name"], security["PhoneNumber"]) == ("Sec Team", "+1 555 0100")
    assert account.get_alternate_contact(
        AlternateContactType="BILLING")["AlternateContact"]["Title"] == "CFO office"
    assert sandbox.client("iam").list_account_aliases()["AccountAliases"] == ["acme-root"]
    dev_iam = member_client(sandbox, "iam", ids["dev"])
    assert dev_iam.list_account_aliases()["AccountAliases"] == ["acme-dev"]

    # out of band: prod's security phone -> exactly one change, whose diff names the field
    account.put_alternate_contact(AccountId=ids["prod"], AlternateContactType="SECURITY",
                                  Name="Sec Team", Title="SecOps",
                                  EmailAddress="sec@example.com", PhoneNumber="+1 555 9999")
    code, document = plan_json(path, env=aws_env)
    assert (code, _changes(document)) == (2, [("alternate_contacts.prod", "update")])
    assert [d["path"] for d in document["changes"][0]["diff"]] == ["security.phone"]
    apply_ok(path, env=aws_env)
    assert plan_json(path, env=aws_env)[0] == 0

    # out of band: dev's alias -> exactly one (destructive) change
    dev_iam.create_account_alias(AccountAlias="someone-renamed-it")
    code, document = plan_json(path, env=aws_env)
    assert (code, _changes(document)) == (2, [("account_alias.dev", "update")])
    assert document["destructive"] == ["account_alias.dev"]
    apply_ok(path, env=aws_env)
    assert dev_iam.list_account_aliases()["AccountAliases"] == ["acme-dev"]

    # alias: null deletes, and the text plan says it is destructive
    path.write_text(FILE.replace("alias: acme-dev", "alias: null"))
    text = orgsync("plan", "-f", str(path), env=aws_env)
    assert "account_alias.dev" in text.stdout and "DESTRUCTIVE" in text.stdout, text.stdout
    code, document = plan_json(path, env=aws_env)
    assert _changes(document) == [("account_alias.dev", "delete")]
    assert document["destructive"] == ["account_alias.dev"]
    apply_ok(path, env=aws_env)
    assert dev_iam.list_account_aliases()["AccountAliases"] == []
    assert plan_json(path, env=aws_env)[0] == 0

    # removing the keys from the file leaves everything as it is
    path.write_text(FILE.replace("    alias: acme-prod\n", ""))
    code, document = plan_json(path, env=aws_env)  # dev's file alias is acme-dev again
    assert (code, _changes(document)) == (2, [("account_alias.dev", "create")])
    unmanaged = yaml.safe_load(FILE)
    for item in unmanaged["accounts"]:
        item.pop("alias", None)
        item.pop("contacts", None)
    path.write_text(yaml.safe_dump(unmanaged))
    code, document = plan_json(path, env=aws_env)
    assert (code, document["changes"]) == (0, [])


def test_alias_taken_by_another_account_fails_that_step(
        sandbox: Any, orgsync: Any, aws_env: dict[str, str], tmp_path: Path) -> None:
    standalone = sandbox.info.standalone_accounts[0]
    import boto3

    outsider = boto3.client("iam", endpoint_url=sandbox.info.endpoint_url,
                            region_name=sandbox.info.region,
                            aws_access_key_id=standalone.access_key_id,
                            aws_secret_access_key=standalone.secret_access_key)
    outsider.create_account_alias(AccountAlias="acme-root")
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    result = orgsync("apply", "-f", str(path), "--auto-approve", env=aws_env, timeout=300)
    assert result.returncode == 1
    assert "alias acme-root is taken by another AWS account" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    code, document = plan_json(path, env=aws_env)
    assert (code, _changes(document)) == (2, [("account_alias.management", "create")])


def test_export_writes_alias_and_contacts_and_round_trips(
        sandbox: Any, orgsync: Any, aws_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(FILE)
    apply_ok(path, env=aws_env)
    ids = _ids(sandbox)
    # set out of band, never in the file: export must find them too
    sandbox.client("account").put_alternate_contact(
        AccountId=ids["dev"], AlternateContactType="OPERATIONS", Name="Dev Ops", Title="Lead",
        EmailAddress="devops@example.com", PhoneNumber="5550123")
    exported = tmp_path / "exported.yaml"
    result = orgsync("export", "--out", str(exported), env=aws_env, timeout=300)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(exported.read_text())
    by_id = {a["id"]: a for a in data["accounts"]}
    assert by_id[MANAGEMENT]["alias"] == "acme-root"
    assert by_id[MANAGEMENT]["contacts"] == {"billing": {
        "name": "Finance", "title": "CFO office", "email": "billing@example.com",
        "phone": "+1 555 0199"}}
    assert by_id[ids["prod"]]["alias"] == "acme-prod"
    assert set(by_id[ids["prod"]]["contacts"]) == {"security", "operations"}
    assert by_id[ids["dev"]]["contacts"]["operations"]["phone"] == "5550123"  # quoted: a string
    assert all(value is not None for value in by_id[ids["dev"]]["contacts"].values())
    code, document = plan_json(exported, env=aws_env)
    assert (code, document["changes"]) == (0, []), document["changes"]
