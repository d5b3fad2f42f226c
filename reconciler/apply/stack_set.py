"""Deploys access roles to invited accounts through orgsync's service-managed StackSet.

An invited account that nobody signs in to has no way in for orgsync; CloudFormation StackSets with
service-managed permissions have one (a service-linked role AWS creates in every member account
once trusted access is activated). This module creates the stack set when it is missing, adds a
stack instance for exactly the account of the change (deployment targets: the organization root,
``AccountFilterType: INTERSECTION`` with that one account, one region), follows the asynchronous
operation to its end, and reports the account's result with CloudFormation's ``StatusReason``.

Crash safety: a stack set runs one operation at a time, and an operation a killed run started
keeps running. Before starting anything, apply looks for an operation still running
(``ListStackSetOperations``) and follows it instead; then it reads the account's stack instance
and does only what is still missing, so a re-run never starts a second operation for the same
work.

A role of that name that already exists in the account (left over from another organization) makes
CloudFormation fail the instance ("already exists"). Apply then moves the instance to ``Mode:
adopt`` (the stack makes a helper role that may change only the access role), makes the role
exactly what the file says through the helper, and moves the instance to ``Mode: adopted`` (the
helper goes). See ``reconciler.stackset`` for why the role then has one owner, orgsync.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

from reconciler import stackset
from reconciler.afters import AccessRoleAfter, StackSetAfter, StackSetTarget
from reconciler.apply.kit import StepContext, StepFailed, backoff
from reconciler.aws import Client, paginate
from reconciler.errors import AwsError, NotFound
from reconciler.observe.stack_set import ACTIVE_OPERATION, read_trusted_access, running_operation
from reconciler.plan import Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "cloudformation:ActivateOrganizationsAccess",
        "cloudformation:DescribeOrganizationsAccess",
        "cloudformation:CreateStackSet",
        "cloudformation:DescribeStackSet",
        "cloudformation:CreateStackInstances",
        "cloudformation:UpdateStackInstances",
        "cloudformation:DeleteStackInstances",
        "cloudformation:DescribeStackInstance",
        "cloudformation:ListStackInstances",
        "cloudformation:DescribeStackSetOperation",
        "cloudformation:ListStackSetOperations",
        "cloudformation:ListStackSetOperationResults",
        # what activating trusted access does on the caller's behalf (CloudFormation user guide,
        # "Activate trusted access for StackSets with AWS Organizations")
        "organizations:EnableAWSServiceAccess",
        "organizations:ListAWSServiceAccessForOrganization",
        "iam:CreateServiceLinkedRole",
        "sts:AssumeRole",
    ),
    "member": stackset.ADOPT_ACTIONS,
}

OPERATION_TIMEOUT_S = 3600.0
ALREADY_EXISTS = "already exists"
_LOCK = "stack_set.lock"


def _lock(ctx: StepContext) -> threading.Lock:
    """One stack-set operation at a time within a run (AWS allows one per stack set)."""
    return ctx.listing(_LOCK, threading.Lock)


def ensure_trusted_access(ctx: StepContext) -> list[str]:
    """Activate trusted access for StackSets with Organizations (idempotent)."""
    cfn = ctx.aws.client("cloudformation")
    if read_trusted_access(cfn):
        return []
    cfn.activate_organizations_access()
    return ["activated trusted access for CloudFormation StackSets"]


def _name(target: StackSetTarget | StackSetAfter) -> str:
    return str(target.get("name") or stackset.STACK_SET_NAME)


def _region(ctx: StepContext, target: StackSetTarget | StackSetAfter) -> str:
    return str(target.get("region") or ctx.aws.region)


def _client(ctx: StepContext, region: str) -> Client:
    if region != ctx.aws.region:
        raise StepFailed(f"the stack set lives in {region} but this run uses {ctx.aws.region}: "
                         f"run with --region {region}")
    return ctx.aws.client("cloudformation")


def _ensure_stack_set(cfn: Client, ctx: StepContext, name: str) -> str | None:
    try:
        cfn.describe_stack_set(StackSetName=name)
        return None
    except NotFound:
        pass
    defaults = stackset.parameters(
        management_account_id=ctx.management_account_id,
        role_name=ctx.desired.organization.access_role, require_mfa=False,
        policies=[f"arn:{ctx.aws.partition}:iam::aws:policy/AdministratorAccess"])
    try:
        cfn.create_stack_set(
            StackSetName=name, Description=stackset.DESCRIPTION,
            TemplateBody=stackset.template_body(),
            Parameters=stackset.parameter_list(defaults),
            Capabilities=list(stackset.CAPABILITIES), PermissionModel="SERVICE_MANAGED",
            AutoDeployment={"Enabled": False})
    except AwsError as error:
        if error.code != "NameAlreadyExistsException":  # a crashed run made it
            raise
        return None
    return f"created stack set {name}"


def follow(cfn: Client, change: Change, ctx: StepContext, *, name: str, operation_id: str,
           what: str) -> tuple[str, dict[str, tuple[str, str | None]]]:
    """Poll the operation until it ends; (its status, account -> (status, reason))."""
    delays = backoff(ctx.options.poll_initial_s, ctx.options.poll_max_s)
    start = time.monotonic()
    while True:
        operation = cfn.describe_stack_set_operation(
            StackSetName=name, OperationId=operation_id)["StackSetOperation"]
        status = str(operation["Status"])
        if status not in ACTIVE_OPERATION:
            break
        elapsed = time.monotonic() - start
        if elapsed > OPERATION_TIMEOUT_S:
            raise StepFailed(f"stack set {name}: operation {operation_id} ({what}) still "
                             f"{status} after {elapsed:.0f} s; run apply again to follow it")
        ctx.reporter.progress(change, f"stack set {name}: operation {operation_id} ({what}) "
                                      f"{status} ({elapsed:.0f} s)")
        ctx.sleep(next(delays))
    results = {
        str(r["Account"]): (str(r.get("Status", "")), r.get("StatusReason"))
        for r in paginate(cfn, "list_stack_set_operation_results", "Summaries",
                          StackSetName=name, OperationId=operation_id)
    }
    return status, results


def _follow_earlier(cfn: Client, change: Change, ctx: StepContext, name: str) -> str | None:
    operation_id = running_operation(cfn, name=name)
    if operation_id is None:
        return None
    status, _results = follow(cfn, change, ctx, name=name, operation_id=operation_id,
                              what="started earlier")
    return f"followed operation {operation_id} started by an earlier run ({status})"


def _instance(cfn: Client, *, name: str, account_id: str, region: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = cfn.describe_stack_instance(
            StackSetName=name, StackInstanceAccount=account_id,
            StackInstanceRegion=region)["StackInstance"]
        return found
    except NotFound:
        return None


def _targets(ctx: StepContext, accounts: list[str]) -> dict[str, Any]:
    return {"OrganizationalUnitIds": [ctx.root_id], "Accounts": accounts,
            "AccountFilterType": "INTERSECTION"}


def _requires_mfa(trust: Mapping[str, Any]) -> bool:
    return "multifactorauthpresent" in json.dumps(trust).lower()


def _run(cfn: Client, change: Change, ctx: StepContext, *, call: str, name: str, region: str,
         account_id: str, values: dict[str, str] | None, what: str) -> tuple[str, str | None]:
    """Start one instance operation for ``account_id`` and follow it; (status, reason)."""
    kwargs: dict[str, Any] = {"StackSetName": name, "Regions": [region],
                              "DeploymentTargets": _targets(ctx, [account_id]),
                              "OperationPreferences": {"FailureToleranceCount": 0,
                                                       "MaxConcurrentCount": 1}}
    if values is not None:
        kwargs["ParameterOverrides"] = stackset.parameter_list(values)
    operation_id = str(getattr(cfn, call)(**kwargs)["OperationId"])
    ctx.reporter.progress(change, f"stack set {name}: operation {operation_id} ({what}) started")
    _status, results = follow(cfn, change, ctx, name=name, operation_id=operation_id, what=what)
    result, reason = results.get(account_id, ("FAILED", "no result for the account"))
    return result, reason


def _check_succeeded(name: str, subject: str, result: str, reason: str | None) -> None:
    """An instance operation about ``subject`` that did not succeed fails the step."""
    if result != "SUCCEEDED":
        raise StepFailed(f"stack set {name}: {subject} {result}: {reason or 'no reason given'}")


def _role_exists(name: str, account_id: str, result: str, reason: str | None) -> bool:
    """Whether deploying the stack instance failed because the role exists already (to be
    taken over); any other failure fails the step."""
    if result != "SUCCEEDED" and ALREADY_EXISTS in str(reason):
        return True
    _check_succeeded(name, f"the stack instance in {account_id}", result, reason)
    return False


def deploy_role(change: Change, ctx: StepContext, after: AccessRoleAfter) -> str:
    """Make the access role of ``after`` exist and trust the management account, through the
    stack set; then check the management account can assume it."""
    from reconciler.apply.access_role import _ensure_role, _wait_until_assumable

    account_id, role = str(after["account_id"]), str(after["name"])
    target = after.get("stack_set") or {}
    name, region = _name(target), _region(ctx, target)
    trust = after.get("trust_policy") or {}
    values = stackset.parameters(
        management_account_id=ctx.management_account_id, role_name=role,
        require_mfa=_requires_mfa(trust), policies=list(after.get("policies") or ()))
    cfn = _client(ctx, region)
    notes: list[str] = []
    with _lock(ctx):
        if not read_trusted_access(cfn):
            raise StepFailed("trusted access for CloudFormation StackSets with Organizations is "
                             "not active (the organization change activates it)")
        made = _ensure_stack_set(cfn, ctx, name)
        if made:
            notes.append(made)
        earlier = _follow_earlier(cfn, change, ctx, name)
        if earlier:
            notes.append(earlier)
        instance = _instance(cfn, name=name, account_id=account_id, region=region)
        overrides = {str(p["ParameterKey"]): str(p.get("ParameterValue", ""))
                     for p in (instance or {}).get("ParameterOverrides") or ()}
        mode = overrides.get("Mode", "create")
        detailed = str(((instance or {}).get("StackInstanceStatus") or {})
                       .get("DetailedStatus", ""))
        reason = (instance or {}).get("StatusReason")
        adopt = False
        if instance is None:
            result, reason = _run(cfn, change, ctx, call="create_stack_instances", name=name,
                                  region=region, account_id=account_id, values=values,
                                  what=f"create the stack instance in {account_id}")
            notes.append(f"stack instance in {account_id}: {result}"
                         + (f" (CloudFormation: {reason})" if reason else ""))
            adopt = _role_exists(name, account_id, result, reason)
        elif mode == "create" and detailed != "SUCCEEDED" and ALREADY_EXISTS not in str(reason):
            result, reason = _run(cfn, change, ctx, call="update_stack_instances", name=name,
                                  region=region, account_id=account_id, values=values,
                                  what=f"deploy the stack instance in {account_id} again")
            notes.append(f"stack instance in {account_id} deployed again: {result}")
            adopt = _role_exists(name, account_id, result, reason)
        elif mode != "adopt" and detailed == "SUCCEEDED" and _assumable(
                change, ctx, account_id=account_id, role=role, trust=trust):
            notes.append(f"stack instance in {account_id} already deployed")
        else:
            # the role is there but orgsync cannot get in (it trusts another account, or was
            # changed after CloudFormation made it), or an earlier run was taking it over:
            # take it over through the helper role
            adopt = True
        if adopt:
            notes.extend(_adopt(cfn, change, ctx, name=name, region=region,
                                account_id=account_id, values=values, after=after,
                                helper_ready=mode == "adopt" and detailed == "SUCCEEDED",
                                ensure_role=_ensure_role))
    ctx.aws.forget(account_id)
    notes.append(_wait_until_assumable(change, ctx, account_id=account_id, name=role,
                                       trust=trust))
    return f"{'; '.join(notes)} (via stack set {name})"


def _assumable(change: Change, ctx: StepContext, *, account_id: str, role: str,
               trust: Mapping[str, Any]) -> bool:
    """Whether the management account can assume the role (waiting a bounded time: a role an
    earlier run's operation has just made may not be assumable yet). A role that requires MFA
    cannot be checked without an MFA session: it is taken as deployed."""
    if _requires_mfa(trust) and not ctx.aws.has_mfa:
        return True
    deadline = time.monotonic() + ctx.options.role_ready_timeout_s
    delays = backoff(0.5, 5.0, 2.0)
    while True:
        try:
            ctx.aws.forget(account_id)
            ctx.aws.assume_role(account_id=account_id, role_name=role)
            return True
        except AwsError:
            if time.monotonic() >= deadline:
                return False
            ctx.reporter.progress(change, f"waiting for role {role} in {account_id}")
            ctx.sleep(next(delays))


def _adopt(cfn: Client, change: Change, ctx: StepContext, *, name: str, region: str,
           account_id: str, values: dict[str, str], after: AccessRoleAfter,
           helper_ready: bool, ensure_role: Any) -> list[str]:
    role = str(after["name"])
    notes = [f"role {role} already exists in {account_id}: taking it over"]
    if not helper_ready:
        result, reason = _run(cfn, change, ctx, call="update_stack_instances", name=name,
                              region=region, account_id=account_id,
                              values={**values, "Mode": "adopt"},
                              what=f"helper role {stackset.ADOPT_ROLE} in {account_id}")
        _check_succeeded(name, f"the helper role in {account_id}", result, reason)
    iam = _helper_iam(change, ctx, account_id=account_id)
    changed = ensure_role(iam, after)
    notes.append("; ".join(changed) if changed else f"role {role} already as wanted")
    ctx.aws.forget(account_id)
    result, reason = _run(cfn, change, ctx, call="update_stack_instances", name=name,
                          region=region, account_id=account_id,
                          values={**values, "Mode": "adopted"},
                          what=f"remove the helper role in {account_id}")
    _check_succeeded(name, f"removing the helper role in {account_id}", result, reason)
    notes.append("helper role removed")
    return notes


def _helper_iam(change: Change, ctx: StepContext, *, account_id: str) -> Any:
    """IAM inside the account through the helper role (a new role: IAM may lag)."""
    deadline = time.monotonic() + ctx.options.role_ready_timeout_s
    delays = backoff(0.5, 5.0, 2.0)
    while True:
        try:
            ctx.aws.forget(account_id)
            ctx.aws.assume_role(account_id=account_id, role_name=stackset.ADOPT_ROLE)
            return ctx.aws.member_client("iam", account_id=account_id,
                                         role_name=stackset.ADOPT_ROLE)
        except AwsError as error:
            if time.monotonic() >= deadline:
                raise StepFailed(f"the helper role {stackset.ADOPT_ROLE} in {account_id} "
                                 f"cannot be assumed: {error}") from error
            ctx.reporter.progress(change, f"waiting for {stackset.ADOPT_ROLE} in {account_id}")
            ctx.sleep(next(delays))


def apply_change(change: Change, ctx: StepContext) -> str:
    """A ``stack_set`` change: remove stack instances with RetainStacks (the roles stay)."""
    after = cast(StackSetAfter, change.after or {})
    name, region = _name(after), _region(ctx, after)
    cfn = _client(ctx, region)
    remove = [str(a) for a in after.get("remove") or ()]
    notes: list[str] = []
    with _lock(ctx):
        earlier = _follow_earlier(cfn, change, ctx, name)
        if earlier:
            notes.append(earlier)
        current = {str(i["Account"]) for i in paginate(cfn, "list_stack_instances", "Summaries",
                                                       StackSetName=name)}
        todo = [a for a in remove if a in current]
        if not todo:
            return "; ".join([*notes, "stack instances already removed"])
        operation_id = str(cfn.delete_stack_instances(
            StackSetName=name, Regions=[region], DeploymentTargets=_targets(ctx, todo),
            RetainStacks=True, OperationPreferences={"FailureToleranceCount": 0,
                                                     "MaxConcurrentCount": 1})["OperationId"])
        status, results = follow(cfn, change, ctx, name=name, operation_id=operation_id,
                                 what=f"remove the stack instances of {', '.join(todo)}")
    failed = {a: r for a, r in results.items() if r[0] != "SUCCEEDED"}
    if status != "SUCCEEDED" or failed:
        raise StepFailed(f"stack set {name}: removing stack instances {status}: " + "; ".join(
            f"{a}: {r[1] or r[0]}" for a, r in sorted(failed.items())))
    notes.append(f"removed the stack instances of {', '.join(todo)} (RetainStacks: the access "
                 "roles stay)")
    return "; ".join(notes)
