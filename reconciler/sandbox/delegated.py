"""Delegated administrators' rights in Organizations, and IAM's delegated administrator.

moto answers every Organizations call from the caller's own backend, so a member account that is
a delegated administrator sees an empty organization and a member's writes fail with unrelated
errors. AWS: registering a delegated administrator "grants read-only access to Organizations
service data" (Organizations API Reference, RegisterDelegatedAdministrator), and the listing
operations "can be called only from the organization's management account or by a member account
that is a delegated administrator for an Amazon Web Services service" (ListAccounts and the other
read operations); every write stays with the management account. The wrappers here serve a
delegated administrator's reads from the management account's backend and refuse other members'
reads and every member's writes with AccessDeniedException.

For IAM (``iam.amazonaws.com``, what centralized root access delegates) registering needs trusted
access for IAM first (ConstraintViolationException SERVICE_ACCESS_NOT_ENABLED) and IAM allows one
delegated administrator (MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED for a second).
What the delegated administrator may then do with root sessions is in ``sts._assume_root`` and
``iam._organization_checks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.organizations.models import OrganizationsBackend, organizations_backends
from moto.organizations.responses import OrganizationsResponse

from reconciler.sandbox.common import aws_error, current_state
from reconciler.sandbox.organizations import IAM_PRINCIPAL

# Operations a delegated administrator may call (read-only Organizations data).
READS = (
    "list_roots", "list_accounts", "list_accounts_for_parent",
    "list_organizational_units_for_parent", "list_children", "list_parents", "describe_account",
    "describe_organizational_unit",
    "list_tags_for_resource", "list_aws_service_access_for_organization",
    "list_delegated_administrators", "list_delegated_services_for_account",
    "list_create_account_status", "describe_create_account_status",
    "list_handshakes_for_organization", "list_policies", "describe_policy",
    "list_policies_for_target", "list_targets_for_policy",
)
# Management-only writes that moto would otherwise run against a member's empty backend.
WRITES = (
    "register_delegated_administrator", "deregister_delegated_administrator",
    "enable_aws_service_access", "disable_aws_service_access", "tag_resource", "untag_resource",
    "move_account", "create_organizational_unit", "update_organizational_unit",
    "delete_organizational_unit", "create_policy", "update_policy", "delete_policy",
    "attach_policy", "detach_policy", "enable_policy_type", "disable_policy_type",
    "remove_account_from_organization",
)
DENIED = "You don't have permissions to access this resource."


def _owner(account_id: str) -> OrganizationsBackend | None:
    """The management backend of the organization ``account_id`` is a member of (None when it
    is the management account itself or in no organization)."""
    if organizations_backends[account_id][current_state().partition].org is not None:
        return None
    place = organizations_backends.master_accounts.get(account_id)
    if place is None:
        return None
    return organizations_backends[place[0]][place[1]]


def is_delegated_admin(backend: OrganizationsBackend, account_id: str,
                       service: str | None = None) -> bool:
    return any(a.account.id == account_id and (service is None or service in a.services)
               for a in backend.admins)


Handler = Callable[[OrganizationsResponse], Any]


def _read(name: str, original: Handler) -> Handler:
    def handler(self: OrganizationsResponse) -> Any:
        owner = _owner(self.current_account)
        if owner is None:
            return original(self)
        if not is_delegated_admin(owner, self.current_account):
            raise aws_error("AccessDeniedException", DENIED)
        caller = self.current_account
        self.current_account = owner.account_id  # serve from the organization's own data
        try:
            return original(self)
        finally:
            self.current_account = caller
    return handler


def _write(name: str, original: Handler) -> Handler:
    def handler(self: OrganizationsResponse) -> Any:
        if _owner(self.current_account) is not None:
            raise aws_error("AccessDeniedException", DENIED)
        if name == "register_delegated_administrator":
            _check_register(self)
        return original(self)
    return handler


def _check_register(self: OrganizationsResponse) -> None:
    params = self.request_params
    if params.get("ServicePrincipal") != IAM_PRINCIPAL:
        return
    backend = organizations_backends[self.current_account][current_state().partition]
    if not any(s["ServicePrincipal"] == IAM_PRINCIPAL for s in backend.services):
        raise aws_error("ConstraintViolationException",
                        "You attempted to register a delegated administrator for a service "
                        "that does not have trusted access enabled.",
                        Reason="SERVICE_ACCESS_NOT_ENABLED")
    others = [a for a in backend.admins if IAM_PRINCIPAL in a.services
              and a.account.id != params.get("AccountId")]
    if others:
        raise aws_error("ConstraintViolationException",
                        "You attempted to register more delegated administrators than allowed "
                        "for the service principal.",
                        Reason="MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED")


def install() -> None:
    """Wrap moto's (and the sandbox's) Organizations handlers; after ``organizations.install``
    (idempotent: a handler already wrapped stays as it is)."""
    wrappers: tuple[tuple[tuple[str, ...], Callable[[str, Handler], Handler]], ...] = (
        (READS, _read), (WRITES, _write))
    for names, wrap in wrappers:
        for name in names:
            current = getattr(OrganizationsResponse, name)
            if getattr(current, "_orgsync_delegated", False):
                continue
            wrapped: Any = wrap(name, current)
            wrapped._orgsync_delegated = True
            setattr(OrganizationsResponse, name, wrapped)
