"""MFA in the sandbox as AWS does it: GetSessionToken with the caller's MFA device gives session
credentials that act as the IAM user and carry aws:MultiFactorAuthPresent on every request, so an
MFA-conditioned trust policy admits AssumeRole made with them; role sessions never carry MFA
(no propagation through role chaining); wrong devices, codes and durations get AWS's errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, SandboxInfo
from tests.sandbox.member_accounts import new_member

ADMIN_MFA = "arn:aws:iam::123456789012:mfa/admin"
MFA_TRUE = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
WRONG_DEVICE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify "
                "your MFA serial number is valid and associated with this user.")


def _role(sandbox: Sandbox, call: Any, as_session: Any, account_id: str, name: str, *,
          principal: str = "arn:aws:iam::123456789012:root",
          condition: dict[str, Any] | None = None, may_assume: bool = False) -> str:
    """Create a role in a member account (through its access role); returns its ARN.
    ``may_assume``: the role's own policy allows sts:AssumeRole (AWS needs it to chain on)."""
    creds = call(sandbox.client("sts"), "AssumeRole", RoleSessionName="setup",
                 RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
                 )["Credentials"]
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal},
                                 "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    call(as_session("iam", creds), "CreateRole", RoleName=name,
         AssumeRolePolicyDocument=document)
    if may_assume:
        call(as_session("iam", creds), "PutRolePolicy", RoleName=name, PolicyName="chain",
             PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    return f"arn:aws:iam::{account_id}:role/{name}"


def _session(sandbox: Sandbox, call: Any, **params: Any) -> dict[str, Any]:
    result = call(sandbox.client("sts"), "GetSessionToken", **params)
    return dict(result["Credentials"])


def test_info_publishes_the_admin_mfa_device(sandbox: Sandbox, call: Any) -> None:
    assert sandbox.info.mfa_serial == ADMIN_MFA
    assert SandboxInfo.from_document(sandbox.info.to_document()) == sandbox.info
    devices = call(sandbox.client("iam"), "ListMFADevices", UserName="admin")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [ADMIN_MFA]


def test_mfa_role_needs_mfa_in_the_call_or_in_the_session(sandbox: Sandbox, call: Any,
                                                          error: Any, as_session: Any) -> None:
    member = new_member(sandbox, call)
    arn = _role(sandbox, call, as_session, member, "mfa", condition=MFA_TRUE)
    sts = sandbox.client("sts")
    error(sts, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="plain")

    direct = call(sts, "AssumeRole", RoleArn=arn, RoleSessionName="direct",
                  SerialNumber=ADMIN_MFA, TokenCode="123456")
    assert direct["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{member}:assumed-role/mfa/direct"

    with_mfa = as_session("sts", _session(sandbox, call, SerialNumber=ADMIN_MFA,
                                          TokenCode="000000"))
    via_session = call(with_mfa, "AssumeRole", RoleArn=arn, RoleSessionName="session")
    identity = call(as_session("sts", via_session["Credentials"]), "GetCallerIdentity")
    assert identity["Account"] == member
    assert identity["Arn"] == f"arn:aws:sts::{member}:assumed-role/mfa/session"

    without_mfa = as_session("sts", _session(sandbox, call))
    failure = error(without_mfa, "AssumeRole", "AccessDenied", RoleArn=arn,
                    RoleSessionName="nomfa")
    assert failure.response["Error"]["Message"] == (
        "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: "
        f"sts:AssumeRole on resource: {arn}")
    # a session without MFA can still pass MFA on the AssumeRole call itself
    call(without_mfa, "AssumeRole", RoleArn=arn, RoleSessionName="late", SerialNumber=ADMIN_MFA,
         TokenCode="654321")


def test_wrong_device_or_code_is_refused(sandbox: Sandbox, call: Any, error: Any,
                                         as_session: Any) -> None:
    iam = sandbox.client("iam")
    call(iam, "CreateUser", UserName="bob")
    device = call(iam, "CreateVirtualMFADevice", VirtualMFADeviceName="bob")["VirtualMFADevice"]
    call(iam, "EnableMFADevice", UserName="bob", SerialNumber=device["SerialNumber"],
         AuthenticationCode1="111111", AuthenticationCode2="222222")
    sts = sandbox.client("sts")
    for serial in ("arn:aws:iam::123456789012:mfa/nobody", device["SerialNumber"]):
        failure = error(sts, "GetSessionToken", "AccessDenied", SerialNumber=serial,
                        TokenCode="123456")
        assert failure.response["Error"]["Message"] == WRONG_DEVICE
    failure = error(sts, "GetSessionToken", "AccessDenied", SerialNumber=ADMIN_MFA)
    assert "must provide both MFA serial number and one time pass code" in str(failure)
    error(sts, "GetSessionToken", "ValidationError", SerialNumber=ADMIN_MFA, TokenCode="12345a")

    member = new_member(sandbox, call)
    arn = _role(sandbox, call, as_session, member, "mfa", condition=MFA_TRUE)
    failure = error(sts, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="wrong",
                    SerialNumber=device["SerialNumber"], TokenCode="123456")
    assert failure.response["Error"]["Message"] == WRONG_DEVICE
    # a standalone account's admin has no MFA device: the management admin's is not theirs
    outsider = sandbox.client("sts", account=sandbox.info.standalone_accounts[0])
    error(outsider, "GetSessionToken", "AccessDenied", SerialNumber=ADMIN_MFA,
          TokenCode="123456")


def test_session_credentials_act_as_the_user(sandbox: Sandbox, call: Any, error: Any,
                                             as_session: Any) -> None:
    before = datetime.now(timezone.utc)
    default = _session(sandbox, call, SerialNumber=ADMIN_MFA, TokenCode="123456")
    assert default["AccessKeyId"].startswith("ASIA")
    lifetime = default["Expiration"] - before
    assert timedelta(hours=12) - timedelta(minutes=1) < lifetime < timedelta(hours=12, minutes=1)
    short = _session(sandbox, call, DurationSeconds=900)
    assert short["Expiration"] - before < timedelta(seconds=960)
    longest = _session(sandbox, call, DurationSeconds=129_600)
    assert longest["Expiration"] - before > timedelta(hours=35)
    sts = sandbox.client("sts")
    error(sts, "GetSessionToken", "ValidationError", DurationSeconds=129_601)

    identity = call(as_session("sts", default), "GetCallerIdentity")
    assert (identity["Account"], identity["Arn"]) == ("123456789012",
                                                      "arn:aws:iam::123456789012:user/admin")
    org = call(as_session("organizations", default), "DescribeOrganization")
    assert org["Organization"]["MasterAccountId"] == "123456789012"
    users = call(as_session("iam", default), "ListUsers")["Users"]
    assert [u["UserName"] for u in users] == ["admin"]
    # IAM needs MFA in GetSessionToken; STS allows only AssumeRole and GetCallerIdentity
    error(as_session("iam", short), "ListUsers", "AccessDenied")
    failure = error(as_session("sts", default), "GetSessionToken", "AccessDenied")
    assert failure.response["Error"]["Message"] == ("Cannot call GetSessionToken with session "
                                                    "credentials")
    error(as_session("sts", default), "AssumeRoot", "AccessDenied", TargetPrincipal="210987654321",
          TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"})
    # keys of a session are not the user's access keys
    keys = call(sandbox.client("iam"), "ListAccessKeys", UserName="admin")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [sandbox.info.access_key_id]

    sandbox.control.advance_clock(901)
    error(as_session("sts", short), "GetCallerIdentity", "ExpiredTokenException")
    call(as_session("sts", default), "GetCallerIdentity")


def test_mfa_does_not_propagate_through_role_chaining(sandbox: Sandbox, call: Any, error: Any,
                                                     as_session: Any) -> None:
    member = new_member(sandbox, call)
    hop = _role(sandbox, call, as_session, member, "hop", may_assume=True)
    guarded = _role(sandbox, call, as_session, member, "guarded", principal=member,
                    condition=MFA_TRUE)
    with_mfa = as_session("sts", _session(sandbox, call, SerialNumber=ADMIN_MFA,
                                          TokenCode="123456"))
    for first in (call(with_mfa, "AssumeRole", RoleArn=hop, RoleSessionName="hop"),
                  call(sandbox.client("sts"), "AssumeRole", RoleArn=hop, RoleSessionName="hop",
                       SerialNumber=ADMIN_MFA, TokenCode="123456")):
        chained = as_session("sts", first["Credentials"])
        error(chained, "AssumeRole", "AccessDenied", RoleArn=guarded, RoleSessionName="chain")
    # the same chain without the MFA condition works: the refusal is MFA's
    open_role = _role(sandbox, call, as_session, member, "open", principal=member)
    call(chained, "AssumeRole", RoleArn=open_role, RoleSessionName="chain")


@pytest.mark.parametrize(("condition", "admitted_after_an_hour"), [
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"},
      "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, False),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, True),
    ({"Null": {"aws:MultiFactorAuthAge": "false"}}, True),
])
def test_mfa_age_and_presence_conditions(sandbox: Sandbox, call: Any, error: Any,
                                         as_session: Any, condition: dict[str, Any],
                                         admitted_after_an_hour: bool) -> None:
    member = new_member(sandbox, call)
    arn = _role(sandbox, call, as_session, member, "aged", condition=condition)
    with_mfa = as_session("sts", _session(sandbox, call, SerialNumber=ADMIN_MFA,
                                          TokenCode="123456"))
    call(with_mfa, "AssumeRole", RoleArn=arn, RoleSessionName="fresh")
    sandbox.control.advance_clock(3601)
    if admitted_after_an_hour:
        call(with_mfa, "AssumeRole", RoleArn=arn, RoleSessionName="later")
    else:
        error(with_mfa, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="later")
    without_mfa = as_session("sts", _session(sandbox, call))
    error(without_mfa, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="none")


def test_bool_if_exists_admits_long_term_keys(sandbox: Sandbox, call: Any,
                                              as_session: Any) -> None:
    """aws:MultiFactorAuthPresent is absent for long-term access keys (why AWS recommends the
    IfExists operators): BoolIfExists true admits them, Bool true does not."""
    member = new_member(sandbox, call)
    arn = _role(sandbox, call, as_session, member, "lenient",
                condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}})
    call(sandbox.client("sts"), "AssumeRole", RoleArn=arn, RoleSessionName="keys")
