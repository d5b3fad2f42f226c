"""What apply's steps adopt and what they call: renaming the management account, adopting a
CreateAccount request by name only when its email matches, root credentials' MFA under
password_recovery and the calls a step does not need."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from reconciler.apply import (
    ApplyOptions,
    ApplyResult,
    SilentReporter,
    apply_plan,
)
from reconciler.aws import Aws
from reconciler.config import load_text
from reconciler.observed import (
    CreateAccountRequest,
    ObservedOrganization,
    ObservedOU,
    ObservedState,
)
from reconciler.plan import Action, Change, Plan
from reconciler.planner import plan as make_plan
from tests.aws.seed import key_client
from tests.desired_files import HEADER

from .conftest import Workdir, output

MANAGEMENT = "123456789012"

RENAMED_MANAGEMENT = HEADER + """\
accounts:
  - name: {name}
    email: {email}
    id: "123456789012"
"""


def _account(sandbox: Any, account_id: str) -> dict[str, Any]:
    account: dict[str, Any] = sandbox.client("organizations").describe_account(
        AccountId=account_id)["Account"]
    return account


def test_the_management_account_is_renamed_without_its_own_account_id(
        workdir: Workdir) -> None:
    email = _account(workdir.sandbox, MANAGEMENT)["Email"]
    workdir.write(RENAMED_MANAGEMENT.format(name="org-root", email=email))
    result = workdir.apply()
    assert result.returncode == 0, output(result)
    assert "renamed" in result.stdout and "'org-root'" in result.stdout, output(result)
    assert _account(workdir.sandbox, MANAGEMENT)["Name"] == "org-root"
    assert "\nconverged:" in result.stdout, output(result)
    # no detour through an access role in the management account
    assert workdir.sandbox.control.calls("sts.AssumeRole") == 0


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(region="us-east-1", endpoint_url=sandbox_process_env.info.endpoint_url)


def _apply(sandbox: Any, aws: Aws, *changes: Change, desired_text: str = "accounts: []\n"
           ) -> ApplyResult:
    desired = load_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                        + desired_text, filename="accounts.yaml")
    root = sandbox.client("organizations").list_roots()["Roots"][0]["Id"]
    observed = ObservedState(organization=ObservedOrganization(
        id="o-x", arn="arn", feature_set="ALL", management_account_id=MANAGEMENT, root_id=root))
    return apply_plan(Plan(management_account_id=MANAGEMENT, changes=changes),
                      desired=desired, observed=observed, aws=aws, reporter=SilentReporter(),
                      options=ApplyOptions(poll_initial_s=0.2, poll_max_s=0.5))


def _create(name: str, email: str) -> Change:
    return Change(kind="account", key=name, action=Action.CREATE, before=None, reason="test",
                  after={"name": name, "email": email, "ou": "/", "tags": {"team": "apps"},
                         "iam_user_access_to_billing": None, "role_name": None})


def test_create_does_not_continue_someone_elses_request_with_the_name(
        sandbox_options: Any, aws: Aws) -> None:
    # Someone else's request must still be IN_PROGRESS when apply lists requests in flight (a
    # wall-clock delay lost that race on a loaded machine: the request had finished, so orgsync
    # rightly requested its own account). So it takes 10 minutes of the sandbox's clock, which
    # moves on only once apply is following the request (it follows it to its end, then refuses).
    with sandbox_options(create_delay_s=600) as sandbox:
        orgs = sandbox.client("organizations")
        orgs.create_account(Email="someone-else@example.com", AccountName="app")
        following = threading.Event()

        def finish_theirs_once_followed() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not following.is_set():
                if sandbox.control.calls("organizations.DescribeCreateAccountStatus") >= 1:
                    sandbox.control.advance_clock(601)
                    following.set()
                    return
                time.sleep(0.05)

        mover = threading.Thread(target=finish_theirs_once_followed, daemon=True)
        mover.start()
        result = _apply(sandbox, aws, _create("app", "aws+app@example.com"))
        following.set()
        mover.join()
        assert [s.status for s in result.steps] == ["failed"], result.steps
        assert "was made by someone else" in result.steps[0].detail
        assert "someone-else@example.com" in result.steps[0].detail
        assert sandbox.control.calls("organizations.CreateAccount") == 1  # only theirs
        other = next(a for a in orgs.list_accounts()["Accounts"]
                     if a["Email"] == "someone-else@example.com")
        assert orgs.list_tags_for_resource(ResourceId=other["Id"])["Tags"] == []
        assert "app" not in result.account_ids


def test_creating_accounts_lists_the_organization_once_per_run(sandbox: Any, aws: Aws) -> None:
    sandbox.control.reset_counters()
    result = _apply(sandbox, aws, *(_create(f"app{i}", f"aws+app{i}@example.com")
                                    for i in range(3)))
    assert [s.status for s in result.steps] == ["done"] * 3, result.steps
    assert sandbox.control.calls("organizations.CreateAccount") == 3
    assert sandbox.control.calls("organizations.ListAccounts") == 1
    assert sandbox.control.calls("organizations.ListCreateAccountStatus") == 1
    assert sandbox.control.calls("organizations.DescribeAccount") == 0
    # a second run finds them by email and requests nothing
    again = _apply(sandbox, aws, *(_create(f"app{i}", f"aws+app{i}@example.com")
                                   for i in range(3)))
    assert all("already existed" in s.detail for s in again.steps), again.steps
    assert sandbox.control.calls("organizations.CreateAccount") == 3


def _member_with_root_access(sandbox: Any, index: int) -> str:
    """Standalone account ``index`` invited and joined, centralized root access on."""
    account = sandbox.info.standalone_accounts[index]
    orgs = sandbox.client("organizations")
    handshake = orgs.invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": account.id})["Handshake"]["Id"]
    sandbox.client("organizations", account=account).accept_handshake(HandshakeId=handshake)
    orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam = sandbox.client("iam")
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()
    return str(account.id)


def _root_summary(sandbox: Any, account_id: str) -> dict[str, int]:
    credentials = sandbox.client("sts").assume_root(
        TargetPrincipal=account_id,
        TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"},
    )["Credentials"]
    iam = key_client(sandbox, "iam", credentials)
    summary: dict[str, int] = iam.get_account_summary()["SummaryMap"]
    return summary


def _root_change(account_id: str, policy: str, before: dict[str, Any] | None) -> Change:
    recovery = policy == "password_recovery"
    return Change(kind="root_credentials", key="member", action=Action.UPDATE, before=before,
                  reason="test", after={"account_id": account_id, "policy": policy,
                                        "password": recovery, "access_keys": False,
                                        "signing_certificates": False, "mfa": False})


def test_password_recovery_keeps_mfa_devices_and_opens_no_needless_session(
        sandbox: Any, aws: Aws) -> None:
    # acquired-startup: a root password and an MFA device, no access key, no certificate
    member = _member_with_root_access(sandbox, 1)
    assert _root_summary(sandbox, member)["AccountMFAEnabled"] == 1
    sandbox.control.reset_counters()
    # "mfa": False in after, as the planner writes it when observe saw no device (one was added
    # since): password_recovery must leave it alone all the same.
    before = {"account_id": member, "password": True, "access_keys": False,
              "signing_certificates": False, "mfa": False}
    result = _apply(sandbox, aws, _root_change(member, "password_recovery", before))
    assert [s.status for s in result.steps] == ["done"], result.steps
    summary = _root_summary(sandbox, member)
    assert summary["AccountMFAEnabled"] == 1
    assert summary["AccountPasswordPresent"] == 1
    # nothing to delete and the password is there: only the audit session of the check
    assert sandbox.control.calls("sts.AssumeRoot") == 1 + 1  # + _root_summary's own
    assert sandbox.control.calls("iam.ListAccessKeys") == 0
    assert sandbox.control.calls("iam.ListMFADevices") == 0


def test_absent_with_unknown_before_deletes_everything(sandbox: Any, aws: Aws) -> None:
    member = _member_with_root_access(sandbox, 0)  # password, access key and MFA device
    result = _apply(sandbox, aws, _root_change(member, "absent", None))
    assert [s.status for s in result.steps] == ["done"], result.steps
    summary = _root_summary(sandbox, member)
    assert (summary["AccountMFAEnabled"], summary["AccountPasswordPresent"],
            summary["AccountAccessKeysPresent"]) == (0, 0, 0)


def test_a_deferred_request_with_the_name_but_another_email_is_not_adopted(
        sandbox_options: Any, aws: Aws) -> None:
    # The plan lists account.app's create for an IN_PROGRESS request named app (all that
    # ListCreateAccountStatus shows); the account it makes has another email.
    with sandbox_options(create_delay_s=1) as sandbox:
        orgs = sandbox.client("organizations")
        request = orgs.create_account(Email="someone-else@example.com",
                                      AccountName="app")["CreateAccountStatus"]
        desired = load_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                            "accounts:\n  - name: app\n    email: aws+app@example.com\n",
                            filename="accounts.yaml")
        observed = ObservedState(
            organization=ObservedOrganization(id="o-x", arn="arn", feature_set="ALL",
                                              management_account_id=MANAGEMENT, root_id="r-x"),
            create_requests=(CreateAccountRequest(id=request["Id"], account_name="app",
                                                  state="IN_PROGRESS"),))
        plan = make_plan(desired, observed)
        assert (plan.changes[0].address, plan.changes[0].action) == ("account.app", Action.CREATE)
        assert plan.changes[0].before == {"create_request_id": request["Id"],
                                          "state": "IN_PROGRESS"}
        result = apply_plan(plan, desired=desired, observed=observed, aws=aws,
                            reporter=SilentReporter(),
                            options=ApplyOptions(poll_initial_s=0.2, poll_max_s=0.5))
        assert result.steps[0].status == "failed", result.steps
        detail = result.steps[0].detail
        assert "a CreateAccount request named 'app'" in detail
        assert "made by someone else" in detail and "someone-else@example.com" in detail
        assert "app" not in result.account_ids


def test_ou_create_lists_its_parent_once_and_trusts_observed_ous(sandbox: Any, aws: Aws) -> None:
    orgs = sandbox.client("organizations")
    root = orgs.list_roots()["Roots"][0]["Id"]
    parent = orgs.create_organizational_unit(ParentId=root, Name="A")["OrganizationalUnit"]["Id"]
    desired = load_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                        "accounts: []\n", filename="accounts.yaml")
    observed = ObservedState(
        organization=ObservedOrganization(id="o-x", arn="arn", feature_set="ALL",
                                          management_account_id=MANAGEMENT, root_id=root),
        ous=(ObservedOU(id=parent, name="A", path="/A", parent_id=root),))
    change = Change(kind="ou", key="/A/B", action=Action.CREATE, before=None, reason="test",
                    after={"path": "/A/B", "name": "B", "parent_path": "/A"})
    sandbox.control.reset_counters()
    result = apply_plan(Plan(management_account_id=MANAGEMENT, changes=(change,)),
                        desired=desired, observed=observed, aws=aws, reporter=SilentReporter())
    assert sandbox.control.calls("organizations.ListOrganizationalUnitsForParent") == 1
    assert sandbox.control.calls("organizations.CreateOrganizationalUnit") == 1
    assert [s.detail for s in result.steps] == [
        f"created OU /A/B ({_child(orgs, parent, 'B')})"], result.steps
    again = apply_plan(Plan(management_account_id=MANAGEMENT, changes=(change,)),
                       desired=desired, observed=observed, aws=aws, reporter=SilentReporter())
    assert again.steps[0].detail.startswith("OU /A/B already existed"), again.steps
    assert sandbox.control.calls("organizations.CreateOrganizationalUnit") == 1


def _child(orgs: Any, parent: str, name: str) -> str:
    children = orgs.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
    return str(next(ou["Id"] for ou in children if ou["Name"] == name))
