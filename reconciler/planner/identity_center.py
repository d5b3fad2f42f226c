"""IAM Identity Center: permission sets and account assignments (``identity_center:``).

Two kinds, planned together because one needs the other:

- ``permission_set`` / name: create, update (each attribute the file writes is exact; unwritten
  ones are left alone), delete (only with ``exclusive: true``; destructive). An update is followed
  by provisioning to every account the set is provisioned to, and a set whose latest version is
  not provisioned everywhere (an earlier run stopped between the update and the provisioning) is
  an update too, so that a re-run finishes the job.
- ``assignment`` / ``ACCOUNT/PERMISSION_SET/group:NAME`` (or ``user:NAME``): create (after the
  account and the permission set it needs), delete (``exclusive: true`` only; destructive). An
  assignment request still in progress is a ``create`` whose ``before`` names the request: apply
  follows it, never making a second one.

Groups and users come from the identity source and are never created: an assignment to a
principal that is not in the identity store is deferred, with a warning (and a "did you mean").
Permission sets and assignments in AWS that the file does not describe are reported as unmanaged,
unless the file says ``exclusive: true``. Inline policies are compared in the normalised form
used for IAM policies everywhere in orgsync (``reconciler.policy``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import cast

from reconciler import policy
from reconciler.afters import (
    AssignmentAfter,
    AssignmentRequest,
    PermissionsBoundaryValue,
    PermissionSetAfter,
)
from reconciler.model import (
    AssignmentSpec,
    IdentityCenterSpec,
    PermissionSetSpec,
    canonical_duration,
)
from reconciler.observed import (
    IdentityCenterRequest,
    ObservedAssignment,
    ObservedIdentityCenter,
    ObservedPermissionSet,
)
from reconciler.plan import JSON, Action, AttributeDiff, Change, Deferred, Unmanaged
from reconciler.planner.context import AccountMatch, PlanContext

PERMISSION_SET = "permission_set"
ASSIGNMENT = "assignment"


def _boundary(value: Mapping[str, str] | None) -> PermissionsBoundaryValue | None:
    """As read or written: ``{"managed_policy_arn"}`` or ``{"name", "path"}`` (model.py)."""
    return None if value is None else cast(PermissionsBoundaryValue, dict(value))


def permission_set_shape(current: ObservedPermissionSet) -> PermissionSetAfter:
    """A permission set as AWS has it, in the shape of a change's ``before``."""
    return {
        "arn": current.arn,
        "name": current.name,
        "description": current.description,
        "session_duration": canonical_duration(current.session_duration),
        "managed_policies": sorted(current.managed_policies),
        "customer_managed_policies": [{"name": n, "path": p} for n, p in
                                      sorted(current.customer_managed_policies,
                                             key=lambda r: (r[1], r[0]))],
        "inline_policy": dict(current.inline_policy) if current.inline_policy else None,
        "permissions_boundary": _boundary(current.permissions_boundary or None),
        "relay_state": current.relay_state,
        "outdated_accounts": list(current.outdated_accounts),
    }


def desired_shape(spec: PermissionSetSpec, instance_arn: str) -> PermissionSetAfter:
    """The ``after`` of a permission set change: its name, instance and the written keys only
    (in this order: the plan document keeps it)."""
    after: PermissionSetAfter = {"instance_arn": instance_arn, "name": spec.name}
    declared = spec.declared
    if "description" in declared:
        after["description"] = spec.description
    if "session_duration" in declared:
        after["session_duration"] = spec.session_duration
    if "managed_policies" in declared:
        after["managed_policies"] = list(spec.managed_policies)
    if "customer_managed_policies" in declared:
        after["customer_managed_policies"] = [{"name": r.name, "path": r.path}
                                              for r in spec.customer_managed_policies]
    if "inline_policy" in declared:
        after["inline_policy"] = (dict(spec.inline_policy) if spec.inline_policy is not None
                                  else None)
    if "permissions_boundary" in declared:
        after["permissions_boundary"] = _boundary(spec.permissions_boundary)
    if "relay_state" in declared:
        after["relay_state"] = spec.relay_state
    return after


def attribute_differences(before: Mapping[str, JSON],
                          after: Mapping[str, JSON]) -> tuple[AttributeDiff, ...]:
    """The written attributes of ``after`` that ``before`` does not have (policies compared
    normalised, lists as sets)."""
    diffs: list[AttributeDiff] = []
    for key, wanted in after.items():
        if key in ("instance_arn", "name"):
            continue
        have = before.get(key)
        if key == "inline_policy":
            if wanted is None or have is None:
                if (wanted is None) != (have is None):
                    diffs.append(AttributeDiff(key, have, wanted))
            elif not policy.equivalent(have, wanted):
                diffs.extend(policy.document_diffs(have, wanted, prefix=key))
        elif isinstance(wanted, list):
            order = _sort_key
            if sorted(have or [], key=order) != sorted(wanted, key=order):
                diffs.append(AttributeDiff(key, have, wanted))
        elif have != wanted:
            diffs.append(AttributeDiff(key, have, wanted))
    return tuple(diffs)


def _sort_key(value: JSON) -> str:
    if isinstance(value, Mapping):
        return f"{value.get('path', '')}{value.get('name', '')}"
    return str(value)


def plan_identity_center(ctx: PlanContext) -> None:
    """Permission set creates/updates, then assignments, then permission set deletions."""
    spec = ctx.desired.identity_center
    observed = ctx.observed.identity_center
    if spec is None or observed is None:
        return
    if observed.instance_arn is None:
        ctx.errors.append(f"identity_center: {observed.error or 'no IAM Identity Center instance'}")
        return
    if spec.instance_arn is not None and spec.instance_arn != observed.instance_arn:
        ctx.errors.append(
            f"identity_center.instance_arn: {spec.instance_arn} is not this organization's "
            f"instance ({observed.instance_arn})")
        return
    by_name = {p.name: p for p in observed.permission_sets}
    _plan_permission_sets(ctx, spec, observed, by_name)
    deleted = _plan_assignments(ctx, spec, observed, by_name)
    _plan_retired_permission_sets(ctx, spec, observed, deleted)


def _plan_permission_sets(ctx: PlanContext, spec: IdentityCenterSpec,
                          observed: ObservedIdentityCenter,
                          by_name: Mapping[str, ObservedPermissionSet]) -> None:
    instance = observed.instance_arn
    assert instance is not None
    for wanted in spec.permission_sets:
        after = desired_shape(wanted, instance)
        current = by_name.get(wanted.name)
        if current is None:
            ctx.changes.append(Change(
                kind=PERMISSION_SET, key=wanted.name, action=Action.CREATE, before=None,
                after=after, reason="not in Identity Center"))
            continue
        before = permission_set_shape(current)
        diffs = list(attribute_differences(before, after))
        reasons = [d.path.split(".", 1)[0].split("[", 1)[0] for d in diffs]
        if current.outdated_accounts:
            after["outdated_accounts"] = []
            diffs.append(AttributeDiff("outdated_accounts", list(current.outdated_accounts), []))
            reasons.append(f"latest version not provisioned to "
                           f"{len(current.outdated_accounts)} account(s)")
        if not diffs:
            continue
        after["arn"] = current.arn
        ctx.changes.append(Change(
            kind=PERMISSION_SET, key=wanted.name, action=Action.UPDATE, before=before,
            after=after, diff=tuple(diffs),
            reason="differs: " + ", ".join(dict.fromkeys(reasons))
            + ("; then provisioned to its accounts" if current.provisioned_accounts else "")))


def assignment_after(spec: AssignmentSpec, match: AccountMatch, *, instance_arn: str,
                     principal_id: str) -> AssignmentAfter:
    return {
        "instance_arn": instance_arn,
        "account": spec.account,
        "account_id": match.id_expr,
        "permission_set": spec.permission_set,
        "principal_type": spec.principal_type,
        "principal": spec.principal,
        "principal_id": principal_id,
    }


def _request_for(observed: ObservedIdentityCenter, operation: str, account_id: str | None,
                 permission_set_arn: str | None, principal_type: str,
                 principal_id: str) -> IdentityCenterRequest | None:
    for request in observed.requests:
        if (request.operation == operation and request.account_id == account_id
                and request.permission_set_arn == permission_set_arn
                and request.principal_type == principal_type
                and request.principal_id == principal_id):
            return request
    return None


def _plan_assignments(ctx: PlanContext, spec: IdentityCenterSpec,
                      observed: ObservedIdentityCenter,
                      by_name: Mapping[str, ObservedPermissionSet]) -> dict[str, list[str]]:
    """Plan the assignments; returns the addresses of assignment deletions by permission set
    ARN (a permission set is deleted after its assignments)."""
    instance = observed.instance_arn
    assert instance is not None
    principals = {(p.type, p.name): p.id for p in observed.principals}
    names_by_id = {(p.type, p.id): p.name for p in observed.principals}
    existing = set(observed.assignments)
    wanted: set[ObservedAssignment] = set()
    for item in spec.assignments:
        match = ctx.matches.get(item.account)
        if match is None or (item.wildcard and ctx.is_management(match)):
            continue
        address = f"{ASSIGNMENT}.{item.key}"
        principal_id = principals.get((item.principal_type, item.principal))
        if principal_id is None:
            _missing_principal(ctx, item, address, observed)
            continue
        after = assignment_after(item, match, instance_arn=instance, principal_id=principal_id)
        if match.disposition in ("deferred", "invite"):
            why = match.waiting_for or "the invitation (planned now) to be accepted"
            ctx.deferred.append(Deferred(address, f"{match.address}: {why}",
                                         action=Action.CREATE, after=after))
            continue
        if not match.usable:
            continue
        current = by_name.get(item.permission_set)
        account_id = match.account_id
        if current is not None and account_id is not None:
            found = ObservedAssignment(account_id, current.arn, item.principal_type, principal_id)
            wanted.add(found)
            if found in existing:
                continue
        pending = _request_for(observed, "create", account_id,
                               current.arn if current else None, item.principal_type,
                               principal_id) if current else None
        before: AssignmentRequest | None = (
            None if pending is None else {"request_id": pending.request_id,
                                          "status": pending.status})
        reason = (f"assignment request {pending.request_id} is {pending.status} (made by an "
                  "earlier run): apply follows it and makes no second request"
                  if pending is not None else
                  f"{item.principal_type.lower()} {item.principal} gets {item.permission_set} "
                  f"in {item.account}")
        ctx.changes.append(Change(
            kind=ASSIGNMENT, key=item.key, action=Action.CREATE, before=before, after=after,
            reason=reason,
            depends_on=ctx.needs(match.address, f"{PERMISSION_SET}.{item.permission_set}")))
    deleted: dict[str, list[str]] = {}
    ps_names = {p.arn: p.name for p in observed.permission_sets}
    for assignment in sorted(existing - wanted, key=lambda a: (a.account_id,
                                                               a.permission_set_arn,
                                                               a.principal_type,
                                                               a.principal_id)):
        name = names_by_id.get((assignment.principal_type, assignment.principal_id),
                               assignment.principal_id)
        account = ctx.account_name(assignment.account_id)
        ps_name = ps_names.get(assignment.permission_set_arn, assignment.permission_set_arn)
        key = f"{account}/{ps_name}/{assignment.principal_type.lower()}:{name}"
        if any(c.kind == ASSIGNMENT and c.key == key for c in ctx.changes):
            continue  # wanted, but its account id is not known yet (cannot happen for AWS data)
        if not spec.exclusive:
            ctx.unmanaged.append(Unmanaged(
                kind=ASSIGNMENT,
                id=f"{assignment.account_id}/{assignment.permission_set_arn}/"
                   f"{assignment.principal_type}:{assignment.principal_id}",
                name=key))
            continue
        removed: AssignmentAfter = {
            "instance_arn": instance, "account": account, "account_id": assignment.account_id,
            "permission_set": ps_name, "permission_set_arn": assignment.permission_set_arn,
            "principal_type": assignment.principal_type, "principal": name,
            "principal_id": assignment.principal_id}
        ctx.changes.append(Change(
            kind=ASSIGNMENT, key=key, action=Action.DELETE, destructive=True,
            before=removed, after=None,
            reason="not in the file (identity_center.exclusive: true): removes this access"))
        deleted.setdefault(assignment.permission_set_arn, []).append(f"{ASSIGNMENT}.{key}")
    return deleted


def _missing_principal(ctx: PlanContext, item: AssignmentSpec, address: str,
                       observed: ObservedIdentityCenter) -> None:
    kind = "group" if item.principal_type == "GROUP" else "user"
    known = [p.name for p in observed.principals if p.type == item.principal_type]
    close = difflib.get_close_matches(item.principal, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    ctx.deferred.append(Deferred(
        address, f"{kind} {item.principal}{hint} to exist in the identity store "
        f"{observed.identity_store_id or ''}".rstrip()))
    ctx.warnings.append(
        f"identity_center: {kind} {item.principal!r}{hint} is not in the identity store: "
        f"its assignments wait (orgsync never creates groups or users; they come from the "
        "identity source)")


def _plan_retired_permission_sets(ctx: PlanContext, spec: IdentityCenterSpec,
                                  observed: ObservedIdentityCenter,
                                  deleted: Mapping[str, list[str]]) -> None:
    names = {p.name for p in spec.permission_sets}
    for current in sorted(observed.permission_sets, key=lambda p: p.name):
        if current.name in names:
            continue
        if not spec.exclusive:
            ctx.unmanaged.append(Unmanaged(kind=PERMISSION_SET, id=current.arn,
                                           name=current.name))
            continue
        ctx.changes.append(Change(
            kind=PERMISSION_SET, key=current.name, action=Action.DELETE,
            before=permission_set_shape(current), after=None, destructive=True,
            reason="not in the file (identity_center.exclusive: true)",
            depends_on=tuple(deleted.get(current.arn, ()))))
