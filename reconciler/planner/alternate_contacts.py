"""Alternate contacts (``accounts[].contacts``): who AWS writes to about security, operations and
billing.

One change per account (kind ``alternate_contacts``) covering the contact types the file lists, so
a contact changed out of band is exactly one change whose diff names the field. A listed type is
exact (``null``: no such contact, deleted: destructive); an unlisted type, or an account without
``contacts``, is left alone.

Apply writes them from the management account with the Account Management API. For a member
account that needs ``AccountId`` and trusted access for ``account.amazonaws.com`` ("To use this
parameter ... the organization must have trusted access enabled for the Account Management
service", PutAlternateContact reference, https://docs.aws.amazon.com/accounts/latest/reference/
API_PutAlternateContact.html); when it is off, turning it on is planned as part of the
``organization`` change (visible, never behind the user's back) and the contacts, unreadable until
then, are ensured after it. The management account's own contacts are written without
``AccountId`` ("The management account can't specify its own AccountId", same reference), which
needs no trusted access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, cast

from reconciler.afters import AlternateContactsAfter, ContactValue
from reconciler.model import AccountSpec, ContactSpec
from reconciler.plan import Action, AttributeDiff, Change, Deferred
from reconciler.planner.context import AccountMatch, PlanContext
from reconciler.planner.organization import ADDRESS as ORGANIZATION
from reconciler.planner.organization import turn_on

KIND = "alternate_contacts"
TRUSTED_ACCESS_KEY: Final = "trusted_access_account"
SERVICE_PRINCIPAL = "account.amazonaws.com"
_FIELDS = ("name", "title", "email", "phone")


def _contact(spec: ContactSpec) -> ContactValue:
    return {"name": spec.name, "title": spec.title, "email": spec.email, "phone": spec.phone}


def _wanted(spec: AccountSpec) -> dict[str, ContactValue | None]:
    assert spec.contacts is not None
    return {kind: None if contact is None else _contact(contact)
            for kind, contact in spec.contacts.items()}


def _members_needing_trust(ctx: PlanContext) -> list[AccountMatch]:
    return [m for m in ctx.matches.values()
            if m.spec.contacts is not None and m.spec.state == "active"
            and m.disposition in ("present", "create") and not ctx.is_management(m)]


def plan_contacts_trusted_access(ctx: PlanContext) -> None:
    """Add "enable trusted access for account.amazonaws.com" to the organization change when a
    member account's contacts are managed and it is off."""
    if ctx.observed.trusted_access_account is not False:
        return
    needing = _members_needing_trust(ctx)
    if not needing:
        return
    if ctx.observed.organization.feature_set != "ALL":
        ctx.errors.append(
            "accounts[].contacts: a member account's alternate contacts are written with trusted "
            "access for account.amazonaws.com, which needs an organization with all features "
            f"enabled (this one has {ctx.observed.organization.feature_set})")
        return
    names = ", ".join(sorted(m.spec.name for m in needing))
    reason = (f"trusted access for {SERVICE_PRINCIPAL} (AWS Account Management) is off; the "
              f"alternate contacts of {names} are written with it")
    turn_on(ctx, TRUSTED_ACCESS_KEY, reason=reason)


def plan_alternate_contacts(ctx: PlanContext) -> None:
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        spec = match.spec
        if spec.contacts is None or not spec.contacts or spec.state != "active":
            continue
        address = f"{KIND}.{name}"
        if match.disposition in ("deferred", "invite"):
            why = match.waiting_for or "the invitation (planned now) to be accepted"
            ctx.deferred.append(Deferred(address, f"{match.address}: {why}; then its alternate "
                                                  f"contacts ({', '.join(spec.contacts)})"))
            continue
        if match.disposition not in ("present", "create"):
            continue
        management = ctx.is_management(match)
        wanted = _wanted(spec)
        after: AlternateContactsAfter = {"account_id": match.id_expr,
                                         "management": management, "contacts": wanted}
        depends = ctx.needs(*(() if management else (ORGANIZATION,)), match.address)
        if match.disposition == "create":
            if all(value is None for value in wanted.values()):
                continue  # a new account has no alternate contacts
            ctx.changes.append(Change(
                kind=KIND, key=name, action=Action.CREATE, before=None, after=after,
                reason=f"new account: alternate contacts {_listed(wanted)}", depends_on=depends,
                diff=tuple(AttributeDiff(kind, None, value) for kind, value in wanted.items()
                           if value is not None)))
            continue
        observed = ctx.observed.alternate_contacts.get(match.id_expr)
        if observed is None or observed.error is not None:
            why = (observed.error if observed is not None and observed.error else
                   f"unreadable until trusted access for {SERVICE_PRINCIPAL} is on"
                   if ctx.planned(ORGANIZATION) and not management else "not read")
            deletes = [kind for kind, value in wanted.items() if value is None]
            ctx.changes.append(Change(
                kind=KIND, key=name, action=Action.UPDATE, before=None, after=after,
                destructive=bool(deletes),
                reason=f"alternate contacts unknown ({why}); ensure {_listed(wanted)}"
                       + (f" (deletes any {', '.join(deletes)} contact)" if deletes else ""),
                depends_on=depends))
            continue
        change = _compare(name, after, observed.contacts, wanted, depends=depends)
        if change is not None:
            ctx.changes.append(change)


def _compare(name: str, after: AlternateContactsAfter,
             current: Mapping[str, Mapping[str, str] | None],
             wanted: dict[str, ContactValue | None], *,
             depends: tuple[str, ...]) -> Change | None:
    before_contacts: dict[str, ContactValue | None] = {}
    for kind in wanted:
        had = current.get(kind)
        # as read (observe.alternate_contacts: the four fields of a ContactValue)
        before_contacts[kind] = cast(ContactValue, dict(had)) if had else None
    diff: list[AttributeDiff] = []
    for kind, value in wanted.items():
        was = before_contacts[kind]
        if was == value:
            continue
        if was is None or value is None:
            diff.append(AttributeDiff(kind, was, value))
            continue
        diff.extend(AttributeDiff(f"{kind}.{field}", was.get(field), value.get(field))
                    for field in _FIELDS if was.get(field) != value.get(field))
    if not diff:
        return None
    deleted = [d.path for d in diff if d.after is None and "." not in d.path]
    created = [d.path for d in diff if d.before is None and "." not in d.path]
    changed = sorted({d.path.split(".", 1)[0] for d in diff if "." in d.path})
    what = ([f"set {', '.join(created)}"] if created else []) + \
           ([f"change {', '.join(changed)}"] if changed else []) + \
           ([f"delete {', '.join(deleted)}"] if deleted else [])
    nothing_before = all(value is None for value in before_contacts.values())
    before: AlternateContactsAfter = {"account_id": after["account_id"],
                                      "contacts": before_contacts}
    return Change(
        kind=KIND, key=name, action=Action.CREATE if nothing_before else Action.UPDATE,
        before=None if nothing_before else before,
        after=after, destructive=bool(deleted), reason=f"alternate contacts: {'; '.join(what)}",
        depends_on=depends, diff=tuple(diff))


def _listed(wanted: Mapping[str, ContactValue | None]) -> str:
    return ", ".join(kind if value is not None else f"no {kind}"
                     for kind, value in wanted.items())
