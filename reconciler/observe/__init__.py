"""``observe()``: read everything the plan depends on from live AWS, read-only.

Organizations is read serially (it throttles hard, and walking the tree is cheap: O(OUs +
accounts/20) calls). Every managed member account is read in parallel (its access role, its root
credentials, its tags), starting as soon as the walk lists it, together with the management
account's IAM groups; one failure stops the whole read (a partial picture must not be planned). Each
kind's reads live in their own module, which also declares the IAM actions it needs
(``PERMISSIONS``), so that ``orgsync permissions`` is derived from the code that makes the calls.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from reconciler.aws import Aws
from reconciler.errors import Refusal
from reconciler.model import AccountSpec, DesiredState
from reconciler.observe import (
    access_role,
    account,
    account_alias,
    alternate_contacts,
    delegated_admin,
    group,
    organization,
    ou,
    root_credentials,
    stack_set,
)
from reconciler.observed import (
    ObservedAccount,
    ObservedAlias,
    ObservedContacts,
    ObservedRole,
    ObservedRootCredentials,
    ObservedState,
)
from reconciler.policy import partition_of, role_arn

MANAGED_ROOT_POLICIES = ("absent", "password_recovery")


@dataclass(frozen=True)
class _MemberResult:
    account_id: str
    role: ObservedRole | None = None
    root: ObservedRootCredentials | None = None
    tags: dict[str, str] | None = None
    name: str | None = None  # the Account Management API's name, where Organizations differs
    alias: ObservedAlias | None = None
    contacts: ObservedContacts | None = None


def _file_accounts(desired: DesiredState) -> Callable[[ObservedAccount], AccountSpec | None]:
    """The file's account for an observed one, by the file's identity rule
    (``AccountSpec.identity``: the id when the file gives one, else the email)."""
    by_identity = {spec.identity: spec for spec in desired.accounts}

    def spec_for(observed: ObservedAccount) -> AccountSpec | None:
        return by_identity.get(observed.id) or by_identity.get(observed.email.lower())

    return spec_for


def observe(desired: DesiredState, aws: Aws, *, parallelism: int = 10,
            progress: bool = False) -> ObservedState:
    """Everything the planner needs, read from AWS. Raises ``Refusal`` when the credentials belong
    to an organization whose management account is not the file's.

    Member accounts are read while the tree walk goes on: each account's job is submitted to the
    pool as soon as ListAccountsForParent returns it, so the serial Organizations calls overlap
    the parallel per-account reads instead of adding to them."""
    caller_arn = organization.read_caller(aws)
    org = aws.client("organizations")
    management_id = desired.organization.management_account_id
    # Only IAM's delegated administrator may stand in for the management account, and only for
    # root_credentials: with its credentials the access roles and the management account's IAM
    # groups cannot be read (its own IAM is another account's), so they are not.
    runners: list[str] = []
    observed_org = organization.read_organization(
        org, expected_management_account_id=management_id,
        before_roots=lambda: runners.append(delegated_admin.runner_account(
            aws, management_account_id=management_id, delegated_admins=None)))
    runner = runners[0]
    delegated = runner != management_id
    admins = (delegated_admin.read_iam_delegated_admins(org)
              if desired.root_credentials.managed else None)
    trusted = organization.read_trusted_access_iam(org)
    features = organization.read_root_features(aws.client("iam"), trusted_access_iam=trusted)
    root_possible = root_credentials.root_reads_possible(features)
    # Account Management's trusted access: read only when a member account's contacts are managed
    trusted_account = (alternate_contacts.read_trusted_access_account(org)
                       if not delegated and any(
                           a.contacts is not None and a.state == "active" and a.id != management_id
                           for a in desired.accounts) else None)
    spec_for = _file_accounts(desired)
    default_role = desired.organization.access_role

    with _progress_bar(enabled=progress, total=len(desired.accounts) + 1) as advance, \
            ThreadPoolExecutor(max_workers=max(1, parallelism),
                               thread_name_prefix="orgsync-observe") as pool:
        futures: list[Future[Any]] = []

        def submit(job: Callable[[], Any]) -> None:
            future = pool.submit(job)
            future.add_done_callback(lambda _f: advance())
            futures.append(future)

        def found(placed: ou.PlacedAccount) -> None:
            observed = account.to_observed_accounts((placed,))[0]
            spec = spec_for(observed)
            if spec is None:
                return
            if observed.id == management_id:
                # no access role or root policy here, but the file may manage its tags and name,
                # and its alias and contacts (with its own credentials)
                alias = spec.alias is not None and not delegated
                contacts = spec.contacts is not None and not delegated
                if spec.tags is not None or spec.name != observed.name or alias or contacts:
                    submit(_tags_job(aws, account_id=observed.id, tags=spec.tags is not None,
                                     name=spec.name != observed.name, alias=alias,
                                     contacts=tuple(spec.contacts or ()) if contacts else ()))
                return
            job = _member_job(aws, spec=spec, observed=observed, default_role=default_role,
                              root_possible=root_possible, read_roles=not delegated,
                              read_contacts=bool(trusted_account))
            if job is not None:
                submit(job)

        try:
            submit(lambda: None if delegated else
                   group.read_management_iam(aws.client("iam"), desired=desired))
            ous, placed = ou.walk_tree(org, root_id=observed_org.root_id, on_account=found)
            accounts = account.to_observed_accounts(placed)
            visible = {a.id for a in accounts} | {a.email.lower() for a in accounts}
            create_requests = account.read_create_requests(org, desired=desired,
                                                           visible=visible)
            handshakes = account.read_handshakes(org)
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            failed = next((f for f in futures if f.done() and not f.cancelled()
                           and f.exception() is not None), None)
            if failed is not None or sys.exc_info()[0] is not None:
                for future in futures:
                    future.cancel()
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
        management = futures[0].result()
        results: list[_MemberResult] = sorted((f.result() for f in futures[1:]),
                                              key=lambda r: r.account_id)

    _refuse_when_no_role_is_assumable(aws, results, accounts, caller_arn=caller_arn,
                                      default_role=default_role)
    observed_stack_set = (stack_set.read_stack_set(aws.client("cloudformation"),
                                                   region=aws.region)
                          if desired.organization.invited_bootstrap == "stackset"
                          and not delegated else None)
    tags = {r.account_id: r.tags for r in results if r.tags is not None}
    management_iam: dict[str, Any] = {} if management is None else {
        "groups": management.groups, "managed_policies": management.managed_policies,
        "existing_users": management.existing_users,
        "foreign_groups": management.foreign_groups,
        "similar_users": management.similar_users}
    accounts = tuple(replace(a, tags=tags[a.id]) if a.id in tags else a for a in accounts)
    names = {r.account_id: r.name for r in results if r.name}
    aliases = {r.account_id: r.alias for r in results if r.alias is not None}
    contacts = {r.account_id: r.contacts for r in results if r.contacts is not None}
    accounts = tuple(replace(a, name=names[a.id]) if a.id in names else a for a in accounts)
    return ObservedState(
        organization=observed_org,
        ous=ous,
        accounts=accounts,
        create_requests=create_requests,
        handshakes=handshakes,
        trusted_access_iam=trusted,
        root_features=features,
        roles={r.account_id: r.role for r in results if r.role is not None},
        root_credentials={r.account_id: r.root for r in results if r.root is not None},
        **management_iam,
        iam_delegated_admins=admins,
        runner_account_id=runner if delegated else None,
        stack_set=observed_stack_set,
        aliases=aliases,
        alternate_contacts=contacts,
        trusted_access_account=trusted_account,
        observed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _refuse_when_no_role_is_assumable(aws: Aws, results: list[_MemberResult],
                                      accounts: tuple[ObservedAccount, ...], *, caller_arn: str,
                                      default_role: str) -> None:
    """When not one member account's access role could be assumed although CreateAccount made
    the organization's default role in some of them, ask IAM whether the caller's own policies
    allow ``sts:AssumeRole`` on those roles (AWS needs them as well as the role's trust policy,
    STS AssumeRole reference). If they do not, say so rather than plan a bootstrap for every
    account; if IAM cannot tell, plan as usual."""
    roles = [r.role for r in results if r.role is not None]
    if not roles or any(role.status != "not_assumable" for role in roles):
        return
    created = {a.id for a in accounts if a.joined_method == "CREATED"}
    made_by_aws = [r for r in roles if r.account_id in created and r.name == default_role]
    if not made_by_aws:
        return
    samples = [role_arn(r.account_id, r.name, partition=partition_of(caller_arn))
               for r in made_by_aws[:20]]
    if access_role.caller_may_assume(aws, caller_arn=caller_arn, role_arns=samples) is not False:
        return
    raise Refusal(
        f"could not assume the access role of any of the {len(roles)} member account(s): the "
        f"credentials in use ({caller_arn}) have no permission for sts:AssumeRole on "
        f"{samples[0]}{' and the others' if len(samples) > 1 else ''} (their IAM policies do "
        "not allow it); grant it, e.g. with an sts:AssumeRole policy on "
        f"arn:aws:iam::*:role/{default_role}, and run again")


def _member_job(aws: Aws, *, spec: AccountSpec, observed: ObservedAccount, default_role: str,
                root_possible: bool, read_roles: bool = True, read_contacts: bool = False
                ) -> Callable[[], _MemberResult] | None:
    """What to read for one account of the file (None: nothing). Active accounts: the access
    role, and the root credentials, alias (through the role) and alternate contacts (from the
    management account, ``read_contacts``: trusted access is on) when the file manages them; any
    account not closed: its tags when the file manages them."""
    account_id = observed.id
    active = observed.state == "ACTIVE" and spec.state == "active"
    read_role = active and read_roles
    read_root = active and root_possible and spec.root_credentials in MANAGED_ROOT_POLICIES
    read_tags = spec.tags is not None and observed.state != "CLOSED"
    read_name = spec.name != observed.name and observed.state == "ACTIVE"
    read_alias = read_role and spec.alias is not None
    contact_types = tuple(spec.contacts or ()) if active and read_contacts else ()
    if not (read_role or read_root or read_tags or read_name or contact_types):
        return None

    def job() -> _MemberResult:
        role = (access_role.read_access_role(aws, account_id=account_id,
                                             role_name=spec.access_role.name,
                                             default_role_name=default_role)
                if read_role else None)
        root = (root_credentials.read_root_credentials(aws, account_id=account_id)
                if read_root else None)
        tags = (dict(account.read_tags(aws.client("organizations"), account_id=account_id))
                if read_tags else None)
        usable_role = role.via_role or role.name if role is not None and role.status != \
            "not_assumable" else None
        name = (account.read_account_name(aws, account_id=account_id, management=False,
                                          role_name=usable_role) if read_name else None)
        alias = None
        if read_alias:
            alias = (account_alias.read_alias(aws, account_id=account_id, role_name=usable_role)
                     if usable_role is not None else
                     ObservedAlias(account_id, None, error=role.error if role else None))
        contacts = (alternate_contacts.read_contacts(aws, account_id=account_id,
                                                     management=False, types=contact_types)
                    if contact_types else None)
        return _MemberResult(account_id=account_id, role=role, root=root, tags=tags, name=name,
                             alias=alias, contacts=contacts)

    return job


def _tags_job(aws: Aws, *, account_id: str, tags: bool = True, name: bool = False,
              alias: bool = False, contacts: tuple[str, ...] = ()) -> Callable[[], _MemberResult]:
    """The management account's tags, (where Organizations shows another name) name, alias and
    alternate contacts (the file manages them)."""
    def job() -> _MemberResult:
        read = (dict(account.read_tags(aws.client("organizations"), account_id=account_id))
                if tags else None)
        found = (account.read_account_name(aws, account_id=account_id, management=True,
                                           role_name=None) if name else None)
        own_alias = (account_alias.read_alias(aws, account_id=account_id, role_name=None)
                     if alias else None)
        own_contacts = (alternate_contacts.read_contacts(aws, account_id=account_id,
                                                         management=True, types=contacts)
                        if contacts else None)
        return _MemberResult(account_id=account_id, tags=read, name=found, alias=own_alias,
                             contacts=own_contacts)

    return job


@contextmanager
def _progress_bar(*, enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr when asked for and stderr is a terminal; else nothing."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from reconciler.console import make_console

    with Progress(TextColumn("reading accounts"), BarColumn(), MofNCompleteColumn(),
                  console=make_console(color="NO_COLOR" not in os.environ, stderr=True),
                  transient=True) as bar:
        task = bar.add_task("observe", total=total)
        yield lambda: bar.advance(task)
