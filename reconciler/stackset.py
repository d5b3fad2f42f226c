"""The stack set orgsync owns to reach invited accounts: its name, template and parameters.

With ``organization.invited_bootstrap: stackset`` an invited account without a
``bootstrap_profile`` gets its access role from a service-managed CloudFormation StackSet: AWS
runs the stack in the member account through a service-linked role it creates there once trusted
access is activated (Organizations user guide, "AWS CloudFormation StackSets and AWS
Organizations"), so no person has to sign in to the account.

The planner (pure), apply and observe all need the same name and template, hence this module,
which imports nothing from AWS. One template serves every account; what differs per account (role
name, MFA, policies, mode) are the stack instance's parameter overrides.

The ``Mode`` parameter is how one owner is kept for the role:

- ``create``: the stack creates the access role (``DeletionPolicy``/``UpdateReplacePolicy``
  ``Retain``: nothing CloudFormation does ever removes it). After that orgsync manages the role
  directly, through the role itself, like every other access role; it never changes an instance
  whose stack still holds the role, so CloudFormation never writes to it again.
- ``adopt``: the role name is already taken (a role left over from another organization, or a role
  orgsync can no longer assume). The stack then creates only a short-lived helper role that trusts
  the management account and may change just that role; orgsync uses it to make the role what the
  file says.
- ``adopted``: the helper is gone again (the stack keeps a no-op resource only); the role is
  orgsync's.
"""

from __future__ import annotations

import json
from typing import Any

STACK_SET_NAME = "orgsync-access-roles"
ADOPT_ROLE = "OrgsyncStackSetAdoptRole"
MODES = ("create", "adopt", "adopted")
# what CloudFormation needs to create named IAM roles (CreateStackSet Capabilities)
CAPABILITIES = ("CAPABILITY_NAMED_IAM",)
DESCRIPTION = ("orgsync: the access role of invited member accounts, trusting the management "
               "account (managed by orgsync; see docs/stacksets.md)")
ADOPT_ACTIONS = (
    "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListRolePolicies",
    "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:CreateRole",
)
# the service principal Organizations lists once trusted access for StackSets is active
SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def _trust(condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"}},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def template() -> dict[str, Any]:
    """The stack set's template (the same for every account)."""
    mfa = {"Fn::If": ["RequireMfa", {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                      {"Ref": "AWS::NoValue"}]}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        "Parameters": {
            "ManagementAccountId": {"Type": "String", "AllowedPattern": "[0-9]{12}"},
            "RoleName": {"Type": "String"},
            "RequireMfa": {"Type": "String", "AllowedValues": ["true", "false"],
                           "Default": "false"},
            "ManagedPolicyArns": {"Type": "CommaDelimitedList"},
            "Mode": {"Type": "String", "AllowedValues": list(MODES), "Default": "create"},
        },
        "Conditions": {
            "Create": {"Fn::Equals": [{"Ref": "Mode"}, "create"]},
            "Adopt": {"Fn::Equals": [{"Ref": "Mode"}, "adopt"]},
            "RequireMfa": {"Fn::Equals": [{"Ref": "RequireMfa"}, "true"]},
        },
        "Resources": {
            "Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "AccessRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "Create",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Administrator access from the management account "
                                   "(managed by orgsync)",
                    "AssumeRolePolicyDocument": _trust(mfa),
                    "ManagedPolicyArns": {"Ref": "ManagedPolicyArns"},
                },
            },
            "AdoptRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "Adopt",
                "Properties": {
                    "RoleName": ADOPT_ROLE,
                    "Description": "orgsync: temporary, to take over an existing access role",
                    "AssumeRolePolicyDocument": _trust(None),
                    "Policies": [{
                        "PolicyName": "orgsync-adopt-access-role",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow",
                            "Action": list(ADOPT_ACTIONS),
                            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::"
                                                    "${AWS::AccountId}:role/${RoleName}"},
                        }]},
                    }],
                },
            },
        },
    }


def template_body() -> str:
    return json.dumps(template(), indent=1, sort_keys=True)


def parameters(*, management_account_id: str, role_name: str, require_mfa: bool,
               policies: list[str] | tuple[str, ...], mode: str = "create") -> dict[str, str]:
    """Parameter values for one account (the stack instance's overrides)."""
    return {
        "ManagementAccountId": management_account_id,
        "RoleName": role_name,
        "RequireMfa": "true" if require_mfa else "false",
        "ManagedPolicyArns": ",".join(policies),
        "Mode": mode,
    }


def parameter_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]
