"""Root-user credentials of member accounts, through centralized root access (``sts:AssumeRoot``).

``absent``: no password, access keys, signing certificates or MFA devices; ``password_recovery``:
no standing credentials (keys, certificates) but a login profile so the root email owner can
recover a password; MFA untouched. Deleting anything is destructive and shown as such.
"""

from __future__ import annotations

from reconciler.afters import RootCredentialsAfter
from reconciler.plan import Action, AttributeDiff, Change, Deferred
from reconciler.planner.context import AccountMatch, PlanContext
from reconciler.planner.organization import ADDRESS as ORGANIZATION


def _diff(before: RootCredentialsAfter, after: RootCredentialsAfter) -> tuple[AttributeDiff, ...]:
    """The credentials that differ, in the plan's order (explicit keys: mypy checks each)."""
    pairs = (("password", before.get("password"), after.get("password")),
             ("access_keys", before.get("access_keys"), after.get("access_keys")),
             ("signing_certificates", before.get("signing_certificates"),
              after.get("signing_certificates")),
             ("mfa", before.get("mfa"), after.get("mfa")))
    return tuple(AttributeDiff(field, old, new) for field, old, new in pairs if old != new)


def _after(match: AccountMatch, policy_name: str, mfa: bool | None) -> RootCredentialsAfter:
    recovery = policy_name == "password_recovery"
    return {
        "account_id": match.id_expr,
        "policy": policy_name,
        "password": recovery,
        "access_keys": False,
        "signing_certificates": False,
        "mfa": mfa if recovery else False,
    }


def _foreseen(match: AccountMatch, wanted: str, address: str, waiting_for: str) -> Deferred:
    """The root policy enforced once the account can be read: listed as an update that may
    delete root credentials (destructive), since what the account holds is not known yet."""
    deletes = ("the root password, access keys, signing certificates and MFA devices"
               if wanted == "absent" else "root access keys and signing certificates")
    return Deferred(address, f"{waiting_for}; then root policy {wanted} is enforced: deletes "
                             f"{deletes} if any exist", action=Action.UPDATE,
                    after=_after(match, wanted, None), destructive=True)


def plan_root_credentials(ctx: PlanContext) -> None:
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        wanted = match.spec.root_credentials
        if wanted == "unmanaged" or match.spec.state != "active" or ctx.is_management(match):
            continue
        address = f"root_credentials.{name}"
        if match.disposition == "deferred":
            ctx.deferred.append(_foreseen(match, wanted, address,
                                          f"{match.address}: {match.waiting_for}"))
            continue
        if match.disposition == "invite":
            ctx.deferred.append(_foreseen(
                match, wanted, address,
                f"the invitation of {match.address} (planned now) to be accepted"))
            continue
        if match.disposition == "create":
            after = _after(match, wanted, None)
            ctx.changes.append(Change(
                kind="root_credentials", key=name, action=Action.UPDATE, before=None,
                after=after, reason=f"new account: ensure root policy {wanted}",
                depends_on=ctx.needs(ORGANIZATION, match.address)))
            continue
        if match.disposition != "present":
            continue
        observed = ctx.observed.root_credentials.get(match.id_expr)
        if observed is None or observed.error is not None:
            if ctx.planned(ORGANIZATION):
                # Unreadable until this plan turns centralized root access on: not a change yet.
                # apply reads and enforces it in a follow-up round of the same run.
                ctx.deferred.append(_foreseen(
                    match, wanted, address,
                    f"{ORGANIZATION} to turn on centralized root access; then read and enforced "
                    "in the same apply"))
                continue
            why = observed.error if observed is not None and observed.error else "not read"
            after = _after(match, wanted, None)
            ctx.changes.append(Change(
                kind="root_credentials", key=name, action=Action.UPDATE, before=None,
                after=after, destructive=True,
                reason=f"root credentials unknown ({why}); ensure root policy {wanted} (may "
                       "delete root credentials)",
                depends_on=ctx.needs(ORGANIZATION)))
            continue
        before: RootCredentialsAfter = {"account_id": observed.account_id,
                                        "password": observed.password,
                                        "access_keys": observed.access_keys,
                                        "signing_certificates": observed.signing_certificates,
                                        "mfa": observed.mfa}
        after = _after(match, wanted, observed.mfa)
        diff = _diff(before, after)
        if not diff:
            continue
        deleted = [d.path for d in diff if d.before and not d.after]
        created = [d.path for d in diff if not d.before and d.after]
        what = ([f"delete {', '.join(deleted)}"] if deleted else []) + \
               ([f"create {', '.join(created)}"] if created else [])
        ctx.changes.append(Change(
            kind="root_credentials", key=name, action=Action.UPDATE, before=before, after=after,
            diff=diff, destructive=bool(deleted),
            reason=f"root policy {wanted}: {'; '.join(what)}",
            depends_on=ctx.needs(ORGANIZATION)))
