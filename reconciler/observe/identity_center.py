"""Reading IAM Identity Center: the instance, its permission sets, assignments and principals.

Read only when the file has an ``identity_center:`` section, with the management account's
credentials. Assignments are listed per (account, permission set) pair by AWS
(ListAccountAssignments needs both), so they are read only where a permission set is provisioned
(ListAccountsForProvisionedPermissionSet): an assignment provisions its permission set to its
account ("As part of a successful CreateAccountAssignment call, the specified permission set will
automatically be provisioned to the account", sso-admin API reference, CreateAccountAssignment).
The same listing, filtered on LATEST_PERMISSION_SET_NOT_PROVISIONED, tells which accounts still
hold an older version of a set (an update whose provisioning did not finish).

Requests still IN_PROGRESS (ListAccountAssignmentCreationStatus/DeletionStatus) are read too: a
re-run after a crash follows them instead of making a second request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from reconciler.aws import Aws, Client, paginate
from reconciler.errors import NotFound
from reconciler.model import DesiredState
from reconciler.observed import (
    IdentityCenterRequest,
    ObservedAssignment,
    ObservedIdentityCenter,
    ObservedPermissionSet,
    ObservedPrincipal,
    ObservedState,
)

# IAM actions of the sso-admin API are "sso:...", of the identity store "identitystore:..."
# (Service Authorization Reference, "Actions defined by AWS IAM Identity Center").
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "sso:ListInstances", "sso:ListPermissionSets", "sso:DescribePermissionSet",
        "sso:ListManagedPoliciesInPermissionSet",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
        "sso:GetInlinePolicyForPermissionSet", "sso:GetPermissionsBoundaryForPermissionSet",
        "sso:ListAccountsForProvisionedPermissionSet", "sso:ListAccountAssignments",
        "sso:ListAccountAssignmentCreationStatus", "sso:DescribeAccountAssignmentCreationStatus",
        "sso:ListAccountAssignmentDeletionStatus", "sso:DescribeAccountAssignmentDeletionStatus",
        "identitystore:ListGroups", "identitystore:GetUserId", "identitystore:DescribeUser",
        "identitystore:DescribeGroup",
        # orgsync access: the members of the groups the file assigns
        "identitystore:ListGroupMemberships",
        # orgsync profiles --format sso --user: the user's groups
        "identitystore:ListGroupMembershipsForMember",
    ),
}

NO_INSTANCE = ("no IAM Identity Center instance is enabled for this organization (enable IAM "
               "Identity Center in the management account's console, then plan again)")


def find_instance(sso: Client, *, pinned: str | None) -> tuple[str | None, str | None, str | None]:
    """(instance ARN, identity store id, why there is none)."""
    instances = list(paginate(sso, "list_instances", "Instances"))
    if pinned is not None:
        for instance in instances:
            if instance["InstanceArn"] == pinned:
                return pinned, instance.get("IdentityStoreId"), None
        found = ", ".join(i["InstanceArn"] for i in instances) or "none"
        return None, None, (f"instance {pinned} (identity_center.instance_arn) is not among this "
                            f"account's instances ({found})")
    if not instances:
        return None, None, NO_INSTANCE
    if len(instances) > 1:
        arns = ", ".join(i["InstanceArn"] for i in instances)
        return None, None, (f"several IAM Identity Center instances ({arns}): name one with "
                            "identity_center.instance_arn")
    return instances[0]["InstanceArn"], instances[0].get("IdentityStoreId"), None


def _decode(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return {"unparsed": text}
    return document if isinstance(document, dict) else {"unparsed": text}


def read_boundary(sso: Client, *, instance_arn: str, arn: str) -> dict[str, str] | None:
    """The permissions boundary of a permission set (None: it has none: AWS answers
    ResourceNotFoundException, GetPermissionsBoundaryForPermissionSet reference)."""
    try:
        found = sso.get_permissions_boundary_for_permission_set(
            InstanceArn=instance_arn, PermissionSetArn=arn).get("PermissionsBoundary") or {}
    except NotFound:
        return None
    if found.get("ManagedPolicyArn"):
        return {"managed_policy_arn": found["ManagedPolicyArn"]}
    reference = found.get("CustomerManagedPolicyReference")
    if reference:
        return {"name": reference["Name"], "path": reference.get("Path") or "/"}
    return None


def read_permission_set(sso: Client, *, instance_arn: str, arn: str) -> ObservedPermissionSet:
    described = sso.describe_permission_set(InstanceArn=instance_arn,
                                            PermissionSetArn=arn)["PermissionSet"]
    managed = paginate(sso, "list_managed_policies_in_permission_set", "AttachedManagedPolicies",
                       InstanceArn=instance_arn, PermissionSetArn=arn)
    customer = paginate(sso, "list_customer_managed_policy_references_in_permission_set",
                        "CustomerManagedPolicyReferences", InstanceArn=instance_arn,
                        PermissionSetArn=arn)
    inline = sso.get_inline_policy_for_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=arn).get("InlinePolicy")
    provisioned = paginate(sso, "list_accounts_for_provisioned_permission_set", "AccountIds",
                           InstanceArn=instance_arn, PermissionSetArn=arn)
    outdated = paginate(sso, "list_accounts_for_provisioned_permission_set", "AccountIds",
                        InstanceArn=instance_arn, PermissionSetArn=arn,
                        ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED")
    return ObservedPermissionSet(
        arn=arn,
        name=described["Name"],
        description=described.get("Description") or None,
        session_duration=described.get("SessionDuration") or None,
        relay_state=described.get("RelayState") or None,
        managed_policies=tuple(sorted(p["Arn"] for p in managed)),
        customer_managed_policies=tuple(sorted(
            ((r["Name"], r.get("Path") or "/") for r in customer), key=lambda r: (r[1], r[0]))),
        inline_policy=_decode(inline),
        permissions_boundary=read_boundary(sso, instance_arn=instance_arn, arn=arn),
        provisioned_accounts=tuple(sorted(set(provisioned))),
        outdated_accounts=tuple(sorted(set(outdated))),
    )


def read_assignments(sso: Client, *, instance_arn: str, permission_set_arn: str,
                     account_id: str) -> list[ObservedAssignment]:
    return [ObservedAssignment(account_id=str(a["AccountId"]),
                               permission_set_arn=str(a["PermissionSetArn"]),
                               principal_type=str(a["PrincipalType"]),
                               principal_id=str(a["PrincipalId"]))
            for a in paginate(sso, "list_account_assignments", "AccountAssignments",
                              InstanceArn=instance_arn, AccountId=account_id,
                              PermissionSetArn=permission_set_arn)]


def read_requests(sso: Client, *, instance_arn: str) -> list[IdentityCenterRequest]:
    """Assignment creation and deletion requests still IN_PROGRESS, described."""
    found: list[IdentityCenterRequest] = []
    for operation, lister, describer, key in (
            ("create", "list_account_assignment_creation_status",
             "describe_account_assignment_creation_status", "AccountAssignmentCreationStatus"),
            ("delete", "list_account_assignment_deletion_status",
             "describe_account_assignment_deletion_status", "AccountAssignmentDeletionStatus")):
        listed = paginate(sso, lister, "AccountAssignmentsCreationStatus"
                          if operation == "create" else "AccountAssignmentsDeletionStatus",
                          InstanceArn=instance_arn, Filter={"Status": "IN_PROGRESS"})
        for item in listed:
            status = getattr(sso, describer)(
                InstanceArn=instance_arn,
                **{"AccountAssignmentCreationRequestId" if operation == "create"
                   else "AccountAssignmentDeletionRequestId": item["RequestId"]})[key]
            if status.get("Status") != "IN_PROGRESS":
                continue
            found.append(IdentityCenterRequest(
                operation=operation, request_id=str(status["RequestId"]),
                status=str(status["Status"]), account_id=str(status.get("TargetId", "")),
                permission_set_arn=str(status.get("PermissionSetArn", "")),
                principal_type=str(status.get("PrincipalType", "")),
                principal_id=str(status.get("PrincipalId", ""))))
    return sorted(found, key=lambda r: r.request_id)


def user_id(store: Client, *, identity_store_id: str, user_name: str) -> str | None:
    try:
        found = store.get_user_id(IdentityStoreId=identity_store_id, AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": user_name}})
    except NotFound:
        return None
    return str(found["UserId"])


def read_principals(store: Client, *, identity_store_id: str, user_names: Iterable[str],
                    assigned: Iterable[tuple[str, str]]) -> list[ObservedPrincipal]:
    """Every group (display names are what the file writes), the users the file names, and the
    principals of existing assignments (for unmanaged reports and export)."""
    principals = {("GROUP", str(g["GroupId"])): ObservedPrincipal(
        "GROUP", str(g["GroupId"]), str(g.get("DisplayName") or g["GroupId"]))
        for g in paginate(store, "list_groups", "Groups", IdentityStoreId=identity_store_id)}
    for name in sorted(set(user_names)):
        found = user_id(store, identity_store_id=identity_store_id, user_name=name)
        if found is not None:
            principals[("USER", found)] = ObservedPrincipal("USER", found, name)
    for kind, principal_id in sorted(set(assigned)):
        if (kind, principal_id) in principals:
            continue
        try:
            if kind == "USER":
                user = store.describe_user(IdentityStoreId=identity_store_id, UserId=principal_id)
                principals[(kind, principal_id)] = ObservedPrincipal(
                    kind, principal_id, str(user.get("UserName") or principal_id))
            else:
                group = store.describe_group(IdentityStoreId=identity_store_id,
                                             GroupId=principal_id)
                principals[(kind, principal_id)] = ObservedPrincipal(
                    kind, principal_id, str(group.get("DisplayName") or principal_id))
        except NotFound:
            continue  # deleted from the identity source: the assignment shows its id
    return sorted(principals.values(), key=lambda p: (p.type, p.name, p.id))


def read_group_members(store: Client, *, identity_store_id: str,
                       group_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The user names of each group's members (group id -> sorted names), for ``orgsync
    access``; a member whose user cannot be described shows its user id."""
    names: dict[str, str] = {}
    members: dict[str, tuple[str, ...]] = {}
    for group_id in sorted(set(group_ids)):
        found = []
        for membership in paginate(store, "list_group_memberships", "GroupMemberships",
                                   IdentityStoreId=identity_store_id, GroupId=group_id):
            member = str((membership.get("MemberId") or {}).get("UserId") or "")
            if not member:
                continue
            if member not in names:
                try:
                    user = store.describe_user(IdentityStoreId=identity_store_id,
                                               UserId=member)
                    names[member] = str(user.get("UserName") or member)
                except NotFound:
                    names[member] = member
            found.append(names[member])
        members[group_id] = tuple(sorted(found))
    return members


def read_identity_center(desired: DesiredState, aws: Aws, *,
                         parallelism: int = 10) -> ObservedIdentityCenter | None:
    """The Identity Center picture the planner needs (None: the file has no such section)."""
    spec = desired.identity_center
    if spec is None:
        return None
    sso = aws.client("sso-admin")
    instance_arn, store_id, error = find_instance(sso, pinned=spec.instance_arn)
    if instance_arn is None or store_id is None:
        return ObservedIdentityCenter(instance_arn=None, error=error or NO_INSTANCE)
    arns = sorted(paginate(sso, "list_permission_sets", "PermissionSets",
                           InstanceArn=instance_arn))
    with ThreadPoolExecutor(max_workers=max(1, parallelism),
                            thread_name_prefix="orgsync-sso") as pool:
        sets = list(pool.map(lambda arn: read_permission_set(
            sso, instance_arn=instance_arn, arn=arn), arns))
        pairs = [(p.arn, account_id) for p in sets for account_id in p.provisioned_accounts]
        listed = list(pool.map(lambda pair: read_assignments(
            sso, instance_arn=instance_arn, permission_set_arn=pair[0], account_id=pair[1]),
            pairs))
    assignments = sorted({a for batch in listed for a in batch},
                         key=lambda a: (a.account_id, a.permission_set_arn, a.principal_type,
                                        a.principal_id))
    requests = read_requests(sso, instance_arn=instance_arn)
    users = [a.principal for a in spec.assignments if a.principal_type == "USER"]
    principals = read_principals(
        aws.client("identitystore"), identity_store_id=store_id, user_names=users,
        assigned=[(a.principal_type, a.principal_id) for a in assignments])
    return ObservedIdentityCenter(
        instance_arn=instance_arn, identity_store_id=store_id,
        permission_sets=tuple(sorted(sets, key=lambda p: p.name)),
        assignments=tuple(assignments), principals=tuple(principals),
        requests=tuple(requests))


def reader(desired: DesiredState, aws: Aws, observed: ObservedState) -> ObservedState:
    """The kind registry's reader (``reconciler.kinds``): the instance, when the file has the
    section and the management account's credentials run the read."""
    if desired.identity_center is None or observed.delegated_runner:
        return observed
    return replace(observed, identity_center=read_identity_center(desired, aws))
