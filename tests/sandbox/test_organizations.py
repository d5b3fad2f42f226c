"""Organizations in the sandbox behaves as AWS does: invitations, asynchronous creation,
closure, pagination, trusted access, renames. Driven with boto3 over HTTP."""

from __future__ import annotations

import json

import pytest

from reconciler.sandbox import Sandbox

ROLE = "OrganizationAccountAccessRole"


def _create(sandbox: Sandbox, call, name: str, email: str) -> str:
    org = sandbox.client("organizations")
    status = call(org, "CreateAccount", AccountName=name, Email=email)["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    done = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])
    assert done["CreateAccountStatus"]["State"] == "SUCCEEDED", done
    return str(done["CreateAccountStatus"]["AccountId"])


def test_seeded_organization(sandbox: Sandbox, call) -> None:
    org = sandbox.client("organizations")
    described = call(org, "DescribeOrganization")["Organization"]
    assert described["MasterAccountId"] == "123456789012"
    assert described["FeatureSet"] == "ALL"
    accounts = call(org, "ListAccounts")["Accounts"]
    assert [a["Id"] for a in accounts] == ["123456789012"]
    roots = call(org, "ListRoots")["Roots"]
    assert len(roots) == 1
    standalone = sandbox.info.standalone_accounts
    assert [(a.id, a.name, a.email) for a in standalone] == [
        ("210987654321", "legacy-analytics", "aws+legacy-analytics@example.com"),
        ("310987654321", "acquired-startup", "aws+acquired@example.com"),
        ("410987654321", "partner-sandbox", "aws+partner@example.com")]
    identity = sandbox.client("sts", account=standalone[1]).get_caller_identity()
    assert identity["Account"] == "310987654321"


def test_invite_journey_with_two_sets_of_credentials(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    target = sandbox.info.standalone_accounts[0]
    member_org = sandbox.client("organizations", account=target)
    invited = call(org, "InviteAccountToOrganization",
                   Target={"Type": "ACCOUNT", "Id": target.id}, Notes="welcome")["Handshake"]
    assert invited["State"] in ("OPEN", "REQUESTED")
    assert invited["Action"] == "INVITE"
    assert {"Id": target.id, "Type": "ACCOUNT"} in invited["Parties"]
    error(org, "InviteAccountToOrganization", "DuplicateHandshakeException",
          Target={"Type": "ACCOUNT", "Id": target.id})
    seen = call(member_org, "ListHandshakesForAccount")["Handshakes"]
    assert [h["Id"] for h in seen] == [invited["Id"]]
    error(org, "AcceptHandshake", "AccessDeniedException", HandshakeId=invited["Id"])
    accepted = call(member_org, "AcceptHandshake", HandshakeId=invited["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    error(member_org, "AcceptHandshake", "InvalidHandshakeTransitionException",
          HandshakeId=invited["Id"])
    account = call(org, "DescribeAccount", AccountId=target.id)["Account"]
    assert account["JoinedMethod"] == "INVITED"
    assert account["Name"] == target.name and account["Email"] == target.email
    # an invited account has no access role: AssumeRole is refused as AWS refuses it
    error(sandbox.client("sts"), "AssumeRole", "AccessDenied",
          RoleArn=f"arn:aws:iam::{target.id}:role/{ROLE}", RoleSessionName="orgsync")
    # now a member: a second invitation is refused
    error(org, "InviteAccountToOrganization", "HandshakeConstraintViolationException",
          Target={"Type": "ACCOUNT", "Id": target.id})
    assert call(member_org, "DescribeOrganization")["Organization"]["MasterAccountId"] == \
        "123456789012"


def test_decline_cancel_and_expiry(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    first, second, third = sandbox.info.standalone_accounts
    declined = call(org, "InviteAccountToOrganization",
                    Target={"Type": "EMAIL", "Id": first.email})["Handshake"]
    member = sandbox.client("organizations", account=first)
    assert call(member, "DeclineHandshake", HandshakeId=declined["Id"])["Handshake"]["State"] \
        == "DECLINED"
    canceled = call(org, "InviteAccountToOrganization",
                    Target={"Type": "ACCOUNT", "Id": second.id})["Handshake"]
    error(sandbox.client("organizations", account=second), "CancelHandshake",
          "AccessDeniedException", HandshakeId=canceled["Id"])
    assert call(org, "CancelHandshake", HandshakeId=canceled["Id"])["Handshake"]["State"] == \
        "CANCELED"
    error(sandbox.client("organizations", account=second), "AcceptHandshake",
          "InvalidHandshakeTransitionException", HandshakeId=canceled["Id"])
    expiring = call(org, "InviteAccountToOrganization",
                    Target={"Type": "ACCOUNT", "Id": third.id})["Handshake"]
    sandbox.control.advance_clock(14 * 86400)
    assert call(org, "DescribeHandshake", HandshakeId=expiring["Id"])["Handshake"]["State"] \
        in ("OPEN", "REQUESTED")
    sandbox.control.advance_clock(86400 + 1)
    assert call(org, "DescribeHandshake", HandshakeId=expiring["Id"])["Handshake"]["State"] \
        == "EXPIRED"
    error(sandbox.client("organizations", account=third), "AcceptHandshake",
          "InvalidHandshakeTransitionException", HandshakeId=expiring["Id"])
    error(org, "DescribeHandshake", "HandshakeNotFoundException", HandshakeId="h-0000000000")
    # ActionType filter; states are not filterable, all four are listed
    listed = call(org, "ListHandshakesForOrganization", Filter={"ActionType": "INVITE"})
    assert {h["State"] for h in listed["Handshakes"]} == {"DECLINED", "CANCELED", "EXPIRED"}
    assert call(org, "ListHandshakesForOrganization",
                Filter={"ActionType": "ENABLE_ALL_FEATURES"})["Handshakes"] == []


def test_handshake_pages_and_daily_invitation_limit(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    for i in range(20):
        call(org, "InviteAccountToOrganization", Target={"Type": "ACCOUNT", "Id": f"9{i:011d}"})
    error(org, "InviteAccountToOrganization", "HandshakeConstraintViolationException",
          Target={"Type": "ACCOUNT", "Id": "999999999999"})
    sandbox.control.advance_clock(86400)
    for i in range(20, 25):
        call(org, "InviteAccountToOrganization", Target={"Type": "ACCOUNT", "Id": f"9{i:011d}"})
    first = call(org, "ListHandshakesForOrganization")
    assert len(first["Handshakes"]) == 20 and "NextToken" in first
    second = call(org, "ListHandshakesForOrganization", NextToken=first["NextToken"])
    assert len(second["Handshakes"]) == 5 and "NextToken" not in second
    pages = org.get_paginator("list_handshakes_for_organization").paginate()
    assert sum(len(p["Handshakes"]) for p in pages) == 25


def test_auto_accept_invites(sandbox_options, call) -> None:
    with sandbox_options(auto_accept_invites=True) as sb:
        org = sb.client("organizations")
        target = sb.info.standalone_accounts[2]
        handshake = call(org, "InviteAccountToOrganization",
                         Target={"Type": "ACCOUNT", "Id": target.id})["Handshake"]
        assert call(org, "DescribeHandshake", HandshakeId=handshake["Id"])["Handshake"][
            "State"] == "ACCEPTED"
        assert call(org, "DescribeAccount", AccountId=target.id)["Account"]["JoinedMethod"] == \
            "INVITED"


def test_control_accepts_as_the_target(sandbox: Sandbox, call) -> None:
    org = sandbox.client("organizations")
    target = sandbox.info.standalone_accounts[1]
    handshake = call(org, "InviteAccountToOrganization",
                     Target={"Type": "ACCOUNT", "Id": target.id})["Handshake"]
    assert sandbox.control.accept_handshake(handshake["Id"])["Handshake"]["State"] == "ACCEPTED"
    assert any(a["Id"] == target.id for a in call(org, "ListAccounts")["Accounts"])


def test_create_account_is_asynchronous_and_makes_the_admin_role(
        sandbox_options, call, as_session) -> None:
    with sandbox_options(create_delay_s=60) as sb:
        org = sb.client("organizations")
        status = call(org, "CreateAccount", AccountName="prod", Email="aws+prod@example.com",
                      Tags=[{"Key": "team", "Value": "payments"}])["CreateAccountStatus"]
        again = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])
        assert again["CreateAccountStatus"]["State"] == "IN_PROGRESS"
        assert "AccountId" not in again["CreateAccountStatus"]
        pending = call(org, "ListCreateAccountStatus", States=["IN_PROGRESS"])
        assert [s["Id"] for s in pending["CreateAccountStatuses"]] == [status["Id"]]
        sb.control.advance_clock(60)
        done = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])
        account_id = done["CreateAccountStatus"]["AccountId"]
        assert done["CreateAccountStatus"]["State"] == "SUCCEEDED"
        account = call(org, "DescribeAccount", AccountId=account_id)["Account"]
        assert account["JoinedMethod"] == "CREATED" and account["State"] == "ACTIVE"
        assert call(org, "ListTagsForResource", ResourceId=account_id)["Tags"] == [
            {"Key": "team", "Value": "payments"}]
        creds = call(sb.client("sts"), "AssumeRole", RoleArn=f"arn:aws:iam::{account_id}:role/"
                     f"{ROLE}", RoleSessionName="orgsync")["Credentials"]
        iam = as_session("iam", creds)
        role = call(iam, "GetRole", RoleName=ROLE)["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"] == [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole"}]
        assert call(iam, "ListRolePolicies", RoleName=ROLE)["PolicyNames"] == \
            ["AdministratorAccess"]
        document = iam.get_role_policy(RoleName=ROLE, PolicyName="AdministratorAccess")
        assert document["PolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]
        assert call(iam, "ListAttachedRolePolicies", RoleName=ROLE)["AttachedPolicies"] == []


@pytest.mark.parametrize("email", ["aws+acquired@example.com", "aws+management@example.com"])
def test_create_account_fails_late_on_a_used_email(sandbox: Sandbox, call, email: str) -> None:
    org = sandbox.client("organizations")
    status = call(org, "CreateAccount", AccountName="dup", Email=email)["CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    done = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])
    assert done["CreateAccountStatus"]["State"] == "FAILED"
    assert done["CreateAccountStatus"]["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    failed = call(org, "ListCreateAccountStatus", States=["FAILED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in failed] == [status["Id"]]


def test_concurrent_creations_are_limited(sandbox_options, call, error) -> None:
    with sandbox_options(create_delay_s=300) as sb:
        org = sb.client("organizations")
        for i in range(5):
            call(org, "CreateAccount", AccountName=f"a{i}", Email=f"a{i}@example.com")
        failure = error(org, "CreateAccount", "ConstraintViolationException",
                        AccountName="a5", Email="a5@example.com")
        assert failure.response["Reason"] == "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"
        sb.control.advance_clock(300)
        call(org, "CreateAccount", AccountName="a5", Email="a5@example.com")


def test_close_account(sandbox_options, call, error) -> None:
    with sandbox_options(close_delay_s=120, close_quota=2) as sb:
        org = sb.client("organizations")
        ids = [_create(sb, call, f"c{i}", f"c{i}@example.com") for i in range(3)]
        failure = error(org, "CloseAccount", "ConstraintViolationException",
                        AccountId="123456789012")
        assert failure.response["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
        call(org, "CloseAccount", AccountId=ids[0])
        pending = call(org, "DescribeAccount", AccountId=ids[0])["Account"]
        assert pending["State"] == "PENDING_CLOSURE" and pending["Status"] == "PENDING_CLOSURE"
        error(org, "CloseAccount", "AccountAlreadyClosedException", AccountId=ids[0])
        sb.control.advance_clock(120)
        closed = call(org, "DescribeAccount", AccountId=ids[0])["Account"]
        assert closed["State"] == "CLOSED" and closed["Status"] == "SUSPENDED"
        call(org, "CloseAccount", AccountId=ids[1])
        quota = error(org, "CloseAccount", "ConstraintViolationException", AccountId=ids[2])
        assert quota.response["Reason"] == "CLOSE_ACCOUNT_QUOTA_EXCEEDED"
        sb.control.advance_clock(30 * 86400)
        call(org, "CloseAccount", AccountId=ids[2])
        error(org, "CloseAccount", "AccountNotFoundException", AccountId="999999999999")


def test_lists_hold_at_most_20_items(sandbox: Sandbox, call) -> None:
    org = sandbox.client("organizations")
    root_id = call(org, "ListRoots")["Roots"][0]["Id"]
    ou = call(org, "CreateOrganizationalUnit", ParentId=root_id, Name="Workloads")
    for i in range(24):
        _create(sandbox, call, f"acct-{i}", f"acct-{i}@example.com")
    for i in range(21):
        call(org, "CreateOrganizationalUnit", ParentId=ou["OrganizationalUnit"]["Id"],
             Name=f"ou-{i}")
    first = call(org, "ListAccounts")
    assert len(first["Accounts"]) == 20
    second = call(org, "ListAccounts", NextToken=first["NextToken"])
    assert len(second["Accounts"]) == 5 and "NextToken" not in second
    assert len({a["Id"] for a in first["Accounts"] + second["Accounts"]}) == 25
    page = call(org, "ListAccountsForParent", ParentId=root_id)
    assert len(page["Accounts"]) == 20 and page["NextToken"]
    ous = call(org, "ListOrganizationalUnitsForParent",
               ParentId=ou["OrganizationalUnit"]["Id"])
    assert len(ous["OrganizationalUnits"]) == 20 and ous["NextToken"]
    statuses = call(org, "ListCreateAccountStatus")
    assert len(statuses["CreateAccountStatuses"]) == 20 and statuses["NextToken"]
    small = call(org, "ListAccounts", MaxResults=3)
    assert len(small["Accounts"]) == 3
    paginator = org.get_paginator("list_organizational_units_for_parent")
    names = [o["Name"] for p in paginator.paginate(ParentId=ou["OrganizationalUnit"]["Id"])
             for o in p["OrganizationalUnits"]]
    assert sorted(names) == sorted(f"ou-{i}" for i in range(21))


def test_trusted_access_and_delegated_admin_accept_iam(sandbox: Sandbox, call) -> None:
    org = sandbox.client("organizations")
    call(org, "EnableAWSServiceAccess", ServicePrincipal="iam.amazonaws.com")
    enabled = call(org, "ListAWSServiceAccessForOrganization")["EnabledServicePrincipals"]
    assert "iam.amazonaws.com" in {s["ServicePrincipal"] for s in enabled}
    member = _create(sandbox, call, "security", "aws+security@example.com")
    call(org, "RegisterDelegatedAdministrator", AccountId=member,
         ServicePrincipal="iam.amazonaws.com")
    admins = call(org, "ListDelegatedAdministrators", ServicePrincipal="iam.amazonaws.com")
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [member]


def test_put_account_name_renames_what_organizations_reports(sandbox: Sandbox, call,
                                                             error) -> None:
    org = sandbox.client("organizations")
    account = sandbox.client("account")
    member = _create(sandbox, call, "old-name", "aws+old@example.com")
    call(account, "PutAccountName", AccountId=member, AccountName="new-name")
    assert call(org, "DescribeAccount", AccountId=member)["Account"]["Name"] == "new-name"
    info = call(account, "GetAccountInformation", AccountId=member)
    assert info["AccountName"] == "new-name"
    outsider = sandbox.info.standalone_accounts[0]
    error(account, "PutAccountName", "AccessDeniedException", AccountId=outsider.id,
          AccountName="nope")
    call(org, "DisableAWSServiceAccess", ServicePrincipal="account.amazonaws.com")
    error(account, "PutAccountName", "AccessDeniedException", AccountId=member,
          AccountName="again")


def test_member_and_outsider_cannot_manage_the_organization(sandbox: Sandbox, error) -> None:
    outsider = sandbox.client("organizations", account=sandbox.info.standalone_accounts[0])
    error(outsider, "ListAccounts", "AWSOrganizationsNotInUseException")
    error(outsider, "InviteAccountToOrganization", "AWSOrganizationsNotInUseException",
          Target={"Type": "ACCOUNT", "Id": "123456789012"})


def test_reset_returns_to_the_seed(sandbox: Sandbox, call) -> None:
    org = sandbox.client("organizations")
    org_id = call(org, "DescribeOrganization")["Organization"]["Id"]
    _create(sandbox, call, "temp", "aws+temp@example.com")
    sandbox.reset()
    assert call(org, "DescribeOrganization")["Organization"]["Id"] == org_id
    assert [a["Id"] for a in call(org, "ListAccounts")["Accounts"]] == ["123456789012"]
    assert json.dumps(sandbox.info.to_document())  # serialisable, for --info-file
