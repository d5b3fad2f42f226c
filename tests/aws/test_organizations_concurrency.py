"""The AWS boundary against Organizations' concurrency: every Organizations call of a run is
serial whatever the threads (so --parallelism never multiplies them),
ConcurrentModificationException is retried (botocore does not), and AWS's modeled ``Reason``
reaches the error. botocore's own
retries are off here (one attempt), so any second request in flight or any unretried conflict
would fail the test."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws import Aws
from reconciler.errors import AwsError
from tests.aws.seed import create_member


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(endpoint_url=sandbox_process_env.info.endpoint_url, retry_mode="standard",
               max_attempts=1, parallelism=8)


def test_organizations_calls_are_serial_whatever_the_threads(sandbox_options,
                                                             aws: Aws) -> None:
    with sandbox_options(org_concurrency=1, latency_ms=100) as sandbox:
        orgs = aws.client("organizations")
        with ThreadPoolExecutor(max_workers=8) as pool:
            roots = list(pool.map(lambda _: orgs.list_roots()["Roots"][0]["Id"], range(8)))
            pages = list(pool.map(lambda _: sum(1 for _ in orgs.pages("list_accounts")),
                                  range(4)))
        assert len(set(roots)) == 1 and pages == [1, 1, 1, 1]
        assert sandbox.control.calls("organizations.ListRoots") == 8
        # IAM is not held by the Organizations lock
        assert aws.client("iam").get_user(UserName="admin")["User"]["UserName"] == "admin"


def test_concurrent_modification_is_retried(sandbox_options, aws: Aws) -> None:
    # every request fails once (never twice in a row): each call needs exactly one retry
    with sandbox_options(concurrent_modification=1.0) as sandbox:
        orgs = aws.client("organizations")
        assert orgs.describe_organization()["Organization"]["MasterAccountId"] == "123456789012"
        assert sandbox.control.calls("organizations.DescribeOrganization") == 2
        orgs.create_organizational_unit(ParentId=orgs.list_roots()["Roots"][0]["Id"],
                                        Name="Conflicted")
        assert sandbox.control.calls("organizations.CreateOrganizationalUnit") == 2
        # reads are not writes: no conflict, no retry
        assert sandbox.control.calls("organizations.ListRoots") == 1
    with sandbox_options(concurrent_modification=0.0) as sandbox:
        aws.client("organizations").describe_organization()
        assert sandbox.control.calls("organizations.DescribeOrganization") == 1


def test_the_modeled_reason_reaches_the_error(sandbox: Any, aws: Aws) -> None:
    with pytest.raises(AwsError) as refused:
        aws.client("organizations").close_account(AccountId="123456789012")
    assert refused.value.code == "ConstraintViolationException"
    assert refused.value.reason == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
    assert "CANNOT_CLOSE_MANAGEMENT_ACCOUNT" in str(refused.value)


def test_plan_reads_tags_serially_with_high_parallelism(sandbox_options, aws_env: dict[str, str],
                                                       orgsync: Any, tmp_path: Path) -> None:
    with sandbox_options(org_concurrency=1, latency_ms=30) as sandbox:
        orgs = sandbox.client("organizations")
        names = [f"tagged{i}" for i in range(6)]
        for name in names:
            create_member(orgs, name=name, email=f"aws+{name}@example.com")
        accounts = "".join(f"  - name: {n}\n    email: aws+{n}@example.com\n    tags: {{}}\n"
                           for n in names)
        (tmp_path / "accounts.yaml").write_text(
            'version: 1\norganization:\n  management_account_id: "123456789012"\n'
            f"accounts:\n{accounts}", encoding="utf-8")
        env = {**aws_env, "AWS_MAX_ATTEMPTS": "1"}  # no retry would hide a second request
        result = orgsync("plan", "--parallelism", "8", env=env, cwd=str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert sandbox.control.calls("organizations.ListTagsForResource") == 6
