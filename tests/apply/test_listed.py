"""The plan-is-the-law rule itself (``reconciler.apply.executor``), as a table: which changes an
approved plan lists, and what a follow-up round may pick from a re-plan. Pure: no AWS."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.executor import listed_follow_up, unlisted
from reconciler.plan import Action, Change, Deferred, Plan

ROOT_AFTER = {"account_id": "210987654321", "policy": "password_recovery", "password": True,
              "access_keys": False, "signing_certificates": False, "mfa": None}
APPROVED = Plan(
    management_account_id="123456789012",
    changes=(Change(kind="account", key="new", action=Action.CREATE, before=None,
                    after={"name": "new", "email": "aws+new@example.com"}, reason=""),
             Change(kind="access_role", key="new", action=Action.CREATE, before=None,
                    after={"account_id": "${account.new.id}", "name": "Admin"}, reason="")),
    deferred=(Deferred("root_credentials.legacy", "invitation", action=Action.UPDATE,
                       after=ROOT_AFTER, destructive=True),
              Deferred("account.legacy", "invitation", action=Action.UPDATE,
                       after={"id": "210987654321", "name": "legacy", "ou": "/A", "tags": None}),
              Deferred("group.admins", "IAM user(s) ghost to exist")))


def _change(address: str, action: Action, after: dict[str, Any] | None,
            depends_on: tuple[str, ...] = ()) -> Change:
    kind, key = address.split(".", 1)
    return Change(kind=kind, key=key, action=action, before=None, after=after, reason="why",
                  depends_on=depends_on)


@pytest.mark.parametrize("change,ids,listed", [
    (APPROVED.changes[0], {}, True),
    # the placeholder of the approved change is the id learnt during the run
    (_change("access_role.new", Action.CREATE, {"account_id": "900000000001", "name": "Admin"}),
     {"new": "900000000001"}, True),
    (_change("access_role.new", Action.CREATE, {"account_id": "900000000001", "name": "Admin"}),
     {"new": "900000000002"}, False),
    (_change("access_role.new", Action.UPDATE, {"account_id": "900000000001", "name": "Admin"}),
     {"new": "900000000001"}, False),
    # a null of the deferred after-state was not known: any value
    (_change("root_credentials.legacy", Action.UPDATE, {**ROOT_AFTER, "mfa": True}), {}, True),
    (_change("root_credentials.legacy", Action.UPDATE, {**ROOT_AFTER, "password": False}), {},
     False),
    (_change("account.legacy", Action.UPDATE, {"id": "210987654321", "name": "legacy",
                                               "ou": "/B", "tags": None}), {}, False),
    (_change("account.legacy", Action.CLOSE, {"id": "210987654321", "state": "closed"}), {},
     False),
    # a deferred item without an action lists nothing
    (_change("group.admins", Action.UPDATE, {"name": "admins"}), {}, False),
    (_change("group.other", Action.CREATE, {"name": "other"}), {}, False),
])
def test_listed(change: Change, ids: dict[str, str], listed: bool) -> None:
    assert (unlisted(change, APPROVED, account_ids=ids) is None) is listed


def test_follow_up_takes_only_pending_listed_items_and_their_listed_dependencies() -> None:
    rename = _change("account.legacy", Action.UPDATE,
                     {"id": "210987654321", "name": "legacy", "ou": "/A", "tags": None},
                     depends_on=("access_role.legacy",))
    root = _change("root_credentials.legacy", Action.UPDATE, {**ROOT_AFTER, "mfa": False})
    group = _change("group.admins", Action.UPDATE, {"name": "admins"})
    replan = Plan(management_account_id="123456789012", changes=(
        _change("access_role.legacy", Action.CREATE, {"account_id": "210987654321"}),
        rename, root, group))
    pending = {("account.legacy", "update"), ("root_credentials.legacy", "update")}
    chosen = listed_follow_up(replan, APPROVED, pending=pending, account_ids={})
    # the rename depends on a role the approved plan did not list: it waits; the root policy runs
    assert chosen is not None and [c.address for c in chosen.changes] == [
        "root_credentials.legacy"]
    done = listed_follow_up(replan, APPROVED, pending={("account.legacy", "update")},
                            account_ids={})
    assert done is None
