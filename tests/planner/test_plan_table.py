"""Planner tables: (desired, observed) -> the exact (address, action) list, plus deferred,
unmanaged, errors and warnings. Every case is also re-planned after a model apply (``converge``):
a correct apply of any plan must leave nothing to do."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reconciler.model import ADMINISTRATOR_ACCESS
from reconciler.observed import (
    CreateAccountRequest,
    Handshake,
    ObservedGroup,
    ObservedRole,
    ObservedRootCredentials,
)
from reconciler.planner import plan

from . import builders as b

BOTH = ("RootCredentialsManagement", "RootSessions")

READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_INLINE = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass
class Case(b.Case):
    # (address, action) of the deferred items that say what they will do once unblocked
    listed: list[tuple[str, str]] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)  # ids / names
    warnings: list[str] = field(default_factory=list)
    destructive_deferred: list[str] = field(default_factory=list)


PROD = b.member("prod", "210000000001")
# what an invited account (no bootstrap_profile) is listed to get once it joins
INVITED_LISTED = [("access_role.legacy", "bootstrap"), ("account.legacy", "update")]
DEV = b.member("dev", "210000000002")


def _group_observed(name: str, *, members: tuple[str, ...] = (),
                    inline: dict[str, Any] | None = None, path: str = "/orgsync/",
                    attached: tuple[str, ...] = ()) -> ObservedGroup:
    return ObservedGroup(name=name, path=path, arn=f"arn:aws:iam::{b.MGMT}:group{path}{name}",
                         members=members, inline_policies=inline or {},
                         attached_policies=attached)


def _grant_doc(*arns: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Resource": list(arns)}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


ROLE_PROD = "arn:aws:iam::210000000001:role/OrganizationAccountAccessRole"

CASES = [
    # ---- empty and unmanaged
    Case("empty-file-empty-org", b.desired(), b.observed(), [], unmanaged=[b.MGMT]),
    Case("in-sync-account", b.desired(b.account("prod")), b.observed(PROD), [],
         unmanaged=[b.MGMT]),
    Case("unmanaged-account-and-ou", b.desired(b.account("prod")),
         b.observed(PROD, DEV, ous=(b.ou("/Old"),)), [],
         unmanaged=[b.MGMT, "210000000002", "/Old"]),
    Case("management-in-file-not-unmanaged", b.desired(b.account("management", id=b.MGMT)),
         b.observed(), []),
    # ---- account create
    Case("create-account", b.desired(b.account("prod")), b.observed(),
         [("account.prod", "create"), ("access_role.prod", "create")], unmanaged=[b.MGMT]),
    Case("create-account-in-new-ou-tree", b.desired(b.account("prod", ou="/Workloads/Prod")),
         b.observed(),
         [("ou./Workloads", "create"), ("ou./Workloads/Prod", "create"),
          ("account.prod", "create"), ("access_role.prod", "create")], unmanaged=[b.MGMT]),
    Case("create-account-in-existing-ou", b.desired(b.account("prod", ou="/Workloads")),
         b.observed(ous=(b.ou("/Workloads"),)),
         [("account.prod", "create"), ("access_role.prod", "create")], unmanaged=[b.MGMT]),
    Case("create-with-root-policy",
         b.desired(b.account("prod", root="absent"),
                   features=("RootCredentialsManagement", "RootSessions")),
         b.observed(trusted_access_iam=True,
                    root_features=("RootCredentialsManagement", "RootSessions")),
         [("account.prod", "create"), ("access_role.prod", "create"),
          ("root_credentials.prod", "update")], unmanaged=[b.MGMT]),
    Case("email-match-case-insensitive", b.desired(b.account("prod", email="AWS+Prod@Example.com")),
         b.observed(PROD), [], unmanaged=[b.MGMT]),
    # A request in progress is a change (apply waits for it), never "no changes".
    Case("create-in-progress-is-a-change", b.desired(b.account("prod", root="absent"),
                                                     features=BOTH),
         b.observed(create_requests=(CreateAccountRequest("car-1", "prod", "IN_PROGRESS"),),
                    trusted_access_iam=True, root_features=BOTH),
         [("account.prod", "create"), ("access_role.prod", "create"),
          ("root_credentials.prod", "update")], unmanaged=[b.MGMT]),
    Case("create-succeeded-is-that-account", b.desired(b.account("prod")),
         b.observed(b.member("prod", "210000000001", email="other@example.com"),
                    create_requests=(CreateAccountRequest("car-1", "prod", "SUCCEEDED",
                                                          account_id="210000000001"),)),
         [], unmanaged=[b.MGMT]),
    Case("create-failed-warns-and-recreates", b.desired(b.account("prod")),
         b.observed(create_requests=(CreateAccountRequest(
             "car-1", "prod", "FAILED", failure_reason="EMAIL_ALREADY_EXISTS"),)),
         [("account.prod", "create"), ("access_role.prod", "create")], unmanaged=[b.MGMT],
         warnings=["EMAIL_ALREADY_EXISTS"]),
    Case("created-with-unknown-id-refused", b.desired(b.account("prod", id="299999999999")),
         b.observed(), [], unmanaged=[b.MGMT], errors=["not in the organization"],
         converges=False),
    # ---- account update
    Case("rename", b.desired(b.account("production", email="aws+prod@example.com")),
         b.observed(PROD), [("account.production", "update")], unmanaged=[b.MGMT]),
    Case("move", b.desired(b.account("prod", ou="/Workloads")),
         b.observed(PROD, ous=(b.ou("/Workloads"),)), [("account.prod", "update")],
         unmanaged=[b.MGMT]),
    Case("move-into-new-ou", b.desired(b.account("prod", ou="/Workloads")), b.observed(PROD),
         [("ou./Workloads", "create"), ("account.prod", "update")], unmanaged=[b.MGMT]),
    Case("tags-changed", b.desired(b.account("prod", tags={"team": "payments"})),
         b.observed(replace(PROD, tags={"team": "billing"})), [("account.prod", "update")],
         unmanaged=[b.MGMT]),
    Case("tags-empty-removes", b.desired(b.account("prod", tags={})),
         b.observed(replace(PROD, tags={"team": "billing"})), [("account.prod", "update")],
         unmanaged=[b.MGMT]),
    Case("tags-unmanaged-kept", b.desired(b.account("prod")),
         b.observed(replace(PROD, tags={"team": "billing"})), [], unmanaged=[b.MGMT]),
    Case("tags-same", b.desired(b.account("prod", tags={"a": "1", "b": "2"})),
         b.observed(replace(PROD, tags={"b": "2", "a": "1"})), [], unmanaged=[b.MGMT]),
    Case("changed-email-by-id-refused",
         b.desired(b.account("prod", id="210000000001", email="new@example.com")),
         b.observed(PROD), [], errors=["cannot be changed"], unmanaged=[b.MGMT],
         converges=False),
    # ---- close
    Case("close-active", b.desired(b.account("prod", state="closed")), b.observed(PROD),
         [("account.prod", "close")], destructive=["account.prod"], unmanaged=[b.MGMT]),
    Case("close-already-suspended", b.desired(b.account("prod", state="closed")),
         b.observed(replace(PROD, state="SUSPENDED")), [], unmanaged=[b.MGMT]),
    Case("close-already-closed", b.desired(b.account("prod", state="closed")),
         b.observed(replace(PROD, state="CLOSED")), [], unmanaged=[b.MGMT]),
    Case("close-absent-never-created", b.desired(b.account("prod", state="closed")),
         b.observed(), [], unmanaged=[b.MGMT]),
    Case("closed-in-aws-active-in-file", b.desired(b.account("prod")),
         b.observed(replace(PROD, state="CLOSED")), [], errors=["CLOSED in AWS"],
         unmanaged=[b.MGMT], converges=False),
    Case("close-is-last", b.desired(b.account("prod", state="closed"), b.account("dev")),
         b.observed(PROD),
         [("account.dev", "create"), ("access_role.dev", "create"), ("account.prod", "close")],
         destructive=["account.prod"], unmanaged=[b.MGMT]),
    # ---- invite
    Case("invite", b.desired(b.account("legacy", source="invited", id="310000000001")),
         b.observed(), [("account.legacy", "invite")],
         deferred=["access_role.legacy", "account.legacy"],
         listed=INVITED_LISTED, unmanaged=[b.MGMT], converges=False),
    Case("invite-pending-deferred",
         b.desired(b.account("legacy", source="invited", id="310000000001")),
         b.observed(handshakes=(Handshake("h-1", "OPEN", "ACCOUNT", "310000000001",
                                          expires_at="2026-12-01T00:00:00Z"),)),
         [], deferred=["account.legacy", "access_role.legacy"],
         listed=INVITED_LISTED, unmanaged=[b.MGMT], converges=False),
    Case("invite-expired-resent",
         b.desired(b.account("legacy", source="invited", id="310000000001")),
         b.observed(handshakes=(Handshake("h-1", "EXPIRED", "ACCOUNT", "310000000001"),)),
         [("account.legacy", "invite")], deferred=["access_role.legacy", "account.legacy"],
         listed=INVITED_LISTED, unmanaged=[b.MGMT], converges=False),
    Case("invited-joined-bootstrap",
         b.desired(b.account("legacy", source="invited", id="310000000001")),
         b.observed(b.member("legacy", "310000000001", joined="INVITED"),
                    roles=(ObservedRole("310000000001", "OrganizationAccountAccessRole",
                                        "not_assumable", error="AccessDenied"),)),
         [("access_role.legacy", "bootstrap")], unmanaged=[b.MGMT], converges=False),
    Case("invited-joined-bootstrap-profile",
         b.desired(b.account("legacy", source="invited", id="310000000001",
                             bootstrap_profile="legacy-admin")),
         b.observed(b.member("legacy", "310000000001", joined="INVITED"),
                    roles=(ObservedRole("310000000001", "OrganizationAccountAccessRole",
                                        "not_assumable"),)),
         [("access_role.legacy", "create")], unmanaged=[b.MGMT]),
    # ---- access role
    Case("role-equivalent-spelling", b.desired(b.account("prod")),
         b.observed(PROD, roles=(b.role_ok(PROD.id, trust_policy={
             "Statement": {"Sid": "x", "Effect": "Allow", "Principal": {"AWS": [b.MGMT]},
                           "Action": ["STS:AssumeRole"]}}, attached=(),
             inline={"AdministratorAccess": ADMIN_INLINE}),)),
         [], unmanaged=[b.MGMT]),
    Case("role-trust-edited", b.desired(b.account("prod")),
         b.observed(PROD, roles=(b.role_ok(PROD.id, trust_policy=b.trust(
             principal="arn:aws:iam::999999999999:root")),)),
         [("access_role.prod", "update")], unmanaged=[b.MGMT]),
    Case("role-mfa-required", b.desired(b.account("prod", require_mfa=True)), b.observed(PROD),
         [("access_role.prod", "update")], unmanaged=[b.MGMT]),
    Case("role-mfa-in-sync", b.desired(b.account("prod", require_mfa=True)),
         b.observed(PROD, roles=(b.role_ok(PROD.id, trust_policy=b.trust(mfa=True)),)), [],
         unmanaged=[b.MGMT]),
    Case("role-admin-removed", b.desired(b.account("prod")),
         b.observed(PROD, roles=(b.role_ok(PROD.id, attached=()),)),
         [("access_role.prod", "update")], unmanaged=[b.MGMT]),
    Case("role-policies-changed", b.desired(b.account("prod", policies=(READONLY,))),
         b.observed(PROD), [("access_role.prod", "update")], unmanaged=[b.MGMT]),
    Case("role-inline-drift", b.desired(b.account("prod")),
         b.observed(PROD, roles=(b.role_ok(PROD.id, inline={"extra": {
             "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}),)),
         [("access_role.prod", "update")], unmanaged=[b.MGMT]),
    Case("role-deleted", b.desired(b.account("prod")),
         b.observed(PROD, roles=(ObservedRole(PROD.id, "OrganizationAccountAccessRole",
                                              "missing", via_role="OrgsyncReader"),)),
         [("access_role.prod", "create")], unmanaged=[b.MGMT]),
    Case("role-not-assumable-created-account", b.desired(b.account("prod")),
         b.observed(PROD, roles=(ObservedRole(PROD.id, "OrganizationAccountAccessRole",
                                              "not_assumable"),)),
         [("access_role.prod", "bootstrap")], unmanaged=[b.MGMT], converges=False),
    Case("mfa-role-unreadable-without-mfa-deferred",
         b.desired(b.account("prod", require_mfa=True)),
         b.observed(PROD, roles=(ObservedRole(PROD.id, "OrganizationAccountAccessRole",
                                              "not_assumable", error="AccessDenied"),)),
         [], deferred=["access_role.prod"], unmanaged=[b.MGMT], converges=False),
    Case("mfa-role-invited-still-bootstraps",
         b.desired(b.account("legacy", source="invited", id="310000000001", require_mfa=True)),
         b.observed(b.member("legacy", "310000000001", joined="INVITED"),
                    roles=(ObservedRole("310000000001", "OrganizationAccountAccessRole",
                                        "not_assumable"),)),
         [("access_role.legacy", "bootstrap")], unmanaged=[b.MGMT], converges=False),
    Case("management-gets-no-role-or-root",
         b.desired(b.account("management", id=b.MGMT, root="absent")),
         b.observed(roles=()), []),
    # ---- groups
    Case("group-create", b.desired(b.account("prod"),
                                   groups=(b.group("admins", members=("alice",),
                                                   grants=(b.grant("prod"),)),)),
         b.observed(PROD, existing_users=("alice",)), [("group.admins", "create")],
         unmanaged=[b.MGMT]),
    Case("group-in-sync-equivalent", b.desired(
        b.account("prod"), groups=(b.group("admins", members=("alice",),
                                           grants=(b.grant("prod"),)),)),
         b.observed(PROD, existing_users=("alice",), groups=(_group_observed(
             "admins", members=("alice",), inline={"orgsync-assume": {"Statement": [
                 {"Effect": "Allow", "Action": "STS:assumerole", "Resource": ROLE_PROD,
                  "Sid": "Grant"}]}}),)),
         [], unmanaged=[b.MGMT]),
    Case("group-member-removed", b.desired(
        b.account("prod"), groups=(b.group("admins", members=("alice", "bob")),)),
         b.observed(PROD, existing_users=("alice", "bob"),
                    groups=(_group_observed("admins", members=("alice",)),)),
         [("group.admins", "update")], unmanaged=[b.MGMT]),
    Case("group-grant-condition-changed", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant(
            "prod", require_mfa=True, source_ips=("203.0.113.0/24",)),)),)),
         b.observed(PROD, groups=(_group_observed(
             "admins", inline={"orgsync-assume": _grant_doc(ROLE_PROD)}),)),
         [("group.admins", "update")], unmanaged=[b.MGMT]),
    Case("group-grant-conditions-in-sync", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant(
            "prod", require_mfa=True, source_ips=("203.0.113.0/24",)),)),)),
         b.observed(PROD, groups=(_group_observed("admins", inline={
             "orgsync-assume": _grant_doc(ROLE_PROD, condition={
                 "IpAddress": {"aws:sourceip": "203.0.113.0/24"},
                 "Bool": {"aws:MultiFactorAuthPresent": True}})}),)),
         [], unmanaged=[b.MGMT]),
    Case("group-delete", b.desired(b.account("prod")),
         b.observed(PROD, groups=(_group_observed("old"),)), [("group.old", "delete")],
         destructive=["group.old"], unmanaged=[b.MGMT]),
    Case("group-outside-managed-path-untouched", b.desired(b.account("prod")),
         b.observed(PROD, groups=(_group_observed("other", path="/team/"),)), [],
         unmanaged=[b.MGMT]),
    Case("group-missing-user-deferred", b.desired(groups=(b.group("admins", members=("ghost",)),)),
         b.observed(), [("group.admins", "create")], deferred=["group.admins"],
         warnings=["IAM user(s) ghost do not exist"], unmanaged=[b.MGMT]),
    Case("group-missing-users-existing-ones-added", b.desired(groups=(b.group(
        "admins", members=("alice", "bob", "ghost")),)),
         b.observed(existing_users=("alice",),
                    groups=(_group_observed("admins"),)),
         [("group.admins", "update")], deferred=["group.admins"],
         warnings=["IAM user(s) bob, ghost do not exist"], unmanaged=[b.MGMT]),
    Case("group-missing-user-in-sync-otherwise", b.desired(groups=(b.group(
        "admins", members=("alice", "ghost")),)),
         b.observed(existing_users=("alice",),
                    groups=(_group_observed("admins", members=("alice",)),)),
         [], deferred=["group.admins"], warnings=["ghost do not exist"], unmanaged=[b.MGMT]),
    Case("group-grant-to-new-account-depends", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),)),
         b.observed(), [("account.prod", "create"), ("access_role.prod", "create"),
                        ("group.admins", "create")], unmanaged=[b.MGMT]),
    Case("group-grant-to-creating-account-deferred", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),)),
         b.observed(create_requests=(CreateAccountRequest("car-1", "prod", "IN_PROGRESS"),)),
         [("account.prod", "create"), ("access_role.prod", "create"), ("group.admins", "create")],
         unmanaged=[b.MGMT]),
    # ---- organization and root credentials
    Case("features-enable", b.desired(features=("RootCredentialsManagement", "RootSessions")),
         b.observed(), [("organization.organization", "update")], unmanaged=[b.MGMT]),
    Case("features-in-sync", b.desired(features=("RootSessions", "RootCredentialsManagement")),
         b.observed(trusted_access_iam=True,
                    root_features=("RootCredentialsManagement", "RootSessions")),
         [], unmanaged=[b.MGMT]),
    Case("features-disable", b.desired(features=()),
         b.observed(trusted_access_iam=True, root_features=("RootSessions",)),
         [("organization.organization", "update")], unmanaged=[b.MGMT]),
    Case("root-absent-deletes-password", b.desired(
        b.account("prod", root="absent"), features=BOTH),
         b.observed(PROD, trusted_access_iam=True, root_features=BOTH,
                    root_credentials={PROD.id: ObservedRootCredentials(PROD.id, password=True)}),
         [("root_credentials.prod", "update")], destructive=["root_credentials.prod"],
         unmanaged=[b.MGMT]),
    Case("root-absent-in-sync", b.desired(
        b.account("prod", root="absent"), features=BOTH),
         b.observed(PROD, trusted_access_iam=True, root_features=BOTH,
                    root_credentials={PROD.id: ObservedRootCredentials(PROD.id)}),
         [], unmanaged=[b.MGMT]),
    Case("root-recovery-creates-password", b.desired(
        b.account("prod", root="password_recovery"), features=BOTH),
         b.observed(PROD, trusted_access_iam=True, root_features=BOTH,
                    root_credentials={PROD.id: ObservedRootCredentials(PROD.id, mfa=True)}),
         [("root_credentials.prod", "update")], unmanaged=[b.MGMT]),
    Case("root-recovery-keeps-mfa", b.desired(
        b.account("prod", root="password_recovery"), features=BOTH),
         b.observed(PROD, trusted_access_iam=True, root_features=BOTH,
                    root_credentials={PROD.id: ObservedRootCredentials(
                        PROD.id, password=True, mfa=True)}),
         [], unmanaged=[b.MGMT]),
    Case("root-after-features-enabled", b.desired(
        b.account("prod", root="absent"), features=BOTH),
         b.observed(PROD, root_credentials={PROD.id: ObservedRootCredentials(
             PROD.id, error="features disabled")}),
         [("organization.organization", "update")], deferred=["root_credentials.prod"],
         listed=[("root_credentials.prod", "update")],
         destructive_deferred=["root_credentials.prod"],
         unmanaged=[b.MGMT], converges=False),
    Case("root-policy-without-feature-refused", b.desired(b.account("prod", root="absent")),
         b.observed(PROD, trusted_access_iam=True, root_features=()),
         [("root_credentials.prod", "update")], errors=["RootCredentialsManagement"],
         destructive=["root_credentials.prod"], unmanaged=[b.MGMT], converges=False),
    Case("wrong-organization", b.desired(b.account("prod")),
         b.observed(organization=b.organization(management="999999999999")), [],
         errors=["999999999999"], converges=False),
]


def _plan_summary(result: Any) -> dict[str, Any]:
    return {
        "changes": [(c.address, c.action.value) for c in result.changes],
        "deferred": sorted({d.address for d in result.deferred}),
        "listed": sorted((d.address, d.action.value) for d in result.listed_deferred),
        "unmanaged": [u.id if u.kind == "account" else u.name for u in result.unmanaged],
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_table(case: Case) -> None:
    result = plan(case.desired, case.observed)
    summary = _plan_summary(result)
    assert summary["changes"] == case.changes
    assert summary["deferred"] == sorted(set(case.deferred))
    assert summary["listed"] == sorted(case.listed)
    assert [d.address for d in result.destructive_deferred] == case.destructive_deferred
    assert summary["unmanaged"] == case.unmanaged
    assert len(result.errors) == len(case.errors), result.errors
    for expected, actual in zip(case.errors, result.errors, strict=True):
        assert expected in actual
    assert len(result.warnings) == len(case.warnings), result.warnings
    for expected, actual in zip(case.warnings, result.warnings, strict=True):
        assert expected in actual
    assert [c.address for c in result.destructive_changes] == case.destructive
    # pure and deterministic
    assert plan(case.desired, case.observed) == result
    if case.converges:
        after = b.converge(result, case.observed)
        again = plan(case.desired, after)
        assert [(c.address, c.action.value, c.diff) for c in again.changes] == []


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    kinds = {a.split(".")[0] for c in CASES for a, _ in c.changes}
    assert kinds == {"organization", "ou", "account", "access_role", "group", "root_credentials"}
    actions = {act for c in CASES for _, act in c.changes}
    assert actions == {"create", "invite", "update", "delete", "close", "bootstrap"}


def test_admin_policy_is_the_default() -> None:
    assert b.account("x").access_role.policies == (ADMINISTRATOR_ACCESS,)
