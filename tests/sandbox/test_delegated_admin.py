"""IAM's delegated administrator in the sandbox: registered only with trusted access, one per
organization; it reads Organizations data, runs root sessions and reads the IAM organizations
features, and everything only the management account may do is refused."""

from __future__ import annotations

from reconciler.sandbox import Sandbox
from tests.sandbox.member_accounts import admin_client, new_member

TASK = "arn:aws:iam::aws:policy/root-task/"
IAM = "iam.amazonaws.com"


def test_register_needs_trusted_access_and_allows_one(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    security, other = new_member(sandbox, call, "security"), new_member(sandbox, call, "other")
    caught = error(org, "RegisterDelegatedAdministrator", "ConstraintViolationException",
                   AccountId=security, ServicePrincipal=IAM)
    assert caught.response["Reason"] == "SERVICE_ACCESS_NOT_ENABLED"
    call(org, "EnableAWSServiceAccess", ServicePrincipal=IAM)
    call(org, "RegisterDelegatedAdministrator", AccountId=security, ServicePrincipal=IAM)
    error(org, "RegisterDelegatedAdministrator", "AccountAlreadyRegisteredException",
          AccountId=security, ServicePrincipal=IAM)
    caught = error(org, "RegisterDelegatedAdministrator", "ConstraintViolationException",
                   AccountId=other, ServicePrincipal=IAM)
    assert caught.response["Reason"] == "MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED"
    admins = call(org, "ListDelegatedAdministrators", ServicePrincipal=IAM)
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [security]
    call(org, "DeregisterDelegatedAdministrator", AccountId=security, ServicePrincipal=IAM)
    call(org, "RegisterDelegatedAdministrator", AccountId=other, ServicePrincipal=IAM)


def test_delegated_admin_reads_the_organization_and_writes_nothing(
        sandbox: Sandbox, call, error, as_session) -> None:
    org = sandbox.client("organizations")
    security = new_member(sandbox, call, "security")
    workload = new_member(sandbox, call, "workload")
    delegated = admin_client(sandbox, call, as_session, security, "organizations")
    # before registration: a plain member may not list the organization
    error(delegated, "ListAccounts", "AccessDeniedException")
    call(org, "EnableAWSServiceAccess", ServicePrincipal=IAM)
    call(org, "RegisterDelegatedAdministrator", AccountId=security, ServicePrincipal=IAM)
    listed = {a["Id"] for a in call(delegated, "ListAccounts")["Accounts"]}
    assert {"123456789012", security, workload} <= listed
    roots = call(delegated, "ListRoots")["Roots"]
    call(delegated, "ListAccountsForParent", ParentId=roots[0]["Id"])
    call(delegated, "DescribeAccount", AccountId=workload)
    services = call(delegated, "ListAWSServiceAccessForOrganization")
    assert IAM in [s["ServicePrincipal"] for s in services["EnabledServicePrincipals"]]
    assert [a["Id"] for a in call(delegated, "ListDelegatedAdministrators",
                                  ServicePrincipal=IAM)["DelegatedAdministrators"]] == [security]
    error(delegated, "RegisterDelegatedAdministrator", "AccessDeniedException",
          AccountId=workload, ServicePrincipal=IAM)
    error(delegated, "DeregisterDelegatedAdministrator", "AccessDeniedException",
          AccountId=security, ServicePrincipal=IAM)
    error(delegated, "EnableAWSServiceAccess", "AccessDeniedException",
          ServicePrincipal="account.amazonaws.com")
    error(delegated, "TagResource", "AccessDeniedException", ResourceId=workload,
          Tags=[{"Key": "k", "Value": "v"}])
    error(delegated, "CreateAccount", "AccessDeniedException", AccountName="x",
          Email="aws+x@example.com")


def test_delegated_admin_runs_root_sessions(sandbox: Sandbox, call, error, as_session) -> None:
    org = sandbox.client("organizations")
    security = new_member(sandbox, call, "security")
    workload = new_member(sandbox, call, "workload")
    call(org, "EnableAWSServiceAccess", ServicePrincipal=IAM)
    call(sandbox.client("iam"), "EnableOrganizationsRootSessions")
    sts = admin_client(sandbox, call, as_session, security, "sts")
    iam = admin_client(sandbox, call, as_session, security, "iam")
    error(sts, "AssumeRoot", "AccessDenied", TargetPrincipal=workload,
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"})
    error(iam, "ListOrganizationsFeatures",
          "AccountNotManagementOrDelegatedAdministratorException")
    call(org, "RegisterDelegatedAdministrator", AccountId=security, ServicePrincipal=IAM)
    call(sts, "AssumeRoot", TargetPrincipal=workload,
         TaskPolicyArn={"arn": TASK + "S3UnlockBucketPolicy"})
    assert call(iam, "ListOrganizationsFeatures")["EnabledFeatures"] == ["RootSessions"]
    error(iam, "EnableOrganizationsRootCredentialsManagement",
          "CallerIsNotManagementAccountException")
    error(sts, "AssumeRoot", "AccessDenied", TargetPrincipal="123456789012",
          TaskPolicyArn={"arn": TASK + "IAMAuditRootUserCredentials"})
