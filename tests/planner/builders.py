"""Small builders for planner tests: desired and observed states without YAML or AWS.

``converge`` plays a plan onto an observed state the way a correct apply would (substituting
placeholder ids), so tests can check that re-planning after apply gives no changes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.model import (
    ADMINISTRATOR_ACCESS,
    DEFAULT_ACCESS_ROLE,
    DEFAULT_GROUP_PATH,
    AccessRoleSpec,
    AccountSpec,
    DesiredState,
    GrantTarget,
    GroupSpec,
    OrganizationSpec,
    RootCredentialsSpec,
    frozen_mapping,
)
from reconciler.observed import (
    ObservedAccount,
    ObservedGroup,
    ObservedManagedPolicy,
    ObservedOrganization,
    ObservedOU,
    ObservedRole,
    ObservedRootCredentials,
    ObservedState,
)
from reconciler.plan import Plan
from reconciler.planner import plan as make_plan

MGMT = "123456789012"
ROOT_ID = "r-abcd"


def account(name: str, *, email: str | None = None, source: str = "created",
            id: str | None = None, ou: str = "/", tags: Mapping[str, str] | None = None,
            state: str = "active", role: str = DEFAULT_ACCESS_ROLE, require_mfa: bool = False,
            policies: tuple[str, ...] = (ADMINISTRATOR_ACCESS,), root: str = "unmanaged",
            bootstrap_profile: str | None = None, billing: bool | None = None) -> AccountSpec:
    return AccountSpec(
        name=name, email=email or f"aws+{name}@example.com", source=source,  # type: ignore[arg-type]
        id=id, ou=ou, tags=frozen_mapping(tags), state=state,  # type: ignore[arg-type]
        iam_user_access_to_billing=billing,
        access_role=AccessRoleSpec(name=role, require_mfa=require_mfa, policies=policies),
        root_credentials=root, bootstrap_profile=bootstrap_profile,  # type: ignore[arg-type]
    )


def grant(account_name: str, *, role: str = DEFAULT_ACCESS_ROLE, require_mfa: bool = False,
          source_ips: tuple[str, ...] = ()) -> GrantTarget:
    return GrantTarget(account=account_name, role=role, require_mfa=require_mfa,
                       source_ips=source_ips)


def group(name: str, *, members: tuple[str, ...] = (), grants: tuple[GrantTarget, ...] = (),
          path: str = DEFAULT_GROUP_PATH) -> GroupSpec:
    return GroupSpec(name=name, path=path, members=tuple(sorted(members)),
                     grants=tuple(sorted(grants, key=lambda g: (g.account, g.role))))


def desired(*accounts: AccountSpec, groups: tuple[GroupSpec, ...] = (),
            features: tuple[str, ...] | None = None, default_root: str = "unmanaged",
            management: str = MGMT) -> DesiredState:
    return DesiredState(
        organization=OrganizationSpec(management_account_id=management),
        root_credentials=RootCredentialsSpec(features=features,
                                             default=default_root),  # type: ignore[arg-type]
        accounts=tuple(accounts), groups=groups)


def organization(management: str = MGMT, feature_set: str = "ALL") -> ObservedOrganization:
    return ObservedOrganization(id="o-example", arn="arn:aws:organizations::x:organization/o",
                                feature_set=feature_set, management_account_id=management,
                                root_id=ROOT_ID)


def ou(path: str) -> ObservedOU:
    parent = path.rsplit("/", 1)[0] or "/"
    return ObservedOU(id="ou-" + path.strip("/").replace("/", "-").lower(),
                      name=path.rsplit("/", 1)[1], path=path,
                      parent_id=ROOT_ID if parent == "/" else "ou-" + parent.strip("/").lower())


def member(name: str, id: str, *, email: str | None = None, ou_path: str = "/",
           state: str = "ACTIVE", tags: Mapping[str, str] | None = None,
           joined: str = "CREATED") -> ObservedAccount:
    return ObservedAccount(id=id, name=name, email=email or f"aws+{name}@example.com",
                           state=state, joined_method=joined, parent_id=ROOT_ID, ou_path=ou_path,
                           tags=None if tags is None else dict(tags))


def management_account() -> ObservedAccount:
    return member("management", MGMT, email="aws+management@example.com")


def trust(*, mfa: bool = False, principal: Any = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow",
                                 "Principal": {"AWS": principal or f"arn:aws:iam::{MGMT}:root"},
                                 "Action": "sts:AssumeRole"}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def role_ok(account_id: str, *, name: str = DEFAULT_ACCESS_ROLE, trust_policy: Any = None,
            attached: tuple[str, ...] = (ADMINISTRATOR_ACCESS,),
            inline: Mapping[str, Any] | None = None) -> ObservedRole:
    return ObservedRole(account_id=account_id, name=name, status="ok",
                        trust_policy=trust_policy if trust_policy is not None else trust(),
                        inline_policies=dict(inline or {}), attached_policies=tuple(attached))


def observed(*accounts: ObservedAccount, ous: tuple[ObservedOU, ...] = (),
             roles: tuple[ObservedRole, ...] | None = None, **kwargs: Any) -> ObservedState:
    """An observed state; by default every non-management account has a correct role."""
    all_accounts = (management_account(), *accounts)
    if roles is None:
        roles = tuple(role_ok(a.id) for a in accounts)
    return ObservedState(organization=kwargs.pop("organization", organization()), ous=ous,
                         accounts=all_accounts, roles={r.account_id: r for r in roles}, **kwargs)


# ---------------------------------------------------------------------------------------------
# A model apply: what a correct executor leaves behind.

_PLACEHOLDER = re.compile(r"\$\{account\.([^}]+)\.id\}")


def _substitute(value: Any, ids: Mapping[str, str]) -> Any:
    text = json.dumps(value)
    return json.loads(_PLACEHOLDER.sub(lambda m: ids[m.group(1)], text))


def converge(plan: Plan, state: ObservedState, *, next_id: int = 900000000000) -> ObservedState:
    """The observed state after a correct apply of ``plan`` (invites are taken as accepted)."""
    accounts = {a.id: a for a in state.accounts}
    ous = {o.path: o for o in state.ous}
    roles = dict(state.roles)
    roots = dict(state.root_credentials)
    groups = {g.name: g for g in state.groups}
    policies = {p.arn: p for p in state.managed_policies}
    users = set(state.existing_users)
    org_changes: dict[str, Any] = {}
    admins = set(state.iam_delegated_admins or ())
    ids: dict[str, str] = {}
    for change in plan.changes:
        after = _substitute(change.after, ids) if change.after is not None else None
        before = change.before or {}
        if change.kind == "organization":
            assert after is not None
            if "root_features" in after:
                org_changes["root_features"] = tuple(after["root_features"])
            if "trusted_access_iam" in after:
                org_changes["trusted_access_iam"] = after["trusted_access_iam"]
        elif change.kind == "ou":
            ous[change.key] = ou(change.key)
        elif change.kind == "account" and change.action.value == "create":
            new_id = str(next_id + len(ids))
            ids[change.key] = new_id
            accounts[new_id] = member(after["name"], new_id, email=after["email"],
                                      ou_path=after["ou"], tags=after["tags"] or {})
            roles[new_id] = role_ok(new_id, name=after["role_name"], attached=(),
                                    inline={"AdministratorAccess": {
                                        "Version": "2012-10-17",
                                        "Statement": [{"Effect": "Allow", "Action": "*",
                                                       "Resource": "*"}]}})
        elif change.kind == "account" and change.action.value == "invite":
            accounts[after["id"]] = member(after["name"], after["id"], email=after["email"],
                                           ou_path=after["ou"], tags=after["tags"] or {},
                                           joined="INVITED")
        elif change.kind == "account" and change.action.value == "update":
            current = accounts[after["id"]]
            accounts[after["id"]] = dataclasses.replace(
                current, name=after["name"], ou_path=after["ou"],
                tags=after["tags"] if after["tags"] is not None else current.tags)
        elif change.kind == "account" and change.action.value == "close":
            accounts[after["id"]] = dataclasses.replace(accounts[after["id"]], state="SUSPENDED")
        elif change.kind == "access_role" and change.action.value != "bootstrap":
            roles[after["account_id"]] = ObservedRole(
                account_id=after["account_id"], name=after["name"], status="ok",
                trust_policy=after["trust_policy"], attached_policies=tuple(after["policies"]),
                inline_policies=after["inline_policies"])
        elif change.kind == "group" and after is None:
            if before.get("path") is not None:
                groups.pop(change.key, None)
            for gone in before.get("managed_policies") or ():
                policies.pop(f"arn:aws:iam::{MGMT}:policy{gone['path']}{gone['name']}", None)
        elif change.kind == "group":
            kept = {(m["path"], m["name"]) for m in (after or {}).get("managed_policies", ())}
            for gone in before.get("managed_policies") or ():
                if (gone["path"], gone["name"]) not in kept:
                    policies.pop(f"arn:aws:iam::{MGMT}:policy{gone['path']}{gone['name']}", None)
            attached = [a for a in (groups[change.key].attached_policies
                                    if change.key in groups else ())
                        if not (policies.get(a) and policies[a].name.startswith(
                            f"orgsync-{change.key}-assume-"))]
            for managed in after["managed_policies"]:
                arn = f"arn:aws:iam::{MGMT}:policy{managed['path']}{managed['name']}"
                policies[arn] = ObservedManagedPolicy(arn=arn, name=managed["name"],
                                                      path=managed["path"],
                                                      document=managed["document"])
                attached.append(arn)
            groups[change.key] = ObservedGroup(
                name=after["name"], path=after["path"],
                arn=f"arn:aws:iam::{MGMT}:group{after['path']}{after['name']}",
                members=tuple(sorted(after["members"])),
                inline_policies=after["inline_policies"], attached_policies=tuple(sorted(attached)))
        elif change.kind == "delegated_admin":
            if after is None:
                admins.discard(before["account_id"])
            else:
                admins.add(after["account_id"])
        elif change.kind == "root_credentials":
            roots[after["account_id"]] = ObservedRootCredentials(
                account_id=after["account_id"], password=after["password"],
                access_keys=False, signing_certificates=False, mfa=bool(after["mfa"]))
        del before
    users |= {m for g in groups.values() for m in g.members}
    return dataclasses.replace(
        state, accounts=tuple(sorted(accounts.values(), key=lambda a: a.id)),
        ous=tuple(sorted(ous.values(), key=lambda o: o.path)), roles=roles,
        root_credentials=roots, groups=tuple(sorted(groups.values(), key=lambda g: g.name)),
        managed_policies=tuple(sorted(policies.values(), key=lambda p: p.arn)),
        existing_users=tuple(sorted(users)),
        iam_delegated_admins=(tuple(sorted(admins)) if state.iam_delegated_admins is not None
                              else None), **org_changes)


@dataclasses.dataclass
class Case:
    """One row of a planner table: (desired, observed) -> the (address, action) changes in order,
    which are destructive, which are deferred, the errors (a substring each, in order), the
    dependencies and diff paths a change must carry, and whether the plan after a correct apply
    (``converge``) is empty."""

    id: str
    desired: Any
    observed: Any
    changes: list[tuple[str, str]]
    destructive: list[str] = dataclasses.field(default_factory=list)
    deferred: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    depends: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    diff: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    converges: bool = True


def check_case(case: Case, *,
               apply: Callable[[Plan, ObservedState], ObservedState] = converge) -> Plan:
    """Plan ``case`` and assert everything it expects; ``apply`` plays the plan onto the
    observed state for the re-plan (``converge``, or a table's own that knows more kinds)."""
    result = make_plan(case.desired, case.observed)
    assert [(c.address, c.action.value) for c in result.changes] == case.changes
    assert [c.address for c in result.changes if c.destructive] == case.destructive
    assert [d.address for d in result.deferred] == case.deferred
    assert len(result.errors) == len(case.errors), result.errors
    for expected, error in zip(case.errors, result.errors, strict=True):
        assert expected in error
    by_address = {c.address: c for c in result.changes}
    for address, needed in case.depends.items():
        assert set(needed) <= set(by_address[address].depends_on), by_address[address]
    for address, paths in case.diff.items():
        assert [d.path for d in by_address[address].diff] == paths
    if case.converges:
        again = make_plan(case.desired, apply(result, case.observed))
        assert again.changes == () and again.errors == (), again.changes
    return result
