"""Who is running a root command, and whether the organization lets them: the checks that give a
clear one-line refusal before any root session is started.

A root task needs centralized root access with root sessions on (``RootSessions``), a caller in
the management account or IAM's delegated administrator account, and a target that is an active
member account other than the management account (AWS: "You cannot use ... AssumeRoot on the
management account"; IAM User Guide, "Perform a privileged task on an AWS Organizations member
account"). ``ListOrganizationsFeatures`` answers the first two at once; Organizations answers the
third, to management and delegated administrator alike (read-only Organizations data).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.aws import Aws, paginate
from reconciler.errors import AwsError, NotFound, Refusal

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("organizations:DescribeOrganization", "organizations:DescribeAccount",
                   "organizations:ListAccounts", "iam:ListOrganizationsFeatures",
                   "sts:AssumeRoot"),
}
ROOT_SESSIONS = "RootSessions"


@dataclass(frozen=True)
class Caller:
    """The runner: its ARN (as STS reports it), its account, and the organization's management
    account. ``delegated``: the runner is in IAM's delegated administrator account."""

    arn: str
    account_id: str
    management_account_id: str
    organization_id: str
    features: tuple[str, ...]

    @property
    def delegated(self) -> bool:
        return self.account_id != self.management_account_id


def _code(error: AwsError) -> str:
    return error.code.removesuffix("Exception")


def check_caller(aws: Aws, *, need: tuple[str, ...] = (ROOT_SESSIONS,)) -> Caller:
    """The runner and the organization, refusing (one line) when root tasks cannot run."""
    identity = aws.client("sts").get_caller_identity()
    arn, account_id = str(identity.get("Arn", "")), str(identity.get("Account", ""))
    try:
        described = aws.client("organizations").describe_organization()["Organization"]
    except AwsError as error:
        if error.code == "AWSOrganizationsNotInUseException":
            raise Refusal(f"account {account_id} is not in an organization: root tasks need "
                          "the management account or IAM's delegated administrator") from error
        raise
    management = str(described.get("MasterAccountId", ""))
    try:
        features = aws.client("iam").list_organizations_features()
    except AwsError as error:
        code = _code(error)
        if code == "ServiceAccessNotEnabled":
            raise Refusal("centralized root access is off: IAM has no trusted access in the "
                          "organization (set root_credentials.features in the file and run "
                          "orgsync apply with the management account)") from error
        if code in ("AccountNotManagementOrDelegatedAdministrator",
                    "CallerIsNotManagementAccount"):
            raise Refusal(f"these credentials ({arn}) are neither in the management account "
                          f"{management} nor in IAM's delegated administrator account: root "
                          "tasks need one of them") from error
        if code == "OrganizationNotInAllFeaturesMode":
            raise Refusal("centralized root access needs an organization with all features "
                          "enabled") from error
        raise
    enabled = tuple(sorted(str(f) for f in features.get("EnabledFeatures") or ()))
    missing = [f for f in need if f not in enabled]
    if missing:
        raise Refusal(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} off in "
                      "this organization: root sessions cannot be started (add them to "
                      "root_credentials.features and run orgsync apply with the management "
                      "account)")
    return Caller(arn=arn, account_id=account_id, management_account_id=management,
                  organization_id=str(described.get("Id", "")), features=enabled)


def check_member(aws: Aws, caller: Caller, *, account_id: str) -> str:
    """The account's name, refusing the management account and accounts that are not active
    members of the organization."""
    if account_id == caller.management_account_id:
        raise Refusal(f"account {account_id} is the management account: root tasks (AssumeRoot) "
                      "run only in member accounts")
    try:
        account = aws.client("organizations").describe_account(AccountId=account_id)["Account"]
    except NotFound:
        raise Refusal(f"account {account_id} is not in the organization "
                      f"{caller.organization_id}") from None
    except AwsError as error:
        if error.code == "AccountNotFoundException":
            raise Refusal(f"account {account_id} is not in the organization "
                          f"{caller.organization_id}") from error
        raise
    state = str(account.get("State") or account.get("Status") or "ACTIVE")
    if state != "ACTIVE":
        raise Refusal(f"account {account_id} is {state}: root tasks need an active account")
    return str(account.get("Name", ""))


@dataclass(frozen=True)
class MemberAccount:
    id: str
    name: str
    email: str
    state: str


def member_accounts(aws: Aws, caller: Caller) -> list[MemberAccount]:
    """Every member account (the management account left out), by id."""
    found = [MemberAccount(id=str(a["Id"]), name=str(a.get("Name", "")),
                           email=str(a.get("Email", "")),
                           state=str(a.get("State") or a.get("Status") or "ACTIVE"))
             for a in paginate(aws.client("organizations"), "list_accounts", "Accounts")]
    return sorted((a for a in found if a.id != caller.management_account_id),
                  key=lambda a: a.id)
