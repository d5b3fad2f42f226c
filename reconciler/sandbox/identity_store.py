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

from typing import Any

from reconciler.sandbox.identity_center import (
    Group,
    IdentityCenter,
    Membership,
    SsoError,
    User,
    page,
)
from reconciler.sandbox.state import SandboxState

GROUP_FILTERS = {"displayname": "display_name"}
USER_FILTERS = {"username": "user_name"}


def _arn(center: IdentityCenter, kind: str, resource_id: str) -> str:
    return f"arn:{center.partition}:identitystore:::{kind}/{resource_id}"


def _group(center: IdentityCenter, group: Group) -> dict[str, Any]:
    return {**group.document(center.identity_store_id),
            "GroupArn": _arn(center, "group", group.group_id), "Revision": "1"}


def _user(center: IdentityCenter, user: User) -> dict[str, Any]:
    return {**user.document(center.identity_store_id),
            "UserArn": _arn(center, "user", user.user_id), "Revision": "1",
            "UserStatus": "ENABLED"}


def _membership(center: IdentityCenter, membership: Membership) -> dict[str, Any]:
    return {**membership.document(center.identity_store_id),
            "MembershipArn": _arn(center, "membership", membership.membership_id)}


def _not_found(kind: str, resource_id: Any, what: str) -> SsoError:
    return SsoError("ResourceNotFoundException", f"{what} not found.", ResourceType=kind,
                    ResourceId=str(resource_id))


def _find_group(center: IdentityCenter, group_id: Any) -> Group:
    group = center.groups.get(str(group_id).rsplit("/", 1)[-1])
    if group is None:
        raise _not_found("GROUP", group_id, "Group")
    return group


def _find_user(center: IdentityCenter, user_id: Any) -> User:
    user = center.users.get(str(user_id).rsplit("/", 1)[-1])
    if user is None:
        raise _not_found("USER", user_id, "User")
    return user


def _filtered(items: list[Any], params: dict[str, Any], allowed: dict[str, str]) -> list[Any]:
    filters = params.get("Filters") or []
    if len(filters) > 1:
        raise SsoError("ValidationException", "Only one filter is supported.")
    for item_filter in filters:
        path = str(item_filter.get("AttributePath"))
        attribute = allowed.get(path.lower())
        if attribute is None:
            raise SsoError("ValidationException",
                           f"Invalid filter attribute path {path}: expected "
                           f"{' or '.join(sorted(allowed))}.")
        value = item_filter.get("AttributeValue")
        items = [i for i in items if getattr(i, attribute) == value]
    return items


def _unique_attribute(params: dict[str, Any], allowed: dict[str, str]) -> tuple[str, Any]:
    identifier = params.get("AlternateIdentifier") or {}
    if "ExternalId" in identifier:
        raise _not_found("IDENTITY_STORE", identifier["ExternalId"].get("Id"),
                         "No resource with this external id")
    unique = identifier.get("UniqueAttribute") or {}
    path = str(unique.get("AttributePath"))
    attribute = allowed.get(path.lower())
    if attribute is None:
        raise SsoError("ValidationException",
                       f"Invalid unique attribute path {path}: expected "
                       f"{' or '.join(sorted(allowed))}.")
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


def _with_token(document: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        document["NextToken"] = token
    return document


def _list_groups(state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
    groups = _filtered(list(center.groups.values()), params, GROUP_FILTERS)
    items, token = page(groups, params)
    return _with_token({"Groups": [_group(center, g) for g in items]}, token)


def _list_users(state: SandboxState, center: IdentityCenter,
                params: dict[str, Any]) -> dict[str, Any]:
    users = _filtered(list(center.users.values()), params, USER_FILTERS)
    items, token = page(users, params)
    return _with_token({"Users": [_user(center, u) for u in items]}, token)


def _get_group_id(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    attribute, value = _unique_attribute(params, GROUP_FILTERS)
    group = next((g for g in center.groups.values() if getattr(g, attribute) == value), None)
    if group is None:
        raise _not_found("GROUP", value, "Group")
    return {"IdentityStoreId": center.identity_store_id, "GroupId": group.group_id,
            "GroupArn": _arn(center, "group", group.group_id)}


def _get_user_id(state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
    attribute, value = _unique_attribute(params, USER_FILTERS)
    user = next((u for u in center.users.values() if getattr(u, attribute) == value), None)
    if user is None:
        raise _not_found("USER", value, "User")
    return {"IdentityStoreId": center.identity_store_id, "UserId": user.user_id,
            "UserArn": _arn(center, "user", user.user_id)}


def _describe_group(state: SandboxState, center: IdentityCenter,
                    params: dict[str, Any]) -> dict[str, Any]:
    return _group(center, _find_group(center, params["GroupId"]))


def _describe_user(state: SandboxState, center: IdentityCenter,
                   params: dict[str, Any]) -> dict[str, Any]:
    return _user(center, _find_user(center, params["UserId"]))


def _list_memberships(state: SandboxState, center: IdentityCenter,
                      params: dict[str, Any]) -> dict[str, Any]:
    group = _find_group(center, params["GroupId"])
    memberships = [m for m in center.memberships.values() if m.group_id == group.group_id]
    items, token = page(memberships, params)
    return _with_token({"GroupMemberships": [_membership(center, m) for m in items]}, token)


def _list_memberships_for_member(state: SandboxState, center: IdentityCenter,
                                 params: dict[str, Any]) -> dict[str, Any]:
    user_id = (params.get("MemberId") or {}).get("UserId")
    if not user_id:
        raise SsoError("ValidationException", "MemberId must name a UserId.")
    user = _find_user(center, user_id)
    memberships = [m for m in center.memberships.values() if m.user_id == user.user_id]
    items, token = page(memberships, params)
    return _with_token({"GroupMemberships": [_membership(center, m) for m in items]}, token)


def _create_group(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("DisplayName")
    if not name:
        raise SsoError("ValidationException", "DisplayName is required.")
    if center.group_named(str(name)) is not None:
        raise SsoError("ConflictException", "Duplicate GroupDisplayName",
                       Reason="UNIQUENESS_CONSTRAINT_VIOLATION")
    group = center.add_group(str(name), params.get("Description"))
    return {"IdentityStoreId": center.identity_store_id, "GroupId": group.group_id,
            "GroupArn": _arn(center, "group", group.group_id), "Revision": "1"}


def _create_user(state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
    user_name = params.get("UserName")
    if not user_name:
        raise SsoError("ValidationException", "UserName is required.")
    if center.user_named(str(user_name)) is not None:
        raise SsoError("ConflictException", "Duplicate UserName",
                       Reason="UNIQUENESS_CONSTRAINT_VIOLATION")
    name = params.get("Name") or {}
    user = center.add_user(str(user_name), given_name=name.get("GivenName"),
                           family_name=name.get("FamilyName"),
                           display_name=params.get("DisplayName"),
                           emails=params.get("Emails") or [])
    return {"IdentityStoreId": center.identity_store_id, "UserId": user.user_id,
            "UserArn": _arn(center, "user", user.user_id), "Revision": "1"}


def _create_membership(state: SandboxState, center: IdentityCenter,
                       params: dict[str, Any]) -> dict[str, Any]:
    group = _find_group(center, params["GroupId"])
    user = _find_user(center, (params.get("MemberId") or {}).get("UserId"))
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


def _delete_group(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    group = _find_group(center, params["GroupId"])
    del center.groups[group.group_id]
    for key in [k for k, m in center.memberships.items() if m.group_id == group.group_id]:
        del center.memberships[key]
    return {}


def _delete_user(state: SandboxState, center: IdentityCenter,
                 params: dict[str, Any]) -> dict[str, Any]:
    user = _find_user(center, params["UserId"])
    del center.users[user.user_id]
    for key in [k for k, m in center.memberships.items() if m.user_id == user.user_id]:
        del center.memberships[key]
    return {}


_HANDLERS = {
    "ListGroups": _list_groups,
    "ListUsers": _list_users,
    "GetGroupId": _get_group_id,
    "GetUserId": _get_user_id,
    "DescribeGroup": _describe_group,
    "DescribeUser": _describe_user,
    "ListGroupMemberships": _list_memberships,
    "ListGroupMembershipsForMember": _list_memberships_for_member,
    "CreateGroup": _create_group,
    "CreateUser": _create_user,
    "CreateGroupMembership": _create_membership,
    "DeleteGroupMembership": _delete_membership,
    "DeleteGroup": _delete_group,
    "DeleteUser": _delete_user,
}
IMPLEMENTED = tuple(_HANDLERS)

__all__ = ["IMPLEMENTED", "handle"]
