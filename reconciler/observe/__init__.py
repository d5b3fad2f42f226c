"""``observe()``: read everything the plan depends on from live AWS, read-only.

Organizations is read serially (it throttles hard, and walking the tree is cheap: O(OUs +
accounts/20) calls). Every account of the file is read in parallel, starting as soon as the walk
lists it, together with the management account's IAM groups; one failure stops the whole read (a
partial picture must not be planned). What an account's job reads is registered by the kinds
(``reconciler.observe.registry``: each kind's ``AccountRead``, e.g. the access role, then the
root credentials, the tags and name, the alias through the role, the alternate contacts), and each
kind puts its parts on ``ObservedState`` itself; this module only decides when and where the
reads run. Each kind's reads live in their own module, which also declares the IAM actions it
needs (``PERMISSIONS``), so that ``orgsync permissions`` is derived from the code that makes the
calls.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from reconciler.aws import Aws
from reconciler.errors import Refusal
from reconciler.model import AccountSpec, DesiredState
from reconciler.observe import (
    access_role,
    account,
    alternate_contacts,
    delegated_admin,
    group,
    organization,
    ou,
    root_credentials,
    stack_set,
)
from reconciler.observe.reads import AccountRead, AccountView, ObserveScope
from reconciler.observe.registry import account_reads
from reconciler.observed import ObservedAccount, ObservedRole, ObservedState
from reconciler.policy import partition_of, role_arn

# One account's job: its id and the parts the kinds read, by kind.
_AccountResult = tuple[str, dict[str, object]]


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
    scope = ObserveScope(aws=aws, desired=desired, management_account_id=management_id,
                         delegated=delegated, root_possible=root_possible,
                         trusted_access_account=trusted_account)
    reads = account_reads()

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
            job = _account_job(AccountView(scope=scope, spec=spec, observed=observed), reads)
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
        results: list[_AccountResult] = sorted((f.result() for f in futures[1:]),
                                               key=lambda r: r[0])

    management_iam: dict[str, Any] = {} if management is None else {
        "groups": management.groups, "managed_policies": management.managed_policies,
        "existing_users": management.existing_users,
        "foreign_groups": management.foreign_groups,
        "similar_users": management.similar_users}
    observed = ObservedState(
        organization=observed_org,
        ous=ous,
        accounts=accounts,
        create_requests=create_requests,
        handshakes=handshakes,
        trusted_access_iam=trusted,
        root_features=features,
        **management_iam,
        iam_delegated_admins=admins,
        runner_account_id=runner if delegated else None,
        trusted_access_account=trusted_account,
    )
    for read in reads:  # each kind puts its parts (by account id, sorted) in its place
        observed = read.land(observed, {account_id: parts[read.kind]
                                        for account_id, parts in results if read.kind in parts})
    _refuse_when_no_role_is_assumable(aws, list(observed.roles.values()), accounts,
                                      caller_arn=caller_arn, default_role=default_role)
    observed_stack_set = (stack_set.read_stack_set(aws.client("cloudformation"),
                                                   region=aws.region)
                          if desired.organization.invited_bootstrap == "stackset"
                          and not delegated else None)
    return replace(observed, stack_set=observed_stack_set,
                   observed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _account_job(account: AccountView, reads: tuple[AccountRead[Any], ...]
                 ) -> Callable[[], _AccountResult] | None:
    """The job that reads ``account`` (None: no kind wants it): the reads that want it, in the
    registry's order, each given the parts its ``needs`` read before it."""
    wanted: list[AccountRead[Any]] = []
    for read in reads:
        reading = frozenset(r.kind for r in wanted if r.kind in read.needs)
        if read.wants(account, reading):
            wanted.append(read)
    if not wanted:
        return None

    def job() -> _AccountResult:
        parts: dict[str, object] = {}
        for read in wanted:
            part = read.read(account, {k: parts[k] for k in read.needs if k in parts})
            if part is not None:
                parts[read.kind] = part
        return account.id, parts

    return job


def _refuse_when_no_role_is_assumable(aws: Aws, roles: list[ObservedRole],
                                      accounts: tuple[ObservedAccount, ...], *, caller_arn: str,
                                      default_role: str) -> None:
    """When not one member account's access role could be assumed although CreateAccount made
    the organization's default role in some of them, ask IAM whether the caller's own policies
    allow ``sts:AssumeRole`` on those roles (AWS needs them as well as the role's trust policy,
    STS AssumeRole reference). If they do not, say so rather than plan a bootstrap for every
    account; if IAM cannot tell, plan as usual."""
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
