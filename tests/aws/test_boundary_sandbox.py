"""The AWS boundary against the sandbox over real HTTP: member and root sessions act in the right
account, credentials are cached and renewed per (account, role/task), errors are translated with
the operation and account, and the call log matches what the server saw."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest

from reconciler.aws import Aws, paginate
from reconciler.errors import AccessDenied, NotFound
from tests.aws.seed import ROLE, create_member, enable_root_access


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(endpoint_url=sandbox_process_env.info.endpoint_url, retry_mode="standard",
               max_attempts=3)


def test_member_client_acts_in_the_member_account_with_one_assume_role(
        sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="one",
                               email="aws+one@example.com")
    sts = aws.member_client("sts", account_id=account_id, role_name=ROLE)
    iam = aws.member_client("iam", account_id=account_id, role_name=ROLE)
    assert sts.get_caller_identity()["Account"] == account_id
    roles = iam.list_roles()["Roles"]
    assert any(r["Arn"] == f"arn:aws:iam::{account_id}:role/{ROLE}" for r in roles)
    assert sts.get_caller_identity()["Account"] == account_id
    # the management client is unaffected by the member calls around it
    assert aws.client("sts").get_caller_identity()["Account"] == sandbox.info.management_account_id

    assert aws.calls.for_account(account_id) == {
        "iam:ListRoles": 1, "sts:AssumeRole": 1, "sts:GetCallerIdentity": 2}
    scopes = aws.calls.by_scope()
    assert scopes["management"]["sts:AssumeRole"] == 1
    assert scopes["member"] == {"iam:ListRoles": 1, "sts:GetCallerIdentity": 2}
    assert sandbox.control.calls("sts.AssumeRole") == 1  # the server agrees


def test_credentials_are_shared_by_threads_and_forgotten_on_request(
        sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="two",
                               email="aws+two@example.com")
    iam = aws.member_client("iam", account_id=account_id, role_name=ROLE)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            iam.get_role(RoleName=ROLE)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert aws.calls.for_account(account_id) == {"iam:GetRole": 8, "sts:AssumeRole": 1}

    aws.forget(account_id)
    iam.get_role(RoleName=ROLE)
    assert aws.calls.for_account(account_id)["sts:AssumeRole"] == 2


def test_assume_role_refused_is_access_denied_naming_the_account(
        sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="three",
                               email="aws+three@example.com")
    iam = aws.member_client("iam", account_id=account_id, role_name="NoSuchRole")
    with pytest.raises(AccessDenied) as caught:
        iam.list_roles()
    assert caught.value.operation == "sts:AssumeRole"
    assert caught.value.account_id == account_id
    assert account_id in str(caught.value)
    assert aws.calls.for_account(account_id) == {"sts:AssumeRole": 1}  # ListRoles never sent


def test_missing_entity_in_a_member_account_is_not_found(sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="four",
                               email="aws+four@example.com")
    iam = aws.member_client("iam", account_id=account_id, role_name=ROLE)
    with pytest.raises(NotFound) as caught:
        iam.get_role(RoleName="absent-role")
    assert caught.value.code == "NoSuchEntity"
    assert caught.value.operation == "iam:GetRole"
    assert caught.value.account_id == account_id


def test_root_session_is_cached_per_task_and_acts_in_the_member(sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="five",
                               email="aws+five@example.com")
    enable_root_access(sandbox)
    iam = aws.root_client("iam", account_id=account_id, task="IAMAuditRootUserCredentials")
    summary = iam.get_account_summary()["SummaryMap"]
    assert "AccountMFAEnabled" in summary
    iam.get_account_summary()
    assert aws.calls.for_account(account_id) == {"iam:GetAccountSummary": 2, "sts:AssumeRoot": 1}
    assert aws.calls.by_scope()["root"] == {"iam:GetAccountSummary": 2}
    with pytest.raises(AccessDenied):  # the audit task may not delete anything
        iam.delete_login_profile()
    # another task is another session
    recovery = aws.root_client("iam", account_id=account_id, task="IAMCreateRootUserPassword")
    with contextlib.suppress(NotFound):  # no root password is also an answer from inside
        recovery.get_login_profile()
    assert aws.calls.for_account(account_id)["sts:AssumeRoot"] == 2


def test_assume_root_refused_without_root_access(sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="six",
                               email="aws+six@example.com")
    iam = aws.root_client("iam", account_id=account_id, task="IAMAuditRootUserCredentials")
    with pytest.raises(AccessDenied) as caught:
        iam.get_account_summary()
    assert caught.value.operation == "sts:AssumeRoot"


def test_paginate_walks_every_organizations_page(sandbox: Any, aws: Aws) -> None:
    org = sandbox.client("organizations")
    created = {create_member(org, name=f"p{i}", email=f"aws+p{i}@example.com")
               for i in range(22)}
    accounts = list(paginate(aws.client("organizations"), "ListAccounts", "Accounts"))
    assert created <= {a["Id"] for a in accounts}
    assert len(accounts) == 23  # 22 members + the management account: two pages of 20
    assert aws.calls.by_operation() == {"organizations:ListAccounts": 2}


def test_injected_throttling_is_retried_and_counted_as_attempts(sandbox: Any, aws: Aws) -> None:
    sandbox.control.inject_fault("organizations.ListRoots", code="TooManyRequestsException")
    roots = aws.client("organizations").list_roots()["Roots"]
    assert len(roots) == 1
    assert aws.calls.by_operation() == {"organizations:ListRoots": 1}
    assert aws.calls.by_operation(attempts=True) == {"organizations:ListRoots": 2}
