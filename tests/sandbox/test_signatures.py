"""Authentication as AWS does it: a wrong secret key, an unknown access key, a session key without
its token are refused in each protocol's own error; root users' keys work as the root user but
cannot assume roles or call AssumeRoot."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox
from tests.aws.seed import iam_user

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details.")


def _client(sandbox: Sandbox, service: str, key_id: str, secret: str,
            token: str | None = None) -> Any:
    return boto3.client(service, endpoint_url=sandbox.info.endpoint_url,
                        region_name=sandbox.info.region, config=NO_RETRY,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        aws_session_token=token)


def _code(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"])


CALLS = [
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("iam", lambda c: c.list_users(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("organizations", lambda c: c.list_accounts(), "InvalidSignatureException",
     "UnrecognizedClientException"),
    ("account", lambda c: c.get_account_information(), "InvalidSignatureException",
     "UnrecognizedClientException"),
]


@pytest.mark.parametrize(("service", "call", "bad_secret", "unknown_key"), CALLS,
                         ids=[c[0] for c in CALLS])
def test_wrong_secret_and_unknown_key_are_refused(sandbox: Sandbox, service: str, call: Any,
                                                  bad_secret: str, unknown_key: str) -> None:
    info = sandbox.info
    call(_client(sandbox, service, info.access_key_id, info.secret_access_key))  # works
    wrong = _client(sandbox, service, info.access_key_id, "x" * 40)
    assert _code(lambda: call(wrong)) == (bad_secret, 403, BAD_SIGNATURE)
    stranger = _client(sandbox, service, "AKIAIOSFODNN7EXAMPLE", info.secret_access_key)
    code, status, message = _code(lambda: call(stranger))
    assert (code, status) == (unknown_key, 403)
    assert message == "The security token included in the request is invalid."


def test_session_credentials_need_their_token_and_secret(sandbox: Sandbox) -> None:
    org = sandbox.client("organizations")
    status = org.create_account(AccountName="m", Email="aws+m@example.com")["CreateAccountStatus"]
    account = org.describe_create_account_status(
        CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    creds = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="session")["Credentials"]
    key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    assert _client(sandbox, "sts", key, secret, token).get_caller_identity()["Account"] == account
    for client in (_client(sandbox, "sts", key, secret),
                   _client(sandbox, "sts", key, secret, "not-the-token")):
        assert _code(client.get_caller_identity)[0] == "InvalidClientTokenId"
    assert _code(_client(sandbox, "sts", key, "y" * 40, token).get_caller_identity)[0] == \
        "SignatureDoesNotMatch"
    # a long-term key presented with a session token is not a valid credential either
    info = sandbox.info
    assert _code(_client(sandbox, "sts", info.access_key_id, info.secret_access_key,
                         token).get_caller_identity)[0] == "InvalidClientTokenId"


def test_a_deleted_or_inactive_key_stops_working(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    key = iam_user(sandbox, "carol")
    carol = _client(sandbox, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    carol.get_caller_identity()
    iam.update_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert _code(carol.get_caller_identity)[0] == "InvalidClientTokenId"
    iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    assert _code(carol.get_caller_identity)[0] == "InvalidClientTokenId"


def test_unsigned_requests_are_refused(sandbox: Sandbox) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(sandbox.info.endpoint_url + "/", method="POST",
                                     data=b"Action=GetCallerIdentity&Version=2011-06-15")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in caught.value.read()


def test_root_user_keys_act_as_root_but_cannot_assume_roles(sandbox: Sandbox) -> None:
    """AWS: "Roles may not be assumed by root accounts"; AssumeRoot refuses root users too."""
    management = sandbox.info.management_account_id
    root = sandbox.control.create_root_access_key(management)
    sts = _client(sandbox, "sts", root["AccessKeyId"], root["SecretAccessKey"])
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{management}:root"
    assert identity["Account"] == management
    assert _client(sandbox, "organizations", root["AccessKeyId"],
                   root["SecretAccessKey"]).describe_organization()["Organization"]
    org = sandbox.client("organizations")
    status = org.create_account(AccountName="m", Email="aws+m@example.com")["CreateAccountStatus"]
    account = org.describe_create_account_status(
        CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    code, _status, message = _code(lambda: sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="root"))
    assert (code, message) == ("AccessDenied", "Roles may not be assumed by root accounts.")
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    sandbox.client("iam").enable_organizations_root_sessions()
    task = {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}
    assert sandbox.client("sts").assume_root(TargetPrincipal=account, TaskPolicyArn=task)
    assert _code(lambda: sts.assume_root(TargetPrincipal=account, TaskPolicyArn=task))[0] == \
        "AccessDenied"
    # the seeded standalone root key works too, and a wrong secret for it does not
    standalone = sandbox.info.standalone_accounts[0]
    from reconciler.sandbox.options import stable_access_key_id, stable_secret_access_key
    own = _client(sandbox, "sts", stable_access_key_id(standalone.id, purpose="root"),
                  stable_secret_access_key(standalone.id, purpose="root"))
    assert own.get_caller_identity()["Arn"] == f"arn:aws:iam::{standalone.id}:root"
    wrong = _client(sandbox, "sts", stable_access_key_id(standalone.id, purpose="root"), "z" * 40)
    assert _code(wrong.get_caller_identity)[0] == "SignatureDoesNotMatch"
