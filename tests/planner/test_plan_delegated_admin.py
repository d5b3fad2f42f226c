"""Planner tables for IAM's delegated administrator (``root_credentials.delegated_admin``) and for
plans made with the delegated administrator's own credentials: (desired, observed) -> changes,
deferred items and errors; every case re-planned after a model apply has nothing left."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.model import RootCredentialsSpec
from reconciler.observed import ObservedRootCredentials
from reconciler.planner import plan

from . import builders as b
from .builders import Case

BOTH = ("RootCredentialsManagement", "RootSessions")
SECURITY = b.member("security", "210000000009")
PROD = b.member("prod", "210000000001")


def _desired(*accounts: Any, admin: str | None, managed: bool = True,
             features: tuple[str, ...] | None = BOTH, default_root: str = "unmanaged") -> Any:
    state = b.desired(*accounts, features=features, default_root=default_root)
    return replace(state, root_credentials=RootCredentialsSpec(
        features=features, default=default_root,  # type: ignore[arg-type]
        delegated_admin=admin, managed=managed))


def _observed(*accounts: Any, admins: tuple[str, ...] | None = (), trusted: bool = True,
              features: tuple[str, ...] | None = BOTH, **kwargs: Any) -> Any:
    return b.observed(*accounts, trusted_access_iam=trusted, root_features=features,
                      iam_delegated_admins=admins, **kwargs)


ROOT_KEYS = ObservedRootCredentials(account_id=PROD.id, access_keys=True)
CASES = [
    Case("register", _desired(b.account("security"), admin="security"),
         _observed(SECURITY), [("delegated_admin.security", "create")]),
    Case("registered-no-change", _desired(b.account("security"), admin="security"),
         _observed(SECURITY, admins=(SECURITY.id,)), []),
    Case("register-a-new-account-after-it-is-created",
         _desired(b.account("security"), admin="security"), _observed(),
         [("account.security", "create"), ("delegated_admin.security", "create"),
          ("access_role.security", "create")],
         depends={"delegated_admin.security": ["account.security"]}),
    Case("register-after-trusted-access",
         _desired(b.account("security"), admin="security"),
         _observed(SECURITY, trusted=False, features=None),
         [("organization.organization", "update"), ("delegated_admin.security", "create")],
         depends={"delegated_admin.security": ["organization.organization"]}),
    Case("register-without-trusted-access-is-an-error",
         _desired(b.account("security"), admin="security", features=None),
         _observed(SECURITY, trusted=False, features=None), [],
         errors=["needs IAM trusted access"], converges=False),
    Case("key-removed-deregisters-destructively",
         _desired(b.account("security"), admin=None),
         _observed(SECURITY, admins=(SECURITY.id,)), [("delegated_admin.security", "delete")],
         destructive=["delegated_admin.security"]),
    Case("unknown-account-deregistered-by-id", _desired(admin=None),
         _observed(admins=("333333333333",)), [("delegated_admin.333333333333", "delete")],
         destructive=["delegated_admin.333333333333"]),
    Case("no-section-leaves-it-alone", _desired(b.account("security"), admin=None,
                                                managed=False),
         _observed(SECURITY, admins=None), []),
    Case("replaced-old-first",
         _desired(b.account("security"), b.account("prod"), admin="prod"),
         _observed(SECURITY, PROD, admins=(SECURITY.id,)),
         [("delegated_admin.security", "delete"), ("delegated_admin.prod", "create")],
         destructive=["delegated_admin.security"],
         depends={"delegated_admin.prod": ["delegated_admin.security"]}),
    Case("invited-account-deferred",
         _desired(b.account("security", source="invited", id="210000000009"),
                  admin="security"),
         _observed(), [("account.security", "invite")],
         deferred=["account.security", "delegated_admin.security", "access_role.security"],
         converges=False),
    # with the delegated administrator's credentials: root_credentials only
    Case("delegated-runner-plans-root-credentials-only",
         _desired(b.account("prod", tags={"team": "a"}, root="absent"), b.account("security"),
                  admin="security"),
         _observed(PROD, SECURITY, admins=(SECURITY.id,), roles=(),
                   root_credentials={PROD.id: ROOT_KEYS},
                   runner_account_id=SECURITY.id),
         [("root_credentials.prod", "update")], destructive=["root_credentials.prod"],
         deferred=["account.prod"], converges=False),
    Case("delegated-runner-defers-what-root-credentials-wait-for",
         _desired(b.account("prod", root="absent"), b.account("security"), admin="security",
                  features=("RootSessions", "RootCredentialsManagement")),
         _observed(PROD, SECURITY, admins=(SECURITY.id,), roles=(), features=("RootSessions",),
                   root_credentials={PROD.id: ROOT_KEYS}, runner_account_id=SECURITY.id),
         [], deferred=["organization.organization", "root_credentials.prod"], converges=False),
    Case("delegated-runner-defers-registration",
         _desired(b.account("security"), b.account("prod"), admin="prod"),
         _observed(SECURITY, PROD, admins=(SECURITY.id,), roles=(),
                   runner_account_id=SECURITY.id),
         [], deferred=["delegated_admin.security", "delegated_admin.prod"], converges=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_delegated_admin_table(case: Case) -> None:
    b.check_case(case)


def test_delegated_runner_says_what_needs_the_management_account() -> None:
    case = CASES[[c.id for c in CASES].index("delegated-runner-plans-root-credentials-only")]
    result = plan(case.desired, case.observed)
    deferred = {d.address: d for d in result.deferred}
    assert deferred["account.prod"].action == "update"
    assert "management account" in deferred["account.prod"].waiting_for
    assert any("delegated administrator" in w for w in result.warnings)
    document = result.to_document()
    assert document["deferred"][0]["action"] == "update"
    assert document["deferred"][0]["destructive"] is False
