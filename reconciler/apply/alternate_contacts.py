"""Writes an account's alternate contacts from the management account (AWS Account Management).

A member account's contacts are written with ``AccountId`` (trusted access for
``account.amazonaws.com`` is on: the organization change of the same plan turns it on first when
needed); the management account's own without it ("The management account can't specify its own
AccountId; it must call the operation in standalone context by not including the AccountId
parameter", PutAlternateContact reference). Each listed type is read first and written only when
it differs, so a re-run converges; a type listed as null is deleted when it exists.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

from reconciler.afters import AlternateContactsAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.errors import NotFound
from reconciler.model import CONTACT_TYPES
from reconciler.observe.alternate_contacts import SERVICE_PRINCIPAL, read_contacts
from reconciler.plan import Action, Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("account:GetAlternateContact", "account:PutAlternateContact",
                   "account:DeleteAlternateContact"),
}


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action not in (Action.CREATE, Action.UPDATE):
        raise StepFailed(f"alternate_contacts changes cannot be {change.action.value}")
    after = cast(AlternateContactsAfter, ctx.resolve(change.after or {}))
    account_id = str(after["account_id"])
    management = account_id == ctx.management_account_id
    wanted = after.get("contacts") or {}
    unknown = set(wanted) - set(CONTACT_TYPES)
    if unknown:
        raise StepFailed(f"unknown alternate contact type(s): {', '.join(sorted(unknown))}")
    current = read_contacts(ctx.aws, account_id=account_id, management=management,
                            types=tuple(wanted))
    if current.error is not None:
        raise StepFailed(f"cannot read the alternate contacts of {account_id} from the "
                         f"management account ({current.error}); member accounts need trusted "
                         f"access for {SERVICE_PRINCIPAL}")
    client = ctx.aws.client("account")
    where: dict[str, Any] = {} if management else {"AccountId": account_id}
    done: list[str] = []
    for kind, contact in wanted.items():
        had = current.contacts.get(kind)
        if (dict(had) if had else None) == (dict(contact) if contact else None):
            continue
        if contact is None:
            with contextlib.suppress(NotFound):  # deleted meanwhile: as wanted
                client.delete_alternate_contact(AlternateContactType=kind.upper(), **where)
            done.append(f"deleted {kind}")
            continue
        client.put_alternate_contact(
            AlternateContactType=kind.upper(), Name=contact["name"], Title=contact["title"],
            EmailAddress=contact["email"], PhoneNumber=contact["phone"], **where)
        done.append(f"{'set' if had is None else 'updated'} {kind}")
    return "; ".join(done) or "already as wanted"
