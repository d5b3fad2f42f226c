"""Planner tables for IAM Identity Center (``identity_center:``): permission sets and account
assignments, (desired, observed) -> changes (with attribute diffs), deferred items, unmanaged
entries and errors; every case that can converge is re-planned after a model apply and must have
nothing left."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reconciler.model import (
    AssignmentSpec,
    IdentityCenterSpec,
    PermissionSetSpec,
    PolicyReference,
    canonical_duration,
)
from reconciler.observed import (
    IdentityCenterRequest,
    ObservedAssignment,
    ObservedIdentityCenter,
    ObservedPermissionSet,
    ObservedPrincipal,
    ObservedState,
)
from reconciler.plan import Plan
from reconciler.planner import plan

from . import builders as b

INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
STORE = "d-0123456789"
PROD = b.member("prod", "210000000001")
DEV = b.member("dev", "210000000002")
STRAY = b.member("stray", "210000000003")  # in the organization, not in the file
ADMINS = ObservedPrincipal("GROUP", "g-admins-0000-0000-0000-000000000001", "platform-admins")
AUDITORS = ObservedPrincipal("GROUP", "g-audit-00000-0000-0000-000000000002", "auditors")
ALICE = ObservedPrincipal("USER", "u-alice-00000-0000-0000-000000000003", "alice")
PRINCIPALS = (ADMINS, AUDITORS, ALICE)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DENY_S3 = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": "*"}]}


def ps_spec(name: str = "Admin", **values: Any) -> PermissionSetSpec:
    declared = frozenset(values)
    if "session_duration" in values:
        values["session_duration"] = canonical_duration(values["session_duration"])
    return PermissionSetSpec(name=name, declared=declared, **values)


def ps_arn(name: str) -> str:
    return f"arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-{name.lower():0>16}"


def ps_seen(name: str = "Admin", **values: Any) -> ObservedPermissionSet:
    return ObservedPermissionSet(arn=ps_arn(name), name=name, **values)


def assign(account: str, permission_set: str = "Admin", *, group: str | None = "platform-admins",
           user: str | None = None, wildcard: bool = False) -> AssignmentSpec:
    if user is not None:
        return AssignmentSpec(account, permission_set, "USER", user, wildcard)
    assert group is not None
    return AssignmentSpec(account, permission_set, "GROUP", group, wildcard)


def seen_assign(account: Any, permission_set: str = "Admin",
                principal: ObservedPrincipal = ADMINS) -> ObservedAssignment:
    return ObservedAssignment(account.id, ps_arn(permission_set), principal.type, principal.id)


def desired(*sets: PermissionSetSpec, assignments: tuple[AssignmentSpec, ...] = (),
            exclusive: bool = False, accounts: tuple[Any, ...] | None = None,
            instance_arn: str | None = None) -> Any:
    state = b.desired(*(accounts if accounts is not None
                        else (b.account("prod"), b.account("dev"))))
    return replace(state, identity_center=IdentityCenterSpec(
        instance_arn=instance_arn, exclusive=exclusive, permission_sets=tuple(sets),
        assignments=tuple(sorted(assignments, key=lambda a: a.key))))


def observed(*sets: ObservedPermissionSet, assignments: tuple[ObservedAssignment, ...] = (),
             accounts: tuple[Any, ...] = (PROD, DEV), principals: tuple[Any, ...] = PRINCIPALS,
             requests: tuple[IdentityCenterRequest, ...] = (), instance: str | None = INSTANCE,
             error: str | None = None, **kwargs: Any) -> ObservedState:
    return b.observed(*accounts, identity_center=ObservedIdentityCenter(
        instance_arn=instance, identity_store_id=STORE, permission_sets=tuple(sets),
        assignments=tuple(assignments), principals=tuple(principals), requests=requests,
        error=error), **kwargs)


def converge(result: Plan, state: ObservedState) -> ObservedState:
    """The observed state after a correct apply of ``result``, Identity Center included."""
    after_accounts = b.converge(result, state)
    ids = {a.name: a.id for a in after_accounts.accounts}
    center = state.identity_center
    assert center is not None
    sets = {p.name: p for p in center.permission_sets}
    assignments = set(center.assignments)
    for change in result.changes:
        if change.kind == "permission_set" and change.after is None:
            sets.pop(change.key)
        elif change.kind == "permission_set":
            after = dict(change.after or {})
            current = sets.get(change.key) or ps_seen(change.key)
            values: dict[str, Any] = {}
            for key in ("description", "session_duration", "relay_state", "inline_policy",
                        "permissions_boundary", "managed_policies"):
                if key in after:
                    values[key] = tuple(after[key]) if key == "managed_policies" else after[key]
            if "customer_managed_policies" in after:
                values["customer_managed_policies"] = tuple(
                    (r["name"], r["path"]) for r in after["customer_managed_policies"])
            sets[change.key] = dataclasses.replace(current, outdated_accounts=(), **values)
        elif change.kind == "assignment" and change.after is None:
            before = change.before or {}
            assignments.discard(ObservedAssignment(before["account_id"],
                                                   before["permission_set_arn"],
                                                   before["principal_type"],
                                                   before["principal_id"]))
        elif change.kind == "assignment":
            after = dict(change.after or {})
            account_id = ids[after["account"]]
            assignments.add(ObservedAssignment(account_id, ps_arn(after["permission_set"]),
                                               after["principal_type"], after["principal_id"]))
    return replace(after_accounts, identity_center=replace(
        center, permission_sets=tuple(sorted(sets.values(), key=lambda p: p.name)),
        assignments=tuple(sorted(assignments, key=lambda a: (a.account_id,
                                                             a.permission_set_arn))),
        requests=()))


@dataclass
class Case(b.Case):
    unmanaged: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


ADMIN_FULL = ps_spec("Admin", description="Administrators", session_duration="PT4H",
                     managed_policies=(ADMIN_POLICY,))
ADMIN_SEEN = ps_seen("Admin", description="Administrators", session_duration="PT4H",
                     managed_policies=(ADMIN_POLICY,), provisioned_accounts=(PROD.id,))
CASES = [
    Case("permission-set-create", desired(ADMIN_FULL), observed(),
         [("permission_set.Admin", "create")]),
    Case("permission-set-no-change", desired(ADMIN_FULL), observed(ADMIN_SEEN), []),
    Case("session-duration-spelled-otherwise-is-no-change",
         desired(ps_spec("Admin", session_duration="PT240M")),
         observed(ps_seen("Admin", session_duration="PT4H")), []),
    Case("session-duration-changed", desired(ps_spec("Admin", session_duration="PT8H")),
         observed(ps_seen("Admin", session_duration="PT4H")),
         [("permission_set.Admin", "update")], diff={"permission_set.Admin": ["session_duration"]}),
    Case("description-changed", desired(ps_spec("Admin", description="New")),
         observed(ps_seen("Admin", description="Old")),
         [("permission_set.Admin", "update")], diff={"permission_set.Admin": ["description"]}),
    Case("undeclared-attributes-are-left-alone", desired(ps_spec("Admin")),
         observed(ps_seen("Admin", description="by hand", relay_state="https://x",
                          managed_policies=(READ_POLICY,), inline_policy=DENY_S3)), []),
    Case("managed-policies-exact", desired(ps_spec("Admin", managed_policies=(ADMIN_POLICY,))),
         observed(ps_seen("Admin", managed_policies=(ADMIN_POLICY, READ_POLICY))),
         [("permission_set.Admin", "update")], diff={"permission_set.Admin": ["managed_policies"]}),
    Case("managed-policies-empty-list-removes-all",
         desired(ps_spec("Admin", managed_policies=())),
         observed(ps_seen("Admin", managed_policies=(READ_POLICY,))),
         [("permission_set.Admin", "update")]),
    Case("customer-managed-references-by-path",
         desired(ps_spec("Admin", customer_managed_policies=(PolicyReference("read", "/a/"),))),
         observed(ps_seen("Admin", customer_managed_policies=(("read", "/"),))),
         [("permission_set.Admin", "update")],
         diff={"permission_set.Admin": ["customer_managed_policies"]}),
    Case("inline-policy-equivalent-is-no-change",
         desired(ps_spec("Admin", inline_policy=DENY_S3)),
         observed(ps_seen("Admin", inline_policy={"Statement": {
             "Sid": "x", "Effect": "Deny", "Action": "S3:deletebucket", "Resource": ["*"]}})),
         []),
    Case("inline-policy-edited-out-of-band", desired(ps_spec("Admin", inline_policy=DENY_S3)),
         observed(ps_seen("Admin", inline_policy={"Statement": [
             {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]},
             provisioned_accounts=(PROD.id,))),
         [("permission_set.Admin", "update")]),
    Case("inline-policy-null-removes-it", desired(ps_spec("Admin", inline_policy=None)),
         observed(ps_seen("Admin", inline_policy=DENY_S3)),
         [("permission_set.Admin", "update")], diff={"permission_set.Admin": ["inline_policy"]}),
    Case("inline-policy-added", desired(ps_spec("Admin", inline_policy=DENY_S3)),
         observed(ps_seen("Admin")),
         [("permission_set.Admin", "update")], diff={"permission_set.Admin": ["inline_policy"]}),
    Case("boundary-and-relay-state",
         desired(ps_spec("Admin", permissions_boundary={"name": "b", "path": "/"},
                         relay_state="https://console.aws.amazon.com/s3")),
         observed(ps_seen("Admin", permissions_boundary={"managed_policy_arn": READ_POLICY})),
         [("permission_set.Admin", "update")],
         diff={"permission_set.Admin": ["permissions_boundary", "relay_state"]}),
    Case("update-not-provisioned-yet-is-finished",
         desired(ADMIN_FULL),
         observed(replace(ADMIN_SEEN, outdated_accounts=(PROD.id,))),
         [("permission_set.Admin", "update")],
         diff={"permission_set.Admin": ["outdated_accounts"]}),
    Case("unmanaged-permission-set-reported",
         desired(ADMIN_FULL), observed(ADMIN_SEEN, ps_seen("Legacy")),
         [], unmanaged=[("permission_set", "Legacy")]),
    Case("exclusive-deletes-unlisted-permission-set-after-its-assignments",
         desired(ADMIN_FULL, exclusive=True),
         observed(ADMIN_SEEN, ps_seen("Legacy"),
                  assignments=(seen_assign(PROD, "Legacy", AUDITORS),)),
         [("assignment.prod/Legacy/group:auditors", "delete"),
          ("permission_set.Legacy", "delete")],
         destructive=["assignment.prod/Legacy/group:auditors", "permission_set.Legacy"],
         depends={"permission_set.Legacy": ["assignment.prod/Legacy/group:auditors"]}),
    Case("assignment-create-with-new-permission-set",
         desired(ADMIN_FULL, assignments=(assign("prod"),)), observed(),
         [("permission_set.Admin", "create"), ("assignment.prod/Admin/group:platform-admins",
                                               "create")],
         depends={"assignment.prod/Admin/group:platform-admins": ["permission_set.Admin"]}),
    Case("assignment-present-no-change",
         desired(ADMIN_FULL, assignments=(assign("prod"),)),
         observed(ADMIN_SEEN, assignments=(seen_assign(PROD),)), []),
    Case("assignment-removed-out-of-band",
         desired(ADMIN_FULL, assignments=(assign("prod"), assign("dev"))),
         observed(ADMIN_SEEN, assignments=(seen_assign(PROD),)),
         [("assignment.dev/Admin/group:platform-admins", "create")]),
    Case("assignment-to-a-new-account-waits-for-it",
         desired(ADMIN_FULL, assignments=(assign("prod"), assign("new")),
                 accounts=(b.account("prod"), b.account("new"))),
         observed(ADMIN_SEEN, assignments=(seen_assign(PROD),), accounts=(PROD,)),
         [("account.new", "create"), ("access_role.new", "create"),
          ("assignment.new/Admin/group:platform-admins", "create")],
         depends={"assignment.new/Admin/group:platform-admins": ["account.new"]}),
    Case("assignment-to-an-invited-account-is-deferred-with-its-action",
         desired(ADMIN_FULL, assignments=(assign("legacy"),),
                 accounts=(b.account("legacy", source="invited", id="310987654321"),)),
         observed(ADMIN_SEEN, accounts=()),
         [("account.legacy", "invite")],
         deferred=["account.legacy", "access_role.legacy",
                   "assignment.legacy/Admin/group:platform-admins"], converges=False),
    Case("user-assignments",
         desired(ADMIN_FULL, assignments=(assign("prod", user="alice"),)),
         observed(ADMIN_SEEN),
         [("assignment.prod/Admin/user:alice", "create")]),
    Case("wildcard-leaves-out-the-management-account",
         desired(ADMIN_FULL, assignments=(assign("prod", wildcard=True),
                                          assign("management", wildcard=True)),
                 accounts=(b.account("prod"), b.account("management", id=b.MGMT))),
         observed(ADMIN_SEEN, accounts=(PROD,)),
         [("assignment.prod/Admin/group:platform-admins", "create")]),
    Case("named-management-account-is-assigned",
         desired(ADMIN_FULL, assignments=(assign("management"),),
                 accounts=(b.account("management", id=b.MGMT),)),
         observed(ADMIN_SEEN, accounts=()),
         [("assignment.management/Admin/group:platform-admins", "create")]),
    Case("unknown-group-is-deferred-with-a-hint",
         desired(ADMIN_FULL, assignments=(assign("prod", group="platform-admin"),)),
         observed(ADMIN_SEEN),
         [], deferred=["assignment.prod/Admin/group:platform-admin"],
         warnings=["did you mean platform-admins?"], converges=False),
    Case("unmanaged-assignment-reported",
         desired(ADMIN_FULL, assignments=(assign("prod"),)),
         observed(ADMIN_SEEN, accounts=(PROD, DEV, STRAY),
                  assignments=(seen_assign(PROD), seen_assign(STRAY, "Admin", AUDITORS))),
         [], unmanaged=[("assignment", "stray/Admin/group:auditors")]),
    Case("exclusive-deletes-unlisted-assignment",
         desired(ADMIN_FULL, assignments=(assign("prod"),), exclusive=True),
         observed(ADMIN_SEEN, assignments=(seen_assign(PROD), seen_assign(DEV, "Admin", ALICE))),
         [("assignment.dev/Admin/user:alice", "delete")],
         destructive=["assignment.dev/Admin/user:alice"]),
    Case("assignment-request-in-progress-is-followed",
         desired(ADMIN_FULL, assignments=(assign("prod"),)),
         observed(ADMIN_SEEN, requests=(IdentityCenterRequest(
             "create", "req-1", "IN_PROGRESS", PROD.id, ps_arn("Admin"), "GROUP", ADMINS.id),)),
         [("assignment.prod/Admin/group:platform-admins", "create")]),
    Case("no-instance-is-an-error", desired(ADMIN_FULL),
         observed(instance=None, error="no IAM Identity Center instance is enabled"),
         [], errors=["identity_center: no IAM Identity Center instance"], converges=False),
    Case("pinned-instance-mismatch-is-an-error",
         desired(ADMIN_FULL, instance_arn="arn:aws:sso:::instance/ssoins-ffffffffffffffff"),
         observed(), [], errors=["is not this organization's instance"], converges=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_identity_center_table(case: Case) -> None:
    result = plan(case.desired, case.observed)
    assert [(c.address, c.action.value) for c in result.changes] == case.changes
    assert [c.address for c in result.changes if c.destructive] == case.destructive
    assert [d.address for d in result.deferred] == case.deferred
    assert [(u.kind, u.name) for u in result.unmanaged
            if u.kind in ("permission_set", "assignment")] == case.unmanaged
    for expected in case.errors:
        assert any(expected in e for e in result.errors), result.errors
    if not case.errors:
        assert result.errors == ()
    for expected in case.warnings:
        assert any(expected in w for w in result.warnings), result.warnings
    by_address = {c.address: c for c in result.changes}
    for address, paths in case.diff.items():
        assert [d.path for d in by_address[address].diff] == paths
    for address, needed in case.depends.items():
        assert all(n in by_address[address].depends_on for n in needed), \
            by_address[address].depends_on
    if case.converges:
        again = plan(case.desired, converge(result, case.observed))
        assert [c.address for c in again.changes] == []


def test_inline_policy_drift_names_the_statement_that_changed() -> None:
    result = plan(desired(ps_spec("Admin", inline_policy=DENY_S3)),
                  observed(ps_seen("Admin", inline_policy={"Statement": [
                      {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]},
                      provisioned_accounts=(PROD.id,))))
    (change,) = result.changes
    assert change.diff and all(d.path.startswith("inline_policy.Statement") for d in change.diff)
    assert {d.after for d in change.diff} >= {"s3:DeleteBucket"}
    assert "then provisioned to its accounts" in change.reason
    assert change.after is not None and change.after["arn"] == ps_arn("Admin")


def test_in_progress_request_is_named_in_before_and_reason() -> None:
    request = IdentityCenterRequest("create", "req-1", "IN_PROGRESS", PROD.id, ps_arn("Admin"),
                                    "GROUP", ADMINS.id)
    result = plan(desired(ADMIN_FULL, assignments=(assign("prod"),)),
                  observed(ADMIN_SEEN, requests=(request,)))
    (change,) = result.changes
    assert change.before == {"request_id": "req-1", "status": "IN_PROGRESS"}
    assert "req-1" in change.reason and "no second request" in change.reason


def test_no_section_no_identity_center_changes() -> None:
    state = b.desired(b.account("prod"))
    result = plan(state, observed(ps_seen("Legacy"), assignments=(seen_assign(PROD, "Legacy"),)))
    assert [u for u in result.unmanaged if u.kind != "account"] == []
    assert result.changes == ()
