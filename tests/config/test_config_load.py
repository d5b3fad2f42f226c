"""The loader on valid input: the example's resolved defaults, the schema as package data, the
validate command's output and imports, and the behaviours a table of broken files cannot show
(several problems at once, merge keys, file-level errors)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.config import load, load_text, schema
from reconciler.errors import ConfigError
from reconciler.model import ADMINISTRATOR_ACCESS, GrantTarget

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "accounts.yaml"
HEAD = 'version: 1\norganization:\n  management_account_id: "123456789012"\n'


def diagnostics(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text, filename="f.yaml")
    return [str(d) for d in caught.value.diagnostics]


def test_example_resolves_every_default() -> None:
    desired = load(EXAMPLE)
    assert desired.source_sha256 == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert desired.organization.management_account_id == "123456789012"
    assert desired.root_credentials.features == ("RootCredentialsManagement", "RootSessions")
    assert desired.root_credentials.default == "absent"
    prod = desired.account("prod")
    assert (prod.source, prod.state, prod.ou, prod.id) == ("created", "active", "/Workloads/Prod",
                                                           None)
    assert prod.access_role.name == "OrganizationAccountAccessRole"
    assert prod.access_role.require_mfa is True
    assert prod.access_role.policies == (ADMINISTRATOR_ACCESS,)
    assert dict(prod.tags or {}) == {"team": "payments", "environment": "production"}
    assert prod.iam_user_access_to_billing is False
    assert prod.root_credentials == "absent"
    assert desired.account("log-archive").root_credentials == "password_recovery"
    assert desired.account("log-archive").tags is None
    audit = desired.account("security-audit").access_role
    assert audit.name == "OrgAuditRole" and audit.require_mfa is False
    legacy = desired.account("legacy-analytics")
    assert (legacy.source, legacy.id, legacy.bootstrap_profile) == (
        "invited", "210987654321", "legacy-admin")
    assert legacy.identity == "210987654321"
    closed = desired.account("old-experiments")
    assert (closed.state, closed.ou, closed.root_credentials) == ("closed", "/", "unmanaged")
    assert desired.ou_paths == ("/Security", "/Workloads", "/Workloads/Prod", "/Workloads/Staging")
    admins, auditors = desired.groups
    assert (admins.path, admins.members) == ("/orgsync/", ("alice", "bob"))
    # "*" = every active member account: not the closed one; each with its own access role name
    assert [(t.account, t.role) for t in admins.grants] == [
        ("legacy-analytics", "OrganizationAccountAccessRole"),
        ("log-archive", "OrganizationAccountAccessRole"),
        ("prod", "OrganizationAccountAccessRole"),
        ("security-audit", "OrgAuditRole"),
        ("staging", "OrganizationAccountAccessRole"),
    ]
    assert all(t.require_mfa and t.source_ips == ("2001:db8::/32", "203.0.113.0/24")
               for t in admins.grants)
    assert GrantTarget("security-audit", "OrgAuditRole", True, ()) in auditors.grants
    assert prod.position is not None and prod.position.line > 1


def test_example_matches_the_contract_counts_through_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "validate", "-f",
                           str(EXAMPLE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"{EXAMPLE}: valid (6 accounts, 4 OUs, 2 groups, 8 grants, "
                           "2 permission sets, 1 assignment)\n")
    assert done.stderr == ""


def test_validate_does_not_import_boto3() -> None:
    probe = ("import sys\nfrom reconciler.cli import main\n"
             "try:\n    main(['validate', '-f', sys.argv[1]])\nexcept SystemExit as e:\n"
             "    print(e.code, 'boto3' in sys.modules, 'botocore' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(EXAMPLE)], capture_output=True,
                          text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 False False"


def test_schema_is_package_data_and_the_repo_path_links_to_it() -> None:
    document = schema()
    Draft202012Validator.check_schema(document)
    link = ROOT / "schemas" / "accounts.schema.json"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert json.loads(link.read_text()) == document
    modeline = EXAMPLE.read_text().splitlines()[0]
    assert modeline == f"# yaml-language-server: $schema={document['$id']}"
    assert document is not schema()  # a fresh copy each time


def test_every_object_in_the_schema_forbids_unknown_keys() -> None:
    def objects(node: object) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                found.append(node)
            for value in node.values():
                found += objects(value)
        elif isinstance(node, list):
            for value in node:
                found += objects(value)
        return found

    assert all(obj.get("additionalProperties") is False for obj in objects(schema()))


def test_all_problems_are_reported_sorted_by_position() -> None:
    text = HEAD + (
        "accounts:\n"
        "  - name: prod\n"
        "    email: bob@\n"               # 6: bad email
        "    colour: blue\n"              # 7: unknown key
        "  - name: prod\n"                # 8: duplicate name
        "    email: aws+x@example.com\n"
        "    source: invited\n"           # 10: no id
        "groups:\n"
        "  - name: admins\n"
        "    assume:\n"
        "      - accounts: [nope]\n"      # 14: unknown account
        "        source_ips: [10.0.0.1/8]\n"  # 15: host bits
    )
    found = diagnostics(text)
    assert [line.split(": ")[0] for line in found] == [
        "f.yaml:6:12", "f.yaml:7:5", "f.yaml:8:11", "f.yaml:10:13", "f.yaml:14:20", "f.yaml:15:22",
    ]
    assert "did you mean '10.0.0.0/8'?" in found[-1]


def test_duplicate_key_reports_both_positions_and_checks_go_on() -> None:
    found = diagnostics(HEAD + "accounts:\n  - name: a\n    name: b\n    email: bad\n")
    assert found[0].startswith("f.yaml:6:5: accounts[0].name: duplicate key 'name': first at "
                               "line 5, column 5, again at line 6, column 5")
    assert found[1].startswith("f.yaml:7:12: accounts[0].email: 'bad' is not a valid email")


def test_anyof_picks_the_most_specific_error() -> None:
    found = diagnostics(HEAD + "accounts: []\ngroups:\n  - name: g\n    assume:\n"
                        "      - accounts: ['" + "x" * 51 + "']\n")
    assert "is not a valid account name" in found[0]  # not "is not valid under any of ..."
    assert "unknown account" in found[1]


def test_merge_keys_anchors_and_dates() -> None:
    desired = load_text(HEAD + "accounts:\n"
        "  - &base\n"
        "    name: a\n"
        "    email: aws+a@example.com\n"
        "    ou: /Workloads/\n"
        "    tags: {since: 2024-01-01}\n"
        "  - <<: *base\n"
        "    name: b\n"
        "    email: aws+b@example.com\n", filename="f.yaml")
    a, b = desired.accounts
    assert (a.ou, b.ou) == ("/Workloads", "/Workloads")
    assert dict(b.tags or {}) == {"since": "2024-01-01"}


def test_management_account_is_never_granted_or_root_managed() -> None:
    desired = load_text(HEAD + (
        "root_credentials: {default: absent}\n"
        "accounts:\n"
        '  - {name: mgmt, email: aws+m@example.com, id: "123456789012"}\n'
        "  - {name: a, email: aws+a@example.com, access_role: {name: Admin}}\n"
        "groups:\n  - name: g\n    assume: [{accounts: ['*']}]\n"), filename="f.yaml")
    assert desired.account("mgmt").root_credentials == "unmanaged"
    assert desired.account("a").root_credentials == "absent"
    assert desired.groups[0].grants == (GrantTarget("a", "Admin"),)


def test_file_level_errors() -> None:
    with pytest.raises(ConfigError, match=r"^missing\.yaml:1:1: cannot read the file"):
        load("missing.yaml")


def test_non_utf8_file_is_one_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"version: 1\nname: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert re.fullmatch(r".*a\.yaml:2:10: the file is not UTF-8 text", str(caught.value))


def test_version_must_be_1_even_if_the_rest_is_fine() -> None:
    assert diagnostics(HEAD.replace("version: 1", "version: '1'")) == [
        'f.yaml:1:10: version: the string "1": write 1 without quotes']


def test_patterns_do_not_accept_a_trailing_newline() -> None:
    found = diagnostics(HEAD + 'accounts:\n  - name: "prod\\n"\n    email: aws+p@example.com\n')
    assert found == ["f.yaml:5:11: accounts[0].name: 'prod\\n' is not a valid account name "
                     "(1-50 printable ASCII characters)"]


def test_empty_tags_manage_tags_and_missing_sections_take_defaults() -> None:
    desired = load_text(HEAD + "root_credentials: {features: []}\naccounts:\n"
                        "  - {name: a, email: aws+a@example.com, tags: {}}\n"
                        "  - {name: b, email: aws+b@example.com}\n", filename="f.yaml")
    a, b = desired.accounts
    assert a.tags is not None and dict(a.tags) == {}
    assert b.tags is None
    assert desired.root_credentials.features == ()
    assert desired.root_credentials.default == "unmanaged"
    assert desired.organization.access_role == "OrganizationAccountAccessRole"
    assert desired.groups == ()
    bare = load_text(HEAD, filename="f.yaml")
    assert bare.accounts == () and bare.root_credentials.features is None


def test_nested_merge_keys_resolve_with_explicit_keys_winning() -> None:
    desired = load_text(HEAD + (
        "accounts:\n"
        "  - &a {name: a, email: aws+a@example.com, ou: /A, tags: {t: v}}\n"
        "  - &b {<<: *a, name: b, email: aws+b@example.com}\n"
        "  - {<<: *b, name: c, email: aws+c@example.com, ou: /C}\n"), filename="f.yaml")
    assert [(a.name, a.ou, dict(a.tags or {})) for a in desired.accounts] == [
        ("a", "/A", {"t": "v"}), ("b", "/A", {"t": "v"}), ("c", "/C", {"t": "v"})]
