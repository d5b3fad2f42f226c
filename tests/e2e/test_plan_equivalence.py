"""Equivalent spellings of the same policies plan no change: IAM (and people) write the same
trust policy or grant in many ways, and a plan that shows a change that is not one trains its
readers to ignore plans. Each spelling is set directly with boto3 on a converged organization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aws.seed import (
    CONVERGED_FILE,
    ROLE,
    converge,
    dumps,
    grant_policy,
    member_client,
)

M = "123456789012"
ROOT_ARN = f"arn:aws:iam::{M}:root"
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _trust(**statement: Any) -> dict[str, Any]:
    base = {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}
    base.update(statement)
    return {"Version": "2012-10-17", "Statement": [base]}


TRUST_SPELLINGS: dict[str, dict[str, Any]] = {
    "account id as principal": _trust(Principal={"AWS": M}),
    "principal as a one-item list": _trust(Principal={"AWS": [ROOT_ARN]}),
    "action as a one-item list": _trust(Action=["sts:AssumeRole"]),
    "statement as an object": {"Version": "2012-10-17", "Statement": _trust()["Statement"][0]},
    "with a Sid": _trust(Sid="TrustManagementAccount"),
    "keys in another order": {"Statement": [{"Action": "sts:AssumeRole", "Principal": {
        "AWS": ROOT_ARN}, "Effect": "Allow"}], "Version": "2012-10-17"},
}


def _grants(prod: str, dev: str) -> dict[str, dict[str, Any]]:
    arns = [f"arn:aws:iam::{prod}:role/{ROLE}", f"arn:aws:iam::{dev}:role/{ROLE}"]
    one = grant_policy(arns)["Statement"][0]
    return {
        "resources in another order": {"Version": "2012-10-17",
                                       "Statement": [{**one, "Resource": arns[::-1]}]},
        "grant action as a list": {"Version": "2012-10-17",
                                   "Statement": [{**one, "Action": ["sts:AssumeRole"]}]},
        "condition value as a list": {"Version": "2012-10-17", "Statement": [{
            **one, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": ["true"]}}}]},
        "grant statement as an object with a Sid": {"Version": "2012-10-17",
                                                     "Statement": {**one, "Sid": "Admins"}},
        "one statement per role, in reverse order": {"Version": "2012-10-17", "Statement": [
            {**one, "Resource": arns[1]}, {**one, "Resource": arns[0]}]},
    }


GRANT_NAMES = ("resources in another order", "grant action as a list",
               "condition value as a list", "grant statement as an object with a Sid",
               "one statement per role, in reverse order")
# Statements that differ only in their resources are one statement with the union of them
# (reconciler.policy.canonical compares documents split per action, resource and principal).
CORPUS = [pytest.param("trust", name, id=f"trust: {name}") for name in TRUST_SPELLINGS] + [
    pytest.param("grant", name, id=f"grant: {name}") for name in GRANT_NAMES]


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 10


@pytest.mark.parametrize(("kind", "spelling"), CORPUS)
def test_equivalent_spelling_plans_no_change(kind: str, spelling: str, sandbox: Any,
                                             tmp_path: Path, orgsync: Any,
                                             aws_env: dict[str, str]) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(CONVERGED_FILE)
    ids = converge(sandbox)
    if kind == "trust":
        member_client(sandbox, "iam", ids["prod"]).update_assume_role_policy(
            RoleName=ROLE, PolicyDocument=dumps(TRUST_SPELLINGS[spelling]))
    else:
        sandbox.client("iam").put_group_policy(
            GroupName="admins", PolicyName="orgsync-assume",
            PolicyDocument=dumps(_grants(ids["prod"], ids["dev"])[spelling]))
    result = orgsync("plan", "-f", str(path), "--format", "json", "--detailed-exitcode",
                     env=aws_env)
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert document["changes"] == [], json.dumps(document["changes"], indent=1)
    assert result.returncode == 0, result.stderr
