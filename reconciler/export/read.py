"""Reading a whole organization for ``orgsync export``, through ``reconciler.observe``.

``observe`` reads what a desired state names. To read everything, this module lists the accounts
(ListAccounts: one call per 20 accounts) and hands ``observe`` a desired state that manages every
one of them by id, so that the kinds' registered per-account reads (``reconciler.observe.registry``)
want every account, in the core read's jobs: ``tags: {}`` (their tags, the management account's
included), the usual access role name (each role, from inside its account), every alias and
alternate contact type, and ``root_credentials: absent`` (every active member's root-credential
status, when root sessions are on).

What the registry cannot do is done here, after ``observe``, on purpose: a member whose role has
another name (a well-known one, ``--role-name``, or one a group grant names) is found by trying
those names one by one, which no desired state can ask for, and its alias is then read through the
role found (the alias kind's reader, ``read_alias``); Identity Center and orgsync's stack set are
read whatever the file, and an organization whose credentials may not read them is exported
without them (observe's readers would fail the whole read). Nothing here writes to AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.aws import Aws, paginate
from reconciler.errors import AwsError
from reconciler.export.render import ROLE_CANDIDATES, granted_roles
from reconciler.model import (
    CONTACT_TYPES,
    NO_ALIAS,
    AccessRoleSpec,
    AccountSpec,
    DesiredState,
    IdentityCenterSpec,
    OrganizationSpec,
    RootCredentialsSpec,
)
from reconciler.observe import access_role as role_reader
from reconciler.observe import account_alias as alias_reader
from reconciler.observe import identity_center as identity_center_reader
from reconciler.observe import observe
from reconciler.observe import stack_set as stack_set_reader
from reconciler.observed import (
    GONE_STATES,
    ObservedIdentityCenter,
    ObservedRole,
    ObservedStackSet,
    ObservedState,
    account_state,
)

# Beyond what ``reconciler.observe`` declares (export makes all of observe's reads as well).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("organizations:DescribeOrganization", "organizations:ListAccounts"),
}

T = TypeVar("T")
R = TypeVar("R")


def everything(management_account_id: str, accounts: list[dict[str, Any]], *,
               role_name: str) -> DesiredState:
    """A desired state that names every account (by id) so that ``observe`` reads all of them.

    It is never planned or applied: its names are the account ids (unique, unlike AWS names).
    """
    specs = tuple(
        AccountSpec(
            name=str(raw["Id"]), email=str(raw.get("Email", "")),
            source="invited" if raw.get("JoinedMethod") == "INVITED" else "created",
            id=str(raw["Id"]), ou="/", tags={},
            state="closed" if account_state(raw) in GONE_STATES else "active",
            iam_user_access_to_billing=None, access_role=AccessRoleSpec(name=role_name),
            # "managed" so that observe audits the root credentials (where root sessions are
            # on) and reads the alias and every alternate contact type
            root_credentials="absent", bootstrap_profile=None,
            alias=NO_ALIAS, contacts=MappingProxyType(dict.fromkeys(CONTACT_TYPES)))
        for raw in accounts)
    return DesiredState(
        organization=OrganizationSpec(management_account_id=management_account_id,
                                      access_role=role_name),
        root_credentials=RootCredentialsSpec(features=None), accounts=specs, groups=())


def read_organization(aws: Aws, *, parallelism: int = 10, progress: bool = False,
                      role_names: Sequence[str] = ()) -> ObservedState:
    """Everything ``render_export`` needs about the organization the credentials manage.

    Each active member's access role is looked for under ``OrganizationAccountAccessRole``, then
    ``AWSControlTowerExecution``, then ``role_names``, then the role names that orgsync's group
    grants name for that account (which is how a role created with another name is found)."""
    org = aws.client("organizations")
    management = str(org.describe_organization()["Organization"]["MasterAccountId"])
    listed = list(paginate(org, "list_accounts", "Accounts"))
    desired = everything(management, listed, role_name=ROLE_CANDIDATES[0])
    observed = observe(desired, aws, parallelism=parallelism, progress=progress)
    roles = dict(observed.roles)
    members = [a for a in observed.accounts
               if a.id != management and a.state not in GONE_STATES]

    granted = granted_roles(observed)

    def other_names(account_id: str) -> ObservedRole | None:
        names = [*ROLE_CANDIDATES[1:], *role_names, *sorted(granted.get(account_id, ()))]
        for name in dict.fromkeys(n for n in names if n != ROLE_CANDIDATES[0]):
            found = role_reader.read_access_role(aws, account_id=account_id, role_name=name,
                                                 default_role_name=name)
            if found.status == "ok":
                return found
        return None

    unreadable = [a.id for a in members if a.id in roles and roles[a.id].status != "ok"]
    aliases = dict(observed.aliases)
    for account_id, found in _parallel(other_names, unreadable, parallelism=parallelism):
        if found is not None:
            roles[account_id] = found
            aliases[account_id] = alias_reader.read_alias(aws, account_id=account_id,
                                                          role_name=found.via_role or found.name)

    # Group members were read from IAM's user list, so they exist (the synthetic desired state
    # names no users, so observe could not say so).
    members_seen = tuple(sorted({m for g in observed.groups for m in g.members}))
    return replace(observed, roles=dict(sorted(roles.items())),
                   aliases=dict(sorted(aliases.items())), existing_users=members_seen,
                   stack_set=_stack_set(aws),
                   identity_center=_identity_center(desired, aws, parallelism=parallelism))


def _identity_center(desired: DesiredState, aws: Aws, *,
                     parallelism: int) -> ObservedIdentityCenter | None:
    """The organization's IAM Identity Center instance, with every permission set and
    assignment (None: no instance, or the credentials may not read it)."""
    try:
        found = identity_center_reader.read_identity_center(
            replace(desired, identity_center=IdentityCenterSpec()), aws,
            parallelism=parallelism)
    except AwsError:
        return None
    return found if found is not None and found.instance_arn is not None else None


def _stack_set(aws: Aws) -> ObservedStackSet | None:
    """orgsync's stack set, if the credentials may read it (export then writes
    ``invited_bootstrap: stackset``); None when CloudFormation cannot be read."""
    try:
        return stack_set_reader.read_stack_set(aws.client("cloudformation"), region=aws.region)
    except AwsError:
        return None


def _parallel(func: Callable[[T], R], items: list[T], *, parallelism: int) -> list[tuple[T, R]]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items))),
                            thread_name_prefix="orgsync-export") as pool:
        return list(zip(items, pool.map(func, items), strict=True))
