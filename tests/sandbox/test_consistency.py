"""The sandbox's eventual consistency and concurrency limits, through boto3 over HTTP: a new
account's lag before it can be entered, IAM's lag for roles, trust policies and grants, closures
and renames that show late, Organizations' limit on requests in flight, and
ConcurrentModificationException (reproducible). The sandbox clock is advanced past each lag, so
no test waits for one."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.sandbox import RemoteControl, Sandbox
from reconciler.sandbox.options import REALISTIC
from tests.aws.seed import iam_user, key_client, member_client
from tests.processes import sandbox_process

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
MANAGEMENT = "123456789012"
ROLE = "OrganizationAccountAccessRole"
TRUST_MANAGEMENT = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
    "Action": "sts:AssumeRole"}]})
TRUST_NOBODY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
    "Action": "sts:AssumeRole"}]})


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _create_account(sandbox: Sandbox, name: str = "fresh") -> str:
    orgs = sandbox.client("organizations")
    request = orgs.create_account(AccountName=name, Email=f"aws+{name}@example.com")
    status = orgs.describe_create_account_status(
        CreateAccountRequestId=request["CreateAccountStatus"]["Id"])["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    return str(status["AccountId"])


def _assume(sandbox: Sandbox, account_id: str, role: str = ROLE, client: Any = None) -> None:
    (client or sandbox.client("sts")).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="test")


def _member_iam(sandbox: Sandbox, account_id: str) -> Any:
    return member_client(sandbox, "iam", account_id, role=ROLE)


def test_a_new_account_refuses_assume_role_and_assume_root_for_the_lag(sandbox_options) -> None:
    with sandbox_options(account_ready_lag_s=120) as sandbox:
        orgs, iam = sandbox.client("organizations"), sandbox.client("iam")
        orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
        iam.enable_organizations_root_credentials_management()
        iam.enable_organizations_root_sessions()
        account_id = _create_account(sandbox)
        with pytest.raises(ClientError) as denied:
            _assume(sandbox, account_id)
        assert _code(denied) == "AccessDenied"
        root_task = {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}
        with pytest.raises(ClientError) as root_denied:
            sandbox.client("sts").assume_root(TargetPrincipal=account_id,
                                              TaskPolicyArn=root_task)
        assert _code(root_denied) == "AccessDenied"
        # the account is listed and described as ACTIVE all along: only entry is refused
        assert orgs.describe_account(AccountId=account_id)["Account"]["State"] == "ACTIVE"
        sandbox.control.advance_clock(121)
        _assume(sandbox, account_id)
        sandbox.client("sts").assume_root(TargetPrincipal=account_id, TaskPolicyArn=root_task)


def test_a_role_and_its_trust_policy_take_effect_after_the_iam_lag(sandbox_options) -> None:
    with sandbox_options(iam_lag_s=30) as sandbox:
        account_id = _create_account(sandbox)
        sandbox.control.advance_clock(31)  # the role CreateAccount made has settled
        iam = _member_iam(sandbox, account_id)
        iam.create_role(RoleName="new-role", AssumeRolePolicyDocument=TRUST_MANAGEMENT)
        with pytest.raises(ClientError) as denied:
            _assume(sandbox, account_id, "new-role")
        assert _code(denied) == "AccessDenied"
        sandbox.control.advance_clock(31)
        _assume(sandbox, account_id, "new-role")
        # a changed trust policy: the old one decides until the lag has passed
        iam.update_assume_role_policy(RoleName="new-role", PolicyDocument=TRUST_NOBODY)
        _assume(sandbox, account_id, "new-role")
        sandbox.control.advance_clock(31)
        with pytest.raises(ClientError) as refused:
            _assume(sandbox, account_id, "new-role")
        assert _code(refused) == "AccessDenied"
        iam.update_assume_role_policy(RoleName="new-role", PolicyDocument=TRUST_MANAGEMENT)
        with pytest.raises(ClientError):
            _assume(sandbox, account_id, "new-role")
        sandbox.control.advance_clock(31)
        _assume(sandbox, account_id, "new-role")


def test_a_group_grant_takes_effect_after_the_iam_lag(sandbox_options) -> None:
    with sandbox_options(iam_lag_s=30) as sandbox:
        account_id = _create_account(sandbox)
        iam = sandbox.client("iam")
        carol = key_client(sandbox, "sts", iam_user(sandbox, "carol"))
        iam.create_group(GroupName="switchers")
        iam.put_group_policy(GroupName="switchers", PolicyName="assume", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::{account_id}:role/{ROLE}"}]}))
        sandbox.control.advance_clock(31)
        iam.add_user_to_group(GroupName="switchers", UserName="carol")
        with pytest.raises(ClientError) as denied:
            _assume(sandbox, account_id, client=carol)
        assert _code(denied) == "AccessDenied"
        sandbox.control.advance_clock(31)
        _assume(sandbox, account_id, client=carol)


def test_a_closure_reads_active_for_the_lag(sandbox_options) -> None:
    with sandbox_options(close_lag_s=60, close_delay_s=600) as sandbox:
        orgs = sandbox.client("organizations")
        account_id = _create_account(sandbox)
        orgs.close_account(AccountId=account_id)
        assert orgs.describe_account(AccountId=account_id)["Account"]["State"] == "ACTIVE"
        listed = {a["Id"]: a["State"] for a in orgs.list_accounts()["Accounts"]}
        assert listed[account_id] == "ACTIVE"
        with pytest.raises(ClientError) as again:
            orgs.close_account(AccountId=account_id)
        assert _code(again) == "AccountAlreadyClosedException"
        sandbox.control.advance_clock(61)
        assert orgs.describe_account(AccountId=account_id)["Account"]["State"] == \
            "PENDING_CLOSURE"
        sandbox.control.advance_clock(600)
        assert orgs.describe_account(AccountId=account_id)["Account"]["State"] == "CLOSED"


def test_a_new_name_shows_in_organizations_after_the_lag(sandbox_options) -> None:
    with sandbox_options(rename_lag_s=60) as sandbox:
        orgs, account = sandbox.client("organizations"), sandbox.client("account")
        account_id = _create_account(sandbox, "old-name")
        account.put_account_name(AccountId=account_id, AccountName="new-name")
        assert orgs.describe_account(AccountId=account_id)["Account"]["Name"] == "old-name"
        listed = {a["Id"]: a["Name"] for a in orgs.list_accounts()["Accounts"]}
        assert listed[account_id] == "old-name"
        # the Account Management API that owns the name answers with the new one at once
        assert account.get_account_information(AccountId=account_id)["AccountName"] == "new-name"
        sandbox.control.advance_clock(61)
        assert orgs.describe_account(AccountId=account_id)["Account"]["Name"] == "new-name"


def _slow_list_roots_in_parallel(sandbox: Sandbox, callers: int) -> list[str]:
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        client = sandbox.client("organizations", config=NO_RETRY)
        try:
            client.list_roots()
            outcome = "ok"
        except ClientError as error:
            outcome = str(error.response["Error"]["Code"])
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(results)


def test_org_concurrency_refuses_requests_over_the_limit(sandbox_options) -> None:
    # 400 ms per request keeps three callers in flight together even on a loaded machine
    with sandbox_options(org_concurrency=1, latency_ms=400) as sandbox:
        results = _slow_list_roots_in_parallel(sandbox, 3)
        assert "ok" in results
        assert "TooManyRequestsException" in results
        # IAM is not Organizations: no limit there
        sandbox.client("iam").get_user(UserName="admin")
    with sandbox_options(org_concurrency=0, latency_ms=400) as sandbox:
        assert _slow_list_roots_in_parallel(sandbox, 3) == ["ok", "ok", "ok"]


def _cme_pattern(sandbox: Sandbox) -> list[str]:
    """Outcome of 30 distinct Organizations writes and 30 DescribeOrganization, no retries."""
    orgs = sandbox.client("organizations", config=NO_RETRY)
    outcomes = []
    for i in range(30):
        try:
            orgs.tag_resource(ResourceId=MANAGEMENT, Tags=[{"Key": f"k{i}", "Value": "v"}])
            outcomes.append("ok")
        except ClientError as error:
            code = str(error.response["Error"]["Code"])
            outcomes.append(code)
            # the same request made again goes through: "fails once"
            orgs.tag_resource(ResourceId=MANAGEMENT, Tags=[{"Key": f"k{i}", "Value": "v"}])
    for _ in range(30):
        try:
            orgs.describe_organization()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(str(error.response["Error"]["Code"]))
    return outcomes


def test_concurrent_modification_fails_a_fraction_once_and_reproducibly(sandbox_options) -> None:
    with sandbox_options(concurrent_modification=0.3, seed=7) as sandbox:
        first = _cme_pattern(sandbox)
        failures = [o for o in first if o != "ok"]
        assert set(failures) == {"ConcurrentModificationException"}
        assert 5 <= len(failures) <= 35, first
        describes = first[30:]
        assert "ConcurrentModificationException" in describes
        assert all(not (a != "ok" and b != "ok") for a, b in itertools.pairwise(describes))
        # reads other than DescribeOrganization never conflict
        for _ in range(20):
            sandbox.client("organizations", config=NO_RETRY).list_roots()
        sandbox.reset()
        assert _cme_pattern(sandbox) == first  # the same seed, the same run
    with sandbox_options(concurrent_modification=0.3, seed=8) as sandbox:
        assert _cme_pattern(sandbox) != first


def test_options_at_run_time_in_python_and_over_http(sandbox: Sandbox) -> None:
    original = sandbox.control.options()
    try:
        document = sandbox.control.set_options(iam_lag_s=1.5, org_concurrency=2)
        assert document["iam_lag_s"] == 1.5 and document["org_concurrency"] == 2
        remote = RemoteControl(sandbox.endpoint_url)
        document = remote.set_options(account_ready_lag_s=0.25, close_lag_s=3,
                                      rename_lag_s=4, concurrent_modification=0.1, seed=3)
        assert {k: document[k] for k in ("account_ready_lag_s", "iam_lag_s", "close_lag_s",
                                         "rename_lag_s", "org_concurrency",
                                         "concurrent_modification", "seed")} == {
            "account_ready_lag_s": 0.25, "iam_lag_s": 1.5, "close_lag_s": 3.0,
            "rename_lag_s": 4.0, "org_concurrency": 2, "concurrent_modification": 0.1,
            "seed": 3}
        assert remote.options() == document
        for bad in ({"iam_lag_s": -1}, {"concurrent_modification": 1.5},
                    {"org_concurrency": 1.5}, {"lag": 1}):
            with pytest.raises(Exception) as refused:
                remote._call("POST", "options", bad)
            assert "400" in str(refused.value)
    finally:
        sandbox.control.set_options(**{k: original[k] for k in (
            "account_ready_lag_s", "iam_lag_s", "close_lag_s", "rename_lag_s",
            "org_concurrency", "concurrent_modification", "seed")})


def test_orgsync_sandbox_realistic_preset(tmp_path: Path) -> None:
    with sandbox_process("--realistic", "--iam-lag-s", "0.5",
                         info_file=tmp_path / "sandbox.json") as running:
        options = RemoteControl(running.info["endpoint_url"]).options()
    expected = {k: v for k, v in REALISTIC.items() if k != "create_delay_s"}
    expected["iam_lag_s"] = 0.5  # an explicit option wins over the preset
    assert {k: options[k] for k in expected} == expected
    assert options["org_concurrency"] == 1 and 0 < options["concurrent_modification"] < 1
