"""Observe and the AWS boundary, against the sandbox over real HTTP: the runner's
own bad credentials are an error (never "role not assumable"), the management account's tags are
read when the file manages them, group ownership is by exact path, AWS_REGION reaches the boundary,
and the one State/Status rule."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws import Aws
from reconciler.aws.client import translate
from reconciler.commands.profiles import account_ids_from_aws
from reconciler.config import load_text
from reconciler.errors import AccessDenied, CredentialsError
from reconciler.observe import observe
from reconciler.observed import account_state
from tests.aws.seed import create_member, dumps
from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT

MANAGEMENT = "123456789012"

TWO_MEMBERS = HEADER + """\
accounts:
  - name: one
    email: aws+one@example.com
  - name: two
    email: aws+two@example.com
"""


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(endpoint_url=sandbox_process_env.info.endpoint_url, parallelism=2)


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId",
                                  "SignatureDoesNotMatch", "UnrecognizedClientException"])
def test_credentials_codes_are_not_access_denied(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "bad token"}}, "AssumeRole")
    translated = translate(error, operation="sts:AssumeRole", account_id="210987654321")
    assert isinstance(translated, CredentialsError)
    assert not isinstance(translated, AccessDenied)
    assert translated.code == code


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId"])
def test_runner_credentials_failing_mid_observe_fail_the_read(sandbox: Any, aws: Aws,
                                                              code: str) -> None:
    org = sandbox.client("organizations")
    for name in ("one", "two"):
        create_member(org, name=name, email=f"aws+{name}@example.com")
    desired = load_text(TWO_MEMBERS, filename="accounts.yaml")
    for _ in range(8):  # every AssumeRole from now on, retries included
        sandbox.control.inject_fault("sts.AssumeRole", code=code,
                                     message="The security token included in the request is "
                                     "expired")
    with pytest.raises(CredentialsError) as raised:
        observe(desired, aws, parallelism=2)
    assert raised.value.code == code


def test_a_real_access_denial_is_still_not_assumable(sandbox: Any, aws: Aws) -> None:
    org = sandbox.client("organizations")
    for name in ("one", "two"):
        create_member(org, name=name, email=f"aws+{name}@example.com")
    desired = load_text(TWO_MEMBERS, filename="accounts.yaml")
    for _ in range(8):
        sandbox.control.inject_fault("sts.AssumeRole", code="AccessDenied")
    observed = observe(desired, aws, parallelism=2)
    assert {r.status for r in observed.roles.values()} == {"not_assumable"}


MANAGEMENT_TAGS = HEADER + MANAGEMENT_ACCOUNT + """\
    tags: {team: platform}
"""


def test_management_account_tags_are_read_when_the_file_manages_them(sandbox: Any,
                                                                      aws: Aws) -> None:
    sandbox.client("organizations").tag_resource(
        ResourceId=MANAGEMENT, Tags=[{"Key": "team", "Value": "platform"}])
    observed = observe(load_text(MANAGEMENT_TAGS, filename="accounts.yaml"), aws)
    management = next(a for a in observed.accounts if a.id == MANAGEMENT)
    assert management.tags == {"team": "platform"}
    assert MANAGEMENT not in observed.roles  # still no access role read for it

    untagged = MANAGEMENT_TAGS.replace("    tags: {team: platform}\n", "")
    observed = observe(load_text(untagged, filename="accounts.yaml"), aws)
    assert next(a for a in observed.accounts if a.id == MANAGEMENT).tags is None


def test_group_ownership_is_by_exact_path(sandbox: Any, aws: Aws) -> None:
    iam = sandbox.client("iam")
    iam.create_group(GroupName="mine", Path="/orgsync/")
    iam.create_group(GroupName="theirs", Path="/orgsync/other-team/")
    document = dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    iam.create_policy(PolicyName="their-policy", Path="/orgsync/other-team/",
                      PolicyDocument=document)
    iam.create_policy(PolicyName="orgsync-mine-assume-1", Path="/orgsync/",
                      PolicyDocument=document)
    desired = load_text(TWO_MEMBERS, filename="accounts.yaml")
    observed = observe(desired, aws)
    assert [(g.path, g.name) for g in observed.groups] == [("/orgsync/", "mine")]
    assert [p.name for p in observed.managed_policies] == ["orgsync-mine-assume-1"]


def test_aws_region_reaches_the_boundary(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert Aws(endpoint_url=sandbox.info.endpoint_url).region == "eu-west-2"
    assert Aws(endpoint_url=sandbox.info.endpoint_url, region="ap-south-1").region == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    assert Aws(endpoint_url=sandbox.info.endpoint_url).region == "us-east-1"


def test_account_ids_are_looked_up_through_the_given_aws(sandbox: Any, aws: Aws) -> None:
    account_id = create_member(sandbox.client("organizations"), name="one",
                               email="aws+one@example.com")
    desired = load_text(TWO_MEMBERS, filename="accounts.yaml")
    found = account_ids_from_aws(aws, list(desired.accounts))
    assert found == {"one": account_id}
    assert aws.calls.by_operation().get("organizations:ListAccounts", 0) >= 1


@pytest.mark.parametrize(("raw", "expected"), [
    ({"State": "SUSPENDED", "Status": "ACTIVE"}, "SUSPENDED"),
    ({"Status": "PENDING_CLOSURE"}, "PENDING_CLOSURE"),
    ({"State": "", "Status": "SUSPENDED"}, "SUSPENDED"),
    ({}, "ACTIVE"),
])
def test_account_state_prefers_state_then_status(raw: dict[str, str], expected: str) -> None:
    assert account_state(raw) == expected
