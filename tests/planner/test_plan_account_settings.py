"""Planner tables for the IAM account alias (``accounts[].alias``) and the alternate contacts
(``accounts[].contacts``): (desired, observed) -> changes, destructive ones, dependencies, deferred
items and errors; every converging case re-planned after a model apply has nothing left."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from reconciler.model import NO_ALIAS, AccountSpec, ContactSpec
from reconciler.observed import ObservedAlias, ObservedContacts, ObservedState
from reconciler.plan import Plan
from reconciler.planner import plan

from . import builders as b
from .builders import Case

PROD = b.member("prod", "210000000001")
DEV = b.member("dev", "210000000002")
SEC = ContactSpec(name="Sec Team", title="SecOps", email="sec@example.com", phone="+1 555 0100")
OPS = ContactSpec(name="Ops", title="On call", email="ops@example.com", phone="555-0101")


def _acct(name: str, *, alias: str | None = None, contacts: dict[str, Any] | None = None,
          **kwargs: Any) -> AccountSpec:
    spec = b.account(name, **kwargs)
    return replace(spec, alias=alias,
                   contacts=None if contacts is None else MappingProxyType(contacts))


def _aliases(**by_id: str | None) -> dict[str, ObservedAlias]:
    return {account_id: ObservedAlias(account_id, alias) for account_id, alias in by_id.items()}


def _contacts(account_id: str, **by_type: ContactSpec | None) -> dict[str, ObservedContacts]:
    return {account_id: ObservedContacts(account_id, {
        kind: None if value is None else value.to_dict() for kind, value in by_type.items()})}


def _mgmt(*, alias: str | None = None, contacts: dict[str, Any] | None = None) -> AccountSpec:
    return _acct("management", email="aws+management@example.com", id=b.MGMT, alias=alias,
                 contacts=contacts)


CASES = [
    # --- alias
    Case("alias-created", b.desired(_acct("prod", alias="acme-prod")),
         b.observed(PROD, aliases=_aliases(**{PROD.id: None})),
         [("account_alias.prod", "create")], diff={"account_alias.prod": ["alias"]}),
    Case("alias-as-wanted", b.desired(_acct("prod", alias="acme-prod")),
         b.observed(PROD, aliases=_aliases(**{PROD.id: "acme-prod"})), []),
    Case("alias-changed-out-of-band-is-one-destructive-update",
         b.desired(_acct("prod", alias="acme-prod")),
         b.observed(PROD, aliases=_aliases(**{PROD.id: "someone-else"})),
         [("account_alias.prod", "update")], destructive=["account_alias.prod"],
         diff={"account_alias.prod": ["alias"]}),
    Case("alias-null-deletes", b.desired(_acct("prod", alias=NO_ALIAS)),
         b.observed(PROD, aliases=_aliases(**{PROD.id: "acme-prod"})),
         [("account_alias.prod", "delete")], destructive=["account_alias.prod"]),
    Case("alias-null-and-none-is-no-change", b.desired(_acct("prod", alias=NO_ALIAS)),
         b.observed(PROD, aliases=_aliases(**{PROD.id: None})), []),
    Case("no-alias-key-leaves-it-alone", b.desired(_acct("prod")),
         b.observed(PROD, aliases=_aliases(**{PROD.id: "acme-prod"})), []),
    Case("new-account-alias-waits-for-the-account-and-its-role",
         b.desired(_acct("prod", alias="acme-prod")), b.observed(),
         [("account.prod", "create"), ("access_role.prod", "create"),
          ("account_alias.prod", "create")],
         depends={"account_alias.prod": ["account.prod", "access_role.prod"]}),
    Case("unreadable-alias-is-ensured-destructively",
         b.desired(_acct("prod", alias="acme-prod")),
         b.observed(PROD, roles=(), aliases={PROD.id: ObservedAlias(PROD.id, None,
                                                                    error="AccessDenied")}),
         [("access_role.prod", "bootstrap"), ("account_alias.prod", "update")],
         destructive=["account_alias.prod"],
         depends={"account_alias.prod": ["access_role.prod"]}, converges=False),
    Case("alias-moved-between-accounts-releases-first",
         b.desired(_acct("dev", alias="acme-app"), _acct("prod", alias="acme-prod")),
         b.observed(PROD, DEV, aliases=_aliases(**{PROD.id: "acme-app", DEV.id: None})),
         [("account_alias.dev", "create"), ("account_alias.prod", "update")],
         destructive=["account_alias.prod"],
         depends={"account_alias.dev": ["account_alias.prod"]}),
    Case("alias-held-by-an-account-that-keeps-it-is-an-error",
         b.desired(_acct("dev", alias="acme-app"), _acct("prod")),
         b.observed(PROD, DEV, aliases=_aliases(**{PROD.id: "acme-app", DEV.id: None})),
         [("account_alias.dev", "create")], errors=["belongs to account 210000000001"],
         converges=False),
    Case("swapped-aliases-are-an-error",
         b.desired(_acct("dev", alias="a-one"), _acct("prod", alias="a-two")),
         b.observed(PROD, DEV, aliases=_aliases(**{PROD.id: "a-one", DEV.id: "a-two"})),
         [("account_alias.dev", "update"), ("account_alias.prod", "update")],
         destructive=["account_alias.dev", "account_alias.prod"], errors=["swaps their aliases"],
         converges=False),
    Case("management-account-alias", b.desired(_mgmt(alias="acme-root")),
         b.observed(aliases=_aliases(**{b.MGMT: None})), [("account_alias.management", "create")]),
    Case("invited-account-alias-deferred",
         b.desired(_acct("prod", source="invited", id="210000000009", alias="acme-prod")),
         b.observed(), [("account.prod", "invite")],
         deferred=["account.prod", "access_role.prod", "account_alias.prod"], converges=False),
    Case("closed-account-alias-not-planned",
         b.desired(_acct("prod", state="closed", alias="acme-prod")),
         b.observed(PROD, aliases=_aliases(**{PROD.id: None})), [("account.prod", "close")],
         destructive=["account.prod"], converges=False),
    # --- alternate contacts
    Case("contact-created", b.desired(_acct("prod", contacts={"security": SEC})),
         b.observed(PROD, trusted_access_account=True,
                    alternate_contacts=_contacts(PROD.id, security=None)),
         [("alternate_contacts.prod", "create")], diff={"alternate_contacts.prod": ["security"]}),
    Case("contacts-as-wanted",
         b.desired(_acct("prod", contacts={"security": SEC, "operations": OPS})),
         b.observed(PROD, trusted_access_account=True,
                    alternate_contacts=_contacts(PROD.id, security=SEC, operations=OPS)), []),
    Case("phone-changed-out-of-band-is-one-change",
         b.desired(_acct("prod", contacts={"security": SEC, "operations": OPS})),
         b.observed(PROD, trusted_access_account=True, alternate_contacts=_contacts(
             PROD.id, security=replace(SEC, phone="+1 555 9999"), operations=OPS)),
         [("alternate_contacts.prod", "update")],
         diff={"alternate_contacts.prod": ["security.phone"]}),
    Case("contact-null-deletes",
         b.desired(_acct("prod", contacts={"security": SEC, "billing": None})),
         b.observed(PROD, trusted_access_account=True,
                    alternate_contacts=_contacts(PROD.id, security=SEC, billing=OPS)),
         [("alternate_contacts.prod", "update")], destructive=["alternate_contacts.prod"],
         diff={"alternate_contacts.prod": ["billing"]}),
    Case("unlisted-type-left-alone",
         b.desired(_acct("prod", contacts={"security": SEC})),
         b.observed(PROD, trusted_access_account=True,
                    alternate_contacts=_contacts(PROD.id, security=SEC)), []),
    Case("trusted-access-planned-first",
         b.desired(_acct("prod", contacts={"security": SEC})),
         b.observed(PROD, trusted_access_account=False),
         [("organization.organization", "update"), ("alternate_contacts.prod", "update")],
         depends={"alternate_contacts.prod": ["organization.organization"]},
         diff={"organization.organization": ["trusted_access_account"]}),
    Case("management-contacts-need-no-trusted-access",
         b.desired(_mgmt(contacts={"billing": OPS})),
         b.observed(trusted_access_account=False,
                    alternate_contacts=_contacts(b.MGMT, billing=None)),
         [("alternate_contacts.management", "create")]),
    Case("new-account-contacts-wait-for-it",
         b.desired(_acct("prod", contacts={"security": SEC, "billing": None})),
         b.observed(trusted_access_account=True),
         [("account.prod", "create"), ("access_role.prod", "create"),
          ("alternate_contacts.prod", "create")],
         depends={"alternate_contacts.prod": ["account.prod"]}),
    Case("no-trusted-access-without-all-features",
         b.desired(_acct("prod", contacts={"security": SEC})),
         b.observed(PROD, trusted_access_account=False,
                    organization=b.organization(feature_set="CONSOLIDATED_BILLING")),
         [("alternate_contacts.prod", "update")], errors=["all features"], converges=False),
    Case("invited-account-contacts-deferred",
         b.desired(_acct("prod", source="invited", id="210000000009",
                         contacts={"security": SEC})),
         b.observed(trusted_access_account=True), [("account.prod", "invite")],
         deferred=["account.prod", "access_role.prod", "alternate_contacts.prod"],
         converges=False),
]

_PLACEHOLDER = re.compile(r"\$\{account\.([^}]+)\.id\}")


def converge(result: Plan, state: ObservedState) -> ObservedState:
    """``builders.converge`` plus what a correct apply of aliases and contacts leaves behind."""
    after_state = b.converge(result, state)
    ids = {a.name: a.id for a in after_state.accounts}
    aliases = dict(after_state.aliases)
    contacts = dict(after_state.alternate_contacts)
    trusted = after_state.trusted_access_account
    for change in result.changes:
        after = json.loads(_PLACEHOLDER.sub(lambda m: ids[m.group(1)], json.dumps(change.after)))
        if change.kind == "organization" and after.get("trusted_access_account"):
            trusted = True
        elif change.kind == "account_alias":
            account_id = (after or change.before or {})["account_id"]
            aliases[account_id] = ObservedAlias(account_id, after["alias"] if after else None)
        elif change.kind == "alternate_contacts":
            current = contacts.get(after["account_id"])
            merged = {**(current.contacts if current else {}), **after["contacts"]}
            contacts[after["account_id"]] = ObservedContacts(after["account_id"], merged)
    return dataclasses.replace(after_state, aliases=aliases, alternate_contacts=contacts,
                               trusted_access_account=trusted)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_account_settings_table(case: Case) -> None:
    b.check_case(case, apply=converge)


def test_contact_values_in_before_and_after() -> None:
    """The change carries what apply writes (after) and what it replaces (before), per type."""
    case = CASES[[c.id for c in CASES].index("phone-changed-out-of-band-is-one-change")]
    change = plan(case.desired, case.observed).changes[0]
    assert change.after is not None and change.before is not None
    assert change.after["contacts"]["security"] == SEC.to_dict()
    assert change.before["contacts"]["security"]["phone"] == "+1 555 9999"
    assert change.after["management"] is False
    assert change.diff[0].before == "+1 555 9999" and change.diff[0].after == "+1 555 0100"


def test_alias_change_carries_the_role_to_enter_with() -> None:
    result = plan(b.desired(_acct("prod", alias="acme-prod"), _mgmt(alias="acme-root")),
                  b.observed(PROD, aliases=_aliases(**{PROD.id: None, b.MGMT: None})))
    by_key = {c.key: c for c in result.changes}
    assert by_key["prod"].after == {"account_id": PROD.id, "alias": "acme-prod",
                                    "role_name": "OrganizationAccountAccessRole"}
    assert by_key["management"].after == {"account_id": b.MGMT, "alias": "acme-root",
                                          "role_name": None}
