"""IAM's delegated administrator for centralized root access (``root_credentials.delegated_admin``).

One account at most (IAM allows one delegated administrator), registered with
``RegisterDelegatedAdministrator`` for ``iam.amazonaws.com`` once IAM has trusted access.
Deregistering takes root sessions away from that account's people, so it is destructive; when the
file names another account the old one is deregistered first. The file manages this only when it
has a ``root_credentials`` section.

This module also decides what a plan made with the delegated administrator's own credentials can
hold (``restrict_to_delegated_runner``): only ``root_credentials`` changes, which root sessions
carry out; every other change needs the management account and is listed as deferred instead.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.afters import DelegatedAdminAfter
from reconciler.plan import Action, Change, Deferred
from reconciler.planner.context import PlanContext
from reconciler.planner.organization import ADDRESS as ORGANIZATION

SERVICE_PRINCIPAL = "iam.amazonaws.com"
KIND = "delegated_admin"
# Kinds a delegated administrator's credentials can plan and apply.
DELEGATED_KINDS = frozenset({"root_credentials"})


def _value(account_id: str, name: str) -> DelegatedAdminAfter:
    return {"account_id": account_id, "account": name, "service_principal": SERVICE_PRINCIPAL}


def plan_delegated_admin(ctx: PlanContext) -> None:
    spec = ctx.desired.root_credentials
    registered = ctx.observed.iam_delegated_admins
    if not spec.managed or registered is None:
        return
    wanted = ctx.matches.get(spec.delegated_admin) if spec.delegated_admin else None
    wanted_id = wanted.account_id if wanted is not None else None
    deregistered: list[str] = []
    for account_id in registered:
        if account_id == wanted_id:
            continue
        name = ctx.account_name(account_id)
        ctx.changes.append(Change(
            kind=KIND, key=name, action=Action.DELETE, before=_value(account_id, name),
            after=None, destructive=True,
            reason=("the file names another delegated administrator" if wanted is not None
                    else "not in the file: its people lose root sessions on member accounts")))
        deregistered.append(f"{KIND}.{name}")
    if wanted is None or wanted_id in registered:
        return
    address = f"{KIND}.{wanted.spec.name}"
    if wanted.disposition in ("deferred", "invite"):
        why = wanted.waiting_for or "the invitation (planned now) to be accepted"
        ctx.deferred.append(Deferred(address, f"{wanted.address}: {why}"))
        return
    if not wanted.usable:
        return
    trusted = ctx.observed.trusted_access_iam or ctx.planned(ORGANIZATION)
    if not trusted:
        ctx.errors.append(
            f"root_credentials.delegated_admin: registering {wanted.spec.name} needs IAM trusted "
            "access in the organization; list the features in root_credentials.features")
        return
    ctx.changes.append(Change(
        kind=KIND, key=wanted.spec.name, action=Action.CREATE, before=None,
        after=_value(wanted.id_expr, wanted.spec.name),
        reason=f"register {wanted.spec.name} as IAM's delegated administrator",
        depends_on=ctx.needs(ORGANIZATION, wanted.address, *deregistered)))


def restrict_to_delegated_runner(ctx: PlanContext) -> None:
    """With the delegated administrator's credentials, keep the ``root_credentials`` changes
    that need nothing else first; list every other change as deferred ("needs the management
    account"), never to be attempted."""
    if not ctx.observed.delegated_runner:
        return
    kept: list[Change] = []
    moved: set[str] = set()
    for change in ctx.changes:
        if change.kind in DELEGATED_KINDS and not any(d in moved for d in change.depends_on):
            kept.append(replace(change, depends_on=tuple(
                d for d in change.depends_on if d not in moved)))
            continue
        moved.add(change.address)
        ctx.deferred.append(Deferred(
            change.address,
            f"the management account's credentials ({change.action.value}: {change.reason}); "
            "these are IAM's delegated administrator's",
            action=change.action, after=change.after, destructive=change.destructive))
    ctx.changes[:] = kept
    ctx.warnings.append(
        f"planned with the credentials of IAM's delegated administrator "
        f"({ctx.observed.runner_account_id}): only root_credentials is planned; access roles "
        "and groups were not read, and changes that need the management account are listed as "
        "deferred")
