"""The AWS boundary with an MFA device, against the sandbox over real HTTP: one GetSessionToken per
run whatever the number of threads, its credentials used only for sts:AssumeRole into member
accounts (so MFA-protected roles admit orgsync) while everything else keeps the runner's own
credentials (AssumeRoot and IAM would be refused otherwise), and a bad device, a bad code or an
expired session is one ``MfaSessionError`` naming the device, never an AssumeRole refusal that
observe would take for "this account's role cannot be assumed"."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reconciler.aws import Aws, MfaSessionError
from reconciler.errors import AccessDenied, AwsError
from tests.aws.seed import ROLE, create_member, enable_root_access, member_client, trust_policy

CODE = "246802"


def _aws(sandbox: Any, monkeypatch: pytest.MonkeyPatch, *, serial: str | None = None,
         token: str | None = CODE) -> Aws:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return Aws(endpoint_url=sandbox.info.endpoint_url, retry_mode="standard", max_attempts=2,
               mfa_serial=serial, mfa_token=token)


def _mfa_protected_member(sandbox: Any, name: str) -> str:
    """A member account whose access role's trust now requires MFA."""
    account_id = create_member(sandbox.client("organizations"), name=name,
                               email=f"aws+{name}@example.com")
    iam = member_client(sandbox, "iam", account_id)
    iam.update_assume_role_policy(
        RoleName=ROLE, PolicyDocument=json.dumps(trust_policy("123456789012", mfa=True)))
    return account_id


def test_one_mfa_session_opens_mfa_protected_roles_from_many_threads(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = [_mfa_protected_member(sandbox, f"mfa{i}") for i in range(4)]
    without = _aws(sandbox, monkeypatch)
    with pytest.raises(AccessDenied) as refused:  # orgsync's own keys carry no MFA
        without.assume_role(account_id=accounts[0], role_name=ROLE)
    assert refused.value.operation == "sts:AssumeRole"

    aws = _aws(sandbox, monkeypatch, serial=sandbox.info.mfa_serial)
    assert aws.has_mfa and not without.has_mfa

    def whoami(account_id: str) -> str:
        sts = aws.member_client("sts", account_id=account_id, role_name=ROLE)
        return str(sts.get_caller_identity()["Account"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(whoami, accounts * 2)) == accounts * 2
    assert sandbox.control.calls("sts.GetSessionToken") == 1
    scopes = aws.calls.by_scope()
    # recorded as the runner's own calls: the MFA session acts as the runner's IAM user
    assert scopes["management"] == {"sts:AssumeRole": 4, "sts:GetSessionToken": 1}
    assert scopes["member"] == {"sts:GetCallerIdentity": 8}
    for account_id in accounts:
        assert aws.calls.for_account(account_id)["sts:AssumeRole"] == 1


def test_everything_but_assume_role_keeps_the_runners_own_credentials(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    account_id = _mfa_protected_member(sandbox, "mixed")
    enable_root_access(sandbox)
    aws = _aws(sandbox, monkeypatch, serial=sandbox.info.mfa_serial)
    aws.assume_role(account_id=account_id, role_name=ROLE)  # the MFA session exists now
    # AWS refuses AssumeRoot from session credentials, and IAM from a session's STS calls but
    # AssumeRole/GetCallerIdentity: these work only because they are signed with the runner's keys
    root = aws.root_client("iam", account_id=account_id, task="IAMAuditRootUserCredentials")
    assert "AccountMFAEnabled" in root.get_account_summary()["SummaryMap"]
    assert aws.client("organizations").describe_organization()["Organization"]["Id"]
    identity = aws.client("sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/admin"
    assert aws.calls.by_operation()["sts:GetSessionToken"] == 1
    # a changed role is assumed again with the same session: no second code needed
    aws.forget(account_id)
    aws.assume_role(account_id=account_id, role_name=ROLE)
    assert sandbox.control.calls("sts.GetSessionToken") == 1


@pytest.mark.parametrize(("serial", "token"), [
    ("arn:aws:iam::123456789012:mfa/nobody", CODE),
    (None, "12345x"),
])
def test_a_bad_device_or_code_is_one_error_naming_the_device(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch, serial: str | None,
        token: str) -> None:
    account_id = _mfa_protected_member(sandbox, "locked")
    device = serial or sandbox.info.mfa_serial
    aws = _aws(sandbox, monkeypatch, serial=device, token=token)
    for _ in range(3):
        with pytest.raises(MfaSessionError) as caught:
            aws.assume_role(account_id=account_id, role_name=ROLE)
        assert not isinstance(caught.value, AwsError)
        message = str(caught.value)
        assert message.startswith(f"could not start an MFA session with {device}: ")
        assert "\n" not in message
    assert sandbox.control.calls("sts.GetSessionToken") == 1  # not asked again per account
    assert sandbox.control.calls("sts.AssumeRole") == 1  # only the fixture's own


def test_session_credentials_as_base_credentials_get_a_hint(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    account_id = _mfa_protected_member(sandbox, "hint")
    session = sandbox.client("sts").get_session_token()["Credentials"]
    _aws(sandbox, monkeypatch)  # the sandbox's environment, then the session's keys over it
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", session["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", session["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", session["SessionToken"])
    aws = Aws(endpoint_url=sandbox.info.endpoint_url, mfa_serial=sandbox.info.mfa_serial,
              mfa_token=CODE)
    with pytest.raises(MfaSessionError, match="needs the long-term access keys"):
        aws.assume_role(account_id=account_id, role_name=ROLE)


def test_an_expired_mfa_session_stops_the_run(sandbox: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = _mfa_protected_member(sandbox, "early")
    late = _mfa_protected_member(sandbox, "late")
    aws = _aws(sandbox, monkeypatch, serial=sandbox.info.mfa_serial)
    aws.assume_role(account_id=first, role_name=ROLE)
    sandbox.control.advance_clock(3601)  # orgsync asks for a one-hour session
    with pytest.raises(MfaSessionError, match="has expired"):
        aws.assume_role(account_id=late, role_name=ROLE)
