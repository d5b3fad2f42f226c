"""A sandbox seeded in the China or GovCloud partition names everything as that partition does
(organization, accounts, users, roles, AWS managed policies, assumed roles, root-task
policies), answers in the partition's region, and orgsync converges there end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from tests.aws.seed import key_client
from tests.desired_files import HEADER

PARTITIONS = [("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")]
ROLE = "OrganizationAccountAccessRole"


def _create(sandbox: Sandbox) -> str:
    org = sandbox.client("organizations")
    request = org.create_account(AccountName="dev", Email="aws+dev@example.com")
    return str(org.describe_create_account_status(
        CreateAccountRequestId=request["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"]["AccountId"])


@pytest.mark.parametrize(("partition", "region"), PARTITIONS)
def test_arns_follow_the_partition(sandbox_options: Any, partition: str, region: str) -> None:
    with sandbox_options(partition=partition) as sandbox:
        info = sandbox.info
        assert info.region == region
        assert info.mfa_serial == f"arn:{partition}:iam::123456789012:mfa/admin"
        org = sandbox.client("organizations")
        organization = org.describe_organization()["Organization"]
        assert organization["Arn"].startswith(f"arn:{partition}:organizations::123456789012:")
        account_id = _create(sandbox)
        assert org.describe_account(AccountId=account_id)["Account"]["Arn"].startswith(
            f"arn:{partition}:organizations::")
        sts = sandbox.client("sts")
        assert sts.get_caller_identity()["Arn"] == f"arn:{partition}:iam::123456789012:user/admin"
        # the role CreateAccount makes trusts the management account in the same partition
        assumed = sts.assume_role(RoleArn=f"arn:{partition}:iam::{account_id}:role/{ROLE}",
                                  RoleSessionName="check")
        assert assumed["AssumedRoleUser"]["Arn"] == (
            f"arn:{partition}:sts::{account_id}:assumed-role/{ROLE}/check")
        member_iam = key_client(sandbox, "iam", assumed["Credentials"])
        role = member_iam.get_role(RoleName=ROLE)["Role"]
        assert role["Arn"] == f"arn:{partition}:iam::{account_id}:role/{ROLE}"
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "AWS": f"arn:{partition}:iam::123456789012:root"}
        # AWS managed policies carry the partition; the aws one does not exist here
        managed = f"arn:{partition}:iam::aws:policy/ReadOnlyAccess"
        member_iam.attach_role_policy(RoleName=ROLE, PolicyArn=managed)
        assert [p["PolicyArn"] for p in member_iam.list_attached_role_policies(
            RoleName=ROLE)["AttachedPolicies"]] == [managed]
        with pytest.raises(member_iam.exceptions.NoSuchEntityException):
            member_iam.attach_role_policy(RoleName=ROLE,
                                          PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        # a role ARN of another partition names no role here
        with pytest.raises(sts.exceptions.ClientError) as caught:
            sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}",
                            RoleSessionName="check")
        assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(("partition", "region"), PARTITIONS[:1])
def test_root_task_policies_in_the_partition(sandbox_options: Any, partition: str,
                                             region: str) -> None:
    with sandbox_options(partition=partition) as sandbox:
        account_id = _create(sandbox)
        org = sandbox.client("organizations")
        org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
        iam = sandbox.client("iam")
        iam.enable_organizations_root_credentials_management()
        iam.enable_organizations_root_sessions()
        sts = sandbox.client("sts")
        with pytest.raises(sts.exceptions.ClientError):
            sts.assume_root(TargetPrincipal=account_id, TaskPolicyArn={
                "arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"})
        root = sts.assume_root(TargetPrincipal=account_id, TaskPolicyArn={
            "arn": f"arn:{partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials"})
        identity = key_client(sandbox, "sts", root["Credentials"]).get_caller_identity()
        assert identity["Arn"] == f"arn:{partition}:iam::{account_id}:root"


FILE = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
    ou: /Workloads
    tags: {team: apps}
groups:
  - name: admins
    members: [alice]
    assume:
      - accounts: ["*"]
"""


def test_orgsync_converges_in_china(sandbox_options: Any, aws_env: dict[str, str], orgsync: Any,
                                    tmp_path: Any) -> None:
    with sandbox_options(partition="aws-cn") as sandbox:
        env = {**aws_env, **sandbox.env()}
        assert env["AWS_REGION"] == "cn-north-1"
        sandbox.client("iam").create_user(UserName="alice")
        (tmp_path / "accounts.yaml").write_text(FILE, encoding="utf-8")
        applied = orgsync("apply", "--auto-approve", env=env, cwd=str(tmp_path))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "FAILED" not in applied.stdout
        planned = orgsync("plan", "--detailed-exitcode", env=env, cwd=str(tmp_path))
        assert planned.returncode == 0, planned.stdout + planned.stderr
        app = next(a for a in sandbox.client("organizations").list_accounts()["Accounts"]
                   if a["Name"] == "app")
        iam = sandbox.client("iam")
        group = iam.get_group_policy(GroupName="admins", PolicyName="orgsync-assume")
        document = group["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        resources = json.dumps(document)
        assert f"arn:aws-cn:iam::{app['Id']}:role/" in resources
        assert "arn:aws:" not in resources


def test_orgsync_plan_in_govcloud_explains_created_accounts(sandbox_options: Any,
                                                            aws_env: dict[str, str],
                                                            orgsync: Any, tmp_path: Any) -> None:
    with sandbox_options(partition="aws-us-gov") as sandbox:
        env = {**aws_env, **sandbox.env()}
        sandbox.client("iam").create_user(UserName="alice")
        (tmp_path / "accounts.yaml").write_text(FILE, encoding="utf-8")
        planned = orgsync("plan", env=env, cwd=str(tmp_path))
        assert planned.returncode == 1, planned.stdout + planned.stderr
        shown = planned.stdout + planned.stderr
        assert "accounts cannot be created in an AWS GovCloud (US) organization" in shown
        assert "CreateGovCloudAccount" in shown and "Traceback" not in shown
        applied = orgsync("apply", "--auto-approve", env=env, cwd=str(tmp_path))
        assert applied.returncode == 1
        assert sandbox.client("organizations").list_accounts()["Accounts"][0]["Id"] == \
            "123456789012"
        assert len(sandbox.client("organizations").list_accounts()["Accounts"]) == 1


def test_stack_sets_in_the_partition(sandbox_options: Any) -> None:
    """Service-managed stack sets name their stack set, stacks and roles in the partition, and
    the template's role lands in the member account's IAM of that partition."""
    from moto.iam.models import iam_backends

    from reconciler import stackset

    with sandbox_options(partition="aws-cn") as sandbox:
        account_id = _create(sandbox)
        cfn = sandbox.client("cloudformation")
        cfn.activate_organizations_access()
        admin = "arn:aws-cn:iam::aws:policy/AdministratorAccess"
        values = stackset.parameters(management_account_id="123456789012", role_name="Access",
                                     require_mfa=False, policies=[admin])
        created = cfn.create_stack_set(
            StackSetName=stackset.STACK_SET_NAME, TemplateBody=stackset.template_body(),
            Parameters=stackset.parameter_list(values), Capabilities=["CAPABILITY_NAMED_IAM"],
            PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": False})
        described = cfn.describe_stack_set(StackSetName=stackset.STACK_SET_NAME)["StackSet"]
        assert described["StackSetARN"].startswith("arn:aws-cn:cloudformation:")
        assert created["StackSetId"] == described["StackSetId"]
        root = sandbox.client("organizations").list_roots()["Roots"][0]["Id"]
        operation = cfn.create_stack_instances(
            StackSetName=stackset.STACK_SET_NAME, Regions=[sandbox.info.region],
            DeploymentTargets={"OrganizationalUnitIds": [root], "Accounts": [account_id],
                               "AccountFilterType": "INTERSECTION"})["OperationId"]
        sandbox.control.advance_clock(5)
        result = cfn.describe_stack_set_operation(StackSetName=stackset.STACK_SET_NAME,
                                                  OperationId=operation)["StackSetOperation"]
        assert result["Status"] == "SUCCEEDED", result
        assert result["AdministrationRoleARN"].startswith("arn:aws-cn:iam::123456789012:role/")
        instance = cfn.describe_stack_instance(
            StackSetName=stackset.STACK_SET_NAME, StackInstanceAccount=account_id,
            StackInstanceRegion=sandbox.info.region)["StackInstance"]
        assert instance["StackId"].startswith(f"arn:aws-cn:cloudformation:{sandbox.info.region}:")
        assert iam_backends[account_id]["aws-cn"].get_role("Access").managed_policies.keys() \
            == {admin}
