"""CloudFormation service-managed stack sets in the sandbox behave as AWS does: trusted access,
asynchronous operations one at a time, deployment targets inside the organization only, the
template really run in the member account, CloudFormation's errors. Every operation the sandbox
adds is called through boto3 over HTTP and checked against botocore's model (shapes, error codes).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler import stackset
from reconciler.sandbox import Sandbox

REGION = "us-east-1"
ROLE = "OrganizationAccountAccessRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _join(sandbox: Sandbox, index: int = 0) -> str:
    org = sandbox.client("organizations")
    account = sandbox.info.standalone_accounts[index]
    handshake = org.invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": account.id})["Handshake"]
    sandbox.client("organizations", account=account).accept_handshake(HandshakeId=handshake["Id"])
    return account.id


def _root(sandbox: Sandbox) -> str:
    return str(sandbox.client("organizations").list_roots()["Roots"][0]["Id"])


def _stack_set(sandbox: Sandbox, call: Any) -> Any:
    cfn = sandbox.client("cloudformation")
    call(cfn, "ActivateOrganizationsAccess")
    values = stackset.parameters(management_account_id="123456789012", role_name=ROLE,
                                 require_mfa=False, policies=[ADMIN])
    call(cfn, "CreateStackSet", StackSetName=stackset.STACK_SET_NAME,
         TemplateBody=stackset.template_body(), Parameters=stackset.parameter_list(values),
         Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SERVICE_MANAGED",
         AutoDeployment={"Enabled": False})
    return cfn


def _targets(sandbox: Sandbox, *accounts: str) -> dict[str, Any]:
    return {"OrganizationalUnitIds": [_root(sandbox)], "Accounts": list(accounts),
            "AccountFilterType": "INTERSECTION"}


def _instance_started(sandbox: Sandbox, call: Any) -> tuple[str, Any, str]:
    """A joined member account, the stack set, and the CreateStackInstances operation for the
    account (running): (account id, CloudFormation client, operation id)."""
    account = _join(sandbox)
    cfn = _stack_set(sandbox, call)
    op = call(cfn, "CreateStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, account), Regions=[REGION])["OperationId"]
    return account, cfn, op


def _finish(sandbox: Sandbox, call: Any, cfn: Any, operation_id: str) -> dict[str, Any]:
    sandbox.control.advance_clock(5)
    operation = call(cfn, "DescribeStackSetOperation", StackSetName=stackset.STACK_SET_NAME,
                     OperationId=operation_id)["StackSetOperation"]
    assert operation["Status"] not in ("RUNNING", "QUEUED")
    return operation


def _assume(sandbox: Sandbox, account_id: str, role: str = ROLE) -> dict[str, Any]:
    return sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="check")


def test_trusted_access_is_organizations_service_access(sandbox: Sandbox, call, error) -> None:
    cfn = sandbox.client("cloudformation")
    org = sandbox.client("organizations")
    assert call(cfn, "DescribeOrganizationsAccess")["Status"] == "INACTIVE"
    error(cfn, "CreateStackSet", "ValidationError", StackSetName="s",
          TemplateBody=stackset.template_body(), PermissionModel="SERVICE_MANAGED",
          Capabilities=["CAPABILITY_NAMED_IAM"])
    call(cfn, "ActivateOrganizationsAccess")
    call(cfn, "ActivateOrganizationsAccess")  # idempotent
    assert call(cfn, "DescribeOrganizationsAccess")["Status"] == "ACTIVE"
    principals = [s["ServicePrincipal"] for s in
                  org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]]
    assert stackset.SERVICE_PRINCIPAL in principals
    admin_role = sandbox.client("iam").get_role(
        RoleName="AWSServiceRoleForCloudFormationStackSetsOrgAdmin")["Role"]
    assert admin_role["Path"] == "/aws-service-role/stacksets.cloudformation.amazonaws.com/"
    call(cfn, "DeactivateOrganizationsAccess")
    assert call(cfn, "DescribeOrganizationsAccess")["Status"] == "INACTIVE"
    member = sandbox.client("cloudformation", account=sandbox.info.standalone_accounts[0])
    error(member, "DescribeOrganizationsAccess", "ValidationError")


def test_all_features_required(sandbox: Sandbox, error) -> None:
    from moto.organizations.models import organizations_backends

    organizations_backends["123456789012"]["aws"].org.feature_set = "CONSOLIDATED_BILLING"
    error(sandbox.client("cloudformation"), "ActivateOrganizationsAccess",
          "InvalidOperationException")


def test_create_describe_list_stack_set(sandbox: Sandbox, call, error) -> None:
    cfn = sandbox.client("cloudformation")
    call(cfn, "ActivateOrganizationsAccess")
    error(cfn, "CreateStackSet", "InsufficientCapabilitiesException",
          StackSetName=stackset.STACK_SET_NAME, TemplateBody=stackset.template_body(),
          PermissionModel="SERVICE_MANAGED")
    error(cfn, "CreateStackSet", "ValidationError", StackSetName="1-bad",
          TemplateBody=stackset.template_body(), PermissionModel="SERVICE_MANAGED",
          Capabilities=["CAPABILITY_NAMED_IAM"])
    _stack_set(sandbox, call)
    error(cfn, "CreateStackSet", "NameAlreadyExistsException",
          StackSetName=stackset.STACK_SET_NAME, TemplateBody=stackset.template_body(),
          PermissionModel="SERVICE_MANAGED", Capabilities=["CAPABILITY_NAMED_IAM"])
    described = call(cfn, "DescribeStackSet",
                     StackSetName=stackset.STACK_SET_NAME)["StackSet"]
    assert described["PermissionModel"] == "SERVICE_MANAGED"
    assert json.loads(described["TemplateBody"]) == stackset.template()
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}[
        "RoleName"] == ROLE
    summaries = call(cfn, "ListStackSets")["Summaries"]
    assert [s["StackSetName"] for s in summaries] == [stackset.STACK_SET_NAME]
    error(cfn, "DescribeStackSet", "StackSetNotFoundException", StackSetName="nope")


def test_instance_runs_the_template_in_the_member_account(sandbox: Sandbox, call,
                                                          error) -> None:
    account, cfn, op = _instance_started(sandbox, call)
    # one operation at a time, and a client token is never reused
    error(cfn, "CreateStackInstances", "OperationInProgressException",
          StackSetName=stackset.STACK_SET_NAME, DeploymentTargets=_targets(sandbox, account),
          Regions=[REGION])
    running = call(cfn, "ListStackSetOperations",
                   StackSetName=stackset.STACK_SET_NAME)["Summaries"]
    assert [(o["OperationId"], o["Status"]) for o in running] == [(op, "RUNNING")]
    pending = call(cfn, "ListStackInstances", StackSetName=stackset.STACK_SET_NAME)["Summaries"]
    assert [(i["Account"], i["Status"], i["StackInstanceStatus"]["DetailedStatus"])
            for i in pending] == [(account, "OUTDATED", "PENDING")]
    operation = _finish(sandbox, call, cfn, op)
    assert operation["Status"] == "SUCCEEDED" and operation["Action"] == "CREATE"
    error(cfn, "CreateStackInstances", "OperationIdAlreadyExistsException",
          StackSetName=stackset.STACK_SET_NAME, DeploymentTargets=_targets(sandbox, account),
          Regions=[REGION], OperationId=op)
    results = call(cfn, "ListStackSetOperationResults", StackSetName=stackset.STACK_SET_NAME,
                   OperationId=op)["Summaries"]
    assert [(r["Account"], r["Status"]) for r in results] == [(account, "SUCCEEDED")]
    instance = call(cfn, "DescribeStackInstance", StackSetName=stackset.STACK_SET_NAME,
                    StackInstanceAccount=account, StackInstanceRegion=REGION)["StackInstance"]
    assert (instance["Status"], instance["StackInstanceStatus"]["DetailedStatus"]) == \
        ("CURRENT", "SUCCEEDED")
    assert instance["StackId"].startswith(f"arn:aws:cloudformation:{REGION}:{account}:stack/")
    # the role really exists in the member account, trusts the management account, and the
    # service-linked role CloudFormation uses is there too
    credentials = _assume(sandbox, account)["Credentials"]
    assert credentials["AccessKeyId"]
    from moto.iam.models import iam_backends

    member_iam = iam_backends[account]["aws"]
    assert member_iam.get_role(ROLE).managed_policies.keys() == {ADMIN}
    assert member_iam.get_role("AWSServiceRoleForCloudFormationStackSetsOrgMember")
    error(cfn, "DescribeStackInstance", "StackInstanceNotFoundException",
          StackSetName=stackset.STACK_SET_NAME, StackInstanceAccount="310987654321",
          StackInstanceRegion=REGION)
    error(cfn, "DescribeStackSetOperation", "OperationNotFoundException",
          StackSetName=stackset.STACK_SET_NAME, OperationId="nope")
    error(cfn, "DeleteStackSet", "StackSetNotEmptyException",
          StackSetName=stackset.STACK_SET_NAME)


def test_existing_role_fails_the_instance_with_cloudformations_reason(sandbox: Sandbox, call,
                                                                      error) -> None:
    account = _join(sandbox)
    member = sandbox.client("iam", account=sandbox.info.standalone_accounts[0])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "sts:AssumeRole"}]}
    member.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    cfn = _stack_set(sandbox, call)
    op = call(cfn, "CreateStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, account), Regions=[REGION])["OperationId"]
    operation = _finish(sandbox, call, cfn, op)
    assert operation["Status"] == "FAILED"
    result = call(cfn, "ListStackSetOperationResults", StackSetName=stackset.STACK_SET_NAME,
                  OperationId=op)["Summaries"][0]
    assert result["Status"] == "FAILED"
    assert f"'AWS::IAM::Role' with identifier '{ROLE}' already exists" in result["StatusReason"]
    instance = call(cfn, "ListStackInstances", StackSetName=stackset.STACK_SET_NAME,
                    StackInstanceAccount=account)["Summaries"][0]
    assert (instance["Status"], instance["StackInstanceStatus"]["DetailedStatus"]) == \
        ("OUTDATED", "FAILED")
    # the existing role is untouched (the stack rolled back)
    role = member.get_role(RoleName=ROLE)["Role"]
    assert "999999999999" in json.dumps(role["AssumeRolePolicyDocument"])
    # adopt: the stack makes only the helper role, which may change the access role
    op = call(cfn, "UpdateStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, account), Regions=[REGION],
              ParameterOverrides=[{"ParameterKey": "Mode", "ParameterValue": "adopt"}]
              )["OperationId"]
    assert _finish(sandbox, call, cfn, op)["Status"] == "SUCCEEDED"
    assert _assume(sandbox, account, stackset.ADOPT_ROLE)["Credentials"]
    described = call(cfn, "DescribeStackInstance", StackSetName=stackset.STACK_SET_NAME,
                     StackInstanceAccount=account, StackInstanceRegion=REGION)["StackInstance"]
    assert {"ParameterKey": "Mode", "ParameterValue": "adopt"} in described["ParameterOverrides"]
    op = call(cfn, "UpdateStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, account), Regions=[REGION],
              ParameterOverrides=[{"ParameterKey": "Mode", "ParameterValue": "adopted"}]
              )["OperationId"]
    assert _finish(sandbox, call, cfn, op)["Status"] == "SUCCEEDED"
    names = [r["RoleName"] for r in member.list_roles()["Roles"]]
    assert stackset.ADOPT_ROLE not in names and ROLE in names
    error(cfn, "UpdateStackInstances", "StackInstanceNotFoundException",
          StackSetName=stackset.STACK_SET_NAME, DeploymentTargets=_targets(sandbox, account),
          Regions=["eu-west-1"])


def test_targets_stay_inside_the_organization(sandbox: Sandbox, call, error) -> None:
    _join(sandbox)
    cfn = _stack_set(sandbox, call)
    outsider = sandbox.info.standalone_accounts[1].id
    error(cfn, "CreateStackInstances", "ValidationError",
          StackSetName=stackset.STACK_SET_NAME, DeploymentTargets=_targets(sandbox, outsider),
          Regions=[REGION])
    error(cfn, "CreateStackInstances", "ValidationError",
          StackSetName=stackset.STACK_SET_NAME, Accounts=[outsider], Regions=[REGION])
    # the management account is never a target: nothing is deployed there
    op = call(cfn, "CreateStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, "123456789012"), Regions=[REGION])
    _finish(sandbox, call, cfn, op["OperationId"])
    assert call(cfn, "ListStackInstances",
                StackSetName=stackset.STACK_SET_NAME)["Summaries"] == []


def test_delete_instances_with_retain_stacks_keeps_the_role(sandbox: Sandbox, call,
                                                            error) -> None:
    account, cfn, op = _instance_started(sandbox, call)
    _finish(sandbox, call, cfn, op)
    op = call(cfn, "DeleteStackInstances", StackSetName=stackset.STACK_SET_NAME,
              DeploymentTargets=_targets(sandbox, account), Regions=[REGION],
              RetainStacks=True)["OperationId"]
    operation = _finish(sandbox, call, cfn, op)
    assert operation["Status"] == "SUCCEEDED" and operation["RetainStacks"] is True
    assert call(cfn, "ListStackInstances",
                StackSetName=stackset.STACK_SET_NAME)["Summaries"] == []
    assert _assume(sandbox, account)["Credentials"]  # the role stayed
    operations = call(cfn, "ListStackSetOperations",
                      StackSetName=stackset.STACK_SET_NAME)["Summaries"]
    assert [o["Action"] for o in operations] == ["DELETE", "CREATE"]  # newest first
    call(cfn, "DeleteStackSet", StackSetName=stackset.STACK_SET_NAME)
    error(cfn, "DescribeStackSet", "StackSetNotFoundException",
          StackSetName=stackset.STACK_SET_NAME)


def test_update_stack_set_updates_every_instance(sandbox: Sandbox, call) -> None:
    account, cfn, op = _instance_started(sandbox, call)
    _finish(sandbox, call, cfn, op)
    op = call(cfn, "UpdateStackSet", StackSetName=stackset.STACK_SET_NAME,
              UsePreviousTemplate=True, Capabilities=["CAPABILITY_NAMED_IAM"],
              Parameters=[{"ParameterKey": "RequireMfa", "ParameterValue": "true"},
                          *[{"ParameterKey": k, "UsePreviousValue": True}
                            for k in ("ManagementAccountId", "RoleName", "ManagedPolicyArns",
                                      "Mode")]])["OperationId"]
    assert _finish(sandbox, call, cfn, op)["Action"] == "UPDATE"
    from moto.iam.models import iam_backends

    trust = iam_backends[account]["aws"].get_role(ROLE).assume_role_policy_document
    assert "aws:MultiFactorAuthPresent" in trust
