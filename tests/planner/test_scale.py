"""Scale: a group granted every account of a 1,000-account organization gets grants naming each
account specifically, within IAM's quotas, and the plan is stable (no change the second time)."""

from __future__ import annotations

from reconciler import policy
from reconciler.planner import plan

from . import builders as b


def _organization(n: int, *, existing: bool) -> tuple[object, object]:
    accounts = [b.account(f"acct-{i:04d}", root="absent") for i in range(n)]
    grants = tuple(b.grant(a.name) for a in accounts)  # what the loader makes of "*"
    desired = b.desired(*accounts, groups=(b.group("admins", members=("alice",), grants=grants),),
                        features=("RootCredentialsManagement", "RootSessions"))
    members = [b.member(a.name, f"{400000000000 + i}") for i, a in enumerate(accounts)] \
        if existing else []
    observed = b.observed(*members, existing_users=("alice",), trusted_access_iam=True,
                          root_features=("RootCredentialsManagement", "RootSessions"))
    return desired, observed


def _check_group(change_after: dict, n: int) -> None:
    documents = list(change_after["inline_policies"].values()) + \
        [p["document"] for p in change_after["managed_policies"]]
    named: list[str] = []
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Resource"] == "arn:aws:iam::*:role/OrganizationAccountAccessRole"
            named += statement["Condition"]["StringEquals"]["aws:ResourceAccount"]
    assert len(named) == len(set(named)) == n
    assert "*" not in named
    inline = sum(policy.minified_size(d) for d in change_after["inline_policies"].values())
    assert inline <= 5120
    assert len(change_after["managed_policies"]) <= 10
    assert all(policy.minified_size(p["document"]) <= 6144
               for p in change_after["managed_policies"])


def test_star_over_1000_existing_accounts_is_specific_and_stable() -> None:
    desired, observed = _organization(1000, existing=True)
    first = plan(desired, observed)  # type: ignore[arg-type]
    assert first.errors == ()
    groups = [c for c in first.changes if c.kind == "group"]
    assert [(c.key, c.action.value) for c in groups] == [("admins", "create")]
    _check_group(dict(groups[0].after or {}), 1000)
    converged = b.converge(first, observed)  # type: ignore[arg-type]
    assert plan(desired, converged).changes == ()  # type: ignore[arg-type]
    # how long planning takes is measured by benchmarks/plan_scale.py, never asserted here


def test_star_over_1000_new_accounts_is_stable_after_ids_are_known() -> None:
    desired, observed = _organization(1000, existing=False)
    first = plan(desired, observed)  # type: ignore[arg-type]
    group = next(c for c in first.changes if c.kind == "group")
    assert len(group.depends_on) == 1000
    _check_group(dict(group.after or {}), 1000)
    converged = b.converge(first, observed)  # type: ignore[arg-type]
    assert plan(desired, converged).changes == ()  # type: ignore[arg-type]
