"""The export renderer against hand-built observed states: the YAML reads back as meant,
validates with the project's loader, and the planner then finds nothing to change.

These are the pure half of the round trip (the sandbox tests in test_export_sandbox.py do the
whole thing over HTTP); here every corner of the reversal can be set up directly.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from reconciler.config import load_text
from reconciler.export.render import render_export, reverse_grants, scalar
from reconciler.model import ADMINISTRATOR_ACCESS
from reconciler.observed import (
    ObservedAccount,
    ObservedAlias,
    ObservedAssignment,
    ObservedContacts,
    ObservedGroup,
    ObservedIdentityCenter,
    ObservedManagedPolicy,
    ObservedOrganization,
    ObservedOU,
    ObservedPermissionSet,
    ObservedPrincipal,
    ObservedRole,
    ObservedRootCredentials,
    ObservedState,
)
from reconciler.planner import plan
from reconciler.policy import Grant, pack_grants, trust_policy

MGMT = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_INLINE = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def acct(account_id: str, name: str, *, ou: str = "/", state: str = "ACTIVE",
         joined: str = "CREATED", tags: dict[str, str] | None = None) -> ObservedAccount:
    return ObservedAccount(id=account_id, name=name, email=f"aws+{account_id}@example.com",
                           state=state, joined_method=joined, parent_id="r-root", ou_path=ou,
                           tags=MappingProxyType(dict(tags or {})))


def role(account_id: str, name: str = "OrganizationAccountAccessRole", *, mfa: bool = False,
         attached: tuple[str, ...] = (), inline: dict | None = None,
         trusting: str = MGMT) -> ObservedRole:
    return ObservedRole(account_id=account_id, name=name, status="ok",
                        trust_policy=trust_policy(trusting, require_mfa=mfa),
                        inline_policies=inline if inline is not None else {"admin": ADMIN_INLINE},
                        attached_policies=attached)


def grant_group(name: str, grants: list[Grant], members: tuple[str, ...]) -> tuple[
        ObservedGroup, tuple[ObservedManagedPolicy, ...]]:
    packed = pack_grants(name, "/orgsync/", grants)
    assert packed.error is None
    managed = tuple(
        ObservedManagedPolicy(arn=f"arn:aws:iam::{MGMT}:policy/orgsync/{p.name}", name=p.name,
                              path=p.path, document=p.document)
        for p in packed.managed_policies)
    group = ObservedGroup(name=name, path="/orgsync/", arn=f"arn:aws:iam::{MGMT}:group/{name}",
                          members=members, inline_policies=dict(packed.inline_policies),
                          attached_policies=tuple(sorted(m.arn for m in managed)))
    return group, managed


def organization_state() -> ObservedState:
    many = [acct(f"6{i:011d}", f"team-{i:02d}", ou="/Workloads/Teams") for i in range(12)]
    accounts = [
        acct(MGMT, "management", tags={"owner": "platform"}),
        acct("210987654321", "prod: payments", ou="/Workloads/Prod",
             tags={"team": "payments", "cost-center": "1234", "flag": "true",
                   "note": "a: b / c=d @x"}),
        acct("310987654321", "legacy", joined="INVITED", ou="/Legacy"),
        acct("410987654321", "ct-enrolled", ou="/Workloads/Prod"),
        acct("510987654321", "no-role", joined="INVITED"),
        acct("710987654321", "retired", state="SUSPENDED"),
        acct("810987654321", "dup"),
        acct("910987654321", "dup"),
        *many,
    ]
    roles = {
        "210987654321": role("210987654321", mfa=True),
        "310987654321": role("310987654321", attached=(READ_ONLY,), inline={}),
        "410987654321": role("410987654321", "AWSControlTowerExecution",
                             attached=(ADMINISTRATOR_ACCESS,), inline={}),
        "510987654321": ObservedRole(account_id="510987654321",
                                     name="OrganizationAccountAccessRole",
                                     status="not_assumable", error="AccessDenied"),
        "810987654321": role("810987654321"),
        "910987654321": role("910987654321"),
        **{a.id: role(a.id) for a in many},
    }
    grants = [Grant("prod: payments", "210987654321", "OrganizationAccountAccessRole",
                    require_mfa=True),
              Grant("legacy", "310987654321", "ReadOnly", source_ips=("203.0.113.0/24",)),
              Grant("ct-enrolled", "410987654321", "AWSControlTowerExecution")]
    grants += [Grant(a.name, a.id, "OrganizationAccountAccessRole") for a in many]
    admins, managed = grant_group("admins", grants, ("alice", "bob"))
    empty = ObservedGroup(name="auditors", path="/orgsync/",
                          arn=f"arn:aws:iam::{MGMT}:group/orgsync/auditors")
    return ObservedState(
        organization=ObservedOrganization(id="o-abc", arn="arn", feature_set="ALL",
                                          management_account_id=MGMT, root_id="r-root"),
        ous=(ObservedOU("ou-1", "Workloads", "/Workloads", "r-root"),
             ObservedOU("ou-2", "Prod", "/Workloads/Prod", "ou-1"),
             ObservedOU("ou-3", "Teams", "/Workloads/Teams", "ou-1"),
             ObservedOU("ou-4", "Legacy", "/Legacy", "r-root"),
             ObservedOU("ou-5", "Empty", "/Empty", "r-root")),
        accounts=tuple(accounts),
        trusted_access_iam=True,
        root_features=("RootCredentialsManagement",),
        roles=roles,
        root_credentials={"210987654321": ObservedRootCredentials("210987654321", password=True,
                                                                  mfa=True),
                          "310987654321": ObservedRootCredentials("310987654321")},
        groups=(admins, empty),
        managed_policies=managed,
        existing_users=("alice", "bob"),
    )


PS = "arn:aws:sso:::permissionSet/ssoins-1/ps-"


def identity_center_state() -> ObservedIdentityCenter:
    """An Identity Center instance with every permission set attribute the export writes, and
    assignments that group into ``group``/``users`` entries or are left out with a comment."""
    admin = ObservedPermissionSet(
        arn=PS + "admin", name="Admin", description="Full admin: everything, #1",
        session_duration="PT720M", relay_state="https://console.aws.amazon.com/",
        managed_policies=(ADMINISTRATOR_ACCESS, READ_ONLY),
        customer_managed_policies=(("boundary-x", "/"), ("ops.odd", "/teams/")),
        inline_policy=ADMIN_INLINE,
        permissions_boundary={"managed_policy_arn": f"arn:aws:iam::{MGMT}:policy/pb"})
    read = ObservedPermissionSet(arn=PS + "read", name="ReadOnly", managed_policies=(READ_ONLY,),
                                 permissions_boundary={"name": "pb-x", "path": "/"},
                                 session_duration="PT1H")
    empty = ObservedPermissionSet(arn=PS + "empty", name="Empty")
    teams = [f"6{i:011d}" for i in range(12)]
    assignments = [
        *(ObservedAssignment(a, PS + "admin", "GROUP", "g-admins")
          for a in (MGMT, "210987654321", "710987654321", "810987654321")),
        *(ObservedAssignment(a, PS + "admin", "GROUP", "g-ops") for a in ("210987654321", MGMT)),
        *(ObservedAssignment(a, PS + "read", user, f"u-{name}")
          for a in (*teams, "210987654321") for user, name in (("USER", "bob"), ("USER", "alice"))),
        ObservedAssignment("310987654321", PS + "admin", "USER", "u-carol"),
        ObservedAssignment("410987654321", PS + "empty", "GROUP", "g-night"),
        ObservedAssignment("410987654321", PS + "empty", "GROUP", "g-gone"),
        ObservedAssignment("410987654321", PS + "deleted", "USER", "u-alice"),
    ]
    principals = (ObservedPrincipal("GROUP", "g-admins", "Admins"),
                  ObservedPrincipal("GROUP", "g-ops", "ops"),
                  ObservedPrincipal("GROUP", "g-night", "Ops: night"),
                  ObservedPrincipal("USER", "u-alice", "alice"),
                  ObservedPrincipal("USER", "u-bob", "bob"),
                  ObservedPrincipal("USER", "u-carol", "carol@example.com"))
    return ObservedIdentityCenter(
        instance_arn="arn:aws:sso:::instance/ssoins-1", identity_store_id="d-1",
        permission_sets=(read, admin, empty), assignments=tuple(assignments),
        principals=principals)


def test_export_reads_back_validates_and_plans_to_nothing_but_the_bootstrap() -> None:
    observed = organization_state()
    text = render_export(observed, generated_at="2026-01-01T00:00:00Z")
    desired = load_text(text, filename="exported.yaml")
    assert desired.organization.access_role == "OrganizationAccountAccessRole"
    names = [a.name for a in desired.accounts]
    assert names[0] == "management" and "dup" not in names
    prod = desired.account("prod: payments")
    assert prod.access_role.require_mfa and prod.ou == "/Workloads/Prod"
    assert dict(prod.tags or {}) == {"team": "payments", "cost-center": "1234", "flag": "true",
                                     "note": "a: b / c=d @x"}
    legacy_tags = desired.account("legacy").tags
    assert legacy_tags is not None and dict(legacy_tags) == {}
    legacy = desired.account("legacy")
    assert legacy.source == "invited" and legacy.access_role.policies == (READ_ONLY,)
    assert desired.account("ct-enrolled").access_role.name == "AWSControlTowerExecution"
    assert desired.account("retired").state == "closed"
    assert desired.root_credentials.features == ("RootCredentialsManagement",)
    result = plan(desired, observed)
    assert result.errors == ()
    assert [(c.address, c.action.value) for c in result.changes] == [
        ("access_role.no-role", "bootstrap")]
    assert {u.id for u in result.unmanaged} == {"810987654321", "910987654321", "ou-5"}
    assert "reported as unmanaged): /Empty" in text
    assert "none of OrganizationAccountAccessRole, AWSControlTowerExecution (nor" in text
    assert "accounts are named 'dup'" in text
    assert "prod: payments (210987654321): password, MFA" in text


def test_grants_reverse_to_the_same_policies() -> None:
    observed = organization_state()
    admins = observed.groups[0]
    names = {a.id: a.name for a in observed.accounts}
    roles = {a.id: observed.roles[a.id].name for a in observed.accounts if a.id in observed.roles}
    entries, notes = reverse_grants(admins, observed, names=names, roles=roles)
    assert notes == []
    by_role = {(e.role, e.require_mfa, e.source_ips): e.accounts for e in entries}
    assert by_role[("ReadOnly", False, ("203.0.113.0/24",))] == ("legacy",)
    assert by_role[(None, True, ())] == ("prod: payments",)
    assert len(by_role[(None, False, ())]) == 13  # twelve teams (ResourceAccount form) + ct


def test_foreign_statements_and_policies_are_reported() -> None:
    observed = organization_state()
    group = ObservedGroup(
        name="hand", path="/orgsync/", arn="arn",
        inline_policies={"orgsync-assume": {"Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Resource": "arn:aws:iam::999999999999:role/X"}]},
            "extra": {"Statement": []}},
        attached_policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",))
    entries, notes = reverse_grants(group, observed, names={}, roles={})
    assert entries == []
    assert len(notes) == 4
    # policies orgsync did not write are kept (their grants are adopted), never deleted
    assert any("inline policy extra is not orgsync's: its grants are listed here; orgsync "
               "keeps the policy" in n for n in notes)
    assert any("ReadOnlyAccess is not orgsync's: orgsync leaves it attached" in n for n in notes)


def test_scalars_read_back_exactly() -> None:
    values = ["plain", "true", "null", "123", "0123", "1e3", "2024-01-01", "a: b", "a #b", "-",
              "[x]", "{x}", "x,y", "'q'", '"d"', "trailing ", " leading", "*", "&a", "!t", "%",
              "@x", "`x`", "a\nb", "tab\tx", "ünï", "~", "", "yes", "on", "0x1F", ".inf",
              "aws+prod@example.com", "arn:aws:iam::aws:policy/AdministratorAccess", "/A/B"]
    for value in values:
        text = scalar(value)
        assert yaml.safe_load(f"k: {text}") == {"k": value}, value
        assert yaml.safe_load(f"[{text}]") == [value], value


def test_root_credentials_section_without_features() -> None:
    from dataclasses import replace

    base = organization_state()
    off = replace(base, root_features=None, trusted_access_iam=False, root_credentials={})
    text = render_export(off)
    assert "features:" not in text.replace("# features:", "")
    assert "not read (IAM has no trusted access)" in text
    desired = load_text(text, filename="exported.yaml")
    assert desired.root_credentials.features is None
    no_sessions = replace(base, root_credentials={})
    assert "organization features off: RootSessions" in render_export(no_sessions)


def test_roles_in_another_partition_are_recognized_as_orgsync_writes_them() -> None:
    cn_org = ObservedOrganization(id="o-cn12345678", arn=f"arn:aws-cn:organizations::{MGMT}:"
                                  "organization/o-cn12345678", feature_set="ALL",
                                  management_account_id=MGMT, root_id="r-root")
    cn_admin = "arn:aws-cn:iam::aws:policy/AdministratorAccess"
    member = "210987654321"
    cn_role = ObservedRole(account_id=member, name="OrganizationAccountAccessRole", status="ok",
                           trust_policy=trust_policy(MGMT, require_mfa=True, partition="aws-cn"),
                           inline_policies={}, attached_policies=(cn_admin,))
    observed = ObservedState(organization=cn_org, accounts=(acct(MGMT, "management"),
                                                            acct(member, "prod")),
                             roles={member: cn_role})
    text = render_export(observed)
    assert "require_mfa: true" in text
    assert "not the one orgsync writes" not in text
    assert "policies:" not in text  # AdministratorAccess of aws-cn is the default
    assert plan(load_text(text, filename="exported.yaml"), observed).changes == ()


GOLDEN = Path(__file__).parent / "golden"
_CONTACT = {"name": "Sec Team", "title": "CISO", "email": "sec@example.com",
            "phone": "+1 555 0100"}


@pytest.mark.parametrize(("golden", "change"), [
    ("organization.yaml", {}),
    ("organization-no-root-features.yaml",
     {"root_features": None, "trusted_access_iam": False, "root_credentials": {}}),
    ("organization-account-settings.yaml", {
        "trusted_access_account": True,
        "aliases": {MGMT: ObservedAlias(MGMT, "mgmt-alias"),
                    "210987654321": ObservedAlias("210987654321", "prod-pay"),
                    "410987654321": ObservedAlias("410987654321", error="AccessDenied"),
                    "310987654321": ObservedAlias("310987654321")},
        "alternate_contacts": {
            "210987654321": ObservedContacts("210987654321", {
                "security": _CONTACT, "billing": {**_CONTACT, "name": "Bill: X"},
                "operations": None}),
            "410987654321": ObservedContacts("410987654321", error="boom"),
            "310987654321": ObservedContacts("310987654321", {"security": None})}}),
    ("organization-identity-center.yaml", {"identity_center": identity_center_state()}),
    ("organization-identity-center-empty.yaml", {"identity_center": ObservedIdentityCenter(
        instance_arn="arn:aws:sso:::instance/ssoins-1", identity_store_id="d-1")}),
])
def test_export_text_is_the_reviewed_one(golden: str, change: dict[str, object]) -> None:
    """The exported text, byte for byte (the files were written by the export before it built
    a document first: the document changed how the text is made, not the text)."""
    from dataclasses import replace

    from reconciler import __version__

    observed = replace(organization_state(), **change)  # type: ignore[arg-type]
    text = render_export(observed, generated_at="2026-01-01T00:00:00Z")
    expected = (GOLDEN / golden).read_text().replace("orgsync VERSION", f"orgsync {__version__}")
    assert text == expected
