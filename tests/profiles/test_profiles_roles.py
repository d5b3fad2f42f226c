"""Profiles for every role a group may assume, ``--group`` and ``--name-template``: tables of
(file, options) -> the expected (profile name, account, role) entries, offline.

The file goes through the real loader (``load_text``), so ``accounts: ["*"]`` and default roles
are expanded exactly as ``orgsync plan`` expands them.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.config import load_text
from reconciler.errors import OrgsyncError
from reconciler.profiles import build_profiles, check_name_template, render
from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT

ACCOUNTS = HEADER + MANAGEMENT_ACCOUNT + """\
  - name: Prod
    email: aws+prod@example.com
    id: "210987654321"
    ou: /Workloads/Prod
    access_role: {require_mfa: true}
  - name: staging
    email: aws+staging@example.com
    id: "310987654321"
    ou: /Workloads
  - name: sandbox
    email: aws+sandbox@example.com
  - name: old
    email: aws+old@example.com
    id: "410987654321"
    state: closed
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
  - name: readers
    members: [bob]
    assume:
      - accounts: [Prod, staging]
        role: ReadOnly
        require_mfa: true
      - accounts: [staging]
        role: Deployer
        source_ips: [203.0.113.0/24]
  - name: deployers
    members: [carol]
    assume:
      - accounts: [staging]
        role: Deployer
"""

A = "OrganizationAccountAccessRole"
ALL = [("prod", "Prod", A), ("prod-readonly", "Prod", "ReadOnly"), ("staging", "staging", A),
       ("staging-deployer", "staging", "Deployer"), ("staging-readonly", "staging", "ReadOnly"),
       ("sandbox", "sandbox", A)]

CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("every access role and every granted role", {}, ALL),
    ("a group's grants only", {"group": "readers"},
     [("prod-readonly", "Prod", "ReadOnly"), ("staging-deployer", "staging", "Deployer"),
      ("staging-readonly", "staging", "ReadOnly")]),
    ("a wildcard grant of the access role", {"group": "admins"},
     [("prod", "Prod", A), ("staging", "staging", A), ("sandbox", "sandbox", A)]),
    ("one role", {"group": "deployers"}, [("staging-deployer", "staging", "Deployer")]),
    ("template with every placeholder",
     {"group": "readers", "name_template": "{ou}.{account}.{role}.{account_id}"},
     [("workloads-prod.prod.readonly.210987654321", "Prod", "ReadOnly"),
      ("workloads.staging.deployer.310987654321", "staging", "Deployer"),
      ("workloads.staging.readonly.310987654321", "staging", "ReadOnly")]),
    ("alias falls back to the account name", {"group": "deployers",
                                              "name_template": "acme_{alias}_{role}"},
     [("acme_staging_deployer", "staging", "Deployer")]),
    ("prefix before the template", {"group": "deployers", "prefix": "Acme-"},
     [("acme-staging-deployer", "staging", "Deployer")]),
]


@pytest.mark.parametrize(("options", "expected"), [(o, e) for _, o, e in CASES],
                         ids=[c[0] for c in CASES])
def test_entries(options: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    profiles = build_profiles(desired, {"sandbox": "510987654321"}, **options)
    assert [(p.profile, p.account_name, p.role_name) for p in profiles] == expected


def test_mfa_is_carried_from_trust_and_grant() -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    profiles = {p.profile: p for p in build_profiles(desired, {})}
    assert profiles["prod"].require_mfa  # the access role's trust policy needs MFA
    assert profiles["prod-readonly"].require_mfa  # the grant needs MFA
    # Deployer is granted with MFA by no group: the profile needs none.
    assert not profiles["staging-deployer"].require_mfa


def test_every_format_uses_the_names() -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    ini = render(desired, {}, group="readers", source_profile="bob")
    assert "[profile prod-readonly]" in ini and "role_arn = arn:aws:iam::210987654321:role/" \
        "ReadOnly" in ini and "# account Prod (210987654321), role ReadOnly" in ini
    links = render(desired, {}, fmt="links", group="readers").splitlines()
    assert links[0] == ("https://signin.aws.amazon.com/switchrole?account=210987654321"
                        "&roleName=ReadOnly&displayName=Prod-ReadOnly")
    aesr = render(desired, {}, fmt="aesr", group="readers", name_template="{account} {role}")
    assert "[Prod ReadOnly]" in aesr and "[staging Deployer]" in aesr
    spaced = render(desired, {}, group="readers", name_template="{account} / {role}")
    assert "[profile prod-readonly]" in spaced


@pytest.mark.parametrize(("template", "message"), [
    ("{account", "expected '}'"),
    ("{acount}", "unknown placeholder {acount}; use {account} {role}"),
    ("{account!r}", "unknown placeholder"),
    ("{account:>9}", "unknown placeholder"),
    ("[{account}]", "characters a profile name cannot hold"),
    ("{account};{role}", "characters a profile name cannot hold"),
    ("{account}\t{role}", "characters a profile name cannot hold"),
    ("fixed", "has no placeholder"),
])
def test_bad_templates(template: str, message: str) -> None:
    with pytest.raises(OrgsyncError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_name_template(template)


def test_a_template_without_role_gives_one_account_two_names() -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    with pytest.raises(OrgsyncError, match=r"roles 'Deployer' and 'ReadOnly' of account "
                       r"'staging' both get the profile name 'staging'; put \{role\}"):
        build_profiles(desired, {}, group="readers", name_template="{account}")


def test_a_template_without_account_gets_account_ids() -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    profiles = build_profiles(desired, {}, group="readers", name_template="{role}")
    assert [p.profile for p in profiles] == ["readonly-210987654321", "deployer",
                                             "readonly-310987654321"]


def test_unknown_group() -> None:
    desired = load_text(ACCOUNTS, filename="accounts.yaml")
    with pytest.raises(OrgsyncError, match=r"--group 'writers': no such group in accounts.yaml "
                       r"\(groups: admins, readers, deployers\)"):
        build_profiles(desired, {}, group="writers")


ALIASED = HEADER + MANAGEMENT_ACCOUNT + """\
    alias: acme-management
  - name: Prod
    email: aws+prod@example.com
    id: "210987654321"
    alias: acme-prod
  - name: staging
    email: aws+staging@example.com
    id: "310987654321"
    alias: null
groups:
  - name: readers
    members: [bob]
    assume:
      - accounts: [Prod, staging]
        role: ReadOnly
"""


def test_the_alias_is_the_display_name_where_set() -> None:
    desired = load_text(ALIASED, filename="accounts.yaml")
    profiles = build_profiles(desired, {})
    # CLI profile names keep the account name: adding an alias renames nobody's profiles
    assert [(p.profile, p.display_name) for p in profiles] == [
        ("prod", "acme-prod"), ("prod-readonly", "acme-prod-ReadOnly"),
        ("staging", "staging"), ("staging-readonly", "staging-ReadOnly")]
    ini = render(desired, {})
    assert "# account Prod (210987654321), alias acme-prod\n" in ini
    assert "# account Prod (210987654321), alias acme-prod, role ReadOnly\n" in ini
    links = render(desired, {}, fmt="links").splitlines()
    assert links[0].endswith("account=210987654321&roleName=OrganizationAccountAccessRole"
                             "&displayName=acme-prod")
    assert [p.profile for p in build_profiles(desired, {}, name_template="{alias}-{role}")] \
        == ["acme-prod-organizationaccountaccessrole", "acme-prod-readonly",
            "staging-organizationaccountaccessrole", "staging-readonly"]
    aesr = render(desired, {}, fmt="aesr")
    assert "[organization-123456789012]\naws_account_id = 123456789012\naws_account_alias = " \
        "acme-management\ntarget_role_name = OrganizationAccountAccessRole\n[acme-prod]\n" in aesr
