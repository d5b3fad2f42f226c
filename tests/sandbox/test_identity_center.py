"""IAM Identity Center in the sandbox (sso-admin, identitystore) through boto3 over HTTP: the
organization instance, the seeded identity store, permission sets, asynchronous provisioning and
account assignments with AWS's failures and conflicts, identity-policy checks, counters, faults
and throttling. Every answer is checked against botocore's output model."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox
from reconciler.sandbox.identity_center import SEED_GROUPS, SEED_USERS
from tests.aws.seed import iam_user, key_client, sso_request_end
from tests.processes import sandbox_process

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _instance(sandbox: Sandbox) -> tuple[str, str]:
    instance = sandbox.client("sso-admin").list_instances()["Instances"][0]
    return instance["InstanceArn"], instance["IdentityStoreId"]


def _group_id(sandbox: Sandbox, name: str) -> str:
    _arn, store = _instance(sandbox)
    return str(sandbox.client("identitystore").get_group_id(
        IdentityStoreId=store, AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}})[
        "GroupId"])


def _member_account(sandbox: Sandbox, name: str = "dev") -> str:
    org = sandbox.client("organizations")
    request = org.create_account(AccountName=name, Email=f"{name}@example.com")[
        "CreateAccountStatus"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = org.describe_create_account_status(CreateAccountRequestId=request["Id"])[
            "CreateAccountStatus"]
        if status["State"] == "SUCCEEDED":
            return str(status["AccountId"])
        time.sleep(0.1)
    raise AssertionError("CreateAccount did not finish")


def _permission_set(sandbox: Sandbox, name: str = "Admin", **extra: Any) -> str:
    arn, _store = _instance(sandbox)
    return str(sandbox.client("sso-admin").create_permission_set(
        InstanceArn=arn, Name=name, **extra)["PermissionSet"]["PermissionSetArn"])


def _assignable(sandbox: Sandbox) -> tuple[str, str, str, str]:
    """What one assignment needs: the instance's ARN, a member account, the Admin permission set
    and the developers group's id."""
    arn, _store = _instance(sandbox)
    return arn, _member_account(sandbox), _permission_set(sandbox), _group_id(sandbox, "developers")


def _assignment(ps_arn: str, account_id: str, principal_id: str,
                principal_type: str = "GROUP") -> dict[str, str]:
    return {"TargetId": account_id, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ps_arn,
            "PrincipalType": principal_type, "PrincipalId": principal_id}


def _user_client(sandbox: Sandbox, service: str, name: str,
                 policy: dict[str, Any] | None) -> Any:
    return key_client(sandbox, service, iam_user(sandbox, name, policy=policy), config=NO_RETRY)


# --- the instance and the identity store ---------------------------------------------------------

def test_the_organization_instance_is_the_management_accounts(sandbox: Sandbox, call: Any,
                                                              error: Any) -> None:
    sso = sandbox.client("sso-admin")
    instances = call(sso, "ListInstances")["Instances"]
    assert len(instances) == 1
    instance = instances[0]
    assert instance["InstanceArn"].startswith("arn:aws:sso:::instance/ssoins-")
    assert instance["IdentityStoreId"].startswith("d-")
    assert instance["OwnerAccountId"] == sandbox.info.management_account_id
    assert instance["Status"] == "ACTIVE"
    described = call(sso, "DescribeInstance", InstanceArn=instance["InstanceArn"])
    assert described["IdentityStoreId"] == instance["IdentityStoreId"]
    # the same instance after a reset (stable ARNs for tests and docs)
    sandbox.reset()
    assert sso.list_instances()["Instances"][0]["InstanceArn"] == instance["InstanceArn"]
    # an account outside the organization has no instance, and cannot use this one
    outsider = sandbox.client("sso-admin", account=sandbox.info.standalone_accounts[0])
    assert call(outsider, "ListInstances")["Instances"] == []
    error(outsider, "ListPermissionSets", "AccessDeniedException",
          InstanceArn=instance["InstanceArn"])
    error(sso, "ListPermissionSets", "AccessDeniedException",
          InstanceArn="arn:aws:sso:::instance/ssoins-0000000000000000")


def test_identity_center_has_trusted_access_or_is_absent(sandbox_options: Any, call: Any,
                                                         error: Any) -> None:
    with sandbox_options() as sandbox:
        org = sandbox.client("organizations")
        principals = {s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()[
            "EnabledServicePrincipals"]}
        assert "sso.amazonaws.com" in principals
    with sandbox_options(identity_center=False) as sandbox:
        sso = sandbox.client("sso-admin")
        assert call(sso, "ListInstances")["Instances"] == []
        error(sso, "ListPermissionSets", "AccessDeniedException",
              InstanceArn="arn:aws:sso:::instance/ssoins-289a1d11327590cc")
        principals = {s["ServicePrincipal"] for s in sandbox.client(
            "organizations").list_aws_service_access_for_organization()[
            "EnabledServicePrincipals"]}
        assert "sso.amazonaws.com" not in principals


def test_seeded_identity_store(sandbox_options: Any, call: Any, error: Any) -> None:
    with sandbox_options(users=("alice",), sso_groups=("data-team",)) as sandbox:
        ids = sandbox.client("identitystore")
        _arn, store = _instance(sandbox)
        groups = call(ids, "ListGroups", IdentityStoreId=store)["Groups"]
        assert [g["DisplayName"] for g in groups] == [n for n, _ in SEED_GROUPS] + ["data-team"]
        users = call(ids, "ListUsers", IdentityStoreId=store)["Users"]
        assert [u["UserName"] for u in users] == [u[0] for u in SEED_USERS] + ["alice"]
        by_id = {u["UserId"]: u["UserName"] for u in users}
        for name, _description in SEED_GROUPS:
            group_id = _group_id(sandbox, name)
            members = call(ids, "ListGroupMemberships", IdentityStoreId=store,
                           GroupId=group_id)["GroupMemberships"]
            expected = sorted(u[0] for u in SEED_USERS if name in u[3])
            assert sorted(by_id[m["MemberId"]["UserId"]] for m in members) == expected
        grace = call(ids, "GetUserId", IdentityStoreId=store, AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "grace"}})
        described = call(ids, "DescribeUser", IdentityStoreId=store, UserId=grace["UserId"])
        assert described["UserName"] == "grace"
        assert described["Emails"][0]["Value"] == "grace@example.com"
        memberships = call(ids, "ListGroupMembershipsForMember", IdentityStoreId=store,
                           MemberId={"UserId": grace["UserId"]})["GroupMemberships"]
        names = {call(ids, "DescribeGroup", IdentityStoreId=store,
                      GroupId=m["GroupId"])["DisplayName"] for m in memberships}
        assert names == {"platform-admins", "developers"}
        filtered = call(ids, "ListGroups", IdentityStoreId=store, Filters=[
            {"AttributePath": "DisplayName", "AttributeValue": "auditors"}])["Groups"]
        assert [g["DisplayName"] for g in filtered] == ["auditors"]
        assert call(ids, "ListUsers", IdentityStoreId=store, Filters=[
            {"AttributePath": "UserName", "AttributeValue": "nobody"}])["Users"] == []
        missing = error(ids, "GetGroupId", "ResourceNotFoundException", IdentityStoreId=store,
                        AlternateIdentifier={"UniqueAttribute": {
                            "AttributePath": "displayName", "AttributeValue": "nobody"}})
        assert missing.response["ResourceType"] == "GROUP"
        error(ids, "ListGroups", "ValidationException", IdentityStoreId=store,
              Filters=[{"AttributePath": "Description", "AttributeValue": "x"}])
        error(ids, "ListGroups", "ResourceNotFoundException", IdentityStoreId="d-0000000000")


def test_identity_store_pages_and_writes(sandbox: Sandbox, call: Any, error: Any) -> None:
    ids = sandbox.client("identitystore")
    _arn, store = _instance(sandbox)
    created = call(ids, "CreateGroup", IdentityStoreId=store, DisplayName="oncall")
    error(ids, "CreateGroup", "ConflictException", IdentityStoreId=store,
          DisplayName="oncall")
    user = call(ids, "CreateUser", IdentityStoreId=store, UserName="zoe", DisplayName="Zoe Z",
                Name={"GivenName": "Zoe", "FamilyName": "Z"})
    membership = call(ids, "CreateGroupMembership", IdentityStoreId=store,
                      GroupId=created["GroupId"], MemberId={"UserId": user["UserId"]})
    error(ids, "CreateGroupMembership", "ConflictException", IdentityStoreId=store,
          GroupId=created["GroupId"], MemberId={"UserId": user["UserId"]})
    # one group a page: every group once, in order
    names, token = [], None
    while True:
        page = call(ids, "ListGroups", IdentityStoreId=store, MaxResults=1,
                    **({"NextToken": token} if token else {}))
        assert len(page["Groups"]) <= 1
        names += [g["DisplayName"] for g in page["Groups"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [n for n, _ in SEED_GROUPS] + ["oncall"]
    paged = [g["DisplayName"] for p in ids.get_paginator("list_groups").paginate(
        IdentityStoreId=store, PaginationConfig={"PageSize": 2}) for g in p["Groups"]]
    assert paged == names
    error(ids, "ListGroups", "ValidationException", IdentityStoreId=store, NextToken="bogus")
    error(ids, "ListGroups", "ValidationException", IdentityStoreId=store, MaxResults=101)
    call(ids, "DeleteGroupMembership", IdentityStoreId=store,
         MembershipId=membership["MembershipId"])
    assert call(ids, "ListGroupMemberships", IdentityStoreId=store,
                GroupId=created["GroupId"])["GroupMemberships"] == []
    call(ids, "DeleteGroup", IdentityStoreId=store, GroupId=created["GroupId"])
    error(ids, "DescribeGroup", "ResourceNotFoundException", IdentityStoreId=store,
          GroupId=created["GroupId"])


# --- permission sets -----------------------------------------------------------------------------

def test_permission_set_life_cycle(sandbox: Sandbox, call: Any, error: Any) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    created = call(sso, "CreatePermissionSet", InstanceArn=arn, Name="Admin",
                   Description="Full access", SessionDuration="PT4H",
                   RelayState="https://console.aws.amazon.com/",
                   Tags=[{"Key": "team", "Value": "platform"}])["PermissionSet"]
    ps = created["PermissionSetArn"]
    assert ps.startswith(arn.replace(":instance/", ":permissionSet/") + "/ps-")
    assert created["SessionDuration"] == "PT4H"
    error(sso, "CreatePermissionSet", "ConflictException", InstanceArn=arn, Name="Admin")
    plain = call(sso, "CreatePermissionSet", InstanceArn=arn, Name="Plain")["PermissionSet"]
    assert plain["SessionDuration"] == "PT1H" and "Description" not in plain
    assert call(sso, "ListPermissionSets", InstanceArn=arn)["PermissionSets"] == [
        ps, plain["PermissionSetArn"]]
    call(sso, "UpdatePermissionSet", InstanceArn=arn, PermissionSetArn=ps,
         SessionDuration="PT8H")
    described = call(sso, "DescribePermissionSet", InstanceArn=arn,
                     PermissionSetArn=ps)["PermissionSet"]
    assert (described["SessionDuration"], described["Description"]) == ("PT8H", "Full access")
    assert call(sso, "ListTagsForResource", InstanceArn=arn, ResourceArn=ps)["Tags"] == [
        {"Key": "team", "Value": "platform"}]
    call(sso, "TagResource", InstanceArn=arn, ResourceArn=ps,
         Tags=[{"Key": "cost", "Value": "42"}])
    call(sso, "UntagResource", InstanceArn=arn, ResourceArn=ps, TagKeys=["team"])
    assert call(sso, "ListTagsForResource", InstanceArn=arn, ResourceArn=ps)["Tags"] == [
        {"Key": "cost", "Value": "42"}]
    call(sso, "DeletePermissionSet", InstanceArn=arn, PermissionSetArn=ps)
    error(sso, "DescribePermissionSet", "ResourceNotFoundException", InstanceArn=arn,
          PermissionSetArn=ps)
    error(sso, "DeletePermissionSet", "ResourceNotFoundException", InstanceArn=arn,
          PermissionSetArn=ps)


@pytest.mark.parametrize("duration,accepted", [
    ("PT1H", True), ("PT12H", True), ("PT90M", True), ("PT3600S", True), ("PT4H30M", True),
    ("PT59M", False), ("PT13H", False), ("P1D", False), ("4 hours", False), ("PT", False),
    ("1H", False),
])
def test_session_duration_is_iso_8601_between_1_and_12_hours(
        sandbox: Sandbox, duration: str, accepted: bool) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    if accepted:
        sso.create_permission_set(InstanceArn=arn, Name="P", SessionDuration=duration)
        return
    with pytest.raises(ClientError) as caught:
        sso.create_permission_set(InstanceArn=arn, Name="P", SessionDuration=duration)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    ps = _permission_set(sandbox)
    with pytest.raises(ClientError) as caught:
        sso.update_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                  SessionDuration=duration)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_permission_set_policies(sandbox: Sandbox, call: Any, error: Any) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    ps = _permission_set(sandbox)
    target = {"InstanceArn": arn, "PermissionSetArn": ps}
    call(sso, "AttachManagedPolicyToPermissionSet", **target, ManagedPolicyArn=ADMIN)
    call(sso, "AttachManagedPolicyToPermissionSet", **target, ManagedPolicyArn=READ_ONLY)
    error(sso, "AttachManagedPolicyToPermissionSet", "ConflictException", **target,
          ManagedPolicyArn=ADMIN)
    error(sso, "AttachManagedPolicyToPermissionSet", "ResourceNotFoundException", **target,
          ManagedPolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
    assert call(sso, "ListManagedPoliciesInPermissionSet", **target)[
        "AttachedManagedPolicies"] == [{"Name": "AdministratorAccess", "Arn": ADMIN},
                                       {"Name": "ReadOnlyAccess", "Arn": READ_ONLY}]
    call(sso, "DetachManagedPolicyFromPermissionSet", **target, ManagedPolicyArn=READ_ONLY)
    error(sso, "DetachManagedPolicyFromPermissionSet", "ResourceNotFoundException", **target,
          ManagedPolicyArn=READ_ONLY)
    reference = {"Name": "app-deploy", "Path": "/platform/"}
    call(sso, "AttachCustomerManagedPolicyReferenceToPermissionSet", **target,
         CustomerManagedPolicyReference=reference)
    error(sso, "AttachCustomerManagedPolicyReferenceToPermissionSet", "ConflictException",
          **target, CustomerManagedPolicyReference=reference)
    assert call(sso, "ListCustomerManagedPolicyReferencesInPermissionSet", **target)[
        "CustomerManagedPolicyReferences"] == [reference]
    call(sso, "DetachCustomerManagedPolicyReferenceFromPermissionSet", **target,
         CustomerManagedPolicyReference=reference)
    assert call(sso, "ListCustomerManagedPolicyReferencesInPermissionSet", **target)[
        "CustomerManagedPolicyReferences"] == []
    # inline policy
    assert call(sso, "GetInlinePolicyForPermissionSet", **target)["InlinePolicy"] == ""
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    call(sso, "PutInlinePolicyToPermissionSet", **target, InlinePolicy=document)
    assert json.loads(call(sso, "GetInlinePolicyForPermissionSet", **target)[
        "InlinePolicy"]) == json.loads(document)
    error(sso, "PutInlinePolicyToPermissionSet", "ValidationException", **target,
          InlinePolicy="{not json")
    call(sso, "DeleteInlinePolicyFromPermissionSet", **target)
    assert call(sso, "GetInlinePolicyForPermissionSet", **target)["InlinePolicy"] == ""
    # permissions boundary
    error(sso, "GetPermissionsBoundaryForPermissionSet", "ResourceNotFoundException", **target)
    call(sso, "PutPermissionsBoundaryToPermissionSet", **target,
         PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "boundary"}})
    assert call(sso, "GetPermissionsBoundaryForPermissionSet", **target)[
        "PermissionsBoundary"] == {"CustomerManagedPolicyReference": {"Name": "boundary",
                                                                      "Path": "/"}}
    call(sso, "PutPermissionsBoundaryToPermissionSet", **target,
         PermissionsBoundary={"ManagedPolicyArn": READ_ONLY})
    assert call(sso, "GetPermissionsBoundaryForPermissionSet", **target)[
        "PermissionsBoundary"] == {"ManagedPolicyArn": READ_ONLY}
    error(sso, "PutPermissionsBoundaryToPermissionSet", "ValidationException", **target,
          PermissionsBoundary={})
    call(sso, "DeletePermissionsBoundaryFromPermissionSet", **target)
    error(sso, "DeletePermissionsBoundaryFromPermissionSet", "ResourceNotFoundException",
          **target)


def test_twenty_managed_policies_at_most(sandbox: Sandbox, error: Any) -> None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    ps = _permission_set(sandbox)
    managed = json.loads(aws_managed_policies_data)
    names = sorted(n for n, d in managed.items() if d.get("path", "/") == "/")[:21]
    for name in names[:20]:
        sso.attach_managed_policy_to_permission_set(
            InstanceArn=arn, PermissionSetArn=ps,
            ManagedPolicyArn=f"arn:aws:iam::aws:policy/{name}")
    error(sso, "AttachManagedPolicyToPermissionSet", "ServiceQuotaExceededException",
          InstanceArn=arn, PermissionSetArn=ps,
          ManagedPolicyArn=f"arn:aws:iam::aws:policy/{names[20]}")


# --- asynchronous assignments and provisioning ---------------------------------------------------

def test_assignment_is_asynchronous(sandbox_options: Any, call: Any) -> None:
    with sandbox_options(sso_lag_s=30) as sandbox:
        sso = sandbox.client("sso-admin")
        arn, account, ps, group = _assignable(sandbox)
        status = call(sso, "CreateAccountAssignment", InstanceArn=arn,
                      **_assignment(ps, account, group))["AccountAssignmentCreationStatus"]
        assert status["Status"] == "IN_PROGRESS"
        request_id = status["RequestId"]
        described = call(sso, "DescribeAccountAssignmentCreationStatus", InstanceArn=arn,
                         AccountAssignmentCreationRequestId=request_id)
        assert described["AccountAssignmentCreationStatus"]["Status"] == "IN_PROGRESS"
        # not visible, not provisioned, until it has succeeded
        assert call(sso, "ListAccountAssignments", InstanceArn=arn, AccountId=account,
                    PermissionSetArn=ps)["AccountAssignments"] == []
        assert call(sso, "ListPermissionSetsProvisionedToAccount", InstanceArn=arn,
                    AccountId=account)["PermissionSets"] == []
        in_progress = call(sso, "ListAccountAssignmentCreationStatus", InstanceArn=arn,
                           Filter={"Status": "IN_PROGRESS"})["AccountAssignmentsCreationStatus"]
        assert [s["RequestId"] for s in in_progress] == [request_id]
        sandbox.control.advance_clock(30)
        described = call(sso, "DescribeAccountAssignmentCreationStatus", InstanceArn=arn,
                         AccountAssignmentCreationRequestId=request_id)
        assert described["AccountAssignmentCreationStatus"]["Status"] == "SUCCEEDED"
        assert call(sso, "ListAccountAssignments", InstanceArn=arn, AccountId=account,
                    PermissionSetArn=ps)["AccountAssignments"] == [
            {"AccountId": account, "PermissionSetArn": ps, "PrincipalType": "GROUP",
             "PrincipalId": group}]
        assert call(sso, "ListAccountAssignmentsForPrincipal", InstanceArn=arn,
                    PrincipalId=group, PrincipalType="GROUP")["AccountAssignments"] == [
            {"AccountId": account, "PermissionSetArn": ps, "PrincipalType": "GROUP",
             "PrincipalId": group}]
        # the assignment provisioned the permission set to the account
        assert call(sso, "ListPermissionSetsProvisionedToAccount", InstanceArn=arn,
                    AccountId=account)["PermissionSets"] == [ps]
        assert call(sso, "ListAccountsForProvisionedPermissionSet", InstanceArn=arn,
                    PermissionSetArn=ps)["AccountIds"] == [account]
        # deletion: asynchronous too; the last assignment deprovisions the permission set
        deletion = call(sso, "DeleteAccountAssignment", InstanceArn=arn,
                        **_assignment(ps, account, group))["AccountAssignmentDeletionStatus"]
        assert deletion["Status"] == "IN_PROGRESS"
        assert len(call(sso, "ListAccountAssignments", InstanceArn=arn, AccountId=account,
                        PermissionSetArn=ps)["AccountAssignments"]) == 1
        sandbox.control.advance_clock(30)
        assert call(sso, "DescribeAccountAssignmentDeletionStatus", InstanceArn=arn,
                    AccountAssignmentDeletionRequestId=deletion["RequestId"])[
            "AccountAssignmentDeletionStatus"]["Status"] == "SUCCEEDED"
        assert call(sso, "ListAccountAssignments", InstanceArn=arn, AccountId=account,
                    PermissionSetArn=ps)["AccountAssignments"] == []
        assert call(sso, "ListPermissionSetsProvisionedToAccount", InstanceArn=arn,
                    AccountId=account)["PermissionSets"] == []
        assert [s["RequestId"] for s in call(
            sso, "ListAccountAssignmentDeletionStatus", InstanceArn=arn)[
            "AccountAssignmentsDeletionStatus"]] == [deletion["RequestId"]]


def _finished(sso: Any, arn: str, status: dict[str, Any], kind: str) -> dict[str, Any]:
    """Follow a request to its end, as a client must (lag 0: the next call sees it)."""
    assert status["Status"] == "IN_PROGRESS"
    return sso_request_end(sso, arn, status, kind, attempts=50)


def test_assignment_failures(sandbox: Sandbox, error: Any) -> None:
    sso = sandbox.client("sso-admin")
    arn, account, ps, group = _assignable(sandbox)
    # an account outside the organization: accepted, then FAILED with a reason
    outside = sso.create_account_assignment(
        InstanceArn=arn, **_assignment(ps, "210987654321", group))
    failed = _finished(sso, arn, outside["AccountAssignmentCreationStatus"], "create")
    assert failed["Status"] == "FAILED"
    assert "210987654321" in failed["FailureReason"]
    # a principal the identity store does not hold
    ghost = "c0ffee00-0000-4000-8000-000000000000"
    status = sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, ghost))
    failed = _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")
    assert failed["Status"] == "FAILED" and ghost in failed["FailureReason"]
    status = sso.create_account_assignment(
        InstanceArn=arn, **_assignment(ps, account, ghost, principal_type="USER"))
    assert _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")[
        "Status"] == "FAILED"
    # a group id used as a user: no such user
    status = sso.create_account_assignment(
        InstanceArn=arn, **_assignment(ps, account, group, principal_type="USER"))
    assert _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")[
        "Status"] == "FAILED"
    # a permission set that does not exist: refused at once
    error(sso, "CreateAccountAssignment", "ResourceNotFoundException", InstanceArn=arn,
          **_assignment(ps[:-16] + "0123456789abcdef", account, group))
    # a model violation: refused at once
    error(sso, "CreateAccountAssignment", "ValidationException", InstanceArn=arn,
          **_assignment(ps, "12345678901x", group))
    # deleting an assignment that does not exist fails in its status
    status = sso.delete_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    failed = _finished(sso, arn, status["AccountAssignmentDeletionStatus"], "delete")
    assert failed["Status"] == "FAILED" and failed["FailureReason"]
    assert sso.list_account_assignments(InstanceArn=arn, AccountId=account,
                                        PermissionSetArn=ps)["AccountAssignments"] == []
    failures = sso.list_account_assignment_creation_status(
        InstanceArn=arn, Filter={"Status": "FAILED"})["AccountAssignmentsCreationStatus"]
    assert len(failures) == 4


def test_assignment_to_a_closed_account_fails(sandbox: Sandbox) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    account = _member_account(sandbox)
    sandbox.client("organizations").close_account(AccountId=account)
    ps = _permission_set(sandbox)
    status = sso.create_account_assignment(
        InstanceArn=arn, **_assignment(ps, account, _group_id(sandbox, "auditors")))
    failed = _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")
    assert failed["Status"] == "FAILED" and account in failed["FailureReason"]


def test_conflicts(sandbox_options: Any, error: Any) -> None:
    with sandbox_options(sso_lag_s=30) as sandbox:
        sso = sandbox.client("sso-admin")
        arn, account, ps, group = _assignable(sandbox)
        auditors = _group_id(sandbox, "auditors")
        sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
        # the same assignment again, or its deletion, while the creation is in progress
        error(sso, "CreateAccountAssignment", "ConflictException", InstanceArn=arn,
              **_assignment(ps, account, group))
        error(sso, "DeleteAccountAssignment", "ConflictException", InstanceArn=arn,
              **_assignment(ps, account, group))
        error(sso, "DeletePermissionSet", "ConflictException", InstanceArn=arn,
              PermissionSetArn=ps)
        # another principal on the same permission set and account is independent
        sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, auditors))
        sandbox.control.advance_clock(30)
        # a permission set with assignments cannot be deleted
        error(sso, "DeletePermissionSet", "ConflictException", InstanceArn=arn,
              PermissionSetArn=ps)
        sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                     TargetType="ALL_PROVISIONED_ACCOUNTS")
        error(sso, "ProvisionPermissionSet", "ConflictException", InstanceArn=arn,
              PermissionSetArn=ps, TargetType="AWS_ACCOUNT", TargetId=account)
        sandbox.control.advance_clock(30)
        for principal in (group, auditors):
            sso.delete_account_assignment(InstanceArn=arn, **_assignment(ps, account, principal))
        sandbox.control.advance_clock(30)
        sso.list_permission_sets(InstanceArn=arn)  # any call moves the requests on
        sso.delete_permission_set(InstanceArn=arn, PermissionSetArn=ps)


def test_provisioning_tracks_the_latest_version(sandbox: Sandbox, call: Any,
                                                error: Any) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    account = _member_account(sandbox)
    other = _member_account(sandbox, "ops")
    ps = _permission_set(sandbox)
    group = _group_id(sandbox, "platform-admins")
    for target in (account, other):
        status = sso.create_account_assignment(InstanceArn=arn,
                                               **_assignment(ps, target, group))
        assert _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")[
            "Status"] == "SUCCEEDED"

    def provisioned(status: str | None = None, account_id: str = account) -> list[str]:
        extra = {"ProvisioningStatus": status} if status else {}
        return list(call(sso, "ListPermissionSetsProvisionedToAccount", InstanceArn=arn,
                         AccountId=account_id, **extra)["PermissionSets"])

    assert provisioned("LATEST_PERMISSION_SET_PROVISIONED") == [ps]
    assert provisioned("LATEST_PERMISSION_SET_NOT_PROVISIONED") == []
    # a change to the permission set leaves every account on the old version
    sso.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                                ManagedPolicyArn=ADMIN)
    assert provisioned("LATEST_PERMISSION_SET_PROVISIONED") == []
    assert provisioned("LATEST_PERMISSION_SET_NOT_PROVISIONED") == [ps]
    assert provisioned() == [ps]
    assert call(sso, "ListAccountsForProvisionedPermissionSet", InstanceArn=arn,
                PermissionSetArn=ps, ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED")[
        "AccountIds"] == sorted([account, other])
    # one account first, then all of them
    status = call(sso, "ProvisionPermissionSet", InstanceArn=arn, PermissionSetArn=ps,
                  TargetType="AWS_ACCOUNT", TargetId=account)["PermissionSetProvisioningStatus"]
    assert status["AccountId"] == account
    assert _finished(sso, arn, status, "provision")["Status"] == "SUCCEEDED"
    assert provisioned("LATEST_PERMISSION_SET_PROVISIONED") == [ps]
    assert provisioned("LATEST_PERMISSION_SET_NOT_PROVISIONED", other) == [ps]
    status = call(sso, "ProvisionPermissionSet", InstanceArn=arn, PermissionSetArn=ps,
                  TargetType="ALL_PROVISIONED_ACCOUNTS")["PermissionSetProvisioningStatus"]
    assert "AccountId" not in status
    assert _finished(sso, arn, status, "provision")["Status"] == "SUCCEEDED"
    assert provisioned("LATEST_PERMISSION_SET_PROVISIONED", other) == [ps]
    succeeded = call(sso, "ListPermissionSetProvisioningStatus", InstanceArn=arn,
                     Filter={"Status": "SUCCEEDED"})["PermissionSetsProvisioningStatus"]
    assert len(succeeded) == 2
    error(sso, "ProvisionPermissionSet", "ValidationException", InstanceArn=arn,
          PermissionSetArn=ps, TargetType="AWS_ACCOUNT")
    # provisioning to an account outside the organization fails in its status
    status = sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                          TargetType="AWS_ACCOUNT", TargetId="310987654321")
    failed = _finished(sso, arn, status["PermissionSetProvisioningStatus"], "provision")
    assert failed["Status"] == "FAILED" and "310987654321" in failed["FailureReason"]
    error(sso, "DescribePermissionSetProvisioningStatus", "ResourceNotFoundException",
          InstanceArn=arn, ProvisionPermissionSetRequestId="00000000-0000-0000-0000-000000000000")


def _member_iam(sandbox: Sandbox, account: str, as_session: Any) -> Any:
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="tester")["Credentials"]
    return as_session("iam", credentials)


def _reserved_roles(iam: Any) -> dict[str, dict[str, Any]]:
    """The account's Identity Center roles: name -> policies, inline policy, boundary."""
    found = {}
    for role in iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]:
        name = role["RoleName"]
        detail = iam.get_role(RoleName=name)["Role"]
        inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
        found[name] = {
            "managed": sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(
                RoleName=name)["AttachedPolicies"]),
            "inline": {n: iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"]
                       for n in inline},
            "boundary": (detail.get("PermissionsBoundary") or {}).get(
                "PermissionsBoundaryArn"),
            "max_session": detail["MaxSessionDuration"],
            "trust": detail["AssumeRolePolicyDocument"]}
    return found


def test_provisioning_makes_the_role_in_the_account(sandbox: Sandbox, as_session: Any) -> None:
    sso = sandbox.client("sso-admin")
    arn, _store = _instance(sandbox)
    account = _member_account(sandbox)
    iam = _member_iam(sandbox, account, as_session)
    ps = _permission_set(sandbox, "Admin", SessionDuration="PT4H")
    target = {"InstanceArn": arn, "PermissionSetArn": ps}
    sso.attach_managed_policy_to_permission_set(**target, ManagedPolicyArn=ADMIN)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        **target, CustomerManagedPolicyReference={"Name": "deploy", "Path": "/platform/"})
    group = _group_id(sandbox, "platform-admins")
    # the customer managed policy is missing in the account: the assignment fails
    status = sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    failed = _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")
    assert failed["Status"] == "FAILED" and "/platform/deploy" in failed["FailureReason"]
    assert _reserved_roles(iam) == {}
    deploy = iam.create_policy(PolicyName="deploy", Path="/platform/", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                 "Resource": "*"}]}))["Policy"]["Arn"]
    status = sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")[
        "Status"] == "SUCCEEDED"
    roles = _reserved_roles(iam)
    assert len(roles) == 1
    (name, role), = roles.items()
    assert name.startswith("AWSReservedSSO_Admin_")
    assert len(name) == len("AWSReservedSSO_Admin_") + 16
    assert role["managed"] == sorted([ADMIN, deploy])
    assert role["inline"] == {} and role["boundary"] is None
    assert role["max_session"] == 4 * 3600
    assert role["trust"]["Statement"][0]["Action"] == ["sts:AssumeRoleWithSAML",
                                                       "sts:TagSession"]
    # a change reaches the role only when provisioned
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    sso.put_inline_policy_to_permission_set(**target, InlinePolicy=json.dumps(document))
    sso.put_permissions_boundary_to_permission_set(
        **target, PermissionsBoundary={"ManagedPolicyArn": READ_ONLY})
    sso.detach_managed_policy_from_permission_set(**target, ManagedPolicyArn=ADMIN)
    sso.update_permission_set(**target, SessionDuration="PT2H")
    assert _reserved_roles(iam)[name]["managed"] == sorted([ADMIN, deploy])
    status = sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                          TargetType="ALL_PROVISIONED_ACCOUNTS")
    assert _finished(sso, arn, status["PermissionSetProvisioningStatus"], "provision")[
        "Status"] == "SUCCEEDED"
    role = _reserved_roles(iam)[name]
    assert role["managed"] == [deploy]
    assert role["inline"] == {"AwsSSOInlinePolicy": document}
    assert role["boundary"] == READ_ONLY and role["max_session"] == 2 * 3600
    # the last assignment gone, the role goes
    status = sso.delete_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert _finished(sso, arn, status["AccountAssignmentDeletionStatus"], "delete")[
        "Status"] == "SUCCEEDED"
    assert _reserved_roles(iam) == {}


# --- permissions, counters, faults, throttling ---------------------------------------------------

def test_identity_policies_decide(sandbox: Sandbox) -> None:
    arn, store = _instance(sandbox)
    nobody = _user_client(sandbox, "sso-admin", "nobody", None)
    with pytest.raises(ClientError) as caught:
        nobody.list_permission_sets(InstanceArn=arn)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "sso:ListPermissionSets" in caught.value.response["Error"]["Message"]
    reader_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sso:List*", "sso:Describe*", "identitystore:List*"],
         "Resource": "*"},
        {"Effect": "Deny", "Action": "identitystore:ListUsers", "Resource": "*"}]}
    reader = _user_client(sandbox, "sso-admin", "reader", reader_policy)
    assert reader.list_permission_sets(InstanceArn=arn)["PermissionSets"] == []
    with pytest.raises(ClientError) as caught:
        reader.create_permission_set(InstanceArn=arn, Name="X")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    key = sandbox.client("iam").create_access_key(UserName="reader")["AccessKey"]
    ids = key_client(sandbox, "identitystore", key, config=NO_RETRY)
    assert len(ids.list_groups(IdentityStoreId=store)["Groups"]) == len(SEED_GROUPS)
    with pytest.raises(ClientError) as caught:
        ids.list_users(IdentityStoreId=store)  # explicit deny
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    # a permission set's ARN is the resource: a policy can scope writes to one of them
    ps = _permission_set(sandbox)
    scoped = _user_client(sandbox, "sso-admin", "scoped", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sso:PutInlinePolicyToPermissionSet", "Resource": ps}]})
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    scoped.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                               InlinePolicy=document)
    other = _permission_set(sandbox, "Other")
    with pytest.raises(ClientError) as caught:
        scoped.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=other,
                                                   InlinePolicy=document)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_member_account_role_sees_no_instance(sandbox: Sandbox, as_session: Any) -> None:
    account = _member_account(sandbox)
    arn, _store = _instance(sandbox)
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="tester")["Credentials"]
    member = as_session("sso-admin", credentials)
    assert member.list_instances()["Instances"] == []
    with pytest.raises(ClientError) as caught:
        member.list_permission_sets(InstanceArn=arn)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_counters_faults_and_throttling(sandbox: Sandbox) -> None:
    sso = sandbox.client("sso-admin")
    arn, store = _instance(sandbox)
    control = sandbox.control
    control.reset_counters()
    ps = _permission_set(sandbox)
    account = _member_account(sandbox)
    group = _group_id(sandbox, "developers")
    assert control.calls("sso-admin.CreatePermissionSet") == 1
    assert control.calls("identitystore.GetGroupId") == 1
    control.inject_fault("sso-admin.CreateAccountAssignment", code="InternalServerException")
    flaky = sandbox.client("sso-admin", config=NO_RETRY)
    with pytest.raises(ClientError) as caught:
        flaky.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert caught.value.response["Error"]["Code"] == "InternalServerException"
    assert sso.list_account_assignment_creation_status(InstanceArn=arn)[
        "AccountAssignmentsCreationStatus"] == []  # the failed call did nothing
    # a lost response: the request was made, the client never heard
    control.inject_fault("sso-admin.CreateAccountAssignment", lost_response=True)
    with pytest.raises(Exception):  # noqa: B017 - botocore's connection error classes vary
        flaky.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert len(sso.list_account_assignment_creation_status(InstanceArn=arn)[
        "AccountAssignmentsCreationStatus"]) == 1
    sandbox.set_options(throttle={"identitystore": 1})
    try:
        ids = sandbox.client("identitystore", config=NO_RETRY)
        codes = set()
        for _ in range(3):
            try:
                ids.list_groups(IdentityStoreId=store)
            except ClientError as caught_error:
                codes.add(caught_error.response["Error"]["Code"])
        assert codes == {"ThrottlingException"}
    finally:
        sandbox.set_options(throttle={})


def test_injected_asynchronous_failures(sandbox: Sandbox) -> None:
    from reconciler.sandbox import RemoteControl

    sso = sandbox.client("sso-admin")
    arn, account, ps, group = _assignable(sandbox)
    remote = RemoteControl(sandbox.info.endpoint_url)
    remote.inject_async_failure("sso-admin.CreateAccountAssignment")
    status = sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    failed = _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")
    assert failed["Status"] == "FAILED"
    assert failed["FailureReason"] == "An unexpected internal service exception was encountered"
    assert sso.list_account_assignments(InstanceArn=arn, AccountId=account,
                                        PermissionSetArn=ps)["AccountAssignments"] == []
    # the same request again succeeds
    status = sso.create_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert _finished(sso, arn, status["AccountAssignmentCreationStatus"], "create")[
        "Status"] == "SUCCEEDED"
    # the second provisioning from now on fails, leaving the account on the old version
    sandbox.control.inject_async_failure("sso-admin.ProvisionPermissionSet", nth=2,
                                         reason="Quota of roles reached")
    for expected in ("SUCCEEDED", "FAILED"):
        sso.attach_managed_policy_to_permission_set(
            InstanceArn=arn, PermissionSetArn=ps,
            ManagedPolicyArn=ADMIN if expected == "SUCCEEDED" else READ_ONLY)
        status = sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                              TargetType="ALL_PROVISIONED_ACCOUNTS")
        found = _finished(sso, arn, status["PermissionSetProvisioningStatus"], "provision")
        assert found["Status"] == expected
    assert found["FailureReason"] == "Quota of roles reached"
    assert sso.list_permission_sets_provisioned_to_account(
        InstanceArn=arn, AccountId=account,
        ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED")["PermissionSets"] == [ps]
    with pytest.raises(ValueError):
        sandbox.control.inject_async_failure("sso-admin.CreatePermissionSet")
    # clear_faults clears these too
    sandbox.control.inject_async_failure("sso-admin.DeleteAccountAssignment")
    sandbox.control.clear_faults()
    status = sso.delete_account_assignment(InstanceArn=arn, **_assignment(ps, account, group))
    assert _finished(sso, arn, status["AccountAssignmentDeletionStatus"], "delete")[
        "Status"] == "SUCCEEDED"


def test_lag_option_is_a_runtime_option(sandbox: Sandbox) -> None:
    from reconciler.sandbox.options import REALISTIC

    assert REALISTIC["sso_lag_s"] > 0
    assert sandbox.control.set_options(sso_lag_s=5)["sso_lag_s"] == 5
    try:
        sso = sandbox.client("sso-admin")
        arn, _store = _instance(sandbox)
        ps = _permission_set(sandbox)
        status = sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                              TargetType="ALL_PROVISIONED_ACCOUNTS")
        request_id = status["PermissionSetProvisioningStatus"]["RequestId"]
        assert sso.describe_permission_set_provisioning_status(
            InstanceArn=arn, ProvisionPermissionSetRequestId=request_id)[
            "PermissionSetProvisioningStatus"]["Status"] == "IN_PROGRESS"
        sandbox.control.advance_clock(5)
        assert sso.describe_permission_set_provisioning_status(
            InstanceArn=arn, ProvisionPermissionSetRequestId=request_id)[
            "PermissionSetProvisioningStatus"]["Status"] == "SUCCEEDED"
    finally:
        sandbox.control.set_options(sso_lag_s=0)


def test_partition_follows_the_sandbox(sandbox_options: Any) -> None:
    with sandbox_options(partition="aws-cn") as sandbox:
        arn, _store = _instance(sandbox)
        assert arn.startswith("arn:aws-cn:sso:::instance/ssoins-")
        ps = _permission_set(sandbox)
        assert ps.startswith("arn:aws-cn:sso:::permissionSet/")
        sandbox.client("sso-admin").attach_managed_policy_to_permission_set(
            InstanceArn=arn, PermissionSetArn=ps,
            ManagedPolicyArn="arn:aws-cn:iam::aws:policy/ReadOnlyAccess")


def test_every_operation_is_a_model_operation() -> None:
    import botocore.session

    from reconciler.sandbox import identity_store, sso_admin

    session = botocore.session.get_session()
    for service, implemented in (("sso-admin", sso_admin.IMPLEMENTED),
                                 ("identitystore", identity_store.IMPLEMENTED)):
        names = set(session.get_service_model(service).operation_names)
        assert set(implemented) <= names, set(implemented) - names




# --- conformance with botocore's models ----------------------------------------------------------

def _conformance_client(sandbox: Sandbox, service: str, seen: dict[str, list[str]]) -> Any:
    """A client whose every parsed answer is checked against the operation's output shape:
    botocore's validator (members, types, required members, minimum lengths) and the sandbox's
    own model-constraint checker (maximum lengths, patterns, enums)."""
    from botocore.validate import ParamValidator

    from reconciler.sandbox.constraints import shape_violation

    client = sandbox.client(service, config=NO_RETRY)

    def check(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        problems: list[str] = []
        if http_response.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            modelled = {s.name for s in model.error_shapes}
            if code not in modelled | {"AccessDeniedException", "ThrottlingException"}:
                problems.append(f"error {code} not in the model")
        elif model.output_shape is not None:
            body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
            report = ParamValidator().validate(body, model.output_shape)
            if report.has_errors():
                problems.append(report.generate_report())
            found = shape_violation(model.output_shape, body)
            if found is not None:
                problems.append(f"{found.member}: {found.constraint} ({found.value!r})")
        seen.setdefault(model.name, []).extend(problems)

    client.meta.events.register(f"after-call.{client.meta.service_model.service_id.hyphenize()}",
                                check)
    return client


def test_every_answer_matches_the_model(sandbox: Sandbox) -> None:
    from reconciler.sandbox import identity_store, sso_admin

    seen: dict[str, list[str]] = {}
    sso = _conformance_client(sandbox, "sso-admin", seen)
    ids = _conformance_client(sandbox, "identitystore", seen)
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
    sso.describe_instance(InstanceArn=arn)
    account = _member_account(sandbox)
    # identity store
    group = ids.create_group(IdentityStoreId=store, DisplayName="walkers", Description="w")
    user = ids.create_user(IdentityStoreId=store, UserName="walker", DisplayName="W",
                           Name={"GivenName": "W", "FamilyName": "K"},
                           Emails=[{"Value": "w@example.com", "Type": "work", "Primary": True}])
    membership = ids.create_group_membership(IdentityStoreId=store, GroupId=group["GroupId"],
                                             MemberId={"UserId": user["UserId"]})
    ids.list_groups(IdentityStoreId=store, MaxResults=2)
    ids.list_groups(IdentityStoreId=store, Filters=[{"AttributePath": "DisplayName",
                                                     "AttributeValue": "walkers"}])
    ids.list_users(IdentityStoreId=store)
    ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {
        "AttributePath": "displayName", "AttributeValue": "walkers"}})
    ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {
        "AttributePath": "userName", "AttributeValue": "walker"}})
    ids.describe_group(IdentityStoreId=store, GroupId=group["GroupId"])
    ids.describe_user(IdentityStoreId=store, UserId=user["UserId"])
    ids.list_group_memberships(IdentityStoreId=store, GroupId=group["GroupId"])
    ids.list_group_memberships_for_member(IdentityStoreId=store,
                                          MemberId={"UserId": user["UserId"]})
    # permission sets
    ps = sso.create_permission_set(InstanceArn=arn, Name="Walk", Description="d",
                                   SessionDuration="PT2H", RelayState="https://example.com/",
                                   Tags=[{"Key": "k", "Value": "v"}])["PermissionSet"][
        "PermissionSetArn"]
    target = {"InstanceArn": arn, "PermissionSetArn": ps}
    sso.describe_permission_set(**target)
    sso.update_permission_set(**target, Description="e")
    sso.list_permission_sets(InstanceArn=arn, MaxResults=1)
    sso.attach_managed_policy_to_permission_set(**target, ManagedPolicyArn=ADMIN)
    sso.list_managed_policies_in_permission_set(**target)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        **target, CustomerManagedPolicyReference={"Name": "c", "Path": "/p/"})
    sso.list_customer_managed_policy_references_in_permission_set(**target)
    sso.put_inline_policy_to_permission_set(**target, InlinePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                "Resource": "*"}]}))
    sso.get_inline_policy_for_permission_set(**target)
    sso.put_permissions_boundary_to_permission_set(
        **target, PermissionsBoundary={"ManagedPolicyArn": READ_ONLY})
    sso.get_permissions_boundary_for_permission_set(**target)
    sso.tag_resource(InstanceArn=arn, ResourceArn=ps, Tags=[{"Key": "a", "Value": "b"}])
    sso.list_tags_for_resource(InstanceArn=arn, ResourceArn=ps)
    sso.untag_resource(InstanceArn=arn, ResourceArn=ps, TagKeys=["a"])
    # assignments and provisioning, followed to their end
    for principal_type, principal in (("GROUP", group["GroupId"]), ("USER", user["UserId"])):
        created = sso.create_account_assignment(
            InstanceArn=arn, **_assignment(ps, account, principal, principal_type))
        _finished(sso, arn, created["AccountAssignmentCreationStatus"], "create")
    sso.list_account_assignment_creation_status(InstanceArn=arn)
    sso.list_account_assignments(InstanceArn=arn, AccountId=account, PermissionSetArn=ps)
    sso.list_account_assignments_for_principal(InstanceArn=arn, PrincipalId=group["GroupId"],
                                               PrincipalType="GROUP",
                                               Filter={"AccountId": account})
    provisioned = sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps,
                                               TargetType="AWS_ACCOUNT", TargetId=account)
    _finished(sso, arn, provisioned["PermissionSetProvisioningStatus"], "provision")
    sso.list_permission_set_provisioning_status(InstanceArn=arn)
    sso.list_permission_sets_provisioned_to_account(
        InstanceArn=arn, AccountId=account, ProvisioningStatus="LATEST_PERMISSION_SET_PROVISIONED")
    sso.list_accounts_for_provisioned_permission_set(InstanceArn=arn, PermissionSetArn=ps)
    for principal_type, principal in (("GROUP", group["GroupId"]), ("USER", user["UserId"])):
        deleted = sso.delete_account_assignment(
            InstanceArn=arn, **_assignment(ps, account, principal, principal_type))
        _finished(sso, arn, deleted["AccountAssignmentDeletionStatus"], "delete")
    sso.list_account_assignment_deletion_status(InstanceArn=arn)
    # errors are modelled too
    with pytest.raises(ClientError):
        sso.create_permission_set(InstanceArn=arn, Name="Walk")
    with pytest.raises(ClientError):
        ids.describe_group(IdentityStoreId=store, GroupId="c0ffee00-0000-4000-8000-000000000000")
    # and tear down
    sso.delete_permissions_boundary_from_permission_set(**target)
    sso.delete_inline_policy_from_permission_set(**target)
    sso.detach_customer_managed_policy_reference_from_permission_set(
        **target, CustomerManagedPolicyReference={"Name": "c", "Path": "/p/"})
    sso.detach_managed_policy_from_permission_set(**target, ManagedPolicyArn=ADMIN)
    sso.delete_permission_set(**target)
    ids.delete_group_membership(IdentityStoreId=store, MembershipId=membership["MembershipId"])
    ids.delete_user(IdentityStoreId=store, UserId=user["UserId"])
    ids.delete_group(IdentityStoreId=store, GroupId=group["GroupId"])
    problems = {name: found for name, found in seen.items() if found}
    assert problems == {}
    walked = set(seen)
    assert set(sso_admin.IMPLEMENTED) | set(identity_store.IMPLEMENTED) <= walked, \
        (set(sso_admin.IMPLEMENTED) | set(identity_store.IMPLEMENTED)) - walked


# --- the command line --------------------------------------------------------------------------

def test_orgsync_sandbox_sso_options(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from reconciler.sandbox import RemoteControl

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    refused = subprocess.run([sys.executable, "-m", "reconciler.cli", "sandbox", "--sso-groups",
                              "ops,ops"], capture_output=True, text=True, timeout=60, env=env,
                             check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "orgsync: error: --sso-groups: 'ops' is given twice"]
    with sandbox_process("--sso-groups", "data-team, ops", "--sso-lag-s", "0.5",
                         info_file=tmp_path / "sandbox.json") as running:
        info = running.info
        assert RemoteControl(info["endpoint_url"]).options()["sso_lag_s"] == 0.5
        ids = boto3.client("identitystore", endpoint_url=info["endpoint_url"],
                           region_name=info["region"], aws_access_key_id=info["access_key_id"],
                           aws_secret_access_key=info["secret_access_key"])
        sso = boto3.client("sso-admin", endpoint_url=info["endpoint_url"],
                           region_name=info["region"], aws_access_key_id=info["access_key_id"],
                           aws_secret_access_key=info["secret_access_key"])
        store = sso.list_instances()["Instances"][0]["IdentityStoreId"]
        names = [g["DisplayName"] for g in ids.list_groups(IdentityStoreId=store)["Groups"]]
        assert names == [n for n, _ in SEED_GROUPS] + ["data-team", "ops"]
