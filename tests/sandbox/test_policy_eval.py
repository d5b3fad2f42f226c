"""The sandbox's policy evaluator on its own: a table of (policies, request) -> decision, for the
operators and elements AWS documents (no HTTP; the AssumeRole tests exercise it end to end)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.sandbox.policy_eval import (
    Decision,
    Principal,
    authorize,
    evaluate,
    evaluate_resource_policy,
)

ROLE = "arn:aws:iam::210987654321:role/Admin"
ALICE = Principal(account_id="123456789012", arn="arn:aws:iam::123456789012:user/alice")


def _s(effect: str = "Allow", *, action: Any = "sts:AssumeRole", resource: Any = ROLE,
       condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, **extra}
    if action is not None:
        statement["Action"] = action
    if resource is not None:
        statement["Resource"] = resource
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


CONTEXT = {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": "true",
           "aws:ResourceAccount": "210987654321", "aws:username": "alice",
           "aws:PrincipalTag/team": ["a", "b"], "aws:CurrentTime": "2026-12-01T10:00:00Z",
           "aws:MultiFactorAuthAge": "30"}

IDENTITY = [
    ("exact", [_s()], "allow"),
    ("action case-insensitive", [_s(action="STS:assumerole")], "allow"),
    ("action wildcard ?", [_s(action="sts:Assume?ole")], "allow"),
    ("resource is case-sensitive", [_s(resource=ROLE.lower())], "none"),
    ("resource wildcard", [_s(resource="arn:aws:iam::*:role/Adm*")], "allow"),
    ("brackets are literal", [_s(resource="arn:aws:iam::[0-9]*:role/Admin")], "none"),
    ("NotAction", [_s(action=None, NotAction=["iam:*"])], "allow"),
    ("NotAction excludes", [_s(action=None, NotAction="sts:*")], "none"),
    ("NotResource", [_s(resource=None, NotResource="arn:aws:iam::*:role/Other")], "allow"),
    ("deny wins", [_s(), _s("Deny", resource="*")], "deny"),
    ("deny elsewhere", [_s(), _s("Deny", resource="arn:aws:iam::*:role/Other")], "allow"),
    ("StringEquals list", [_s(condition={"StringEquals": {
        "aws:ResourceAccount": ["111111111111", "210987654321"]}})], "allow"),
    ("StringEquals miss", [_s(condition={"StringEquals": {"aws:ResourceAccount": "1"}})],
     "none"),
    ("keys case-insensitive", [_s(condition={"StringEquals": {"AWS:RESOURCEACCOUNT":
                                                              "210987654321"}})], "allow"),
    ("StringNotEquals absent key holds", [_s(condition={"StringNotEquals": {
        "aws:PrincipalOrgID": "o-x"}})], "allow"),
    ("StringEquals absent key fails", [_s(condition={"StringEquals": {
        "aws:PrincipalOrgID": "o-x"}})], "none"),
    ("IfExists absent", [_s(condition={"StringEqualsIfExists": {"aws:Nope": "x"}})], "allow"),
    ("Null true", [_s(condition={"Null": {"aws:Nope": "true"}})], "allow"),
    ("Null false", [_s(condition={"Null": {"aws:SourceIp": "true"}})], "none"),
    ("IpAddress", [_s(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})], "allow"),
    ("NotIpAddress", [_s(condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     "none"),
    ("Bool", [_s(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})], "allow"),
    ("Numeric", [_s(condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})],
     "allow"),
    ("Date", [_s(condition={"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})],
     "none"),
    ("policy variable", [_s(resource="arn:aws:iam::*:role/${aws:username}")], "none"),
    ("ForAnyValue", [_s(condition={"ForAnyValue:StringEquals": {
        "aws:PrincipalTag/team": ["b", "c"]}})], "allow"),
    ("ForAllValues", [_s(condition={"ForAllValues:StringEquals": {
        "aws:PrincipalTag/team": ["b", "c"]}})], "none"),
    ("unknown operator does not apply", [_s(condition={"Magic": {"aws:SourceIp": "x"}})],
     "none"),
    ("StringLike", [_s(condition={"StringLike": {"aws:username": "al*"}})], "allow"),
    ("ArnLike", [_s(condition={"ArnLike": {"aws:SourceArn": "arn:aws:*"}})], "none"),
]


@pytest.mark.parametrize(("policies", "expected"), [c[1:] for c in IDENTITY],
                         ids=[c[0] for c in IDENTITY])
def test_identity_policies(policies: list[dict[str, Any]], expected: str) -> None:
    decision = evaluate(policies, action="sts:AssumeRole", resource=ROLE, context=CONTEXT)
    assert decision.value == expected


def _trust(principal: Any, effect: str = "Allow") -> dict[str, Any]:
    return {"Statement": [{"Effect": effect, "Principal": principal,
                           "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize(("principal", "expected", "names"), [
    ({"AWS": "123456789012"}, "allow", False),
    ({"AWS": "arn:aws:iam::123456789012:root"}, "allow", False),
    ({"AWS": ["arn:aws:iam::123456789012:user/alice"]}, "allow", True),
    ({"AWS": "arn:aws:iam::123456789012:user/bob"}, "none", False),
    ({"Service": "ec2.amazonaws.com"}, "none", False),
    ("*", "allow", False),
])
def test_trust_policy_principals(principal: Any, expected: str, names: bool) -> None:
    result = evaluate_resource_policy(_trust(principal), principal=ALICE, action="sts:AssumeRole",
                                      resource=ROLE)
    assert (result.decision.value, result.names_principal) == (expected, names)


@pytest.mark.parametrize(("identity", "trust", "account", "expected"), [
    ([_s()], _trust({"AWS": "123456789012"}), "210987654321", Decision.ALLOW),
    ([], _trust({"AWS": "123456789012"}), "210987654321", Decision.NONE),  # cross-account
    ([_s()], _trust({"AWS": "999999999999"}), "210987654321", Decision.NONE),
    ([], _trust({"AWS": ALICE.arn}), "123456789012", Decision.ALLOW),  # same account, named
    ([], _trust({"AWS": "123456789012"}), "123456789012", Decision.NONE),  # same, account only
    ([_s()], {"Statement": [*_trust({"AWS": "*"})["Statement"],
                            *_trust({"AWS": ALICE.arn}, "Deny")["Statement"]]},
     "210987654321", Decision.DENY),
])
def test_assume_role_needs_trust_and_identity(identity: list[dict[str, Any]],
                                              trust: dict[str, Any], account: str,
                                              expected: Decision) -> None:
    assert authorize(principal=ALICE, identity_policies=identity, resource_policy=trust,
                     resource_account=account, action="sts:AssumeRole", resource=ROLE,
                     resource_policy_required=True) is expected
