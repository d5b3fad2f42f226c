"""Applies ``permission_set`` and ``assignment`` changes (IAM Identity Center).

Every step ensures its after-state from a fresh read, so a re-run after a crash converges:

- a permission set is found by name (a crash after CreatePermissionSet leaves one to update, not a
  second to create); each attribute the change's ``after`` holds is compared with AWS and only
  what differs is written; then, when anything was written or an account still holds an older
  version, the set is provisioned to every account it is provisioned to
  (``ProvisionPermissionSet`` with ``ALL_PROVISIONED_ACCOUNTS``: AWS does not update the
  accounts' roles by itself, sso-admin API reference, CreateAccountAssignment), following the
  request to its end;
- an assignment request of an earlier run still IN_PROGRESS (the plan's ``before`` names it) is
  followed (never a second request);
  an assignment that exists already is done; otherwise CreateAccountAssignment /
  DeleteAccountAssignment, and the request's status is followed to SUCCEEDED or FAILED (AWS's
  ``FailureReason`` is the step's error).

ConflictException ("a conflict with a previous successful write ... the previous write did not
have time to propagate", sso-admin API reference, common to every write) is retried with backoff.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, cast

from reconciler import policy
from reconciler.afters import AssignmentAfter, AssignmentRequest, PermissionSetAfter
from reconciler.apply.kit import StepContext, StepFailed, backoff
from reconciler.aws import Client, paginate
from reconciler.errors import AwsError, NotFound
from reconciler.model import canonical_duration
from reconciler.observe.identity_center import read_boundary, read_permission_set
from reconciler.observed import ObservedPermissionSet
from reconciler.plan import Action, Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "sso:ListPermissionSets", "sso:DescribePermissionSet", "sso:CreatePermissionSet",
        "sso:UpdatePermissionSet", "sso:DeletePermissionSet",
        "sso:AttachManagedPolicyToPermissionSet", "sso:DetachManagedPolicyFromPermissionSet",
        "sso:ListManagedPoliciesInPermissionSet",
        "sso:AttachCustomerManagedPolicyReferenceToPermissionSet",
        "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
        "sso:GetInlinePolicyForPermissionSet", "sso:PutInlinePolicyToPermissionSet",
        "sso:DeleteInlinePolicyFromPermissionSet",
        "sso:GetPermissionsBoundaryForPermissionSet", "sso:PutPermissionsBoundaryToPermissionSet",
        "sso:DeletePermissionsBoundaryFromPermissionSet",
        "sso:ListAccountsForProvisionedPermissionSet", "sso:ProvisionPermissionSet",
        "sso:DescribePermissionSetProvisioningStatus", "sso:ListPermissionSetProvisioningStatus",
        "sso:ListAccountAssignments", "sso:CreateAccountAssignment",
        "sso:DeleteAccountAssignment", "sso:DescribeAccountAssignmentCreationStatus",
        "sso:DescribeAccountAssignmentDeletionStatus",
        "sso:ListAccountAssignmentCreationStatus", "sso:ListAccountAssignmentDeletionStatus",
    ),
}

# How long one Identity Center request may stay IN_PROGRESS before the step gives up (AWS
# documents no bound; provisioning to many accounts takes minutes).
REQUEST_TIMEOUT_S = 15 * 60.0
CONFLICT_WAIT_S = 60.0


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.kind == "permission_set":
        if change.action in (Action.CREATE, Action.UPDATE):
            return _ensure_permission_set(change, ctx)
        if change.action is Action.DELETE:
            return _delete_permission_set(change, ctx)
    if change.kind == "assignment":
        if change.action is Action.CREATE:
            return _ensure_assignment(change, ctx)
        if change.action is Action.DELETE:
            return _remove_assignment(change, ctx)
    raise StepFailed(f"{change.kind} changes cannot be {change.action.value}")


def _retrying(ctx: StepContext, call: Callable[..., dict[str, Any]], **kwargs: Any
              ) -> dict[str, Any]:
    """``call(**kwargs)``, retried while AWS answers ConflictException."""
    deadline = time.monotonic() + CONFLICT_WAIT_S
    delays = backoff(0.5, 5.0, 2.0)
    while True:
        try:
            return call(**kwargs)
        except AwsError as error:
            if error.code != "ConflictException" or time.monotonic() > deadline:
                raise
            ctx.sleep(next(delays))


def find_permission_set(sso: Client, *, instance_arn: str, name: str) -> str | None:
    """The ARN of the permission set called ``name`` (None: there is none)."""
    for arn in paginate(sso, "list_permission_sets", "PermissionSets", InstanceArn=instance_arn):
        described = sso.describe_permission_set(InstanceArn=instance_arn,
                                                PermissionSetArn=arn)["PermissionSet"]
        if described.get("Name") == name:
            return str(arn)
    return None


def _known(ctx: StepContext) -> dict[str, str]:
    """Permission set ARNs by name that this run has found or made."""
    return ctx.listing("identity_center.permission_sets", dict[str, str])


def _permission_set_arn(ctx: StepContext, sso: Client, *, instance_arn: str,
                        name: str) -> str | None:
    """By name, once per run (then from the run's own record)."""
    known = _known(ctx)
    if name not in known:
        found = find_permission_set(sso, instance_arn=instance_arn, name=name)
        if found is None:
            return None
        known[name] = found
    return known[name]


def _ensure_permission_set(change: Change, ctx: StepContext) -> str:
    after = cast(PermissionSetAfter, change.after or {})
    instance, name = str(after["instance_arn"]), str(after["name"])
    sso = ctx.aws.client("sso-admin")
    arn = _permission_set_arn(ctx, sso, instance_arn=instance, name=name)
    done: list[str] = []
    if arn is None:
        created = _retrying(ctx, sso.create_permission_set, InstanceArn=instance, Name=name,
                            **_settings(after, current=None))
        arn = str(created["PermissionSet"]["PermissionSetArn"])
        _known(ctx)[name] = arn
        done.append("created")
    current = read_permission_set(sso, instance_arn=instance, arn=arn)
    update = _settings(after, current=current)
    if update:
        _retrying(ctx, sso.update_permission_set, InstanceArn=instance, PermissionSetArn=arn,
                  **update)
        done.append("updated " + ", ".join(sorted(update)))
    done += _ensure_policies(ctx, sso, instance=instance, arn=arn, after=after, current=current)
    if (done or current.outdated_accounts) and current.provisioned_accounts:
        count = _provision(change, ctx, sso, instance=instance, arn=arn)
        done.append(f"provisioned to {count} account(s)")
    return f"permission set {name}: " + ("; ".join(done) if done else "already as planned")


def _settings(after: PermissionSetAfter, *,
              current: ObservedPermissionSet | None) -> dict[str, str]:
    """The CreatePermissionSet (``current`` None: every setting ``after`` writes) or
    UpdatePermissionSet (only those that differ from ``current``) parameters. A setting the file
    does not write, or writes as null, is not in ``after`` or is None: left alone."""
    params: dict[str, str] = {}
    description = after.get("description")
    if description is not None and (current is None or description != current.description):
        params["Description"] = description
    duration = after.get("session_duration")
    if duration is not None and (current is None or canonical_duration(duration)
                                 != canonical_duration(current.session_duration)):
        params["SessionDuration"] = duration
    relay_state = after.get("relay_state")
    if relay_state is not None and (current is None or relay_state != current.relay_state):
        params["RelayState"] = relay_state
    return params


def _ensure_policies(ctx: StepContext, sso: Client, *, instance: str, arn: str,
                     after: PermissionSetAfter, current: ObservedPermissionSet) -> list[str]:
    done: list[str] = []
    ids = {"InstanceArn": instance, "PermissionSetArn": arn}
    if "managed_policies" in after:
        wanted = set(after["managed_policies"])
        for policy_arn in sorted(set(current.managed_policies) - wanted):
            _retrying(ctx, sso.detach_managed_policy_from_permission_set,
                      ManagedPolicyArn=policy_arn, **ids)
            done.append(f"detached {policy_arn}")
        for policy_arn in sorted(wanted - set(current.managed_policies)):
            _retrying(ctx, sso.attach_managed_policy_to_permission_set,
                      ManagedPolicyArn=policy_arn, **ids)
            done.append(f"attached {policy_arn}")
    if "customer_managed_policies" in after:
        wanted_refs = {(r["name"], r["path"]) for r in after["customer_managed_policies"]}
        have = set(current.customer_managed_policies)
        for name, path in sorted(have - wanted_refs):
            _retrying(ctx, sso.detach_customer_managed_policy_reference_from_permission_set,
                      CustomerManagedPolicyReference={"Name": name, "Path": path}, **ids)
            done.append(f"detached {path}{name}")
        for name, path in sorted(wanted_refs - have):
            _retrying(ctx, sso.attach_customer_managed_policy_reference_to_permission_set,
                      CustomerManagedPolicyReference={"Name": name, "Path": path}, **ids)
            done.append(f"attached {path}{name}")
    if "inline_policy" in after:
        document = after["inline_policy"]
        if document is None and current.inline_policy is not None:
            _retrying(ctx, sso.delete_inline_policy_from_permission_set, **ids)
            done.append("deleted the inline policy")
        elif document is not None and (current.inline_policy is None
                                       or not policy.equivalent(current.inline_policy, document)):
            _retrying(ctx, sso.put_inline_policy_to_permission_set,
                      InlinePolicy=json.dumps(document, separators=(",", ":")), **ids)
            done.append("put the inline policy")
    if "permissions_boundary" in after:
        boundary = after["permissions_boundary"]
        have_boundary = read_boundary(sso, instance_arn=instance, arn=arn)
        if boundary is None and have_boundary is not None:
            _retrying(ctx, sso.delete_permissions_boundary_from_permission_set, **ids)
            done.append("deleted the permissions boundary")
        elif boundary is not None and boundary != have_boundary:
            value = ({"ManagedPolicyArn": boundary["managed_policy_arn"]}
                     if "managed_policy_arn" in boundary else
                     {"CustomerManagedPolicyReference": {"Name": boundary["name"],
                                                         "Path": boundary.get("path", "/")}})
            _retrying(ctx, sso.put_permissions_boundary_to_permission_set,
                      PermissionsBoundary=value, **ids)
            done.append("put the permissions boundary")
    return done


def _follow(change: Change, ctx: StepContext, *, what: str,
            describe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Poll ``describe()`` (a status document) until it is no longer IN_PROGRESS; raises
    StepFailed with AWS's FailureReason when it FAILED."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    delays = backoff(min(ctx.options.poll_initial_s, 0.5), ctx.options.poll_max_s)
    while True:
        status = describe()
        state = status.get("Status")
        if state == "SUCCEEDED":
            return status
        if state == "FAILED":
            raise StepFailed(f"{what} failed: {status.get('FailureReason') or 'no reason given'}"
                             f" (request {status.get('RequestId')})")
        if time.monotonic() > deadline:
            raise StepFailed(f"{what} is still {state} after {REQUEST_TIMEOUT_S:.0f} s (request "
                             f"{status.get('RequestId')}); run apply again to follow it")
        ctx.reporter.progress(change, f"{what}: {state} (request {status.get('RequestId')})")
        ctx.sleep(next(delays))


def _provision(change: Change, ctx: StepContext, sso: Client, *, instance: str,
               arn: str) -> int:
    """Provision ``arn`` to every account it is provisioned to; wait for provisioning requests
    of the same set still running first (a second one would be refused with ConflictException,
    and may have started before this run's writes)."""
    for item in paginate(sso, "list_permission_set_provisioning_status",
                         "PermissionSetsProvisioningStatus", InstanceArn=instance,
                         Filter={"Status": "IN_PROGRESS"}):
        status = sso.describe_permission_set_provisioning_status(
            InstanceArn=instance, ProvisionPermissionSetRequestId=item["RequestId"]
        )["PermissionSetProvisioningStatus"]
        if status.get("PermissionSetArn") == arn and status.get("Status") == "IN_PROGRESS":
            with contextlib.suppress(StepFailed):  # this run provisions again below anyway
                _follow(change, ctx, what="earlier provisioning",
                        describe=_provisioning_status(sso, instance, str(item["RequestId"])))
    accounts = list(paginate(sso, "list_accounts_for_provisioned_permission_set", "AccountIds",
                             InstanceArn=instance, PermissionSetArn=arn))
    started = _retrying(ctx, sso.provision_permission_set, InstanceArn=instance,
                        PermissionSetArn=arn, TargetType="ALL_PROVISIONED_ACCOUNTS"
                        )["PermissionSetProvisioningStatus"]
    request_id = started["RequestId"]
    describe = _provisioning_status(sso, instance, request_id)
    _follow(change, ctx, what="provisioning",
            describe=lambda: started if started.get("Status") != "IN_PROGRESS" else describe())
    return len(accounts)


def _provisioning_status(sso: Client, instance: str,
                         request_id: str) -> Callable[[], dict[str, Any]]:
    def describe() -> dict[str, Any]:
        return dict(sso.describe_permission_set_provisioning_status(
            InstanceArn=instance, ProvisionPermissionSetRequestId=request_id
        )["PermissionSetProvisioningStatus"])
    return describe


def _delete_permission_set(change: Change, ctx: StepContext) -> str:
    before = cast(PermissionSetAfter, change.before or {})
    sso = ctx.aws.client("sso-admin")
    instance = _instance_of(before)
    arn = str(before["arn"])
    try:
        sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    except NotFound:
        return f"permission set {before.get('name')} was already deleted"
    _retrying(ctx, sso.delete_permission_set, InstanceArn=instance, PermissionSetArn=arn)
    return f"deleted permission set {before.get('name')}"


def _instance_of(before: PermissionSetAfter) -> str:
    instance = before.get("instance_arn")
    if instance:
        return str(instance)
    # arn:aws:sso:::permissionSet/ssoins-X/ps-Y -> arn:aws:sso:::instance/ssoins-X
    arn = str(before["arn"])
    head, _, rest = arn.partition(":permissionSet/")
    return f"{head}:instance/{rest.split('/', 1)[0]}"


def _target(after: AssignmentAfter, account_id: str, permission_set_arn: str) -> dict[str, Any]:
    return {"InstanceArn": after["instance_arn"], "TargetId": account_id,
            "TargetType": "AWS_ACCOUNT", "PermissionSetArn": permission_set_arn,
            "PrincipalType": after["principal_type"], "PrincipalId": after["principal_id"]}


def _assigned(sso: Client, target: dict[str, Any]) -> bool:
    for item in paginate(sso, "list_account_assignments", "AccountAssignments",
                         InstanceArn=target["InstanceArn"], AccountId=target["TargetId"],
                         PermissionSetArn=target["PermissionSetArn"]):
        if (item.get("PrincipalType"), item.get("PrincipalId")) == (target["PrincipalType"],
                                                                     target["PrincipalId"]):
            return True
    return False


def _in_flight(change: Change) -> str | None:
    """The request of an earlier run that the plan saw IN_PROGRESS for this assignment (its
    ``before``; the apply lock keeps any other run from starting one since)."""
    before = cast(AssignmentRequest, change.before or {})
    request_id = before.get("request_id")
    return str(request_id) if request_id and before.get("status") == "IN_PROGRESS" else None


def _describe_assignment(sso: Client, instance: str, operation: str,
                         request_id: str) -> dict[str, Any]:
    if operation == "create":
        return dict(sso.describe_account_assignment_creation_status(
            InstanceArn=instance, AccountAssignmentCreationRequestId=request_id
        )["AccountAssignmentCreationStatus"])
    return dict(sso.describe_account_assignment_deletion_status(
        InstanceArn=instance, AccountAssignmentDeletionRequestId=request_id
    )["AccountAssignmentDeletionStatus"])


def _ensure_assignment(change: Change, ctx: StepContext) -> str:
    after = cast(AssignmentAfter, ctx.resolve(dict(change.after or {})))
    sso = ctx.aws.client("sso-admin")
    instance = str(after["instance_arn"])
    ps_arn = _permission_set_arn(ctx, sso, instance_arn=instance,
                                 name=str(after["permission_set"]))
    if ps_arn is None:
        raise StepFailed(f"permission set {after['permission_set']} does not exist")
    target = _target(after, str(after["account_id"]), ps_arn)
    who = (f"{after['principal_type'].lower()} {after['principal']} -> "
           f"{after['permission_set']} in {after['account']}")
    earlier = _in_flight(change)
    if earlier is not None:
        try:
            _follow(change, ctx, what=f"assignment {who}", describe=lambda: _describe_assignment(
                sso, instance, "create", earlier))
            return f"assignment {who}: followed request {earlier} of an earlier run"
        except StepFailed:
            pass  # it failed: ask again below (the error comes again if it still applies)
    if _assigned(sso, target):
        return f"assignment {who}: already in place"
    started = _retrying(ctx, sso.create_account_assignment,
                        **target)["AccountAssignmentCreationStatus"]
    request_id = str(started["RequestId"])
    _follow(change, ctx, what=f"assignment {who}", describe=lambda: (
        started if started.get("Status") != "IN_PROGRESS"
        else _describe_assignment(sso, instance, "create", request_id)))
    return f"assignment {who}: created (request {request_id})"


def _remove_assignment(change: Change, ctx: StepContext) -> str:
    before = cast(AssignmentAfter, change.before or {})
    sso = ctx.aws.client("sso-admin")
    instance = str(before["instance_arn"])
    target = _target(before, str(before["account_id"]), str(before["permission_set_arn"]))
    who = (f"{before['principal_type'].lower()} {before['principal']} -> "
           f"{before['permission_set']} in {before['account']}")
    if not _assigned(sso, target):
        return f"assignment {who}: already removed"
    try:
        started = _retrying(ctx, sso.delete_account_assignment,
                            **target)["AccountAssignmentDeletionStatus"]
    except NotFound:  # removed meanwhile (an earlier run's request finished)
        return f"assignment {who}: already removed"
    request_id = str(started["RequestId"])
    _follow(change, ctx, what=f"removing assignment {who}", describe=lambda: (
        started if started.get("Status") != "IN_PROGRESS"
        else _describe_assignment(sso, instance, "delete", request_id)))
    return f"assignment {who}: removed (request {request_id})"
