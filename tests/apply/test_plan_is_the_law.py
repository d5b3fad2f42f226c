"""Property: every AWS write apply makes belongs to the plan it was given.

For random (desired, observed) pairs (random files over created and invited accounts, OUs, tags,
root policies and a group; a random earlier state: a CreateAccount left IN_PROGRESS, an invitation
already pending) and random events during apply (invitations accepted, CreateAccount requests
completed, at random steps), the planner plans, ``apply_approved`` applies with its follow-up
rounds, and every write call that reached the sandbox (counted by the AWS layer, by scope, account
and operation) must be explained by a change or a listed deferred item of the approved plan: same
kind, an action that makes that call, and the same account."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.apply import ApplyOptions, Reporter, StepResult, apply_approved
from reconciler.aws import Aws
from reconciler.config import load_text
from reconciler.observe import observe
from reconciler.plan import Change, Plan
from reconciler.planner import plan as make_plan

from .conftest import add_bootstrap_profile

MANAGEMENT = "123456789012"
WRITE_PREFIXES = ("Create", "Delete", "Put", "Attach", "Detach", "Update", "Tag", "Untag", "Move",
                  "Invite", "Enable", "Disable", "Add", "Remove", "Accept", "Deactivate",
                  "Register", "Close", "Set", "Upload")

# operation -> (kind, actions that may make it)
ACCOUNT_ANY = ("create", "invite", "update")
WRITES: dict[str, tuple[str, tuple[str, ...]]] = {
    "organizations:CreateAccount": ("account", ("create",)),
    "organizations:InviteAccountToOrganization": ("account", ("invite",)),
    "organizations:MoveAccount": ("account", ACCOUNT_ANY),
    "organizations:TagResource": ("account", ACCOUNT_ANY),
    "organizations:UntagResource": ("account", ACCOUNT_ANY),
    "account:PutAccountName": ("account", ("update",)),
    "organizations:CloseAccount": ("account", ("close",)),
    "organizations:CreateOrganizationalUnit": ("ou", ("create",)),
    "organizations:EnableAWSServiceAccess": ("organization", ("update",)),
    "iam:EnableOrganizationsRootCredentialsManagement": ("organization", ("update",)),
    "iam:EnableOrganizationsRootSessions": ("organization", ("update",)),
    "iam:DisableOrganizationsRootCredentialsManagement": ("organization", ("update",)),
    "iam:DisableOrganizationsRootSessions": ("organization", ("update",)),
}
ROLE_WRITES = ("iam:CreateRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
               "iam:DeleteRolePolicy", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
               "iam:UpdateRole")
ROOT_WRITES = ("iam:DeleteLoginProfile", "iam:DeleteAccessKey", "iam:DeleteSigningCertificate",
               "iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:CreateLoginProfile")


def _is_write(operation: str) -> bool:
    return operation.split(":", 1)[1].startswith(WRITE_PREFIXES)


class EventReporter:
    """A reporter that makes AWS's own events happen at random steps of the apply: the invited
    accounts accept their invitations, CreateAccount requests finish."""

    def __init__(self, sandbox: Any, events: list[str]) -> None:
        self._sandbox = sandbox
        self._events = list(events)
        self._lock = threading.Lock()

    def _event(self) -> None:
        with self._lock:
            event = self._events.pop(0) if self._events else "none"
            if event == "accept":
                orgs = self._sandbox.client("organizations")
                for handshake in orgs.list_handshakes_for_organization()["Handshakes"]:
                    if handshake["State"] in ("OPEN", "REQUESTED"):
                        self._sandbox.control.accept_handshake(handshake["Id"])
            elif event == "complete":
                self._sandbox.control.advance_clock(3600)

    def started(self, change: Change) -> None:
        self._event()

    def progress(self, change: Change, message: str) -> None:
        self._event()

    def finished(self, change: Change, result: StepResult) -> None:
        return None


def _file(draw: Any) -> str:
    lines = ['version: 1', 'organization:', f'  management_account_id: "{MANAGEMENT}"']
    features = draw(st.booleans())
    if features:
        lines += ["root_credentials:", "  features: [RootCredentialsManagement, RootSessions]"]
    lines.append("accounts:")
    ous = ["/", "/A", "/A/B"]
    for i in range(draw(st.integers(0, 2))):
        lines += [f"  - name: app{i}", f"    email: aws+app{i}@example.com",
                  f"    ou: {draw(st.sampled_from(ous))}"]
        if draw(st.booleans()):
            lines.append(f"    tags: {{team: t{draw(st.integers(0, 2))}}}")
        if features and draw(st.booleans()):
            lines.append("    root_credentials: absent")
    if draw(st.booleans()):
        renamed = draw(st.booleans())
        lines += [f"  - name: {'analytics' if renamed else 'legacy-analytics'}",
                  "    email: aws+legacy-analytics@example.com", "    source: invited",
                  '    id: "210987654321"', f"    ou: {draw(st.sampled_from(ous))}"]
        if draw(st.booleans()):
            lines.append("    bootstrap_profile: legacy-admin")
        if features:
            lines.append(f"    root_credentials: "
                         f"{draw(st.sampled_from(['absent', 'unmanaged', 'password_recovery']))}")
    if lines[-1] == "accounts:":
        lines[-1] = "accounts: []"
    members = draw(st.sampled_from(["[]", "[alice]", "[alice, bob]", "[alcie]"]))
    lines += ["groups:", "  - name: admins", f"    members: {members}"]
    if draw(st.booleans()):
        lines += ["    assume:", '      - accounts: ["*"]']
    return "\n".join(lines) + "\n"


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    return {
        "file": _file(draw),
        "pre_create": draw(st.booleans()),
        "pre_invite": draw(st.booleans()),
        "events": draw(st.lists(st.sampled_from(["none", "accept", "complete"]), max_size=12)),
    }


def _allowed(approved: Plan, ids: dict[str, str]) -> set[tuple[str, str, str]]:
    """(kind, action, account id or "") of every change and listed deferred item."""
    def account_of(kind: str, key: str, after: Any) -> str:
        if kind in ("account", "access_role", "root_credentials"):
            value = (after or {}).get("id") or (after or {}).get("account_id") or ""
            if not value or str(value).startswith("${"):
                return ids.get(key, "")
            return str(value)
        return ""

    allowed = {(c.kind, c.action.value, account_of(c.kind, c.key, c.after))
               for c in approved.changes}
    allowed |= {(d.kind, d.action.value, account_of(d.kind, d.key, d.after))
                for d in approved.listed_deferred if d.action is not None}
    return allowed


def _explained(scope: str, account: str, operation: str,
               allowed: set[tuple[str, str, str]]) -> bool:
    if operation in WRITES:
        kind, actions = WRITES[operation]
        return any((kind, action, account) in allowed or
                   ((kind, action, "") in allowed and kind in ("ou", "organization"))
                   or (operation in ("organizations:CreateAccount",
                                     "organizations:InviteAccountToOrganization")
                       and any(k == kind and a == action for k, a, _ in allowed))
                   for action in actions)
    if operation in ROLE_WRITES:
        if scope == "profile":  # the invited account's bootstrap profile
            return any(k == "access_role" and a == "create" for k, a, _ in allowed)
        return any((("access_role", a, account) in allowed) for a in ("create", "update"))
    if operation in ROOT_WRITES:
        return ("root_credentials", "update", account) in allowed
    if scope == "management" and operation.startswith("iam:"):  # groups and grant policies
        return any(k == "group" for k, _, _ in allowed)
    return False


@pytest.fixture
def process_sandbox(sandbox_process_env: Any, sandbox_options: Any) -> Iterator[Any]:
    with sandbox_options(create_delay_s=2) as sandbox:
        add_bootstrap_profile(dict(os.environ), sandbox)
        yield sandbox


@settings(max_examples=int(os.environ.get("ORGSYNC_PROPERTY_EXAMPLES", "10")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_every_write_apply_makes_is_in_the_plan(process_sandbox: Any,
                                                scenario: dict[str, Any]) -> None:
    sandbox = process_sandbox
    sandbox.reset()
    iam = sandbox.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    desired = load_text(scenario["file"], filename="accounts.yaml")
    orgs = sandbox.client("organizations")
    if scenario["pre_create"] and desired.accounts and desired.accounts[0].source == "created":
        spec = desired.accounts[0]  # what a killed apply leaves: a request in progress
        orgs.create_account(Email=spec.email, AccountName=spec.name)
    if scenario["pre_invite"] and any(s.source == "invited" for s in desired.accounts):
        orgs.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "210987654321"})
    aws = Aws(endpoint_url=sandbox.info.endpoint_url, region=sandbox.info.region)
    observed = observe(desired, aws, parallelism=2)
    approved = make_plan(desired, observed)
    if approved.errors:
        return
    aws.calls.reset()

    def replan() -> tuple[Any, Plan]:
        fresh = observe(desired, aws, parallelism=2)
        return fresh, make_plan(desired, fresh)

    reporter: Reporter = EventReporter(sandbox, scenario["events"])
    run = apply_approved(approved, desired=desired, observed=observed, aws=aws,
                         reporter=reporter, replan=replan,
                         options=ApplyOptions(parallelism=2, poll_initial_s=0.2, poll_max_s=0.5,
                                              invitation_accept_wait_s=0.3,
                                              create_account_timeout_s=30,
                                              role_ready_timeout_s=10, close_wait_s=5))
    ids: dict[str, str] = {}
    for result in run.results:
        ids.update(result.account_ids)
    for account in orgs.list_accounts()["Accounts"]:
        for spec in desired.accounts:
            if spec.email.lower() == account["Email"].lower():
                ids.setdefault(spec.name, account["Id"])
    allowed = _allowed(approved, ids)
    writes = [(key.scope, key.account_id, key.operation)
              for key in aws.calls.entries() if _is_write(key.operation)]
    unexplained = [w for w in writes if not _explained(*w, allowed)]
    assert not unexplained, (f"writes not in the plan: {unexplained}\nfile:\n{scenario['file']}"
                             f"plan: {sorted(allowed)}\nsteps: "
                             f"{[s.to_dict() for r in run.results for s in r.steps]}")


def test_the_check_rejects_writes_the_plan_does_not_explain() -> None:
    from reconciler.plan import Action, Deferred

    plan = Plan(management_account_id=MANAGEMENT, changes=(
        Change(kind="account", key="legacy", action=Action.INVITE, before=None,
               after={"id": "210987654321", "name": "legacy"}, reason=""),),
        deferred=(Deferred("access_role.legacy", "the invitation", action=Action.CREATE,
                           after={"account_id": "210987654321"}),))
    allowed = _allowed(plan, {})
    assert _explained("management", "", "organizations:InviteAccountToOrganization", allowed)
    assert _explained("management", "210987654321", "organizations:MoveAccount", allowed)
    assert _explained("profile", "", "iam:CreateRole", allowed)
    # nothing listed the root policy, a rename, a group or another account
    assert not _explained("root", "210987654321", "iam:DeleteLoginProfile", allowed)
    assert not _explained("management", "210987654321", "account:PutAccountName", allowed)
    assert not _explained("management", "", "iam:CreateGroup", allowed)
    assert not _explained("management", "310987654321", "organizations:MoveAccount", allowed)
