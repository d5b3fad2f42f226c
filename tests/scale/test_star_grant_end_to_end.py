"""A group granted ``"*"`` over a large organization, end to end against the sandbox: after
``orgsync apply`` the group's policies in IAM name every member account specifically (never a
wildcard account), fit IAM's quotas (inline policies 5,120 characters per group, managed policies
6,144 each, 10 attached), and a second plan changes nothing.

The pure-planner version over 1,000 accounts is tests/planner/test_scale.py; this one goes through
real IAM with enough accounts that the grants spill from the inline policy into managed ones."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import plan_scale

ACCOUNTS = int(os.environ.get("ORGSYNC_SCALE_STAR_ACCOUNTS", "1000"))
INLINE_QUOTA, MANAGED_QUOTA, ATTACHED_QUOTA = 5_120, 6_144, 10
ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}|\*):role/(.+)$")


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _named_accounts(statement: dict[str, Any]) -> list[str]:
    """The account ids one grant statement allows, refusing any wildcard account."""
    assert statement["Effect"] == "Allow"
    assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])
    resources = statement["Resource"]
    resources = [resources] if isinstance(resources, str) else resources
    named: list[str] = []
    for resource in resources:
        match = ROLE_ARN.match(resource)
        assert match, resource
        assert match.group(2) == plan_scale.ROLE
        if match.group(1) != "*":
            named.append(match.group(1))
            continue
        # the account is then named in a condition: specific ids, never a pattern
        ids = statement["Condition"]["StringEquals"]["aws:ResourceAccount"]
        ids = [ids] if isinstance(ids, str) else ids
        assert all(re.fullmatch(r"\d{12}", i) for i in ids), ids
        named += ids
    assert statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] in ("true", True)
    return named


def test_star_grant_names_every_account_within_quotas_and_is_stable(
        scale_sandbox: plan_scale.SandboxProcess, plan_in_process: Any, tmp_path: Path) -> None:
    plan_scale.seed_accounts(scale_sandbox, start=0, stop=ACCOUNTS)
    file = plan_scale.write_file(tmp_path / "accounts.yaml", accounts=ACCOUNTS,
                                 root="unmanaged", placed=0)
    plan_scale.apply_file(scale_sandbox, file, parallelism=16)

    iam = scale_sandbox.client("iam")
    member_ids = {a["Id"] for page in scale_sandbox.client("organizations")
                  .get_paginator("list_accounts").paginate() for a in page["Accounts"]}
    member_ids.discard("123456789012")
    assert len(member_ids) == ACCOUNTS

    inline = [iam.get_group_policy(GroupName="platform-admins", PolicyName=name)["PolicyDocument"]
              for name in iam.list_group_policies(GroupName="platform-admins")["PolicyNames"]]
    attached = iam.list_attached_group_policies(GroupName="platform-admins")["AttachedPolicies"]
    managed = []
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        managed.append(iam.get_policy_version(PolicyArn=policy["PolicyArn"],
                                              VersionId=version)["PolicyVersion"]["Document"])
    assert inline and managed, "enough accounts to need the inline policy and managed ones"

    assert sum(_size(d) for d in inline) <= INLINE_QUOTA
    assert all(_size(d) <= MANAGED_QUOTA for d in managed)
    assert len(attached) <= ATTACHED_QUOTA
    named: list[str] = []
    for document in inline + managed:
        statements = document["Statement"]
        for statement in [statements] if isinstance(statements, dict) else statements:
            named += _named_accounts(statement)
    assert len(named) == len(set(named)), "each account is granted once"
    assert set(named) == member_ids

    again = plan_in_process(file, parallelism=16)
    assert again.plan.errors == ()
    assert again.plan.changes == (), [c.address for c in again.plan.changes]
