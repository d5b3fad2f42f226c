"""The ``identitystore`` API of the sandbox's IAM Identity Center (state: identity_center.py).

The reads orgsync needs (ListGroups with a DisplayName filter, GetGroupId, ListUsers, GetUserId,
Describe*, ListGroupMemberships[ForMember]) and the writes a test or a user of the sandbox adds
groups, users and memberships with, as AWS's Identity Store API does (so there is no separate
control call: ``identitystore.create_group`` on the sandbox is how more groups appear; groups
named with ``--sso-groups`` are seeded). Answers follow botocore's model, required members
included (``GroupArn``, ``Revision``, ...). Errors: ResourceNotFoundException with its
``ResourceType`` and ``ResourceId``, ConflictException with ``Reason``
UNIQUENESS_CONSTRAINT_VIOLATION for a display name or user name taken (Identity Store API
reference, CreateGroup and ConflictException).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.identity_center import (
    IdentityCenter,
    Membership,
    SsoError,
    paged,
)
from reconciler.sandbox.state import SandboxState

GROUP_FILTERS = {"displayname": "display_name"}
USER_FILTERS = {"username": "user_name"}


def _arn(center: IdentityCenter, kind: str, resource_id: str) -> str:
    return f"arn:{center.partition}:identitystore:::{kind}/{resource_id}"


@dataclass(frozen=True)
class _Principals:
    """Groups or users: their List, Get...Id, Describe and Delete calls differ only in these."""

    name: str  # Group or User: names the answers' keys (GroupId, GroupArn, Groups)
    filters: dict[str, str]  # the attribute paths of Filters and UniqueAttribute -> field
    stored: Callable[[IdentityCenter], dict[str, Any]]  # by id
    id_of: Callable[[Any], str]
    member: Callable[[Membership], str]  # the id of this kind a membership names
    extra: dict[str, str] = field(default_factory=dict)  # answered by Describe and List

    def ids(self, center: IdentityCenter, principal: Any) -> dict[str, Any]:
        principal_id = self.id_of(principal)
        return {"IdentityStoreId": center.identity_store_id, f"{self.name}Id": principal_id,
                f"{self.name}Arn": _arn(center, self.name.lower(), principal_id)}

    def document(self, center: IdentityCenter, principal: Any) -> dict[str, Any]:
        return {**principal.document(center.identity_store_id), **self.ids(center, principal),
                "Revision": "1", **self.extra}

    def find(self, center: IdentityCenter, principal_id: Any) -> Any:
        found = self.stored(center).get(str(principal_id).rsplit("/", 1)[-1])
        if found is None:
            raise _not_found(self.name.upper(), principal_id, self.name)
        return found

    def list(self, state: SandboxState, center: IdentityCenter,
             params: dict[str, Any]) -> dict[str, Any]:
        found = _filtered(list(self.stored(center).values()), params, self.filters)
        return paged(f"{self.name}s", found, params,
                     document=lambda principal: self.document(center, principal))

    def get_id(self, state: SandboxState, center: IdentityCenter,
               params: dict[str, Any]) -> dict[str, Any]:
        attribute, value = _unique_attribute(params, self.filters)
        found = next((p for p in self.stored(center).values()
                      if getattr(p, attribute) == value), None)
        if found is None:
            raise _not_found(self.name.upper(), value, self.name)
        return self.ids(center, found)

    def describe(self, state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
        return self.document(center, self.find(center, params[f"{self.name}Id"]))

    def memberships(self, center: IdentityCenter, params: dict[str, Any],
                    principal_id: Any) -> dict[str, Any]:
        """ListGroupMemberships (of a group), ListGroupMembershipsForMember (of a user)."""
        wanted = self.id_of(self.find(center, principal_id))
        found = [m for m in center.memberships.values() if self.member(m) == wanted]
        return paged("GroupMemberships", found, params,
                     document=lambda membership: _membership(center, membership))

    def delete(self, state: SandboxState, center: IdentityCenter,
               params: dict[str, Any]) -> dict[str, Any]:
        """DeleteGroup, DeleteUser: and the memberships that name it."""
        principal_id = self.id_of(self.find(center, params[f"{self.name}Id"]))
        del self.stored(center)[principal_id]
        for key in [k for k, m in center.memberships.items()
                    if self.member(m) == principal_id]:
            del center.memberships[key]
        return {}


_GROUPS = _Principals("Group", GROUP_FILTERS, lambda center: center.groups,
                      lambda group: group.group_id, lambda membership: membership.group_id)
_USERS = _Principals("User", USER_FILTERS, lambda center: center.users,
                     lambda user: user.user_id, lambda membership: membership.user_id,
                     extra={"UserStatus": "ENABLED"})


def _membership(center: IdentityCenter, membership: Membership) -> dict[str, Any]:
    return {**membership.document(center.identity_store_id),
            "MembershipArn": _arn(center, "membership", membership.membership_id)}


def _not_found(kind: str, resource_id: Any, what: str) -> SsoError:
    return SsoError("ResourceNotFoundException", f"{what} not found.", ResourceType=kind,
                    ResourceId=str(resource_id))


def _attribute(path: Any, allowed: dict[str, str], what: str) -> str:
    """The field an AttributePath names (case-insensitive), one of ``allowed``."""
    attribute = allowed.get(str(path).lower())
    if attribute is None:
        raise SsoError("ValidationException",
                       f"Invalid {what} attribute path {path}: expected "
                       f"{' or '.join(sorted(allowed))}.")
    return attribute


def _filtered(items: list[Any], params: dict[str, Any], allowed: dict[str, str]) -> list[Any]:
    filters = params.get("Filters") or []
    if len(filters) > 1:
        raise SsoError("ValidationException", "Only one filter is supported.")
    for item_filter in filters:
        attribute = _attribute(item_filter.get("AttributePath"), allowed, "filter")
        value = item_filter.get("AttributeValue")
        items = [i for i in items if getattr(i, attribute) == value]
    return items


def _unique_attribute(params: dict[str, Any], allowed: dict[str, str]) -> tuple[str, Any]:
    identifier = params.get("AlternateIdentifier") or {}
    if "ExternalId" in identifier:
        raise _not_found("IDENTITY_STORE", identifier["ExternalId"].get("Id"),
                         "No resource with this external id")
    unique = identifier.get("UniqueAttribute") or {}
    attribute = _attribute(unique.get("AttributePath"), allowed, "unique")
    return attribute, unique.get("AttributeValue")


def handle(state: SandboxState, center: IdentityCenter, caller_account: str, operation: str,
           params: dict[str, Any]) -> dict[str, Any]:
    """The response document of ``operation``; raises SsoError."""
    if caller_account != center.owner:
        raise SsoError("AccessDeniedException",
                       "User is not authorized to access this identity store: it belongs to "
                       "the organization's management account.")
    store = str(params.get("IdentityStoreId", "")).rsplit("/", 1)[-1]
    if store != center.identity_store_id:
        raise _not_found("IDENTITY_STORE", params.get("IdentityStoreId"), "Identity store")
    handler = _HANDLERS.get(operation)
    if handler is None:
        raise SsoError("ValidationException",
                       f"The sandbox does not implement identitystore:{operation}.")
    return handler(state, center, params)


def _list_memberships(state: SandboxState, center: IdentityCenter,
                      params: dict[str, Any]) -> dict[str, Any]:
    return _GROUPS.memberships(center, params, params["GroupId"])


def _list_memberships_for_member(state: SandboxState, center: IdentityCenter,
                                 params: dict[str, Any]) -> dict[str, Any]:
    user_id = (params.get("MemberId") or {}).get("UserId")
    if not user_id:
        raise SsoError("ValidationException", "MemberId must name a UserId.")
    return _USERS.memberships(center, params, user_id)


def _unique_name(params: dict[str, Any], member: str, named: Callable[[str], object],
                 what: str) -> str:
    """The request's ``member``, required, and taken by no other group (user)."""
    value = params.get(member)
    if not value:
        raise SsoError("ValidationException", f"{member} is required.")
    if named(str(value)) is not None:
        raise SsoError("ConflictException", f"Duplicate {what}",
                       Reason="UNIQUENESS_CONSTRAINT_VIOLATION")
    return str(value)


def _create_group(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    name = _unique_name(params, "DisplayName", center.group_named, "GroupDisplayName")
    group = center.add_group(name, params.get("Description"))
    return {**_GROUPS.ids(center, group), "Revision": "1"}


def _create_user(state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
    user_name = _unique_name(params, "UserName", center.user_named, "UserName")
    name = params.get("Name") or {}
    user = center.add_user(user_name, given_name=name.get("GivenName"),
                           family_name=name.get("FamilyName"),
                           display_name=params.get("DisplayName"),
                           emails=params.get("Emails") or [])
    return {**_USERS.ids(center, user), "Revision": "1"}


def _create_membership(state: SandboxState, center: IdentityCenter,
                       params: dict[str, Any]) -> dict[str, Any]:
    group = _GROUPS.find(center, params["GroupId"])
    user = _USERS.find(center, (params.get("MemberId") or {}).get("UserId"))
    if any(m.group_id == group.group_id and m.user_id == user.user_id
           for m in center.memberships.values()):
        raise SsoError("ConflictException", "Member already exists in group",
                       Reason="UNIQUENESS_CONSTRAINT_VIOLATION")
    membership = center.add_membership(group.group_id, user.user_id)
    return {"IdentityStoreId": center.identity_store_id,
            "MembershipId": membership.membership_id,
            "MembershipArn": _arn(center, "membership", membership.membership_id)}


def _delete_membership(state: SandboxState, center: IdentityCenter,
                       params: dict[str, Any]) -> dict[str, Any]:
    membership_id = str(params["MembershipId"]).rsplit("/", 1)[-1]
    if center.memberships.pop(membership_id, None) is None:
        raise _not_found("GROUP_MEMBERSHIP", params["MembershipId"], "Group membership")
    return {}


_HANDLERS = {
    "ListGroups": _GROUPS.list,
    "ListUsers": _USERS.list,
    "GetGroupId": _GROUPS.get_id,
    "GetUserId": _USERS.get_id,
    "DescribeGroup": _GROUPS.describe,
    "DescribeUser": _USERS.describe,
    "ListGroupMemberships": _list_memberships,
    "ListGroupMembershipsForMember": _list_memberships_for_member,
    "CreateGroup": _create_group,
    "CreateUser": _create_user,
    "CreateGroupMembership": _create_membership,
    "DeleteGroupMembership": _delete_membership,
    "DeleteGroup": _GROUPS.delete,
    "DeleteUser": _USERS.delete,
}
IMPLEMENTED = tuple(_HANDLERS)

__all__ = ["IMPLEMENTED", "handle"]
