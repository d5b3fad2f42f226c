"""Details the tables do not show: dependencies, reasons, bootstrap instructions, `after` shapes
apply relies on, and that every plan document survives JSON and ``Plan.from_document``."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml

from reconciler.observed import CreateAccountRequest, Handshake, ObservedGroup, ObservedRole
from reconciler.plan import Plan
from reconciler.planner import plan

from . import builders as b
from .test_plan_table import CASES

BOTH = ("RootCredentialsManagement", "RootSessions")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_document_round_trips(case: object) -> None:
    document = plan(case.desired, case.observed).to_document()  # type: ignore[attr-defined]
    assert json.loads(json.dumps(document)) == document
    assert Plan.from_document(document).to_document() == document


def _by_address(result: Plan) -> dict[str, object]:
    return {c.address: c for c in result.changes}


def test_dependencies_of_a_new_account() -> None:
    desired = b.desired(
        b.account("prod", ou="/Workloads/Prod", root="absent"),
        groups=(b.group("admins", grants=(b.grant("prod"),)),),
        features=BOTH)
    result = plan(desired, b.observed())
    changes = _by_address(result)
    assert [c.address for c in result.changes] == [
        "organization.organization", "ou./Workloads", "ou./Workloads/Prod", "account.prod",
        "access_role.prod", "group.admins", "root_credentials.prod"]
    assert changes["ou./Workloads/Prod"].depends_on == ("ou./Workloads",)  # type: ignore[attr-defined]
    assert changes["account.prod"].depends_on == ("ou./Workloads/Prod",)  # type: ignore[attr-defined]
    assert changes["access_role.prod"].depends_on == ("account.prod",)  # type: ignore[attr-defined]
    assert changes["group.admins"].depends_on == ("account.prod",)  # type: ignore[attr-defined]
    assert changes["root_credentials.prod"].depends_on == (  # type: ignore[attr-defined]
        "organization.organization", "account.prod")
    role = changes["access_role.prod"].after  # type: ignore[attr-defined]
    assert role["account_id"] == "${account.prod.id}"
    assert set(role) == {"account_id", "name", "trust_policy", "policies", "inline_policies",
                         "via_role", "bootstrap_profile"}
    grant = changes["group.admins"].after["inline_policies"]["orgsync-assume"]  # type: ignore[attr-defined]
    assert grant["Statement"][0]["Resource"] == [
        "arn:aws:iam::${account.prod.id}:role/OrganizationAccountAccessRole"]
    account = changes["account.prod"].after  # type: ignore[attr-defined]
    assert set(account) == {"name", "email", "ou", "tags", "iam_user_access_to_billing",
                            "role_name"}


def test_deferred_reasons_name_the_handshake_and_the_pending_create_is_a_change() -> None:
    desired = b.desired(b.account("legacy", source="invited", id="310000000001"),
                        b.account("fresh"))
    observed = b.observed(
        handshakes=(Handshake("h-123", "OPEN", "ACCOUNT", "310000000001",
                              expires_at="2026-12-01T00:00:00Z"),),
        create_requests=(CreateAccountRequest("car-456", "fresh", "IN_PROGRESS"),))
    result = plan(desired, observed)
    waiting = {d.address: d.waiting_for for d in result.deferred}
    assert "h-123" in waiting["account.legacy"] and "2026-12-01" in waiting["account.legacy"]
    assert "h-123" in waiting["access_role.legacy"]
    # The request in progress is a change: apply waits for it (and never requests another one).
    changes = {c.address: c for c in result.changes}
    assert [a for a in changes if a.startswith("account.")] == ["account.fresh"]
    fresh = changes["account.fresh"]
    assert fresh.action.value == "create"
    assert fresh.before == {"create_request_id": "car-456", "state": "IN_PROGRESS"}
    assert "car-456" in fresh.reason and "IN_PROGRESS" in fresh.reason
    # What the invited account gets once it joins is listed with its action and after-state.
    listed = {d.address: d for d in result.listed_deferred}
    assert listed["account.legacy"].action is not None
    assert listed["account.legacy"].action.value == "update"
    assert listed["account.legacy"].after == {"id": "310000000001", "name": "legacy",
                                              "ou": "/", "tags": None}


def test_bootstrap_instructions_are_complete() -> None:
    desired = b.desired(b.account("legacy", source="invited", id="310000000001",
                                  require_mfa=True))
    observed = b.observed(b.member("legacy", "310000000001", joined="INVITED"),
                          roles=(ObservedRole("310000000001", "OrganizationAccountAccessRole",
                                              "not_assumable", error="AccessDenied: no"),))
    change = plan(desired, observed).changes[0]
    assert change.action.value == "bootstrap"
    text = change.instructions or ""
    start = text.index("AWSTemplateFormatVersion")
    template = yaml.safe_load(text[start:text.index("\n\n", start)])
    role = template["Resources"]["OrgsyncAccessRole"]["Properties"]
    assert role["RoleName"] == "OrganizationAccountAccessRole"
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"]["AWS"] == "arn:aws:iam::123456789012:root"
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert "aws cloudformation deploy --template-file orgsync-access-role.yaml" in text
    assert "--capabilities CAPABILITY_NAMED_IAM" in text
    assert "aws iam create-role --role-name OrganizationAccountAccessRole" in text
    assert "310000000001" in text
    assert "AccessDenied" in change.reason


def test_management_account_is_unmanaged_unless_described() -> None:
    result = plan(b.desired(), b.observed())
    assert [(u.kind, u.id) for u in result.unmanaged] == [("account", b.MGMT)]


def test_grants_to_a_pending_invitation_are_written_with_its_known_id() -> None:
    desired = b.desired(b.account("legacy", source="invited", id="310000000001"),
                        groups=(b.group("g", grants=(b.grant("legacy"),)),))
    observed = b.observed(handshakes=(Handshake("h-1", "OPEN", "ACCOUNT", "310000000001"),))
    group = next(c for c in plan(desired, observed).changes if c.kind == "group")
    assert "310000000001" in json.dumps(group.after)


def test_foreign_policies_on_a_group_are_kept_and_counted() -> None:
    foreign = tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(10))
    desired = b.desired(*(b.account(f"a{i:04d}") for i in range(600)),
                        groups=(b.group("g", grants=tuple(b.grant(f"a{i:04d}")
                                                          for i in range(600))),))
    observed = b.observed(*(b.member(f"a{i:04d}", f"{300000000000 + i}") for i in range(600)),
                          groups=(ObservedGroup("g", "/orgsync/", "arn",
                                                attached_policies=foreign),))
    result = plan(desired, observed)
    assert any("at most" in e and "10 of them" in e for e in result.errors)
    assert not any(c.kind == "group" for c in result.changes)
    fewer = replace(observed, groups=(ObservedGroup("g", "/orgsync/", "arn",
                                                    attached_policies=foreign[:8]),))
    result = plan(desired, fewer)
    group = next(c for c in result.changes if c.kind == "group")
    assert result.errors == ()
    assert len(group.after["managed_policies"]) == 1  # type: ignore[index]
    assert all(p["name"] == "orgsync-g-assume-1"
               for p in group.after["managed_policies"])  # type: ignore[index]


def test_a_member_that_is_not_an_iam_user_gets_did_you_mean_and_the_removal_is_plain() -> None:
    # members: [alcie] for alice: the group is planned without alcie, which removes alice.
    desired = b.desired(groups=(b.group("admins", members=("alcie",)),))
    observed = replace(b.observed(), existing_users=("alice",),
                       similar_users=(("alcie", ("alice",)),),
                       groups=(ObservedGroup(name="admins", path="/orgsync/",
                                             arn=f"arn:aws:iam::{b.MGMT}:group/orgsync/admins",
                                             members=("alice",)),))
    result = plan(desired, observed)
    change = next(c for c in result.changes if c.address == "group.admins")
    assert change.action.value == "update"
    assert change.reason.startswith("REMOVES existing member(s) alice from the group (the file "
                                    "lists alcie, which is not an IAM user: did you mean alice?)")
    assert [(d.path, d.before, d.after) for d in change.diff
            if d.path.startswith("members")] == [("members[0]", "alice", None)]
    assert any("alcie (did you mean alice?)" in w for w in result.warnings), result.warnings
    waiting = {d.address: d.waiting_for for d in result.deferred}
    assert "alcie (did you mean alice?)" in waiting["group.admins"]
    # no close name: no suggestion
    far = plan(b.desired(groups=(b.group("admins", members=("zed",)),)),
               replace(observed, similar_users=()))
    assert not any("did you mean" in w for w in far.warnings)
