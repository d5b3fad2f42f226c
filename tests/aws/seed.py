"""Putting an organization into a known shape directly with boto3 (no orgsync involved), for the
AWS-layer and plan tests: member accounts, OUs, roles, groups."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tests.desired_files import HEADER, ROOT_ABSENT

ROLE = "OrganizationAccountAccessRole"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def root_id(org: Any) -> str:
    return str(org.list_roots()["Roots"][0]["Id"])


def ensure_ou(org: Any, path: str) -> str:
    """The id of the OU at ``path`` ("/A/B"), creating what is missing."""
    parent = root_id(org)
    for name in [p for p in path.split("/") if p]:
        children = org.list_organizational_units_for_parent(ParentId=parent)
        found = [c for c in children["OrganizationalUnits"] if c["Name"] == name]
        parent = (found[0]["Id"] if found else
                  org.create_organizational_unit(ParentId=parent, Name=name)
                  ["OrganizationalUnit"]["Id"])
    return parent


def create_member(org: Any, *, name: str, email: str, ou: str = "/",
                  tags: dict[str, str] | None = None) -> str:
    """CreateAccount, wait for it, move it to ``ou``; returns the account id."""
    request = org.create_account(
        Email=email, AccountName=name,
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])["CreateAccountStatus"]
    deadline = time.monotonic() + 30
    while request["State"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "CreateAccount did not finish"
        time.sleep(0.05)
        request = org.describe_create_account_status(
            CreateAccountRequestId=request["Id"])["CreateAccountStatus"]
    assert request["State"] == "SUCCEEDED", request
    account_id = str(request["AccountId"])
    if ou != "/":
        org.move_account(AccountId=account_id, SourceParentId=root_id(org),
                         DestinationParentId=ensure_ou(org, ou))
    return account_id


def trust_policy(management_id: str, *, mfa: bool = False) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow",
                                 "Principal": {"AWS": f"arn:aws:iam::{management_id}:root"},
                                 "Action": "sts:AssumeRole"}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def dumps(document: Any) -> str:
    return json.dumps(document)


def key_client(sandbox: Any, service: str, key: Mapping[str, Any], *,
               config: Any = None) -> Any:
    """A plain boto3 client for the sandbox signing with ``key`` as IAM and STS hand one out
    (``AccessKeyId``, ``SecretAccessKey``, and ``SessionToken`` for temporary credentials: an
    access key, or the ``Credentials`` of AssumeRole/AssumeRoot/GetSessionToken)."""
    import boto3

    return boto3.client(service, endpoint_url=sandbox.info.endpoint_url,
                        region_name=sandbox.info.region, config=config,
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        aws_session_token=key.get("SessionToken"))


def key_env(env: Mapping[str, str], key: Mapping[str, Any]) -> dict[str, str]:
    """``env`` (for the CLI or the AWS CLI) running as the holder of the access key ``key``."""
    return {**env, "AWS_ACCESS_KEY_ID": str(key["AccessKeyId"]),
            "AWS_SECRET_ACCESS_KEY": str(key["SecretAccessKey"])}


def iam_user(sandbox: Any, name: str, *, policy: Any = None, managed_policy: Any = None,
             groups: Sequence[str] = ()) -> dict[str, str]:
    """An IAM user of the management account holding ``policy`` (a document, dict or JSON text)
    as its inline policy and/or ``managed_policy`` as a customer managed policy
    ``<name>-policy`` attached to it, a member of ``groups``; returns its new access key
    (``AccessKeyId``, ``SecretAccessKey``). With no policy it may do nothing at all."""
    iam = sandbox.client("iam")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-inline",
                            PolicyDocument=_text(policy))
    if managed_policy is not None:
        arn = iam.create_policy(PolicyName=f"{name}-policy",
                                PolicyDocument=_text(managed_policy))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def member_credentials(sandbox: Any, account_id: str, *, role: str = ROLE,
                       session: str = "test-setup") -> dict[str, Any]:
    """The management admin's AssumeRole into ``role`` of ``account_id``: its Credentials."""
    return dict(sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
        RoleSessionName=session)["Credentials"])


def member_client(sandbox: Any, service: str, account_id: str, *, role: str = ROLE) -> Any:
    """A plain boto3 client acting in a member account through its access role."""
    return key_client(sandbox, service, member_credentials(sandbox, account_id, role=role))


# kind -> (describe operation, status key, request id parameter) of Identity Center's requests
_SSO_REQUESTS = {
    "create": ("describe_account_assignment_creation_status",
               "AccountAssignmentCreationStatus", "AccountAssignmentCreationRequestId"),
    "delete": ("describe_account_assignment_deletion_status",
               "AccountAssignmentDeletionStatus", "AccountAssignmentDeletionRequestId"),
    "provision": ("describe_permission_set_provisioning_status",
                  "PermissionSetProvisioningStatus", "ProvisionPermissionSetRequestId"),
}


def sso_request_end(sso: Any, instance_arn: str, status: Mapping[str, Any], kind: str, *,
                    attempts: int = 100) -> dict[str, Any]:
    """Follow an Identity Center request from the status its call returned
    (CreateAccountAssignment: ``kind`` "create", DeleteAccountAssignment "delete",
    ProvisionPermissionSet "provision") to its end, as a client must: the final status."""
    operation, key, id_key = _SSO_REQUESTS[kind]
    for _ in range(attempts):
        found = dict(getattr(sso, operation)(
            InstanceArn=instance_arn, **{id_key: status["RequestId"]})[key])
        if found["Status"] != "IN_PROGRESS":
            return found
        time.sleep(0.1)
    raise AssertionError(f"{kind} request still IN_PROGRESS")


ACCOUNT_ADMIN_ROLE = "test-account-admin"


def account_admin_client(sandbox: Any, service: str, account_id: str) -> Any:
    """A boto3 client acting as the member account's own administrator (someone other than
    orgsync, making an out-of-band change): a role of its own with AdministratorAccess, so that
    removing the access role's permissions or the role itself does not cut the change short, as
    it would for a session of the access role (AWS decides each call by the session's role's
    policies as they are now)."""
    iam = member_client(sandbox, "iam", account_id)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]})
    if not any(r["RoleName"] == ACCOUNT_ADMIN_ROLE for r in iam.list_roles()["Roles"]):
        iam.create_role(RoleName=ACCOUNT_ADMIN_ROLE, AssumeRolePolicyDocument=trust)
        iam.attach_role_policy(RoleName=ACCOUNT_ADMIN_ROLE,
                               PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    return member_client(sandbox, service, account_id, role=ACCOUNT_ADMIN_ROLE)


def enable_root_access(sandbox: Any, features: tuple[str, ...] = (
        "RootCredentialsManagement", "RootSessions")) -> None:
    """Trusted access for IAM and the IAM organizations features."""
    sandbox.client("organizations").enable_aws_service_access(
        ServicePrincipal="iam.amazonaws.com")
    iam = sandbox.client("iam")
    if "RootCredentialsManagement" in features:
        iam.enable_organizations_root_credentials_management()
    if "RootSessions" in features:
        iam.enable_organizations_root_sessions()


# A desired-state file the drift and equivalence tests converge by hand with boto3, so that they
# test observe + plan alone (not apply). Access roles without MFA: orgsync itself must be able to
# assume them to read them.
CONVERGED_FILE = HEADER + ROOT_ABSENT + """\
accounts:
  - name: prod
    email: aws+prod@example.com
    ou: /Workloads/Prod
    tags: {team: payments, environment: production}
  - name: dev
    email: aws+dev@example.com
    ou: /Workloads/Dev
groups:
  - name: admins
    members: [alice, bob]
    assume:
      - accounts: ["*"]
        require_mfa: true
"""


def grant_policy(role_arns: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": sorted(role_arns),
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}


def converge(sandbox: Any) -> dict[str, str]:
    """Make the sandbox match CONVERGED_FILE with boto3 alone; returns account name -> id."""
    org = sandbox.client("organizations")
    enable_root_access(sandbox)  # before CreateAccount: new accounts then get no root password
    ids = {
        "prod": create_member(org, name="prod", email="aws+prod@example.com",
                              ou="/Workloads/Prod",
                              tags={"team": "payments", "environment": "production"}),
        "dev": create_member(org, name="dev", email="aws+dev@example.com", ou="/Workloads/Dev"),
    }
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    iam.create_group(GroupName="admins", Path="/orgsync/")
    for user in ("alice", "bob"):
        iam.add_user_to_group(GroupName="admins", UserName=user)
    arns = [f"arn:aws:iam::{i}:role/{ROLE}" for i in ids.values()]
    iam.put_group_policy(GroupName="admins", PolicyName="orgsync-assume",
                         PolicyDocument=dumps(grant_policy(arns)))
    return ids


def sandbox_secrets(sandbox: Any) -> set[str]:
    """Every secret the sandbox has handed out so far: the management admin's secret key, the
    standalone accounts' secret keys, and the secret keys and session tokens of every assumed-role
    and root session (read from the in-process emulator)."""
    from moto.sts.models import sts_backends

    secrets = {sandbox.info.secret_access_key}
    secrets |= {a.secret_access_key for a in sandbox.info.standalone_accounts}
    for _account, regions in sts_backends.items():
        for backend in regions.values():
            for role in getattr(backend, "assumed_roles", []):
                secrets |= {role.secret_access_key, role.session_token}
    from moto.iam.models import iam_backends

    for _account, regions in iam_backends.items():
        for backend in regions.values():
            for key in getattr(backend, "access_keys", {}).values():
                secret = getattr(key, "secret_access_key", None)
                if secret:
                    secrets.add(secret)
    return {s for s in secrets if s and len(s) >= 16}
