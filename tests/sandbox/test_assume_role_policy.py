"""AssumeRole as AWS decides it, through boto3 over HTTP: the role's trust policy AND the caller's
identity policies (user inline and managed, its groups' inline and managed) must allow
sts:AssumeRole on the role ARN, with conditions, wildcards, NotAction, and explicit Deny winning
(IAM User Guide, "Policy evaluation logic"; STS API reference, AssumeRole)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config

from reconciler.sandbox import Sandbox
from tests.aws.seed import iam_user, key_client

ROLE = "OrganizationAccountAccessRole"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
Policy = dict[str, Any]


def _doc(*statements: Policy) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(resource: str | list[str], condition: Policy | None = None, *,
           action: str = "sts:AssumeRole") -> Policy:
    statement: Policy = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _deny(resource: str, condition: Policy | None = None) -> Policy:
    statement: Policy = {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _members(sandbox: Sandbox, count: int) -> list[str]:
    org = sandbox.client("organizations")
    ids = []
    for i in range(count):
        status = org.create_account(AccountName=f"member-{i}",
                                    Email=f"aws+member-{i}@example.com")["CreateAccountStatus"]
        done = org.describe_create_account_status(CreateAccountRequestId=status["Id"])
        ids.append(done["CreateAccountStatus"]["AccountId"])
    return ids


def _user(sandbox: Sandbox, name: str, *, group: str | None = None,
          mfa: bool = False) -> dict[str, str]:
    """An IAM user of the management account with access keys (and an MFA device)."""
    key = iam_user(sandbox, name, groups=[group] if group else [])
    if mfa:
        iam = sandbox.client("iam")
        serial = iam.create_virtual_mfa_device(
            VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    return key


def _client(sandbox: Sandbox, service: str, key: dict[str, str]) -> Any:
    return key_client(sandbox, service, key, config=NO_RETRY)


def _assume(sts: Any, role_arn: str, **extra: Any) -> str:
    """"allowed", or the error code."""
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="test", **extra)
    except sts.exceptions.ClientError as error:
        return str(error.response["Error"]["Code"])
    return "allowed"


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
LOOPBACK = {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}
ELSEWHERE = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
TARGET = "{target}"
OTHER = "{other}"

# (case, in the group?, group inline policy, group managed policy, user inline policy,
#  pass MFA on the call?, expected)
CASES: list[tuple[str, bool, list[Policy], list[Policy], list[Policy], bool, str]] = [
    ("member, granted", True, [_allow(TARGET)], [], [], False, "allowed"),
    ("non-member, group granted", False, [_allow(TARGET)], [], [], False, "AccessDenied"),
    ("member, granted another account only", True, [_allow(OTHER)], [], [], False,
     "AccessDenied"),
    ("member, nothing granted", True, [], [], [], False, "AccessDenied"),
    ("member, MFA grant, no MFA", True, [_allow(TARGET, MFA)], [], [], False, "AccessDenied"),
    ("member, MFA grant, MFA passed", True, [_allow(TARGET, MFA)], [], [], True, "allowed"),
    ("member, source-IP grant, inside", True, [_allow(TARGET, LOOPBACK)], [], [], False,
     "allowed"),
    ("member, source-IP grant, outside", True, [_allow(TARGET, ELSEWHERE)], [], [], False,
     "AccessDenied"),
    ("member, granted, user's explicit Deny", True, [_allow(TARGET)], [], [_deny("*")], False,
     "AccessDenied"),
    ("member, granted, group managed Deny", True, [_allow(TARGET)], [_deny(TARGET)], [],
     False, "AccessDenied"),
    ("member, Deny unless MFA, no MFA", True, [_allow(TARGET)],
     [_deny("*", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})], [], False,
     "AccessDenied"),
    ("member, Deny unless MFA, MFA passed", True, [_allow(TARGET)],
     [_deny("*", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})], [], True,
     "allowed"),
    ("member, Deny from elsewhere only", True, [_allow(TARGET)],
     [_deny("*", {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}})], [], False, "allowed"),
    ("member, granted by a managed policy", True, [], [_allow(TARGET)], [], False, "allowed"),
    ("member, wildcard action and account", True,
     [_allow(f"arn:aws:iam::*:role/{ROLE[:12]}*", action="sts:Assume*")], [], [], False,
     "allowed"),
    ("member, NotAction iam:*", True,
     [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], [], [], False, "allowed"),
    ("member, NotResource the target", True,
     [{"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": TARGET}], [], [], False,
     "AccessDenied"),
    ("non-member, user's own inline grant", False, [], [], [_allow(TARGET)], False, "allowed"),
]


@pytest.mark.parametrize(("member", "group_inline", "group_managed", "user_inline", "mfa",
                          "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_identity_policy_evaluation_table(sandbox: Sandbox, member: bool,
                                          group_inline: list[Policy],
                                          group_managed: list[Policy],
                                          user_inline: list[Policy], mfa: bool,
                                          expected: str) -> None:
    target, other = _members(sandbox, 2)
    arns = {TARGET: f"arn:aws:iam::{target}:role/{ROLE}",
            OTHER: f"arn:aws:iam::{other}:role/{ROLE}"}

    def fill(statements: list[Policy]) -> str:
        text = _doc(*statements)
        for placeholder, arn in arns.items():
            text = text.replace(placeholder, arn)
        return text

    iam = sandbox.client("iam")
    iam.create_group(GroupName="admins", Path="/orgsync/")
    if group_inline:
        iam.put_group_policy(GroupName="admins", PolicyName="assume-prod",
                             PolicyDocument=fill(group_inline))
    if group_managed:
        arn = iam.create_policy(PolicyName="assume-managed",
                                PolicyDocument=fill(group_managed))["Policy"]["Arn"]
        iam.attach_group_policy(GroupName="admins", PolicyArn=arn)
    key = _user(sandbox, "alice", group="admins" if member else None, mfa=mfa)
    if user_inline:
        iam.put_user_policy(UserName="alice", PolicyName="own", PolicyDocument=fill(user_inline))
    sts = _client(sandbox, "sts", key)
    extra = {"SerialNumber": "arn:aws:iam::123456789012:mfa/alice",
             "TokenCode": "123456"} if mfa else {}
    assert _assume(sts, arns[TARGET], **extra) == expected


def test_packed_grant_with_resource_account_reaches_the_eleventh_account(
        sandbox: Sandbox) -> None:
    """orgsync packs large grants as role/NAME in any account, narrowed by aws:ResourceAccount
    to the listed ids: the 11th listed account is reachable, an unlisted one is not."""
    ids = _members(sandbox, 12)
    listed, unlisted = ids[:11], ids[11]
    iam = sandbox.client("iam")
    iam.create_group(GroupName="platform", Path="/orgsync/")
    iam.put_group_policy(GroupName="platform", PolicyName="orgsync-assume", PolicyDocument=_doc(
        _allow(f"arn:aws:iam::*:role/{ROLE}", {"StringEquals": {"aws:ResourceAccount": listed}})))
    sts = _client(sandbox, "sts", _user(sandbox, "alice", group="platform"))
    assert _assume(sts, f"arn:aws:iam::{listed[10]}:role/{ROLE}") == "allowed"
    assert _assume(sts, f"arn:aws:iam::{listed[0]}:role/{ROLE}") == "allowed"
    assert _assume(sts, f"arn:aws:iam::{unlisted}:role/{ROLE}") == "AccessDenied"


def test_trust_policy_is_required_even_with_a_grant(sandbox: Sandbox) -> None:
    (target,) = _members(sandbox, 1)
    admin = _assume_admin(sandbox, target)
    admin.create_role(RoleName="foreign", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
         "Action": "sts:AssumeRole"}))
    admin.create_role(RoleName="denies", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringLike": {"aws:PrincipalArn": "*:user/alice"}}}))
    iam = sandbox.client("iam")
    key = _user(sandbox, "alice")
    iam.put_user_policy(UserName="alice", PolicyName="all", PolicyDocument=_doc(_allow("*")))
    sts = _client(sandbox, "sts", key)
    assert _assume(sts, f"arn:aws:iam::{target}:role/foreign") == "AccessDenied"
    assert _assume(sts, f"arn:aws:iam::{target}:role/denies") == "AccessDenied"
    assert _assume(sts, f"arn:aws:iam::{target}:role/{ROLE}") == "allowed"


def _assume_admin(sandbox: Sandbox, account_id: str) -> Any:
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="setup")["Credentials"]
    return _client(sandbox, "iam", credentials)


def test_same_account_trust_naming_the_user_needs_no_identity_policy(sandbox: Sandbox) -> None:
    """Within one account, a trust policy that names the user's ARN is enough; one that names
    the account needs the user's identity policy too (IAM User Guide, "Policy evaluation for
    requests within a single account")."""
    iam = sandbox.client("iam")
    key = _user(sandbox, "alice")
    iam.create_role(RoleName="named", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
         "Action": "sts:AssumeRole"}))
    iam.create_role(RoleName="account", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "sts:AssumeRole"}))
    sts = _client(sandbox, "sts", key)
    assert _assume(sts, "arn:aws:iam::123456789012:role/named") == "allowed"
    assert _assume(sts, "arn:aws:iam::123456789012:role/account") == "AccessDenied"
    iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=_doc(
        _allow("arn:aws:iam::123456789012:role/account")))
    assert _assume(sts, "arn:aws:iam::123456789012:role/account") == "allowed"


def test_role_chaining_needs_the_first_roles_permission(sandbox: Sandbox) -> None:
    (target,) = _members(sandbox, 1)
    admin = _assume_admin(sandbox, target)
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": target}, "Action": "sts:AssumeRole"})
    admin.create_role(RoleName="hop", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}))
    admin.create_role(RoleName="next", AssumeRolePolicyDocument=trust)
    hop = sandbox.client("sts").assume_role(RoleArn=f"arn:aws:iam::{target}:role/hop",
                                            RoleSessionName="hop")["Credentials"]
    chained = _client(sandbox, "sts", hop)
    assert _assume(chained, f"arn:aws:iam::{target}:role/next") == "AccessDenied"
    admin.put_role_policy(RoleName="hop", PolicyName="next", PolicyDocument=_doc(
        _allow(f"arn:aws:iam::{target}:role/next")))
    assert _assume(chained, f"arn:aws:iam::{target}:role/next") == "allowed"

