"""observe() against the sandbox: what it reads, how many calls it makes for it (the per-account
budget of a no-op plan), and that every call it makes is declared in the modules' PERMISSIONS."""

from __future__ import annotations

import math
from typing import Any

import pytest

from reconciler.aws import Aws
from reconciler.config import load_text
from reconciler.errors import Refusal
from reconciler.observe import observe
from reconciler.permissions import actions, declarations
from tests.aws.seed import ROLE, create_member, enable_root_access

FILE = """\
version: 1
organization:
  management_account_id: "{management}"
root_credentials:
  features: [RootCredentialsManagement, RootSessions]
  default: {root}
accounts:
{accounts}
groups:
  - name: admins
    members: [alice, ghost]
    assume:
      - accounts: ["*"]
"""


def _file(names: list[str], *, management: str = "123456789012", root: str = "absent",
          tags: bool = True, role: str | None = None) -> str:
    lines = []
    for i, name in enumerate(names):
        lines += [f"  - name: {name}", f"    email: aws+{name}@example.com",
                  f"    ou: /Team{i % 3}"]
        if tags:
            lines.append(f"    tags: {{team: t{i}}}")
        if role:
            lines += ["    access_role:", f"      name: {role}"]
    return FILE.format(management=management, root=root, accounts="\n".join(lines))


@pytest.fixture
def aws(sandbox_process_env: Any) -> Aws:
    return Aws(endpoint_url=sandbox_process_env.info.endpoint_url, parallelism=4)


def _seed(sandbox: Any, names: list[str]) -> dict[str, str]:
    org = sandbox.client("organizations")
    enable_root_access(sandbox)
    ids = {name: create_member(org, name=name, email=f"aws+{name}@example.com",
                               ou=f"/Team{i % 3}") for i, name in enumerate(names)}
    sandbox.client("iam").create_user(UserName="alice")
    return ids


def test_no_op_read_stays_within_the_call_budget(sandbox: Any, aws: Aws) -> None:
    names = [f"acct{i:02d}" for i in range(24)]
    ids = _seed(sandbox, names)
    sandbox.client("organizations").tag_resource(ResourceId=ids["acct01"],
                                                 Tags=[{"Key": "team", "Value": "t1"}])
    desired = load_text(_file(names), filename="accounts.yaml")
    observed = observe(desired, aws, parallelism=4)

    assert {a.id for a in observed.accounts} == {*ids.values(), "123456789012"}
    assert {o.path for o in observed.ous} == {"/Team0", "/Team1", "/Team2"}
    assert all(observed.roles[i].status == "ok" for i in ids.values())
    assert all(observed.root_credentials[i].error is None for i in ids.values())
    tags = {a.id: a.tags for a in observed.accounts}
    assert tags[ids["acct01"]] == {"team": "t1"} and tags[ids["acct02"]] == {}
    assert tags["123456789012"] is None  # not in the file: its tags are not read
    assert observed.existing_users == ("alice",)  # "ghost" does not exist

    # per member account: AssumeRole + one IAM read, AssumeRoot + one summary, one tag read
    for account_id in ids.values():
        assert aws.calls.for_account(account_id) == {
            "iam:GetAccountAuthorizationDetails": 1, "iam:GetAccountSummary": 1,
            "organizations:ListTagsForResource": 1, "sts:AssumeRole": 1, "sts:AssumeRoot": 1}
    # the organization itself: O(OUs + accounts/20)
    org_calls = {op: n for op, n in aws.calls.by_operation().items()
                 if op.startswith("organizations:") and op != "organizations:ListTagsForResource"}
    parents = len(observed.ous) + 1
    pages = math.ceil(len(names) / 20)
    assert org_calls["organizations:ListOrganizationalUnitsForParent"] == parents
    assert org_calls["organizations:ListAccountsForParent"] <= parents + pages
    assert sum(org_calls.values()) <= 2 * parents + pages + 5
    assert "organizations:ListParents" not in org_calls
    # the management account's IAM: one paginated read
    assert aws.calls.for_account("")["iam:GetAccountAuthorizationDetails"] == 1


def test_every_call_is_declared_in_permissions(sandbox: Any, aws: Aws) -> None:
    names = ["one", "two"]
    _seed(sandbox, names)
    observe(load_text(_file(names), filename="accounts.yaml"), aws)
    decls = declarations()
    for scope, operations in aws.calls.by_scope().items():
        missing = set(operations) - actions(decls, stage="plan", scope=scope)
        assert not missing, f"{scope} calls not in PERMISSIONS: {missing}"


def test_budget_without_managed_root_or_tags_is_two_calls(sandbox: Any, aws: Aws) -> None:
    names = ["one", "two", "three"]
    ids = _seed(sandbox, names)
    observe(load_text(_file(names, root="unmanaged", tags=False), filename="a.yaml"), aws)
    for account_id in ids.values():
        assert aws.calls.for_account(account_id) == {
            "iam:GetAccountAuthorizationDetails": 1, "sts:AssumeRole": 1}


def test_renamed_role_is_read_through_the_default_role(sandbox: Any, aws: Aws) -> None:
    ids = _seed(sandbox, ["one"])
    desired = load_text(_file(["one"], role="OrgsyncAdmin"), filename="a.yaml")
    role = observe(desired, aws).roles[ids["one"]]
    assert (role.status, role.name, role.via_role) == ("missing", "OrgsyncAdmin", ROLE)


def test_role_that_cannot_be_assumed_is_not_assumable(sandbox: Any, aws: Aws) -> None:
    from tests.aws.seed import account_admin_client

    ids = _seed(sandbox, ["one"])
    iam = account_admin_client(sandbox, "iam", ids["one"])
    for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
    iam.delete_role(RoleName=ROLE)
    role = observe(load_text(_file(["one"]), filename="a.yaml"), aws).roles[ids["one"]]
    assert role.status == "not_assumable"
    assert role.error is not None and "AccessDenied" in role.error


def test_root_credentials_are_not_read_without_root_access(sandbox: Any, aws: Aws) -> None:
    org = sandbox.client("organizations")
    account_id = create_member(org, name="one", email="aws+one@example.com", ou="/Team0")
    sandbox.client("iam").create_user(UserName="alice")
    observed = observe(load_text(_file(["one"]), filename="a.yaml"), aws)
    assert observed.trusted_access_iam is False and observed.root_features is None
    assert observed.root_credentials == {}
    assert "sts:AssumeRoot" not in aws.calls.for_account(account_id)


def test_another_organization_is_refused_before_anything_else(sandbox: Any, aws: Aws) -> None:
    desired = load_text(_file(["one"], management="999999999999"), filename="a.yaml")
    with pytest.raises(Refusal, match="999999999999"):
        observe(desired, aws)
    # only who is asking (needs no permission), then the organization: nothing of it is read
    assert aws.calls.by_operation() == {"sts:GetCallerIdentity": 1,
                                        "organizations:DescribeOrganization": 1}


def test_observed_state_is_stable_and_fingerprinted(sandbox: Any, aws: Aws) -> None:
    names = ["one", "two"]
    _seed(sandbox, names)
    desired = load_text(_file(names), filename="a.yaml")
    first, second = observe(desired, aws), observe(desired, aws)
    assert first == second
    assert first.fingerprint() == second.fingerprint()
    sandbox.client("iam").create_user(UserName="ghost")
    assert observe(desired, aws).fingerprint() != first.fingerprint()


def test_throttled_organizations_slow_the_read_but_do_not_fail_it(sandbox: Any,
                                                                 aws: Aws) -> None:
    import dataclasses

    names = [f"t{i}" for i in range(8)]
    _seed(sandbox, names)
    desired = load_text(_file(names), filename="a.yaml")  # tags managed: parallel tag reads
    original = sandbox.options
    throttled = dataclasses.replace(original, throttle={"organizations": 4.0})
    with sandbox.state.lock:  # throttle after seeding, keeping the state
        sandbox.options = sandbox.state.options = throttled
    try:
        observed = observe(desired, aws, parallelism=8)
    finally:
        with sandbox.state.lock:
            sandbox.options = sandbox.state.options = original
            sandbox.state.throttle_windows.clear()
    assert len(observed.accounts) == len(names) + 1
    assert all(a.tags is not None for a in observed.accounts if a.name in names)
    org_calls = sum(n for op, n in aws.calls.by_operation().items()
                    if op.startswith("organizations:"))
    org_attempts = sum(n for op, n in aws.calls.by_operation(attempts=True).items()
                       if op.startswith("organizations:"))
    assert org_attempts > org_calls  # it was throttled, and retried through it


def test_requests_in_flight_and_invitations_are_observed(sandbox_options: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox_options(create_delay_s=600) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        aws = Aws(endpoint_url=sandbox.info.endpoint_url)
        org = sandbox.client("organizations")
        sandbox.client("iam").create_user(UserName="alice")
        standalone = sandbox.info.standalone_accounts[0]
        org.create_account(AccountName="one", Email="aws+one@example.com")
        org.create_account(AccountName="other", Email="aws+other@example.com")
        handshake = org.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": standalone.id})["Handshake"]
        # a request that fails late: the email belongs to an existing (standalone) account
        org.create_account(AccountName="two", Email=standalone.email)
        sandbox.control.advance_clock(601)

        observed = observe(load_text(_file(["one", "two"]), filename="a.yaml"), aws)
    by_name = {r.account_name: r for r in observed.create_requests}
    assert by_name["two"].state == "FAILED"
    assert by_name["two"].failure_reason == "EMAIL_ALREADY_EXISTS"
    assert {"one", "other"} <= {a.name for a in observed.accounts}  # finished: visible
    assert "other" not in by_name  # SUCCEEDED and visible, or not in the file: not kept
    [seen] = [h for h in observed.handshakes if h.id == handshake["Id"]]
    assert (seen.target_type, seen.target_id, seen.pending) == ("ACCOUNT", standalone.id, True)


def test_create_request_in_progress_is_observed(sandbox_options: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox_options(create_delay_s=600) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        aws = Aws(endpoint_url=sandbox.info.endpoint_url)
        sandbox.client("iam").create_user(UserName="alice")
        request = sandbox.client("organizations").create_account(
            AccountName="one", Email="aws+one@example.com")["CreateAccountStatus"]
        observed = observe(load_text(_file(["one"]), filename="a.yaml"), aws)
    [seen] = observed.create_requests
    assert (seen.id, seen.account_name, seen.state) == (request["Id"], "one", "IN_PROGRESS")
    assert observed.roles == {}  # nothing to read inside an account that does not exist yet
