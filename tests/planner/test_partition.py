"""Partitions: an organization in aws-cn or aws-us-gov gets trust policies, grants and policy ARNs
in its own partition (read from the organization's ARN), and ``aws`` wherever it is unknown."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler import policy
from reconciler.apply.group import _policy_arn
from reconciler.observed import ObservedGroup, ObservedState
from reconciler.plan import Change, Plan
from reconciler.planner import plan

from . import builders as b

CN_ORG = "arn:aws-cn:organizations::123456789012:organization/o-example"
PROD = b.member("prod", "210000000001")
CN_ADMIN = "arn:aws-cn:iam::aws:policy/AdministratorAccess"
ADMIN_INLINE = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _org(arn: str) -> Any:
    return replace(b.organization(), arn=arn)


def _cn_observed(*accounts: Any, **kwargs: Any) -> ObservedState:
    return b.observed(*accounts, organization=_org(CN_ORG), **kwargs)


def _cn_role(account_id: str, *, principal: str | None = None) -> Any:
    return b.role_ok(account_id, attached=(), inline={"AdministratorAccess": ADMIN_INLINE},
                     trust_policy=b.trust(principal=principal or f"arn:aws-cn:iam::{b.MGMT}:root"))


def _arns(value: Any) -> set[str]:
    """Every ARN-looking string in a JSON value."""
    text = json.dumps(value)
    return {part.split('"')[0] for part in text.split('"arn:')[1:]}


def _changes(result: Plan) -> dict[str, Change]:
    return {c.address: c for c in result.changes}


@pytest.mark.parametrize(("arn", "expected"), [
    (CN_ORG, "aws-cn"),
    ("arn:aws-us-gov:organizations::123456789012:organization/o-x", "aws-us-gov"),
    ("arn:aws:organizations::123456789012:organization/o-x", "aws"),
    ("", "aws"), ("not-an-arn", "aws"), (None, "aws"),
])
def test_partition_of(arn: str | None, expected: str) -> None:
    assert policy.partition_of(arn) == expected


# (case id, desired, observed, expected (address, action) list)
CASES: list[tuple[str, Any, ObservedState, list[tuple[str, str]]]] = [
    ("cn-in-sync", b.desired(b.account("prod")),
     _cn_observed(PROD, roles=(_cn_role(PROD.id),)), []),
    ("cn-commercial-trust-is-wrong", b.desired(b.account("prod")),
     _cn_observed(PROD, roles=(_cn_role(PROD.id, principal=f"arn:aws:iam::{b.MGMT}:root"),)),
     [("access_role.prod", "update")]),
    ("cn-new-account-and-grant", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),)),
     _cn_observed(), [("account.prod", "create"), ("access_role.prod", "create"),
                      ("group.admins", "create")]),
    ("cn-grant-in-sync", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),)),
     _cn_observed(PROD, roles=(_cn_role(PROD.id),), groups=(ObservedGroup(
         name="admins", path="/orgsync/", arn=f"arn:aws-cn:iam::{b.MGMT}:group/orgsync/admins",
         members=(), inline_policies={"orgsync-assume": {"Statement": [
             {"Effect": "Allow", "Action": "sts:AssumeRole",
              "Resource": f"arn:aws-cn:iam::{PROD.id}:role/OrganizationAccountAccessRole"}]}},
         attached_policies=()),)), []),
    ("cn-commercial-grant-is-wrong", b.desired(
        b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),)),
     _cn_observed(PROD, roles=(_cn_role(PROD.id),), groups=(ObservedGroup(
         name="admins", path="/orgsync/", arn=f"arn:aws-cn:iam::{b.MGMT}:group/orgsync/admins",
         members=(), inline_policies={"orgsync-assume": {"Statement": [
             {"Effect": "Allow", "Action": "sts:AssumeRole",
              "Resource": f"arn:aws:iam::{PROD.id}:role/OrganizationAccountAccessRole"}]}},
         attached_policies=()),)), [("group.admins", "update")]),
]


@pytest.mark.parametrize(("case_id", "desired", "observed", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_cn_plan_table(case_id: str, desired: Any, observed: ObservedState,
                       expected: list[tuple[str, str]]) -> None:
    result = plan(desired, observed)
    assert [(c.address, c.action.value) for c in result.changes] == expected, case_id
    assert not result.errors
    for change in result.changes:
        if change.after is not None and change.kind in ("access_role", "group"):
            assert {a.split(":")[0] for a in _arns(change.after)} == {"aws-cn"}, change.after


def test_cn_documents_name_the_cn_partition() -> None:
    desired = b.desired(b.account("prod"),
                        groups=(b.group("admins", grants=(b.grant("prod", require_mfa=True),)),))
    changes = _changes(plan(desired, _cn_observed()))
    role = changes["access_role.prod"].after
    assert role is not None
    assert role["trust_policy"]["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws-cn:iam::{b.MGMT}:root"}
    assert role["policies"] == [CN_ADMIN]
    grant = changes["group.admins"].after
    assert grant is not None
    statement = grant["inline_policies"]["orgsync-assume"]["Statement"][0]
    assert statement["Resource"] == [
        "arn:aws-cn:iam::${account.prod.id}:role/OrganizationAccountAccessRole"]


def test_cn_large_grant_uses_the_cn_wildcard_role_arn() -> None:
    accounts = [b.account(f"a{i:02d}") for i in range(12)]
    members = [b.member(f"a{i:02d}", f"2100000000{i:02d}") for i in range(12)]
    desired = b.desired(*accounts, groups=(b.group(
        "admins", grants=tuple(b.grant(a.name) for a in accounts)),))
    observed = _cn_observed(*members, roles=tuple(_cn_role(m.id) for m in members))
    after = _changes(plan(desired, observed))["group.admins"].after
    assert after is not None
    statement = after["inline_policies"]["orgsync-assume"]["Statement"][0]
    assert statement["Resource"] == "arn:aws-cn:iam::*:role/OrganizationAccountAccessRole"
    assert len(statement["Condition"]["StringEquals"]["aws:ResourceAccount"]) == 12


def test_cn_bootstrap_instructions_trust_the_cn_root() -> None:
    invited = b.member("legacy", "310000000001", joined="INVITED")
    desired = b.desired(b.account("legacy", source="invited", id=invited.id))
    observed = _cn_observed(invited, roles=(replace(
        b.role_ok(invited.id), status="not_assumable", error="AccessDenied"),))
    change = _changes(plan(desired, observed))["access_role.legacy"]
    assert change.action.value == "bootstrap"
    assert change.instructions is not None
    assert f'AWS: "arn:aws-cn:iam::{b.MGMT}:root"' in change.instructions
    assert CN_ADMIN in change.instructions
    assert "arn:aws:" not in change.instructions


def test_unknown_partition_is_the_commercial_one() -> None:
    desired = b.desired(b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),))
    for arn in ("", "o-example"):
        changes = _changes(plan(desired, b.observed(organization=_org(arn))))
        for address in ("access_role.prod", "group.admins"):
            after = changes[address].after
            assert {a.split(":")[0] for a in _arns(after)} == {"aws"}, after


def test_apply_names_group_policies_in_the_organizations_partition() -> None:
    for arn, partition in ((CN_ORG, "aws-cn"), ("", "aws")):
        ctx: Any = SimpleNamespace(observed=b.observed(organization=_org(arn)),
                                   management_account_id=b.MGMT)
        assert _policy_arn(ctx, "/orgsync/", "orgsync-admins-assume-1") == (
            f"arn:{partition}:iam::{b.MGMT}:policy/orgsync/orgsync-admins-assume-1")


GOV_ORG = "arn:aws-us-gov:organizations::123456789012:organization/o-example"


@pytest.mark.parametrize(("desired", "observed_accounts", "error_start"), [
    (b.desired(b.account("prod")), (), "account prod: accounts cannot be created in an AWS "
     "GovCloud (US) organization: CreateGovCloudAccount"),
    (b.desired(b.account("prod", state="closed")), (PROD,), "account prod: an AWS GovCloud (US) "
     "account is closed through the commercial account it is paired with: CloseAccount"),
])
def test_govcloud_create_and_close_are_explained_plan_errors(desired: Any,
                                                            observed_accounts: Any,
                                                            error_start: str) -> None:
    result = plan(desired, b.observed(*observed_accounts, organization=_org(GOV_ORG)))
    assert [e for e in result.errors if e.startswith(error_start)], result.errors
    assert not [c for c in result.changes if c.kind == "account"]


@pytest.mark.parametrize("org_arn", [CN_ORG, "arn:aws:organizations::123456789012:"
                                     "organization/o-example"])
def test_create_and_close_elsewhere_are_changes(org_arn: str) -> None:
    created = plan(b.desired(b.account("prod")), b.observed(organization=_org(org_arn)))
    assert [c.action.value for c in created.changes if c.kind == "account"] == ["create"]
    closed = plan(b.desired(b.account("prod", state="closed")),
                  b.observed(PROD, organization=_org(org_arn)))
    assert [c.action.value for c in closed.changes if c.kind == "account"] == ["close"]
    assert not closed.errors and not created.errors
