"""Property tests: any IAM-style rewrite of a policy document normalizes to the same form, and a
real change (another action, account or condition value) never does."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import policy

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
ACTIONS = ["sts:AssumeRole", "sts:TagSession", "s3:GetObject", "iam:ListRoles"]
IPS = ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"]


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Action": sorted(draw(st.sets(st.sampled_from(ACTIONS), min_size=1))),
        "Principal": {"AWS": sorted(draw(st.sets(st.sampled_from(ACCOUNTS), min_size=1)))},
    }
    if draw(st.booleans()):
        statement["Condition"] = {"IpAddress": {"aws:SourceIp": sorted(
            draw(st.sets(st.sampled_from(IPS), min_size=1)))}}
    if draw(st.booleans()):
        statement.setdefault("Condition", {})["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    return statement


documents = st.lists(statements(), min_size=1, max_size=4).map(
    lambda s: {"Version": "2012-10-17", "Statement": s})


def _rewrite(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """What IAM (or a person) may do without changing the meaning."""
    rewritten = copy.deepcopy(document)
    statements = rewritten["Statement"]
    statements = data.draw(st.permutations(statements))
    for index, statement in enumerate(statements):
        if data.draw(st.booleans()):
            statement["Sid"] = f"S{index}"
        actions = data.draw(st.permutations(statement["Action"]))
        actions = [a.upper() if data.draw(st.booleans()) else a for a in actions]
        statement["Action"] = actions[0] if len(actions) == 1 and data.draw(st.booleans()) \
            else actions
        principals = [f"arn:aws:iam::{p}:root" if data.draw(st.booleans()) else p
                      for p in data.draw(st.permutations(statement["Principal"]["AWS"]))]
        statement["Principal"]["AWS"] = principals[0] if len(principals) == 1 else principals
        for operator in statement.get("Condition", {}).values():
            for key in list(operator):
                values = operator.pop(key)
                new_key = key.lower() if data.draw(st.booleans()) else key
                if isinstance(values, list) and len(values) == 1 and data.draw(st.booleans()):
                    values = values[0]
                elif values == "true" and data.draw(st.booleans()):
                    values = True
                operator[new_key] = values
    if data.draw(st.booleans()):
        rewritten.pop("Version")
    if len(statements) == 1 and data.draw(st.booleans()):
        rewritten["Statement"] = statements[0]
    else:
        rewritten["Statement"] = statements
    return rewritten


@settings(max_examples=75, deadline=None)
@given(documents, st.data())
def test_rewrites_are_equivalent(document: dict[str, Any], data: st.DataObject) -> None:
    assert policy.equivalent(_rewrite(document, data), document)


@settings(max_examples=75, deadline=None)
@given(documents, st.data())
def test_real_changes_are_not(document: dict[str, Any], data: st.DataObject) -> None:
    changed = copy.deepcopy(document)
    index = data.draw(st.integers(0, len(changed["Statement"]) - 1))
    statement = changed["Statement"][index]
    kind = data.draw(st.sampled_from(["effect", "account", "action"]))
    if kind == "effect":
        statement["Effect"] = "Deny" if statement["Effect"] == "Allow" else "Allow"
    elif kind == "account":
        statement["Principal"]["AWS"] = statement["Principal"]["AWS"] + ["444444444444"]
    else:
        statement["Action"] = statement["Action"] + ["ec2:RunInstances"]
    # the change vanishes only if the other statements already say both the old and the new
    others = [s for i, s in enumerate(document["Statement"]) if i != index]

    def atoms(statements: list[dict[str, Any]]) -> set[str]:
        canonical = policy.canonical({"Statement": statements}) or {"Statement": []}
        return {json.dumps(a, sort_keys=True) for a in canonical["Statement"]}

    covered = atoms(others)
    if not (atoms([statement]) <= covered and atoms([document["Statement"][index]]) <= covered):
        assert not policy.equivalent(changed, document)


def test_statements_split_by_resource_equal_their_union() -> None:
    split = {"Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::1:role/B"},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::1:role/A"}]}
    union = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                            "Resource": ["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"]}]}
    assert policy.equivalent(split, union)
    negated = {"Statement": [{"Effect": "Allow", "NotAction": ["s3:*", "iam:*"],
                              "Resource": "*"}]}
    halves = {"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
                            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert not policy.equivalent(negated, halves)
