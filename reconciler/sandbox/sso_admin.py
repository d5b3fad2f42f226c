"""The ``sso-admin`` API of the sandbox's IAM Identity Center (semantics: identity_center.py).

Each operation reads its parameters as botocore's model names them and answers in the model's
output shape (JSON 1.1, timestamps as epoch seconds); errors carry the model's codes. Model
constraints (lengths, patterns, enums: the permission set name, an ISO 8601 session duration, a
12-digit account id) are checked before a handler runs (constraints.py); what the model cannot
say is checked here: the session duration's range (1 to 12 hours, "Set session duration for AWS
accounts", IAM Identity Center User Guide), policy documents that are JSON, AWS managed policy
ARNs that exist, duplicates, quotas, and the instance and permission set being those of this
organization.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.identity_center import (
    MAX_ATTACHED_POLICIES,
    IdentityCenter,
    PermissionSet,
    Request,
    SsoError,
    deprovision,
    paged,
)
from reconciler.sandbox.state import SandboxState

MAX_TAGS = 50  # tags per permission set (API reference, TagResource: "Tags" 0-75; quotas: 50)
PERMISSION_SET_QUOTA = 2000  # permission sets per instance (IAM Identity Center quotas)
Params = dict[str, Any]  # a request's parameters, an answer's document
Handler = Callable[[SandboxState, IdentityCenter, Params], Params]
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
# ISO 8601 durations the service accepts: hours, minutes, seconds (a day is 24 hours)


def _duration_seconds(value: str) -> float | None:
    found = _DURATION.fullmatch(value)
    if found is None or value in ("P", "PT"):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def check_session_duration(value: str) -> None:
    seconds = _duration_seconds(value)
    if seconds is None:
        raise SsoError("ValidationException",
                       f"SessionDuration {value!r} is not a valid ISO-8601 duration.")
    if not 3600 <= seconds <= 12 * 3600:
        raise SsoError("ValidationException",
                       "The session duration must be between 1 and 12 hours (PT1H to PT12H).")


def _instance(center: IdentityCenter, params: dict[str, Any], *, required: bool = True) -> None:
    arn = params.get("InstanceArn")
    if arn is None and not required:
        return
    if arn != center.instance_arn:
        raise SsoError("AccessDeniedException",
                       "User is not authorized to perform this operation on this instance: "
                       f"{arn} is not an IAM Identity Center instance of this account.")


def _permission_set(center: IdentityCenter, arn: Any) -> PermissionSet:
    found = center.permission_sets.get(str(arn))
    if found is None:
        ps_id = str(arn).rsplit("/", 1)[-1]
        raise SsoError("ResourceNotFoundException",
                       f"Could not find PermissionSet with id {ps_id}")
    return found


def _busy(center: IdentityCenter, *, permission_set_arn: str, kind: str | None = None,
          key: tuple[str | None, ...] | None = None) -> bool:
    for request in center.in_progress():
        if request.permission_set_arn != permission_set_arn:
            continue
        if kind is not None and request.kind != kind:
            continue
        if key is not None and (request.target_id, request.principal_type,
                                request.principal_id) != key:
            continue
        return True
    return False


def _conflict(what: str) -> SsoError:
    return SsoError("ConflictException",
                    f"{what}: a previous request on this resource is still in progress. "
                    "Retry later.")


def _policy_document(text: Any) -> str:
    try:
        document = json.loads(str(text))
    except ValueError:
        raise SsoError("ValidationException",
                       "The inline policy is not a valid JSON policy document.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise SsoError("ValidationException",
                       "The inline policy is not a valid policy document: no Statement.")
    return str(text)


def _managed_policy_name(center: IdentityCenter, arn: str) -> str:
    """The name of an AWS managed policy, which must exist (moto's copy of AWS's list)."""
    documents = _managed_policies()
    name = arn.rsplit("/", 1)[-1]
    known = documents.get(name)
    expected = None
    if known is not None:
        expected = f"arn:{center.partition}:iam::aws:policy{known.get('path', '/')}{name}"
    if arn != expected:
        raise SsoError("ResourceNotFoundException",
                       f"Policy does not exist with ARN: {arn}")
    return name


_MANAGED: dict[str, Any] = {}


def _managed_policies() -> dict[str, Any]:
    if not _MANAGED:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        _MANAGED.update(json.loads(aws_managed_policies_data))
    return _MANAGED


def _changed(permission_set: PermissionSet) -> Params:
    """The (empty) answer of a call that changed the permission set: a new version, which
    provisioning must carry to the accounts."""
    permission_set.version += 1
    return {}


def _tags(params: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in params.get("Tags") or []}


def _check_tag_count(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise SsoError("ServiceQuotaExceededException",
                       f"A permission set can have at most {MAX_TAGS} tags.")


def _attached_count(permission_set: PermissionSet) -> int:
    return len(permission_set.managed) + len(permission_set.customer_managed)


def _reference(params: dict[str, Any]) -> tuple[str, str]:
    reference = params.get("CustomerManagedPolicyReference") or {}
    return str(reference.get("Name")), str(reference.get("Path") or "/")


def _new_request(state: SandboxState, center: IdentityCenter, kind: str, **fields: Any) -> Request:
    now = state.clock.time()
    request = Request(request_id=_request_id(center), kind=kind, created=now,
                      due=now + float(getattr(state.options, "sso_lag_s", 0.0)),
                      forced_failure=center.take_async_fault(kind), **fields)
    center.add_request(request)
    return request


def _request_id(center: IdentityCenter) -> str:
    digest = center.next_id("request")
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _request(center: IdentityCenter, request_id: Any, kind: str) -> Request:
    request = center.requests.get(str(request_id))
    if request is None or request.kind != kind:
        raise SsoError("ResourceNotFoundException",
                       f"Could not find request with id {request_id}")
    return request


@dataclass(frozen=True)
class _Requests:
    """One kind of asynchronous request and the names its calls use: the call that makes it
    and Describe...Status answer ``status_key``, Describe...Status takes ``id_param``,
    List...Status answers ``list_key``."""

    kind: str  # Request.kind
    id_param: str
    status_key: str
    list_key: str
    document: Callable[[Request], dict[str, Any]]

    def status(self, request: Request) -> Params:
        return {self.status_key: self.document(request)}

    def describe(self, state: SandboxState, center: IdentityCenter, params: Params) -> Params:
        """Describe...Status: the request named by ``id_param``, of this kind only."""
        return self.status(_request(center, params[self.id_param], self.kind))

    def list(self, state: SandboxState, center: IdentityCenter, params: Params) -> Params:
        """List...Status: the requests of this kind, filtered by ``Filter.Status``."""
        wanted = (params.get("Filter") or {}).get("Status")
        found = [r for r in center.requests.values()
                 if r.kind == self.kind and (wanted is None or r.status == wanted)]
        return paged(self.list_key, found, params, document=Request.summary)


_PROVISIONING = _Requests("provision", "ProvisionPermissionSetRequestId",
                          "PermissionSetProvisioningStatus", "PermissionSetsProvisioningStatus",
                          Request.provisioning_document)
_CREATION = _Requests("create", "AccountAssignmentCreationRequestId",
                      "AccountAssignmentCreationStatus", "AccountAssignmentsCreationStatus",
                      Request.assignment_document)
_DELETION = _Requests("delete", "AccountAssignmentDeletionRequestId",
                      "AccountAssignmentDeletionStatus", "AccountAssignmentsDeletionStatus",
                      Request.assignment_document)




def _provisioned(center: IdentityCenter, ps: PermissionSet, account_id: str,
                 status: str | None) -> bool:
    version = center.provisioned.get((ps.arn, account_id))
    if version is None:
        return False
    if status == "LATEST_PERMISSION_SET_PROVISIONED":
        return version == ps.version
    if status == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        return version != ps.version
    return True


def handle(state: SandboxState, center: IdentityCenter, caller_account: str, operation: str,
           params: dict[str, Any]) -> dict[str, Any]:
    """The response document of ``operation``; raises SsoError."""
    if operation == "ListInstances":
        mine = caller_account == center.owner
        return paged("Instances", [_instance_document(center)] if mine else [], params)
    if caller_account != center.owner:
        raise SsoError("AccessDeniedException",
                       "User is not authorized to perform this operation: the IAM Identity "
                       "Center instance of the organization belongs to its management account.")
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        _instance(center, params, required=False)
    else:
        _instance(center, params)
    handler = _HANDLERS.get(operation)
    if handler is None:
        raise SsoError("ValidationException",
                       f"The sandbox does not implement sso-admin:{operation}.")
    return handler(state, center, params)


# --- instance ------------------------------------------------------------------------------------

def _instance_document(center: IdentityCenter) -> dict[str, Any]:
    return {"InstanceArn": center.instance_arn, "IdentityStoreId": center.identity_store_id,
            "OwnerAccountId": center.owner, "CreatedDate": center.created, "Status": "ACTIVE"}


def _describe_instance(state: SandboxState, center: IdentityCenter,
                       params: dict[str, Any]) -> dict[str, Any]:
    return _instance_document(center)


# --- permission sets -----------------------------------------------------------------------------

def _create_permission_set(state: SandboxState, center: IdentityCenter,
                           params: dict[str, Any]) -> dict[str, Any]:
    name = str(params["Name"])
    if any(ps.name == name for ps in center.permission_sets.values()):
        raise SsoError("ConflictException", f"PermissionSet with name {name} already exists.")
    if len(center.permission_sets) >= PERMISSION_SET_QUOTA:
        raise SsoError("ServiceQuotaExceededException",
                       f"You have exceeded AWS SSO limits: at most {PERMISSION_SET_QUOTA} "
                       "permission sets per instance.")
    duration = params.get("SessionDuration")
    if duration is not None:
        check_session_duration(str(duration))
    tags = _tags(params)
    _check_tag_count(tags)
    instance_id = center.instance_arn.rsplit("/", 1)[-1]
    arn = (f"arn:{center.partition}:sso:::permissionSet/{instance_id}/"
           f"ps-{center.next_id('permission-set')[:16]}")
    permission_set = PermissionSet(
        arn=arn, name=name, created=state.clock.time(), description=params.get("Description"),
        session_duration=str(duration or "PT1H"), relay_state=params.get("RelayState"),
        tags=tags)
    center.permission_sets[arn] = permission_set
    return {"PermissionSet": permission_set.document()}


def _describe_permission_set(state: SandboxState, center: IdentityCenter,
                             params: dict[str, Any]) -> dict[str, Any]:
    return {"PermissionSet": _permission_set(center, params["PermissionSetArn"]).document()}


def _update_permission_set(state: SandboxState, center: IdentityCenter,
                           params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    duration = params.get("SessionDuration")
    if duration is not None:
        check_session_duration(str(duration))
        permission_set.session_duration = str(duration)
    if params.get("Description") is not None:
        permission_set.description = str(params["Description"])
    if params.get("RelayState") is not None:
        permission_set.relay_state = str(params["RelayState"])
    return _changed(permission_set)


def _delete_permission_set(state: SandboxState, center: IdentityCenter,
                           params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    if _busy(center, permission_set_arn=permission_set.arn):
        raise _conflict(f"Could not delete PermissionSet {permission_set.name}")
    if any(a[1] == permission_set.arn for a in center.assignments):
        raise SsoError("ConflictException",
                       "Could not delete because PermissionSet has ApplicationProfile "
                       "associated with it (account assignments).")
    for _ps, account_id in [k for k in center.provisioned if k[0] == permission_set.arn]:
        deprovision(center, permission_set.arn, account_id)
    del center.permission_sets[permission_set.arn]
    return {}


def _list_permission_sets(state: SandboxState, center: IdentityCenter,
                          params: dict[str, Any]) -> dict[str, Any]:
    return paged("PermissionSets", list(center.permission_sets), params)


# --- policies ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Policies:
    """A list of policies a permission set carries (AWS managed policy ARNs or customer managed
    policy references): its Attach, Detach and List calls differ only in these."""

    listed: Callable[[PermissionSet], list[Any]]
    read: Callable[[dict[str, Any]], Any]  # the request's policy
    check: Callable[[IdentityCenter, Any], object]  # before attaching: raises if it cannot be
    attached: Callable[[PermissionSet, Any], str]  # ConflictException: attached already
    missing: Callable[[Any], str]  # ResourceNotFoundException: detaching what is not there
    list_key: str
    document: Callable[[Any], dict[str, Any]]

    def attach(self, state: SandboxState, center: IdentityCenter, params: Params) -> Params:
        permission_set = _permission_set(center, params["PermissionSetArn"])
        policy = self.read(params)
        self.check(center, policy)
        listed = self.listed(permission_set)
        if policy in listed:
            raise SsoError("ConflictException", self.attached(permission_set, policy))
        if _attached_count(permission_set) >= MAX_ATTACHED_POLICIES:
            raise SsoError("ServiceQuotaExceededException",
                           "You have exceeded AWS SSO limits: at most "
                           f"{MAX_ATTACHED_POLICIES} managed policies per permission set.")
        listed.append(policy)
        return _changed(permission_set)

    def detach(self, state: SandboxState, center: IdentityCenter, params: Params) -> Params:
        permission_set = _permission_set(center, params["PermissionSetArn"])
        policy = self.read(params)
        listed = self.listed(permission_set)
        if policy not in listed:
            raise SsoError("ResourceNotFoundException", self.missing(policy))
        listed.remove(policy)
        return _changed(permission_set)

    def list(self, state: SandboxState, center: IdentityCenter, params: Params) -> Params:
        permission_set = _permission_set(center, params["PermissionSetArn"])
        return paged(self.list_key, self.listed(permission_set), params, document=self.document)


_MANAGED_POLICIES = _Policies(
    listed=lambda ps: ps.managed, read=lambda params: str(params["ManagedPolicyArn"]),
    check=_managed_policy_name,
    attached=lambda ps, arn: (f"Permission set with id {ps.arn.rsplit('/', 1)[-1]} already has "
                              f"a typed link attachment to a managed policy with {arn}"),
    missing=lambda arn: f"Could not find ManagedPolicy with arn {arn}",
    list_key="AttachedManagedPolicies",
    document=lambda arn: {"Name": arn.rsplit("/", 1)[-1], "Arn": arn})
_CUSTOMER_MANAGED_POLICIES = _Policies(
    listed=lambda ps: ps.customer_managed, read=_reference,
    check=lambda center, reference: None,
    attached=lambda ps, ref: (f"Given customer managed policy with name: {ref[0]} and path "
                              f"{ref[1]} already attached"),
    missing=lambda ref: (f"Given managed policy with name: {ref[0]} and path {ref[1]} does "
                         "not exist on PermissionSet"),
    list_key="CustomerManagedPolicyReferences",
    document=lambda ref: {"Name": ref[0], "Path": ref[1]})


def _put_inline(state: SandboxState, center: IdentityCenter,
                params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    permission_set.inline_policy = _policy_document(params["InlinePolicy"])
    return _changed(permission_set)


def _get_inline(state: SandboxState, center: IdentityCenter,
                params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    return {"InlinePolicy": permission_set.inline_policy}


def _delete_inline(state: SandboxState, center: IdentityCenter,
                   params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    if not permission_set.inline_policy:
        return {}
    permission_set.inline_policy = ""
    return _changed(permission_set)


def _put_boundary(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    boundary = params.get("PermissionsBoundary") or {}
    managed = boundary.get("ManagedPolicyArn")
    reference = boundary.get("CustomerManagedPolicyReference")
    if (managed is None) == (reference is None):
        raise SsoError("ValidationException",
                       "A permissions boundary is either ManagedPolicyArn or "
                       "CustomerManagedPolicyReference, exactly one of them.")
    if managed is not None:
        _managed_policy_name(center, str(managed))
        permission_set.boundary = {"ManagedPolicyArn": str(managed)}
    elif isinstance(reference, dict):
        permission_set.boundary = {"CustomerManagedPolicyReference": {
            "Name": str(reference["Name"]), "Path": str(reference.get("Path") or "/")}}
    return _changed(permission_set)


def _bounded(center: IdentityCenter, params: dict[str, Any]) -> PermissionSet:
    """The permission set of the request, which must have a permissions boundary."""
    permission_set = _permission_set(center, params["PermissionSetArn"])
    if permission_set.boundary is None:
        raise SsoError("ResourceNotFoundException",
                       "Could not find PermissionsBoundary for PermissionSet with id "
                       f"{permission_set.arn.rsplit('/', 1)[-1]}")
    return permission_set


def _get_boundary(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    boundary = _bounded(center, params).boundary
    return {"PermissionsBoundary": json.loads(json.dumps(boundary))}


def _delete_boundary(state: SandboxState, center: IdentityCenter,
                     params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _bounded(center, params)
    permission_set.boundary = None
    return _changed(permission_set)


# --- tags ----------------------------------------------------------------------------------------

def _tagged(center: IdentityCenter, params: dict[str, Any]) -> PermissionSet:
    return _permission_set(center, params["ResourceArn"])


def _tag_resource(state: SandboxState, center: IdentityCenter,
                  params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _tagged(center, params)
    tags = {**permission_set.tags, **_tags(params)}
    _check_tag_count(tags)
    permission_set.tags = tags
    return {}


def _untag_resource(state: SandboxState, center: IdentityCenter,
                    params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _tagged(center, params)
    for key in params.get("TagKeys") or []:
        permission_set.tags.pop(str(key), None)
    return {}


def _list_tags(state: SandboxState, center: IdentityCenter,
               params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _tagged(center, params)
    return paged("Tags", sorted(permission_set.tags.items()), params, default=50,
                 document=lambda tag: {"Key": tag[0], "Value": tag[1]})


# --- provisioning --------------------------------------------------------------------------------

def _provision(state: SandboxState, center: IdentityCenter,
               params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    target_type = params.get("TargetType")
    target = params.get("TargetId")
    if target_type == "AWS_ACCOUNT":
        if not target:
            raise SsoError("ValidationException",
                           "TargetId is required when TargetType is AWS_ACCOUNT.")
        accounts: tuple[str, ...] = (str(target),)
    else:
        if target:
            raise SsoError("ValidationException",
                           "TargetId must not be given when TargetType is "
                           "ALL_PROVISIONED_ACCOUNTS.")
        accounts = tuple(sorted(a for ps, a in center.provisioned if ps == permission_set.arn))
    for request in center.in_progress():
        if request.kind == "provision" and request.permission_set_arn == permission_set.arn \
                and (request.target_id is None or target is None
                     or request.target_id == target):
            raise _conflict(f"Could not provision PermissionSet {permission_set.name}")
    request = _new_request(state, center, _PROVISIONING.kind, permission_set_arn=permission_set.arn,
                           target_id=str(target) if target else None, accounts=accounts,
                           version=permission_set.version)
    return _PROVISIONING.status(request)


def _provisioned_to_account(state: SandboxState, center: IdentityCenter,
                            params: dict[str, Any]) -> dict[str, Any]:
    account_id = str(params["AccountId"])
    status = params.get("ProvisioningStatus")
    arns = [ps.arn for ps in center.permission_sets.values()
            if _provisioned(center, ps, account_id, status)]
    return paged("PermissionSets", arns, params)


def _accounts_for_permission_set(state: SandboxState, center: IdentityCenter,
                                 params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    status = params.get("ProvisioningStatus")
    accounts = sorted({a for ps, a in center.provisioned if ps == permission_set.arn
                       and _provisioned(center, permission_set, a, status)})
    return paged("AccountIds", accounts, params)


# --- assignments ---------------------------------------------------------------------------------

def _assignment_change(requests: _Requests) -> Handler:
    """CreateAccountAssignment, DeleteAccountAssignment: an asynchronous request, refused while
    another on the same assignment is in progress."""
    def change(state: SandboxState, center: IdentityCenter,
               params: dict[str, Any]) -> dict[str, Any]:
        permission_set = _permission_set(center, params["PermissionSetArn"])
        key = (str(params["TargetId"]), str(params["PrincipalType"]),
               str(params["PrincipalId"]))
        if _busy(center, permission_set_arn=permission_set.arn, key=key):
            raise _conflict("Could not change the account assignment")
        request = _new_request(state, center, requests.kind,
                               permission_set_arn=permission_set.arn, target_id=key[0],
                               principal_type=key[1], principal_id=key[2])
        return requests.status(request)
    return change


def _assignment_document(key: tuple[str, str, str, str]) -> dict[str, Any]:
    return {"AccountId": key[0], "PermissionSetArn": key[1], "PrincipalType": key[2],
            "PrincipalId": key[3]}


def _list_assignments(state: SandboxState, center: IdentityCenter,
                      params: dict[str, Any]) -> dict[str, Any]:
    permission_set = _permission_set(center, params["PermissionSetArn"])
    account_id = str(params["AccountId"])
    keys = [k for k in center.assignments if k[0] == account_id and k[1] == permission_set.arn]
    return paged("AccountAssignments", keys, params, document=_assignment_document)


def _list_assignments_for_principal(state: SandboxState, center: IdentityCenter,
                                    params: dict[str, Any]) -> dict[str, Any]:
    account_id = (params.get("Filter") or {}).get("AccountId")
    keys = [k for k in center.assignments
            if k[2] == params["PrincipalType"] and k[3] == params["PrincipalId"]
            and (account_id is None or k[0] == account_id)]
    return paged("AccountAssignments", keys, params, document=_assignment_document)


_HANDLERS: dict[str, Handler] = {
    "DescribeInstance": _describe_instance,
    "CreatePermissionSet": _create_permission_set,
    "DescribePermissionSet": _describe_permission_set,
    "UpdatePermissionSet": _update_permission_set,
    "DeletePermissionSet": _delete_permission_set,
    "ListPermissionSets": _list_permission_sets,
    "AttachManagedPolicyToPermissionSet": _MANAGED_POLICIES.attach,
    "DetachManagedPolicyFromPermissionSet": _MANAGED_POLICIES.detach,
    "ListManagedPoliciesInPermissionSet": _MANAGED_POLICIES.list,
    "AttachCustomerManagedPolicyReferenceToPermissionSet": _CUSTOMER_MANAGED_POLICIES.attach,
    "DetachCustomerManagedPolicyReferenceFromPermissionSet": _CUSTOMER_MANAGED_POLICIES.detach,
    "ListCustomerManagedPolicyReferencesInPermissionSet": _CUSTOMER_MANAGED_POLICIES.list,
    "PutInlinePolicyToPermissionSet": _put_inline,
    "GetInlinePolicyForPermissionSet": _get_inline,
    "DeleteInlinePolicyFromPermissionSet": _delete_inline,
    "PutPermissionsBoundaryToPermissionSet": _put_boundary,
    "GetPermissionsBoundaryForPermissionSet": _get_boundary,
    "DeletePermissionsBoundaryFromPermissionSet": _delete_boundary,
    "TagResource": _tag_resource,
    "UntagResource": _untag_resource,
    "ListTagsForResource": _list_tags,
    "ProvisionPermissionSet": _provision,
    "DescribePermissionSetProvisioningStatus": _PROVISIONING.describe,
    "ListPermissionSetProvisioningStatus": _PROVISIONING.list,
    "ListPermissionSetsProvisionedToAccount": _provisioned_to_account,
    "ListAccountsForProvisionedPermissionSet": _accounts_for_permission_set,
    "CreateAccountAssignment": _assignment_change(_CREATION),
    "DeleteAccountAssignment": _assignment_change(_DELETION),
    "DescribeAccountAssignmentCreationStatus": _CREATION.describe,
    "DescribeAccountAssignmentDeletionStatus": _DELETION.describe,
    "ListAccountAssignmentCreationStatus": _CREATION.list,
    "ListAccountAssignmentDeletionStatus": _DELETION.list,
    "ListAccountAssignments": _list_assignments,
    "ListAccountAssignmentsForPrincipal": _list_assignments_for_principal,
}
IMPLEMENTED = ("ListInstances", *_HANDLERS)

__all__ = ["IMPLEMENTED", "SsoError", "check_session_duration", "handle"]
