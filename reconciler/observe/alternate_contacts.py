"""Reading alternate contacts (``accounts[].contacts``) and Account Management's trusted access.

``GetAlternateContact`` is called from the management account: with ``AccountId`` for a member
(which needs trusted access for ``account.amazonaws.com``), without it for the management account
itself ("The management account can't specify its own AccountId", Account Management API
Reference, GetAlternateContact). A contact type that is not set answers
``ResourceNotFoundException``: that is "no such contact", not an error. Only the types the file
lists are read (export reads all three).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from reconciler.aws import Aws, Client, paginate
from reconciler.errors import AccessDenied, NotFound
from reconciler.observe.reads import AccountRead, AccountView, Parts
from reconciler.observed import ObservedContacts, ObservedState

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("account:GetAlternateContact",
                   "organizations:ListAWSServiceAccessForOrganization"),
}

SERVICE_PRINCIPAL = "account.amazonaws.com"
_FIELDS = {"name": "Name", "title": "Title", "email": "EmailAddress", "phone": "PhoneNumber"}


def read_trusted_access_account(org: Client) -> bool:
    """Whether AWS Account Management has trusted access to the organization."""
    enabled = paginate(org, "list_aws_service_access_for_organization",
                       "EnabledServicePrincipals")
    return any(p.get("ServicePrincipal") == SERVICE_PRINCIPAL for p in enabled)


def read_contacts(aws: Aws, *, account_id: str, management: bool,
                  types: Iterable[str]) -> ObservedContacts:
    """The contacts of ``types`` (``security``, ...) of ``account_id``."""
    client = aws.client("account")
    where = {} if management else {"AccountId": account_id}
    found: dict[str, dict[str, str] | None] = {}
    for kind in types:
        try:
            raw = client.get_alternate_contact(AlternateContactType=kind.upper(),
                                               **where)["AlternateContact"]
        except NotFound:
            found[kind] = None
            continue
        except AccessDenied as error:
            return ObservedContacts(account_id, {}, error=f"{error.code}: {error.aws_message}")
        found[kind] = {ours: str(raw.get(theirs, "")) for ours, theirs in _FIELDS.items()}
    return ObservedContacts(account_id, found)


def _wants(account: AccountView, reading: frozenset[str]) -> bool:
    # from the management account: its own (not with IAM's delegated administrator's
    # credentials), an active member's when Account Management's trusted access is on
    if not account.spec.contacts:
        return False
    if account.management:
        return not account.scope.delegated
    return account.active and bool(account.scope.trusted_access_account)


def _read(account: AccountView, parts: Parts) -> ObservedContacts:
    return read_contacts(account.scope.aws, account_id=account.id,
                         management=account.management, types=tuple(account.spec.contacts or ()))


def _land(observed: ObservedState, parts: Mapping[str, ObservedContacts]) -> ObservedState:
    return replace(observed, alternate_contacts=dict(parts))


ACCOUNT_READ = AccountRead("alternate_contacts", wants=_wants, read=_read, land=_land)
