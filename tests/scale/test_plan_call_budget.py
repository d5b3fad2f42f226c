"""A no-op plan stays within its API call budget: per member account at most 4 calls with the root
policy managed (AssumeRole, GetAccountAuthorizationDetails, AssumeRoot, GetAccountSummary), at most
2 without, plus one Organizations tag read per account whose tags the file manages, and
O(OUs + accounts/20) calls for the organization itself (the OU tree walk, no per-account
ListParents). Counted both by orgsync's call log and by the sandbox's own counters. Not timed."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import plan_scale

ACCOUNTS = 60
PER_ACCOUNT_MANAGED = {"sts:AssumeRole": 1, "iam:GetAccountAuthorizationDetails": 1,
                       "sts:AssumeRoot": 1, "iam:GetAccountSummary": 1}
PER_ACCOUNT_UNMANAGED = {"sts:AssumeRole": 1, "iam:GetAccountAuthorizationDetails": 1}
# DescribeOrganization, ListRoots, ListAWSServiceAccessForOrganization, ListCreateAccountStatus,
# ListHandshakesForOrganization, iam:ListOrganizationsFeatures, the management IAM read,
# sts:GetCallerIdentity (the runner: management account or IAM's delegated administrator) and
# ListDelegatedAdministrators (the file has a root_credentials section)
ORGANIZATION_CONSTANT = 9


def _split(run: Any) -> tuple[dict[str, Counter[str]], Counter[str], int]:
    """(per member account: operation -> calls, organization-level operation -> calls,
    tag reads)."""
    management = run.observed.organization.management_account_id
    per_account: dict[str, Counter[str]] = {}
    organization: Counter[str] = Counter()
    tag_reads = 0
    for key, n in run.aws.calls.entries().items():
        if key.operation == plan_scale.TAG_READ:
            tag_reads += n
        elif key.account_id and key.account_id != management:
            per_account.setdefault(key.account_id, Counter())[key.operation] += n
        else:
            organization[key.operation] += n
    return per_account, organization, tag_reads


def _organization_budget(accounts: int) -> int:
    parents = 1 + 1 + plan_scale.OU_UNITS  # the root, /Workloads, /Workloads/Unit-NN
    # per parent: one ListAccountsForParent and one ListOrganizationalUnitsForParent, plus one
    # page per further 20 children
    return ORGANIZATION_CONSTANT + 2 * parents + math.ceil(accounts / 20)


def test_noop_plan_stays_within_the_call_budget(scale_sandbox: plan_scale.SandboxProcess,
                                                plan_in_process: Any, tmp_path: Path) -> None:
    plan_scale.seed_accounts(scale_sandbox, start=0, stop=ACCOUNTS)
    managed = plan_scale.write_file(tmp_path / "managed.yaml", accounts=ACCOUNTS, root="absent")
    unmanaged = plan_scale.write_file(tmp_path / "unmanaged.yaml", accounts=ACCOUNTS,
                                      root="unmanaged")
    plan_scale.apply_file(scale_sandbox, managed, parallelism=8)
    ids = {a["Id"] for page in scale_sandbox.client("organizations")
           .get_paginator("list_accounts").paginate() for a in page["Accounts"]} - {"123456789012"}
    assert len(ids) == ACCOUNTS
    tagged = len(range(0, ACCOUNTS, plan_scale.TAG_EVERY))

    for file, budget in ((managed, PER_ACCOUNT_MANAGED), (unmanaged, PER_ACCOUNT_UNMANAGED)):
        scale_sandbox.control("POST", "counters/reset", {})
        run = plan_in_process(file)
        assert run.plan.changes == (), [c.address for c in run.plan.changes]
        assert run.plan.errors == ()
        per_account, organization, tag_reads = _split(run)

        assert set(per_account) == ids
        for account_id, counts in per_account.items():
            assert dict(counts) == budget, (account_id, dict(counts))
        assert tag_reads == tagged
        assert "organizations:ListParents" not in organization
        assert sum(organization.values()) <= _organization_budget(ACCOUNTS), dict(organization)

        # The sandbox saw the same calls: nothing was made outside the call log.
        counters = scale_sandbox.control("GET", "counters")["operations"]
        served = Counter({op.replace(".", ":", 1): n for op, n in counters.items()})
        assert served["sts:AssumeRole"] == ACCOUNTS
        assert served["iam:GetAccountAuthorizationDetails"] == ACCOUNTS + 1
        assert served["organizations:ListTagsForResource"] == tagged
        expected_root = ACCOUNTS if budget is PER_ACCOUNT_MANAGED else 0
        assert served["sts:AssumeRoot"] == expected_root
        assert served["iam:GetAccountSummary"] == expected_root
        assert sum(served.values()) == run.aws.calls.total_attempts
