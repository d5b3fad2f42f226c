"""The sandbox's test controls and options: faults, counters, throttling, latency, the HTTP
control API, one sandbox per process, and ``orgsync sandbox`` itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from reconciler.sandbox import RemoteControl, Sandbox, SandboxError, SandboxOptions
from tests.processes import sandbox_process

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_injected_error_on_the_nth_call(sandbox: Sandbox, error) -> None:
    org = sandbox.client("organizations", config=NO_RETRY)
    sandbox.control.inject_fault("organizations.ListRoots", code="TooManyRequestsException",
                                 nth=2)
    org.list_roots()
    failure = error(org, "ListRoots", "TooManyRequestsException")
    assert failure.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    org.list_roots()
    iam = sandbox.client("iam", config=NO_RETRY)
    sandbox.control.inject_fault("iam.ListUsers", code="ServiceFailure")
    failure = error(iam, "ListUsers", "ServiceFailure")
    assert failure.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert sandbox.control.calls("organizations.ListRoots") == 3
    assert sandbox.control.calls("organizations.ListRoots", account_id="123456789012") == 3


def test_dropped_connection(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations", config=NO_RETRY)
    sandbox.control.inject_fault("organizations.DescribeOrganization", drop=True)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        org.describe_organization()
    assert org.describe_organization()["Organization"]["MasterAccountId"] == "123456789012"


def test_lost_response_performs_the_write_then_drops_the_reply(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam", config=NO_RETRY)
    sandbox.control.inject_fault("iam.CreateGroup", lost_response=True)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        iam.create_group(GroupName="lost")
    assert iam.get_group(GroupName="lost")["Group"]["GroupName"] == "lost"  # it happened
    with pytest.raises(ClientError) as retried:  # what botocore's retry would meet
        iam.create_group(GroupName="lost")
    assert retried.value.response["Error"]["Code"] == "EntityAlreadyExists"


def test_lost_response_over_http(sandbox: Sandbox) -> None:
    remote = RemoteControl(sandbox.endpoint_url)
    remote.inject_fault("organizations.CreateOrganizationalUnit", lost_response=True)
    org = sandbox.client("organizations", config=NO_RETRY)
    root = org.list_roots()["Roots"][0]["Id"]
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        org.create_organizational_unit(ParentId=root, Name="Lost")
    names = [ou["Name"] for ou in org.list_organizational_units_for_parent(
        ParentId=root)["OrganizationalUnits"]]
    assert names == ["Lost"]


def test_botocore_retries_through_a_fault(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations", config=Config(retries={"mode": "standard",
                                                                 "total_max_attempts": 3}))
    sandbox.control.inject_fault("organizations.ListAccounts", drop=True)
    assert org.list_accounts()["Accounts"]
    assert sandbox.control.calls("organizations.ListAccounts") == 2


def test_counters_by_operation(sandbox: Sandbox) -> None:
    sandbox.client("iam").list_users()
    sandbox.client("sts").get_caller_identity()
    counters = sandbox.control.counters()
    assert counters["iam.ListUsers"] == 1 and counters["sts.GetCallerIdentity"] == 1
    sandbox.control.reset_counters()
    assert sandbox.control.counters() == {}


@pytest.mark.parametrize(("service", "operation", "code"), [
    ("organizations", "list_roots", "TooManyRequestsException"),
    ("iam", "list_users", "Throttling"),
    ("sts", "get_caller_identity", "Throttling"),
])
def test_throttle_uses_each_services_error(sandbox_options, service: str, operation: str,
                                           code: str) -> None:
    with sandbox_options(throttle={service: 2}) as sb:
        client = sb.client(service, config=NO_RETRY)
        codes = []
        for _ in range(5):
            try:
                getattr(client, operation)()
            except ClientError as error:
                codes.append(error.response["Error"]["Code"])
        assert codes and set(codes) == {code}
        time.sleep(1.05)
        getattr(client, operation)()


def test_latency_is_added_without_serialising(sandbox_options) -> None:
    # 1.5 s a call, so that the bound below holds by a wide margin on a loaded machine: in series
    # the eight calls take 12 s, side by side about 1.5 s
    with sandbox_options(latency_ms=1500) as sb:
        org = sb.client("organizations")
        org.list_roots()
        started = time.monotonic()
        org.list_roots()
        assert time.monotonic() - started >= 1.5
        clients = [sb.client("organizations") for _ in range(8)]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: c.list_roots(), clients))
        assert time.monotonic() - started < 7.5  # at most half the serial 12 s


def test_http_control_api(sandbox: Sandbox) -> None:
    remote = RemoteControl(sandbox.info.endpoint_url)
    assert remote.info()["management_account_id"] == "123456789012"
    org = sandbox.client("organizations", config=NO_RETRY)
    remote.inject_fault("organizations.ListRoots", code="ServiceException")
    with pytest.raises(ClientError):
        org.list_roots()
    assert remote.calls("organizations.ListRoots") == 1
    target = sandbox.info.standalone_accounts[0]
    handshake = org.invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": target.id})["Handshake"]
    assert remote.accept_handshake(handshake["Id"])["Handshake"]["State"] == "ACCEPTED"
    other = org.invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": sandbox.info.standalone_accounts[1].id})["Handshake"]
    remote.advance_clock(16 * 86400)
    assert org.describe_handshake(HandshakeId=other["Id"])["Handshake"]["State"] == "EXPIRED"
    remote.reset()
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == ["123456789012"]


def test_one_sandbox_per_process(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError):
        Sandbox(SandboxOptions()).start()
    # the running one is unaffected
    assert sandbox.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_env_points_the_aws_cli_at_the_sandbox(aws_env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "awscli", "organizations",
                             "describe-organization", "--output", "json"], env=aws_env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Organization"]["MasterAccountId"] == "123456789012"


def test_orgsync_sandbox_command(tmp_path: Path) -> None:
    info_file = tmp_path / "sandbox.json"
    with sandbox_process("--standalone-accounts", "4", "--throttle", "iam=50",
                         info_file=info_file) as running:
        info = running.info
        assert (info_file.stat().st_mode & 0o777) == 0o600
        assert set(info) == {"endpoint_url", "region", "management_account_id",
                             "access_key_id", "secret_access_key", "standalone_accounts",
                             "mfa_serial"}
        assert info["mfa_serial"] == "arn:aws:iam::123456789012:mfa/admin"
        admin = boto3.client("sts", endpoint_url=info["endpoint_url"], region_name=info["region"],
                             aws_access_key_id=info["access_key_id"],
                             aws_secret_access_key=info["secret_access_key"])
        session = admin.get_session_token(SerialNumber=info["mfa_serial"],
                                          TokenCode="000000")["Credentials"]
        assert session["AccessKeyId"].startswith("ASIA")
        assert [a["id"] for a in info["standalone_accounts"]] == [
            "210987654321", "310987654321", "410987654321", "500000000004"]
        fourth = info["standalone_accounts"][3]
        sts = boto3.client("sts", endpoint_url=info["endpoint_url"], region_name=info["region"],
                           aws_access_key_id=fourth["access_key_id"],
                           aws_secret_access_key=fourth["secret_access_key"])
        assert sts.get_caller_identity()["Account"] == "500000000004"
    assert running.process.returncode == 0
    assert running.err.strip().splitlines() == ["orgsync sandbox: stopped"]
    assert info["secret_access_key"] not in running.out + running.err


def test_orgsync_sandbox_rejects_a_bad_throttle() -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler.cli", "sandbox", "--throttle",
                             "ec2=5"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "orgsync: error: --throttle 'ec2=5': expected SERVICE=RPS with SERVICE one of "
        "organizations, iam, sts, account, sso-admin, identitystore"]
