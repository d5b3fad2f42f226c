"""Planner table for ``invited_bootstrap: stackset``: (desired, observed) -> the changes.

Which invited accounts the stack set serves, the organization change that activates trusted
access, the role deployed as an ``access_role`` create naming the stack set (never a bootstrap
step), an unfinished takeover, and stack instances retired with RetainStacks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.observed import ObservedRole, ObservedStackInstance, ObservedStackSet
from reconciler.planner import plan
from reconciler.stackset import STACK_SET_NAME

from . import builders as b

LEGACY, OTHER = "310000000001", "310000000002"


def _stackset(desired: Any) -> Any:
    return replace(desired, organization=replace(desired.organization,
                                                 invited_bootstrap="stackset"))


def _observed(*members: Any, roles: tuple[ObservedRole, ...] = (), trusted: bool = False,
              exists: bool = False, instances: tuple[ObservedStackInstance, ...] = (),
              running: str | None = None, feature_set: str = "ALL") -> Any:
    state = b.observed(*members, roles=roles)
    return replace(state, organization=b.organization(feature_set=feature_set),
                   stack_set=ObservedStackSet(
                       name=STACK_SET_NAME, region="us-east-1", trusted_access=trusted,
                       exists=exists, instances=instances, running_operation=running))


def _unassumable(account_id: str) -> ObservedRole:
    return ObservedRole(account_id, "OrganizationAccountAccessRole", "not_assumable",
                        error="AccessDenied: not authorized")


def _instance(account_id: str, mode: str = "create") -> ObservedStackInstance:
    return ObservedStackInstance(account_id, "us-east-1", "CURRENT", "SUCCEEDED", mode=mode)


INVITED = b.account("legacy", source="invited", id=LEGACY)
MEMBER = b.member("legacy", LEGACY, joined="INVITED")

CASES = [
    pytest.param(
        _stackset(b.desired(INVITED)), _observed(),
        [("organization.organization", "update"), ("account.legacy", "invite")],
        ["access_role.legacy"], id="invite-plans-trusted-access-and-defers-the-role"),
    pytest.param(
        _stackset(b.desired(INVITED)), _observed(MEMBER, roles=(_unassumable(LEGACY),)),
        [("organization.organization", "update"), ("access_role.legacy", "create")],
        [], id="member-without-role-deployed-through-the-stack-set"),
    pytest.param(
        _stackset(b.desired(INVITED)),
        _observed(MEMBER, roles=(_unassumable(LEGACY),), trusted=True, exists=True),
        [("access_role.legacy", "create")], [], id="trusted-access-already-on"),
    pytest.param(
        _stackset(b.desired(b.account("legacy", source="invited", id=LEGACY,
                                      bootstrap_profile="legacy-admin"))),
        _observed(MEMBER, roles=(_unassumable(LEGACY),), trusted=False),
        [("access_role.legacy", "create")], [], id="a-profile-wins-over-the-stack-set"),
    pytest.param(
        _stackset(b.desired(INVITED)),
        _observed(MEMBER, roles=(b.role_ok(LEGACY),), trusted=True, exists=True,
                  instances=(_instance(LEGACY),)),
        [], [], id="deployed-role-no-changes"),
    pytest.param(
        _stackset(b.desired(INVITED)),
        _observed(MEMBER, roles=(b.role_ok(LEGACY),), trusted=True, exists=True,
                  instances=(_instance(LEGACY, mode="adopt"),)),
        [("access_role.legacy", "update")], [], id="unfinished-takeover-is-finished"),
    pytest.param(
        _stackset(b.desired(b.account("legacy", source="invited", id=LEGACY,
                                      bootstrap_profile="legacy-admin"))),
        _observed(MEMBER, roles=(b.role_ok(LEGACY),), trusted=True, exists=True,
                  instances=(_instance(LEGACY),)),
        [(f"stack_set.{STACK_SET_NAME}", "update")], [], id="retired-instance-removed"),
    pytest.param(
        _stackset(b.desired(INVITED)),
        _observed(MEMBER, roles=(b.role_ok(LEGACY),), trusted=True, exists=True,
                  instances=(_instance(LEGACY), _instance(OTHER))),
        [(f"stack_set.{STACK_SET_NAME}", "update")], [], id="account-left-the-file"),
]


@pytest.mark.parametrize("desired,observed,changes,deferred", CASES)
def test_stackset_table(desired: Any, observed: Any, changes: list[tuple[str, str]],
                        deferred: list[str]) -> None:
    result = plan(desired, observed)
    assert not result.errors
    assert [(c.address, c.action.value) for c in result.changes] == changes
    roles = [d.address for d in result.deferred if d.address.startswith("access_role.")]
    assert roles == deferred


def test_role_change_names_the_stack_set_and_depends_on_trusted_access() -> None:
    result = plan(_stackset(b.desired(INVITED)),
                  _observed(MEMBER, roles=(_unassumable(LEGACY),), running="op-1"))
    organization, role = result.changes
    assert organization.after == {"trusted_access_cloudformation": True}
    assert role.action.value == "create" and not role.instructions
    assert f"stack set {STACK_SET_NAME}" in role.reason
    assert "operation op-1 of the stack set is still running" in role.reason
    assert role.after is not None
    assert role.after["stack_set"] == {"name": STACK_SET_NAME, "region": "us-east-1"}
    assert role.depends_on == ("organization.organization",)


def test_retired_instances_keep_the_role() -> None:
    result = plan(_stackset(b.desired(INVITED)),
                  _observed(MEMBER, roles=(b.role_ok(LEGACY),), trusted=True, exists=True,
                            instances=(_instance(LEGACY), _instance(OTHER))))
    change, = result.changes
    assert change.after is not None
    assert change.after["remove"] == [OTHER] and change.after["retain_stacks"] is True
    assert change.after["accounts"] == [LEGACY]
    assert not change.destructive


def test_manual_mode_keeps_the_bootstrap_step() -> None:
    result = plan(b.desired(INVITED), replace(b.observed(MEMBER, roles=(_unassumable(LEGACY),))))
    change, = result.changes
    assert change.action.value == "bootstrap"
    assert "already exists" in (change.instructions or "")  # the update path is printed too
    assert "aws iam update-assume-role-policy" in (change.instructions or "")


def test_stack_name_in_instructions_is_valid_for_every_role_name() -> None:
    import re

    result = plan(b.desired(b.account("legacy", source="invited", id=LEGACY,
                                      role="Ops+Admin=1,x.y@z_w")),
                  b.observed(MEMBER, roles=(ObservedRole(
                      LEGACY, "Ops+Admin=1,x.y@z_w", "not_assumable"),)))
    found = re.search(r"--stack-name (\S+)", result.changes[0].instructions or "")
    assert found and re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]{0,127}", found.group(1))


def test_consolidated_billing_is_refused() -> None:
    result = plan(_stackset(b.desired(INVITED)),
                  _observed(MEMBER, roles=(_unassumable(LEGACY),),
                            feature_set="CONSOLIDATED_BILLING"))
    assert any("all features" in e for e in result.errors)


def test_pending_invitation_says_how_to_accept() -> None:
    from reconciler.observed import Handshake

    state = replace(_observed(), handshakes=(Handshake("h-abc12345", "OPEN", "ACCOUNT",
                                                       LEGACY),))
    result = plan(_stackset(b.desired(INVITED)), state)
    waiting = {d.address: d.waiting_for for d in result.deferred}["account.legacy"]
    assert "aws organizations accept-handshake --handshake-id h-abc12345" in waiting
    assert "Invitations" in waiting and LEGACY in waiting
