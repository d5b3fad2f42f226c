"""Policy normalization and grant packing: equivalent spellings compare equal, real differences
do not, and packed grants stay specific and within IAM's quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler import policy
from reconciler.plan import unknown_account_id

MGMT = "123456789012"
CANONICAL_TRUST = policy.trust_policy(MGMT, require_mfa=True)

EQUIVALENT_TRUST: list[Any] = [
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]},
    {"Version": "2008-10-17", "Statement": {"Sid": "", "Effect": "Allow",
                                            "Principal": {"AWS": [f"arn:aws:iam::{MGMT}:root"]},
                                            "Action": ["sts:AssumeRole"],
                                            "Condition": {"Bool": {
                                                "aws:MultiFactorAuthPresent": ["true"]}}}},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
                    "Action": "STS:AssumeRole",
                    "Condition": {"Bool": {"aws:multifactorauthpresent": True}}}]},
    {"Id": "x", "Statement": [{"Sid": "Trust", "Action": "sts:assumerole", "Effect": "Allow",
                               "Principal": {"AWS": [MGMT, MGMT]},
                               "Condition": {"Bool": {"AWS:MultiFactorAuthPresent": "true"}}}]},
    {"Version": "2012-10-17", "Statement": [{
        "Action": "sts:ASSUMEROLE", "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{MGMT}:root", MGMT]},
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": ["true", "true"]}}}]},
    {"Statement": [{"Sid": "1", "Effect": "Allow", "Principal": {"AWS": MGMT},
                    "Action": ["sts:AssumeRole", "STS:AssumeRole"],
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": [True]}}}]},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": [MGMT]}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                   {"Sid": "dup", "Effect": "Allow", "Principal": {"AWS": MGMT},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": ["true"]}}}]},
    {"Version": "2012-10-17", "Id": "trust",
     "Statement": {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
                   "Action": "sts:AssumeRole",
                   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT}, "Action": "sts:assumeRole",
                    "Condition": {"Bool": {"Aws:MultiFactorAuthPresent": "TRUE".lower()}}}]},
    # a duplicated statement is the same permission
    {"Statement": [CANONICAL_TRUST["Statement"][0], CANONICAL_TRUST["Statement"][0]]},
]

EQUIVALENT_GRANTS: list[Any] = [
    {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": ["arn:aws:iam::111111111111:role/R", "arn:aws:iam::222222222222:role/R"]},
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": "arn:aws:iam::333333333333:role/R",
         "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}]},
    {"Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole"],
         "Resource": "arn:aws:iam::333333333333:role/R",
         "Condition": {"IpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.0.0.0/8"]}}},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Sid": "a",
         "Resource": ["arn:aws:iam::222222222222:role/R", "arn:aws:iam::111111111111:role/R"]}]},
    {"Statement": [
        {"Effect": "allow", "Action": "STS:ASSUMEROLE",
         "Resource": ["arn:aws:iam::222222222222:role/R", "arn:aws:iam::111111111111:role/R",
                      "arn:aws:iam::111111111111:role/R"]},
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": ["arn:aws:iam::333333333333:role/R"],
         "Condition": {"IpAddress": {"AWS:SOURCEIP": ["10.0.0.0/8", "192.168.0.0/16"]}}}]},
]


@pytest.mark.parametrize("spelling", range(len(EQUIVALENT_TRUST)))
def test_equivalent_trust_policies(spelling: int) -> None:
    assert policy.equivalent(EQUIVALENT_TRUST[spelling], CANONICAL_TRUST)


@pytest.mark.parametrize("spelling", range(1, len(EQUIVALENT_GRANTS)))
def test_equivalent_grant_policies(spelling: int) -> None:
    assert policy.equivalent(EQUIVALENT_GRANTS[spelling], EQUIVALENT_GRANTS[0])


@pytest.mark.parametrize("a,b", [
    ("*", {"AWS": "*"}),
    ("*", {"AWS": ["*"]}),
])
def test_principal_star_forms(a: Any, b: Any) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Principal": a, "Action": "s3:GetObject"}]}
    other = {"Statement": [{"Effect": "Allow", "Principal": b, "Action": "s3:GetObject"}]}
    assert policy.equivalent(doc, other)


@pytest.mark.parametrize("changed", [
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "999999999999"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT}, "Action": "sts:AssumeRole"}]},
    {"Statement": [{"Effect": "Deny", "Principal": {"AWS": MGMT}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]},
    {"Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]},
])
def test_real_differences_are_differences(changed: Any) -> None:
    assert not policy.equivalent(changed, CANONICAL_TRUST)


def test_administrator_document() -> None:
    assert policy.is_administrator_document(
        {"Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*"]}})
    assert not policy.is_administrator_document(
        {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "true"}}}})
    assert not policy.is_administrator_document(
        {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})


def test_document_diff_paths_are_readable() -> None:
    before = policy.trust_policy(MGMT, require_mfa=False)
    diffs = policy.document_diffs(before, CANONICAL_TRUST, prefix="trust_policy")
    assert [d.path for d in diffs] == ["trust_policy.Statement[0].Condition"]
    assert diffs[0].before is None
    assert diffs[0].after == {"Bool": {"aws:MultiFactorAuthPresent": ["true"]}}


def _grants(n: int, *, role: str = "OrganizationAccountAccessRole", **kwargs: Any
            ) -> list[policy.Grant]:
    return [policy.Grant(f"acct-{i:04d}", f"{500000000000 + i}", role, **kwargs)
            for i in range(n)]


def _all_documents(packed: policy.PackedGrants) -> list[dict[str, Any]]:
    return [dict(d) for d in packed.inline_policies.values()] + \
        [dict(p.document) for p in packed.managed_policies]


def _accounts_named(packed: policy.PackedGrants) -> set[str]:
    named: set[str] = set()
    for document in _all_documents(packed):
        for statement in document["Statement"]:
            resources = policy._as_list(statement["Resource"])
            for resource in resources:
                account = resource.split(":")[4]
                if account == "*":
                    ids = statement["Condition"]["StringEquals"]["aws:ResourceAccount"]
                    assert ids and "*" not in ids
                    named.update(ids)
                else:
                    named.add(account)
    return named


@pytest.mark.parametrize("n", [1, 5, 11, 300, 1000])
def test_packing_names_every_account_within_quotas(n: int) -> None:
    packed = policy.pack_grants("admins", "/orgsync/", _grants(n))
    assert packed.error is None
    assert _accounts_named(packed) == {g.account_id for g in _grants(n)}
    inline = sum(policy.minified_size(d) for d in packed.inline_policies.values())
    assert inline <= policy.INLINE_GROUP_QUOTA
    assert len(packed.managed_policies) <= policy.MANAGED_PER_GROUP_QUOTA
    for managed in packed.managed_policies:
        assert policy.minified_size(managed.document) <= policy.MANAGED_POLICY_QUOTA
        assert managed.name.startswith("orgsync-admins-assume-")
    # IAM's own count: the minified JSON
    for document in _all_documents(packed):
        assert "*" not in json.dumps(document).replace("arn:aws:iam::*:role/", "")


def test_packing_groups_by_conditions() -> None:
    grants = _grants(3) + _grants(2, require_mfa=True) + _grants(1, source_ips=("10.0.0.0/8",))
    packed = policy.pack_grants("g", "/orgsync/", grants)
    statements = packed.inline_policies[policy.INLINE_GRANT_POLICY]["Statement"]
    assert len(statements) == 3
    conditions = [s.get("Condition") for s in statements]
    assert None in conditions
    assert {"Bool": {"aws:MultiFactorAuthPresent": "true"}} in conditions


def test_packing_over_quota_says_how_many_fit() -> None:
    many = [policy.Grant(f"a{i:05d}", f"{600000000000 + i}", f"Role{i % 977}")
            for i in range(5000)]
    packed = policy.pack_grants("big", "/orgsync/", many)
    assert packed.error is not None
    assert "5000 accounts" in packed.error and f"at most {packed.fit} fit" in packed.error
    assert 0 < packed.fit < 5000


def test_foreign_managed_policies_reduce_room() -> None:
    grants = _grants(3000)
    assert policy.pack_grants("g", "/orgsync/", grants).error is None
    packed = policy.pack_grants("g", "/orgsync/", grants, foreign_managed=9)
    assert packed.error is not None and "9 of them" in packed.error


def test_placeholders_count_as_twelve_digits() -> None:
    """Packing with placeholders gives the same split as with the ids they become."""
    with_placeholders = [policy.Grant(f"acct-{i:04d}", unknown_account_id(f"acct-{i:04d}"), "R")
                         for i in range(700)]
    with_ids = [policy.Grant(f"acct-{i:04d}", f"{700000000000 + i}", "R") for i in range(700)]
    a = policy.pack_grants("g", "/orgsync/", with_placeholders)
    b = policy.pack_grants("g", "/orgsync/", with_ids)
    assert [len(d["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceAccount"])
            for d in _all_documents(a)] == \
        [len(d["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceAccount"])
         for d in _all_documents(b)]
