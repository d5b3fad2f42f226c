"""STS and IAM in the sandbox: AssumeRole honours trust policies, centralized root access
(organizations features, AssumeRoot, root-task limits, the root user model) works as in AWS."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from reconciler.sandbox import Sandbox
from tests.sandbox.member_accounts import admin_client, new_member

TASK = "arn:aws:iam::aws:policy/root-task/"


def _trust(principal: object, condition: dict | None = None) -> str:
    statement: dict = {"Effect": "Allow", "Principal": {"AWS": principal},
                       "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(("principal", "admitted"), [
    ("123456789012", True),
    ("arn:aws:iam::123456789012:root", True),
    ("arn:aws:iam::123456789012:user/admin", True),
    ("arn:aws:iam::123456789012:user/someone-else", False),
    ("arn:aws:iam::999999999999:root", False),
    (["arn:aws:iam::999999999999:root", "123456789012"], True),
])
def test_assume_role_honours_the_trust_policy(sandbox: Sandbox, call, error, as_session,
                                              principal: object, admitted: bool) -> None:
    member = new_member(sandbox, call)
    iam = admin_client(sandbox, call, as_session, member, "iam")
    call(iam, "CreateRole", RoleName="probe", AssumeRolePolicyDocument=_trust(principal))
    sts = sandbox.client("sts")
    arn = f"arn:aws:iam::{member}:role/probe"
    if admitted:
        result = call(sts, "AssumeRole", RoleArn=arn, RoleSessionName="probe")
        assert result["AssumedRoleUser"]["Arn"].endswith(":assumed-role/probe/probe")
        identity = as_session("sts", result["Credentials"]).get_caller_identity()
        assert identity["Account"] == member
    else:
        failure = error(sts, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="probe")
        message = failure.response["Error"]["Message"]
        assert message == ("User: arn:aws:iam::123456789012:user/admin is not authorized to "
                           f"perform: sts:AssumeRole on resource: {arn}")


def test_assume_role_requires_an_existing_role(sandbox: Sandbox, call, error) -> None:
    member = new_member(sandbox, call)
    error(sandbox.client("sts"), "AssumeRole", "AccessDenied",
          RoleArn=f"arn:aws:iam::{member}:role/missing", RoleSessionName="probe")


def test_assume_role_mfa_condition(sandbox: Sandbox, call, error, as_session) -> None:
    member = new_member(sandbox, call)
    iam = admin_client(sandbox, call, as_session, member, "iam")
    call(iam, "CreateRole", RoleName="mfa", AssumeRolePolicyDocument=_trust(
        "arn:aws:iam::123456789012:root", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    sts = sandbox.client("sts")
    arn = f"arn:aws:iam::{member}:role/mfa"
    error(sts, "AssumeRole", "AccessDenied", RoleArn=arn, RoleSessionName="nomfa")
    call(sts, "AssumeRole", RoleArn=arn, RoleSessionName="withmfa",
         SerialNumber="arn:aws:iam::123456789012:mfa/admin", TokenCode="123456")


def test_assume_role_source_ip_condition(sandbox: Sandbox, call, error, as_session) -> None:
    member = new_member(sandbox, call)
    iam = admin_client(sandbox, call, as_session, member, "iam")
    call(iam, "CreateRole", RoleName="office", AssumeRolePolicyDocument=_trust(
        "123456789012", {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}))
    call(iam, "CreateRole", RoleName="loopback", AssumeRolePolicyDocument=_trust(
        "123456789012", {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    sts = sandbox.client("sts")
    error(sts, "AssumeRole", "AccessDenied", RoleArn=f"arn:aws:iam::{member}:role/office",
          RoleSessionName="probe")
    call(sts, "AssumeRole", RoleArn=f"arn:aws:iam::{member}:role/loopback",
         RoleSessionName="probe")


def test_organizations_features_prerequisites(sandbox: Sandbox, call, error) -> None:
    iam = sandbox.client("iam")
    error(iam, "ListOrganizationsFeatures", "ServiceAccessNotEnabledException")
    error(iam, "EnableOrganizationsRootSessions", "ServiceAccessNotEnabledException")
    outsider = sandbox.client("iam", account=sandbox.info.standalone_accounts[0])
    error(outsider, "ListOrganizationsFeatures", "OrganizationNotFoundException")
    call(sandbox.client("organizations"), "EnableAWSServiceAccess",
         ServicePrincipal="iam.amazonaws.com")
    features = call(iam, "ListOrganizationsFeatures")
    assert features["EnabledFeatures"] == []
    assert features["OrganizationId"].startswith("o-")
    member = new_member(sandbox, call)
    member_iam = sandbox.client("iam")  # management
    assert call(member_iam, "EnableOrganizationsRootCredentialsManagement")[
        "EnabledFeatures"] == ["RootCredentialsManagement"]
    del member
    assert call(iam, "EnableOrganizationsRootSessions")["EnabledFeatures"] == [
        "RootCredentialsManagement", "RootSessions"]
    assert call(iam, "DisableOrganizationsRootSessions")["EnabledFeatures"] == [
        "RootCredentialsManagement"]


def test_enable_features_from_a_member_account(sandbox: Sandbox, call, error,
                                               as_session) -> None:
    call(sandbox.client("organizations"), "EnableAWSServiceAccess",
         ServicePrincipal="iam.amazonaws.com")
    member = new_member(sandbox, call)
    iam = admin_client(sandbox, call, as_session, member, "iam")
    error(iam, "EnableOrganizationsRootSessions", "CallerIsNotManagementAccountException")
    error(iam, "ListOrganizationsFeatures",
          "AccountNotManagementOrDelegatedAdministratorException")


def test_assume_root_needs_root_sessions(sandbox: Sandbox, call, error) -> None:
    member = new_member(sandbox, call)
    sts = sandbox.client("sts")
    error(sts, "AssumeRoot", "AccessDenied", TargetPrincipal=member,
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"})
    call(sandbox.client("organizations"), "EnableAWSServiceAccess",
         ServicePrincipal="iam.amazonaws.com")
    call(sandbox.client("iam"), "EnableOrganizationsRootSessions")
    call(sts, "AssumeRoot", TargetPrincipal=member,
         TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"}, DurationSeconds=900)
    error(sts, "AssumeRoot", "AccessDenied", TargetPrincipal="123456789012",
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"})
    error(sts, "AssumeRoot", "AccessDenied", TargetPrincipal="210987654321",
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"})
    error(sts, "AssumeRoot", "ValidationError", TargetPrincipal=member,
          TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/AdministratorAccess"})


def _enable_root_access(sandbox: Sandbox, call) -> None:
    call(sandbox.client("organizations"), "EnableAWSServiceAccess",
         ServicePrincipal="iam.amazonaws.com")
    iam = sandbox.client("iam")
    call(iam, "EnableOrganizationsRootCredentialsManagement")
    call(iam, "EnableOrganizationsRootSessions")


def _joined_with_root_access(sandbox: Sandbox, call) -> Any:
    """Standalone account 0 invited and joined (with the password, MFA device and access key the
    sandbox seeds it with), the IAM organizations features on: the account."""
    target = sandbox.info.standalone_accounts[0]
    handshake = call(sandbox.client("organizations"), "InviteAccountToOrganization",
                     Target={"Type": "ACCOUNT", "Id": target.id})["Handshake"]
    call(sandbox.client("organizations", account=target), "AcceptHandshake",
         HandshakeId=handshake["Id"])
    _enable_root_access(sandbox, call)
    return target


def _root(sandbox: Sandbox, call, as_session, account_id: str, task: str):
    creds = call(sandbox.client("sts"), "AssumeRoot", TargetPrincipal=account_id,
                 TaskPolicyArn={"arn": TASK + task})["Credentials"]
    return as_session("iam", creds)


def test_root_credential_journey(sandbox: Sandbox, call, error, as_session) -> None:
    """Invite a standalone account (password, MFA, access key), enable the features, audit,
    delete, audit again, allow recovery."""
    target = _joined_with_root_access(sandbox, call)

    audit = _root(sandbox, call, as_session, target.id, "IAMAuditRootUserCredentials")
    summary = call(audit, "GetAccountSummary")["SummaryMap"]
    assert {k: summary[k] for k in ("AccountPasswordPresent", "AccountAccessKeysPresent",
                                    "AccountSigningCertificatesPresent", "AccountMFAEnabled")} \
        == {"AccountPasswordPresent": 1, "AccountAccessKeysPresent": 1,
            "AccountSigningCertificatesPresent": 0, "AccountMFAEnabled": 1}
    keys = call(audit, "ListAccessKeys")["AccessKeyMetadata"]
    devices = call(audit, "ListMFADevices")["MFADevices"]
    assert call(audit, "GetLoginProfile")["LoginProfile"]["CreateDate"]
    assert call(audit, "ListSigningCertificates")["Certificates"] == []
    assert len(keys) == 1 and len(devices) == 1
    error(audit, "DeleteLoginProfile", "AccessDenied")

    delete = _root(sandbox, call, as_session, target.id, "IAMDeleteRootUserCredentials")
    error(delete, "GetAccountSummary", "AccessDenied")
    error(delete, "ListUsers", "AccessDenied")
    delete.delete_login_profile()
    for key in keys:
        delete.delete_access_key(AccessKeyId=key["AccessKeyId"])
    for device in devices:
        delete.deactivate_mfa_device(SerialNumber=device["SerialNumber"])
        delete.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    error(delete, "GetLoginProfile", "NoSuchEntity")
    error(delete, "DeleteAccessKey", "NoSuchEntity", AccessKeyId=keys[0]["AccessKeyId"])

    again = _root(sandbox, call, as_session, target.id, "IAMAuditRootUserCredentials")
    summary = call(again, "GetAccountSummary")["SummaryMap"]
    assert (summary["AccountPasswordPresent"], summary["AccountAccessKeysPresent"],
            summary["AccountMFAEnabled"]) == (0, 0, 0)

    recover = _root(sandbox, call, as_session, target.id, "IAMCreateRootUserPassword")
    error(recover, "ListAccessKeys", "AccessDenied")
    call(recover, "CreateLoginProfile")
    assert call(recover, "GetLoginProfile")["LoginProfile"]["CreateDate"]
    error(recover, "CreateLoginProfile", "EntityAlreadyExists")
    final = _root(sandbox, call, as_session, target.id, "IAMAuditRootUserCredentials")
    assert call(final, "GetAccountSummary")["SummaryMap"]["AccountPasswordPresent"] == 1
    # the standalone account's own admin keys still work (root deletion did not touch IAM users)
    assert sandbox.client("sts", account=target).get_caller_identity()["Account"] == target.id


def test_created_accounts_have_a_password_only_before_root_credentials_management(
        sandbox: Sandbox, call, as_session) -> None:
    before = new_member(sandbox, call)
    _enable_root_access(sandbox, call)
    org = sandbox.client("organizations")
    status = call(org, "CreateAccount", AccountName="after",
                  Email="aws+after@example.com")["CreateAccountStatus"]
    after = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])[
        "CreateAccountStatus"]["AccountId"]
    for account_id, password in ((before, 1), (after, 0)):
        audit = _root(sandbox, call, as_session, account_id, "IAMAuditRootUserCredentials")
        summary = call(audit, "GetAccountSummary")["SummaryMap"]
        assert summary["AccountPasswordPresent"] == password
        assert summary["AccountMFAEnabled"] == 0


def test_root_session_expires(sandbox: Sandbox, call, error, as_session) -> None:
    member = new_member(sandbox, call)
    _enable_root_access(sandbox, call)
    audit = _root(sandbox, call, as_session, member, "IAMAuditRootUserCredentials")
    call(audit, "ListAccessKeys")
    sandbox.control.advance_clock(901)
    error(audit, "ListAccessKeys", "ExpiredToken")
    error(sandbox.client("sts"), "AssumeRoot", "ValidationError", TargetPrincipal=member,
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"}, DurationSeconds=901)


def test_root_session_caller_identity(sandbox: Sandbox, call, as_session) -> None:
    member = new_member(sandbox, call)
    _enable_root_access(sandbox, call)
    creds = call(sandbox.client("sts"), "AssumeRoot", TargetPrincipal=member,
                 TaskPolicyArn={"arn": TASK + "IAMDeleteRootUserCredentials"})["Credentials"]
    identity = call(as_session("sts", creds), "GetCallerIdentity")
    assert identity["Arn"] == f"arn:aws:iam::{member}:root"


def test_root_task_policies_restrict_resources_not_only_actions(sandbox: Sandbox, call, error,
                                                                 as_session) -> None:
    """Each root-task policy denies its own actions on any resource but the root user
    (IAMDeleteRootUserCredentials: Deny ... NotResource arn:aws:iam::*:root): a root session
    cannot list or delete an IAM user's keys, only the root user's. A deleted root access key
    stops authenticating."""
    target = _joined_with_root_access(sandbox, call)
    admin_keys = call(sandbox.client("iam", account=target), "ListAccessKeys",
                      UserName="admin")["AccessKeyMetadata"]
    audit = _root(sandbox, call, as_session, target.id, "IAMAuditRootUserCredentials")
    error(audit, "ListAccessKeys", "AccessDenied", UserName="admin")
    error(audit, "ListMFADevices", "AccessDenied", UserName="admin")
    delete = _root(sandbox, call, as_session, target.id, "IAMDeleteRootUserCredentials")
    denied = error(delete, "DeleteAccessKey", "AccessDenied", UserName="admin",
                   AccessKeyId=admin_keys[0]["AccessKeyId"])
    assert f"arn:aws:iam::{target.id}:user/admin" in denied.response["Error"]["Message"]
    assert "explicit deny in a session policy" in denied.response["Error"]["Message"]
    root_keys = call(delete, "ListAccessKeys")["AccessKeyMetadata"]
    assert len(root_keys) == 1
    from reconciler.sandbox.options import stable_secret_access_key
    root_sts = boto3.client("sts", endpoint_url=sandbox.info.endpoint_url,
                            region_name=sandbox.info.region,
                            aws_access_key_id=root_keys[0]["AccessKeyId"],
                            aws_secret_access_key=stable_secret_access_key(target.id,
                                                                           purpose="root"))
    assert root_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{target.id}:root"
    delete.delete_access_key(AccessKeyId=root_keys[0]["AccessKeyId"])
    error(root_sts, "GetCallerIdentity", "InvalidClientTokenId")
    # the IAM user's key was never touched
    assert call(sandbox.client("sts", account=target), "GetCallerIdentity")["Account"] == \
        target.id
