"""The AWS boundary against a scripted endpoint: pagination through empty pages, retries counted
as attempts, throttling and access errors translated, unreachable endpoints reported plainly."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws import Aws, paginate
from reconciler.errors import AccessDenied, AwsError, NotFound, Throttled
from tests.aws.fake_endpoint import fake_endpoint

CREDS = {"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001", "AWS_SECRET_ACCESS_KEY": "fake/secret/key",
         "AWS_REGION": "us-east-1"}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)


def _root(i: int) -> dict[str, Any]:
    return {"Id": f"r-{i:04d}", "Arn": f"arn:aws:organizations::123456789012:root/o-x/r-{i:04d}",
            "Name": "Root", "PolicyTypes": []}


def test_paginate_goes_on_through_empty_pages() -> None:
    pages = {None: ([], "t1"), "t1": ([], "t2"), "t2": ([_root(1), _root(2)], "t3"),
             "t3": ([], "t4"), "t4": ([_root(3)], None)}

    def script(operation: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert operation == "ListRoots"
        items, token = pages[body.get("NextToken")]
        reply: dict[str, Any] = {"Roots": items}
        if token:
            reply["NextToken"] = token
        return 200, reply

    with fake_endpoint(script) as endpoint:
        aws = Aws(endpoint_url=endpoint.url, retry_mode="standard", max_attempts=2)
        roots = list(paginate(aws.client("organizations"), "ListRoots", "Roots"))
    assert [r["Id"] for r in roots] == ["r-0001", "r-0002", "r-0003"]
    assert [b.get("NextToken") for _, b, _ in endpoint.requests] == [None, "t1", "t2", "t3", "t4"]
    assert aws.calls.by_operation() == {"organizations:ListRoots": 5}


def test_retries_are_attempts_and_throttling_after_retries_is_throttled() -> None:
    answers = iter([(400, {"__type": "TooManyRequestsException", "Message": "slow down"})] * 2
                   + [(200, {"Roots": [_root(1)]})]
                   + [(400, {"__type": "TooManyRequestsException", "Message": "slow down"})] * 3)

    with fake_endpoint(lambda op, body: next(answers)) as endpoint:
        aws = Aws(endpoint_url=endpoint.url, retry_mode="standard", max_attempts=3)
        org = aws.client("organizations")
        assert org.list_roots()["Roots"][0]["Id"] == "r-0001"
        with pytest.raises(Throttled) as caught:
            org.list_roots()
    assert caught.value.code == "TooManyRequestsException"
    assert caught.value.operation == "organizations:ListRoots"
    assert aws.calls.by_operation() == {"organizations:ListRoots": 2}
    assert aws.calls.by_operation(attempts=True) == {"organizations:ListRoots": 6}
    assert aws.calls.total == 2 and aws.calls.total_attempts == 6


@pytest.mark.parametrize(("error_type", "expected"), [
    ("AccessDeniedException", AccessDenied),
    ("AccountNotFoundException", NotFound),
    ("ConcurrentModificationException", AwsError),
])
def test_client_errors_become_orgsync_errors(error_type: str, expected: type[AwsError]) -> None:
    def script(operation: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 400, {"__type": error_type, "Message": "nope\nsecond line"}

    with fake_endpoint(script) as endpoint:
        aws = Aws(endpoint_url=endpoint.url, retry_mode="standard", max_attempts=1)
        with pytest.raises(AwsError) as caught:
            aws.client("organizations").describe_account(AccountId="210987654321")
    assert type(caught.value) is expected
    assert caught.value.code == error_type
    assert caught.value.operation == "organizations:DescribeAccount"
    assert "\n" not in str(caught.value)  # one line per problem
    # what AWS said stays reachable (--debug prints it as the cause)
    assert isinstance(caught.value.__cause__, ClientError)
    assert "second line" in str(caught.value.__cause__)


def test_a_paginated_call_keeps_botocore_error_as_its_cause() -> None:
    def script(operation: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 400, {"__type": "AccessDeniedException", "Message": "no ListRoots for you"}

    with fake_endpoint(script) as endpoint:
        aws = Aws(endpoint_url=endpoint.url, retry_mode="standard", max_attempts=1)
        with pytest.raises(AccessDenied) as caught:
            list(paginate(aws.client("organizations"), "list_roots", "Roots"))
    assert isinstance(caught.value.__cause__, ClientError)


def test_an_html_error_page_becomes_one_plain_line() -> None:
    page = "<!doctype html>\n<html><title>500 Internal Server Error</title>\n</html>"
    with fake_endpoint(lambda op, body: (500, page)) as endpoint:
        aws = Aws(endpoint_url=endpoint.url, retry_mode="standard", max_attempts=1)
        with pytest.raises(AwsError) as caught:
            aws.client("organizations").list_roots()
    assert "HTML error page" in str(caught.value)
    assert "\n" not in str(caught.value) and "<" not in str(caught.value)


def test_an_unreachable_endpoint_is_a_plain_aws_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    aws = Aws(endpoint_url=f"http://127.0.0.1:{port}", retry_mode="standard", max_attempts=1)
    with pytest.raises(AwsError) as caught:
        aws.client("organizations").list_roots()
    assert caught.value.code == "EndpointConnectionError"
    assert "endpoint" in str(caught.value).lower()
    assert aws.calls.total == 1


def test_an_unknown_profile_is_a_plain_aws_error(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with pytest.raises(AwsError) as caught:
        Aws(profile="no-such-profile")
    assert caught.value.code == "ProfileNotFound"


def test_retry_configuration_and_pool_follow_the_options() -> None:
    aws = Aws(endpoint_url="http://127.0.0.1:9", parallelism=32, retry_mode="adaptive",
              max_attempts=5)
    client = aws.client("organizations")
    config = client.meta.config
    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 5  # every attempt, the first included
    assert config.max_pool_connections >= 32
    assert aws.region == "us-east-1"
    assert aws.client("organizations") is client  # cached


def test_standard_retry_settings_from_the_environment_are_honoured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    aws = Aws(endpoint_url="http://127.0.0.1:9")
    assert aws.client("organizations").meta.config.retries == {
        "mode": "standard", "total_max_attempts": 2}
    explicit = Aws(endpoint_url="http://127.0.0.1:9", retry_mode="adaptive", max_attempts=4)
    assert explicit.client("iam").meta.config.retries == {
        "mode": "adaptive", "total_max_attempts": 4}


def test_assume_root_goes_to_a_regional_sts_endpoint(tmp_path: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nsts_regional_endpoints = legacy\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    aws = Aws(region="us-east-1")
    assert aws.client("sts").meta.endpoint_url == "https://sts.amazonaws.com"  # legacy: global
    assert aws._regional_sts().meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"
