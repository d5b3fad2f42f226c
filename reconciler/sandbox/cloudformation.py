"""CloudFormation StackSets with service-managed permissions, as AWS runs them.

orgsync reaches invited member accounts that nobody signs in to through a service-managed stack
set (CloudFormation user guide, "Activate trusted access for StackSets with AWS Organizations";
Organizations user guide, "AWS CloudFormation StackSets and AWS Organizations"). moto's stack sets
are synchronous, ignore deployment targets and never run the template in the target account, so
the sandbox serves the stack-set operations itself, with what AWS does:

- trusted access: ``ActivateOrganizationsAccess`` needs an all-features organization and turns on
  ``member.org.stacksets.cloudformation.amazonaws.com`` in Organizations (which is what
  ``DescribeOrganizationsAccess`` reports); a service-managed stack set cannot be created or
  deployed without it;
- operations are asynchronous (``RUNNING`` for ``SandboxOptions.stackset_operation_s``, then
  ``SUCCEEDED``/``FAILED``), one at a time per stack set (``OperationInProgressException``), with
  per-account results and ``StatusReason``; a client token (``OperationId``) is never reused;
- deployment targets are OUs of the organization, narrowed with ``AccountFilterType``; the
  management account is never a target ("CloudFormation doesn't deploy stack instances to the
  organization management account", API reference, DeploymentTargets); accounts outside the
  organization are refused;
- the template really runs in the member account when the operation finishes: IAM roles are
  created, updated, deleted (``DeletionPolicy: Retain`` keeps them), a role name that exists makes
  the instance FAILED with CloudFormation's reason and the stack rolls back;
- ``DeleteStackInstances`` with ``RetainStacks`` leaves the stack's resources in the account.

Handlers are installed on moto's ``CloudFormationResponse``; state lives in ``SandboxState``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.iam.models import iam_backends
from moto.organizations.models import organizations_backends

from reconciler.sandbox.common import (
    aws_error,
    current_state,
    install_handlers,
    sync_managed_policies,
    token_page,
    trust_service,
)
from reconciler.sandbox.protocol import present
from reconciler.sandbox.state import SandboxState

SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
ORG_ADMIN_ROLE = "AWSServiceRoleForCloudFormationStackSetsOrgAdmin"
ORG_MEMBER_ROLE = "AWSServiceRoleForCloudFormationStackSetsOrgMember"
SERVICE_ROLE_PATH = "/aws-service-role/stacksets.cloudformation.amazonaws.com/"
NAME_PATTERN = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
ACTIVE_OPERATION = ("RUNNING", "QUEUED", "STOPPING")
PAGE_LIMIT = 100
SUPPORTED_RESOURCES = ("AWS::IAM::Role", "AWS::CloudFormation::WaitConditionHandle")


# --- state -----------------------------------------------------------------------------------

@dataclass
class StackInstance:
    account_id: str
    region: str
    ou_id: str
    overrides: dict[str, str] = field(default_factory=dict)
    status: str = "OUTDATED"  # CURRENT | OUTDATED | INOPERABLE
    detailed: str = "PENDING"  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | ...
    reason: str | None = None
    stack_id: str | None = None
    stack_name: str | None = None
    # logical id -> (resource type, physical id, properties as deployed, retained on delete)
    resources: dict[str, tuple[str, str, dict[str, Any], bool]] = field(default_factory=dict)
    last_operation_id: str | None = None


@dataclass
class StackSetOperation:
    id: str
    action: str  # CREATE | UPDATE | DELETE
    created: datetime
    completes: datetime
    targets: list[tuple[str, str]]  # (account, region)
    retain_stacks: bool | None = None
    failure_tolerance: int = 0
    status: str = "RUNNING"
    ended: datetime | None = None
    status_reason: str | None = None
    results: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    ou_ids: list[str] = field(default_factory=list)


@dataclass
class StackSetRecord:
    id: str
    name: str
    owner: str  # the management account
    region: str
    template: str
    parameters: dict[str, str]
    capabilities: list[str]
    description: str | None
    tags: list[dict[str, str]]
    auto_deployment: dict[str, Any]
    created: datetime
    partition: str = "aws"  # the sandbox's, when created: ARNs and member IAM backends
    status: str = "ACTIVE"
    instances: dict[tuple[str, str], StackInstance] = field(default_factory=dict)
    operations: list[StackSetOperation] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return (f"arn:{self.partition}:cloudformation:{self.region}:{self.owner}:"
                f"stackset/{self.id}")

    def running(self) -> StackSetOperation | None:
        return next((o for o in self.operations if o.status in ACTIVE_OPERATION), None)


def _stack_sets(state: SandboxState) -> dict[str, StackSetRecord]:
    return state.stack_sets


# --- helpers ---------------------------------------------------------------------------------

def _validation(message: str) -> Exception:
    return aws_error("ValidationError", message)


def _management(self: CloudFormationResponse) -> Any:
    """The caller's organization backend; service-managed stack sets belong to its management
    account (delegated administrators are not modelled)."""
    backend = organizations_backends[self.current_account][current_state().partition]
    if backend.org is None:
        raise _validation("Account used is not organization management account or delegated "
                          "administrator.")
    return backend


def access_active(backend: Any) -> bool:
    return any(s["ServicePrincipal"] == SERVICE_PRINCIPAL for s in backend.services)


def _require_access(backend: Any) -> None:
    if not access_active(backend):
        raise _validation("You must enable organizations access to operate a service managed "
                          "stack set")


def _key(owner: str, region: str, name: str) -> str:
    return f"{owner}:{region}:{name}"


def _find(state: SandboxState, self: CloudFormationResponse,
          name_or_id: str | None) -> StackSetRecord:
    for record in _stack_sets(state).values():
        if record.owner == self.current_account and record.region == self.region \
                and record.status == "ACTIVE" and name_or_id in (record.name, record.id):
            return record
    raise aws_error("StackSetNotFoundException", f"StackSet {name_or_id} not found")


def _page(items: list[Any], params: dict[str, Any], *, operation: str) -> dict[str, Any]:
    return token_page(items, params, key="Summaries", operation=operation, limit=PAGE_LIMIT,
                      invalid=lambda: _validation("Invalid NextToken"))


def _parse_template(body: str) -> dict[str, Any]:
    try:
        template = json.loads(body)
    except ValueError:
        from moto.cloudformation.utils import yaml_tag_constructor

        class Loader(yaml.SafeLoader):
            """Safe YAML plus CloudFormation's short-form tags (!Ref, !Sub, ...)."""

        Loader.add_multi_constructor("", yaml_tag_constructor)
        try:
            template = yaml.load(body, Loader=Loader)
        except yaml.YAMLError as error:
            raise _validation(f"Template format error: {error}") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict) \
            or not template["Resources"]:
        raise _validation("Template format error: At least one Resources member must be "
                          "defined.")
    return template


def _needs_named_iam(template: dict[str, Any]) -> bool:
    return any(isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::IAM::")
               and "RoleName" in (r.get("Properties") or {})
               for r in template["Resources"].values())


def _check_capabilities(template: dict[str, Any], capabilities: list[str]) -> None:
    if _needs_named_iam(template) and "CAPABILITY_NAMED_IAM" not in capabilities:
        raise aws_error("InsufficientCapabilitiesException",
                        "Requires capabilities : [CAPABILITY_NAMED_IAM]")


def _parameter_list(values: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(p["ParameterKey"]): str(p.get("ParameterValue", ""))
            for p in values or () if "ParameterKey" in p and not p.get("UsePreviousValue")}


def _ous_below(backend: Any, ou_id: str) -> set[str]:
    """``ou_id`` and every OU under it (a target OU includes its child OUs)."""
    found = {ou_id}
    frontier = [ou_id]
    while frontier:
        parent = frontier.pop()
        for ou in backend.ou:
            if ou.parent_id == parent and ou.id not in found:
                found.add(ou.id)
                frontier.append(ou.id)
    return found


def _resolve_targets(backend: Any, targets: dict[str, Any] | None, *,
                     creating: bool) -> list[tuple[str, str]]:
    """The (account, OU) pairs ``DeploymentTargets`` selects (management account excluded)."""
    if not targets:
        raise _validation("StackSets with SERVICE_MANAGED permission model can only have "
                          "OrganizationalUnit as target")
    ou_ids = [str(o) for o in targets.get("OrganizationalUnitIds") or ()]
    accounts = [str(a) for a in targets.get("Accounts") or ()]
    kind = str(targets.get("AccountFilterType") or ("NONE" if not accounts else "UNION"))
    if not ou_ids:
        raise _validation("OrganizationalUnitIds are required")
    for account in accounts:
        if not re.fullmatch(r"\d{12}", account):
            raise _validation(f"1 validation error detected: Value '[{account}]' at "
                              "'deploymentTargets.accounts' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: ^[0-9]{12}$")
    if creating and kind == "UNION" and accounts:
        raise _validation("AccountFilterType UNION is not supported for CreateStackInstances; "
                          "specify INTERSECTION, DIFFERENCE or NONE")
    known = {ou.id for ou in backend.ou}
    for ou_id in ou_ids:
        if ou_id not in known:
            raise _validation(f"OrganizationalUnitIds [{ou_id}] are not in the organization")
    in_ous: dict[str, str] = {}
    for ou_id in ou_ids:
        below = _ous_below(backend, ou_id)
        for account in backend.accounts:
            if account.parent_id in below and account.id != backend.account_id:
                in_ous.setdefault(account.id, account.parent_id)
    members = {a.id: a.parent_id for a in backend.accounts}
    outside = [a for a in accounts if a not in members]
    if outside:
        raise _validation(f"Accounts [{', '.join(outside)}] are not members of the "
                          "organization: service-managed stack sets deploy only to accounts "
                          "in the organization")
    if kind == "INTERSECTION":
        chosen = [(a, in_ous[a]) for a in accounts if a in in_ous]
    elif kind == "DIFFERENCE":
        chosen = [(a, o) for a, o in in_ous.items() if a not in accounts]
    elif kind == "UNION":
        chosen = list(in_ous.items()) + [(a, members[a]) for a in accounts
                                         if a not in in_ous and a != backend.account_id]
    else:
        chosen = list(in_ous.items())
    return sorted(set(chosen))


def _regions(value: Any) -> list[str]:
    regions = [str(r) for r in value or ()]
    if not regions:
        raise _validation("Regions is required")
    for region in regions:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise _validation(f"Region {region} is not a valid region")
    return regions


def _start(state: SandboxState, record: StackSetRecord, *, action: str,
           targets: list[tuple[str, str]], operation_id: str | None,
           preferences: dict[str, Any] | None, retain_stacks: bool | None = None,
           ou_ids: list[str] | None = None) -> StackSetOperation:
    if record.running() is not None:
        raise aws_error("OperationInProgressException",
                        f"Another Operation on StackSet {record.id} is in progress")
    if operation_id and any(o.id == operation_id for o in record.operations):
        raise aws_error("OperationIdAlreadyExistsException",
                        f"The operation id {operation_id} already exists")
    now = state.clock.now()
    tolerance = int((preferences or {}).get("FailureToleranceCount") or 0)
    operation = StackSetOperation(
        id=operation_id or str(uuid.uuid4()), action=action, created=now,
        completes=now + timedelta(seconds=float(getattr(state.options,
                                                          "stackset_operation_s", 1.0))),
        targets=targets, retain_stacks=retain_stacks, failure_tolerance=tolerance,
        ou_ids=list(ou_ids or ()))
    for target in targets:
        operation.results[target] = ("PENDING", None)
        instance = record.instances.get(target)
        if instance is not None:
            instance.status, instance.detailed = "OUTDATED", "PENDING"
            instance.last_operation_id = operation.id
    record.operations.append(operation)
    return operation


# --- the template, run in the member account ---------------------------------------------------

class _TemplateError(Exception):
    pass


def _resolve(value: Any, scope: dict[str, Any], conditions: dict[str, bool]) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return _NO_VALUE
            if arg not in scope:
                raise _TemplateError(f"Template format error: Unresolved resource dependencies "
                                     f"[{arg}] in the Resources block of the template")
            return scope[arg]
        if fn == "Fn::If":
            name, yes, no = arg
            return _resolve(yes if conditions.get(name) else no, scope, conditions)
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(scope.get(m.group(1), m.group(0))),
                          text)
        if fn == "Fn::Join":
            sep, items = arg
            return sep.join(str(_resolve(i, scope, conditions)) for i in items)
        if fn == "Fn::Equals":
            return _resolve(arg[0], scope, conditions) == _resolve(arg[1], scope, conditions)
        if fn == "Fn::Not":
            return not _resolve(arg[0], scope, conditions)
        if fn == "Condition":
            return conditions.get(arg, False)
    if isinstance(value, dict):
        resolved = {k: _resolve(v, scope, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
    if isinstance(value, list):
        items = [_resolve(v, scope, conditions) for v in value]
        flat: list[Any] = []
        for item in items:
            if item is _NO_VALUE:
                continue
            flat.append(item)
        return flat
    return value


_NO_VALUE = object()


def render_resources(template: dict[str, Any], values: dict[str, str], *, account_id: str,
                     region: str, stack_name: str) -> dict[str, tuple[str, dict[str, Any],
                                                                     bool]]:
    """logical id -> (type, resolved properties, retained on delete) for these parameters."""
    scope: dict[str, Any] = {"AWS::AccountId": account_id, "AWS::Region": region,
                             "AWS::Partition": "aws", "AWS::StackName": stack_name,
                             "AWS::URLSuffix": "amazonaws.com"}
    missing = []
    for name, spec in (template.get("Parameters") or {}).items():
        value = values.get(name, spec.get("Default"))
        if value is None:
            missing.append(name)
            continue
        value = str(value)
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise _TemplateError(f"Parameter '{name}' must be one of AllowedValues")
        if spec.get("Type") == "CommaDelimitedList":
            scope[name] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            scope[name] = value
    if missing:
        raise _TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    conditions: dict[str, bool] = {}
    for name, expression in (template.get("Conditions") or {}).items():
        conditions[name] = bool(_resolve(expression, scope, conditions))
    resources: dict[str, tuple[str, dict[str, Any], bool]] = {}
    for logical, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition is not None and not conditions.get(condition, False):
            continue
        kind = str(resource.get("Type"))
        if kind not in SUPPORTED_RESOURCES:
            raise _TemplateError(f"Template format error: Unrecognized resource types: [{kind}]"
                                 " (the sandbox runs AWS::IAM::Role and "
                                 "AWS::CloudFormation::WaitConditionHandle)")
        properties = _resolve(resource.get("Properties") or {}, scope, conditions)
        retained = resource.get("DeletionPolicy") == "Retain"
        resources[logical] = (kind, properties, retained)
    return resources


def _ensure_service_role(iam: Any, name: str) -> None:
    if any(r.name == name for r in iam.get_roles()):
        return
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "stacksets.cloudformation.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(role_name=name, assume_role_policy_document=json.dumps(trust),
                    path=SERVICE_ROLE_PATH, permissions_boundary=None,
                    description="Service-linked role for CloudFormation StackSets", tags=[],
                    max_session_duration="3600",
                    linked_service="stacksets.cloudformation.amazonaws.com")


def _role_name(properties: dict[str, Any], *, stack_name: str, logical: str) -> str:
    return str(properties.get("RoleName") or f"{stack_name}-{logical}-"
               f"{uuid.uuid4().hex[:12].upper()}"[:64])


def _create_role(iam: Any, name: str, properties: dict[str, Any], *, logical: str) -> None:
    if any(r.name == name for r in iam.get_roles()):
        raise _TemplateError(
            f"ResourceLogicalId:{logical}, ResourceType:AWS::IAM::Role, "
            f"ResourceStatusReason:Resource of type 'AWS::IAM::Role' with identifier '{name}' "
            "already exists.")
    iam.create_role(role_name=name,
                    assume_role_policy_document=json.dumps(
                        properties.get("AssumeRolePolicyDocument") or {}),
                    path=str(properties.get("Path") or "/"), permissions_boundary=None,
                    description=str(properties.get("Description") or ""), tags=[],
                    max_session_duration=str(properties.get("MaxSessionDuration") or 3600))
    _sync_role_policies(iam, name, properties)


def _sync_role_policies(iam: Any, name: str, properties: dict[str, Any]) -> None:
    role = iam.get_role(name)
    sync_managed_policies(iam, name, [str(a) for a in properties.get("ManagedPolicyArns") or ()])
    inline = {str(p["PolicyName"]): p["PolicyDocument"] for p in properties.get("Policies") or ()}
    for policy_name, document in inline.items():
        iam.put_role_policy(name, policy_name, json.dumps(document))
    for policy_name in list(role.policies):
        if policy_name not in inline:
            iam.delete_role_policy(name, policy_name)


def _delete_role(iam: Any, name: str) -> None:
    if not any(r.name == name for r in iam.get_roles()):
        return
    role = iam.get_role(name)
    for arn in list(role.managed_policies):
        iam.detach_role_policy(arn, name)
    for policy_name in list(role.policies):
        iam.delete_role_policy(name, policy_name)
    iam.delete_role(name)


def _deploy(record: StackSetRecord, instance: StackInstance) -> None:
    """Create or update the instance's stack in its account; rolls back on failure."""
    iam = iam_backends[instance.account_id][record.partition]
    _ensure_service_role(iam, ORG_MEMBER_ROLE)
    if instance.stack_name is None:
        instance.stack_name = f"StackSet-{record.name}-{uuid.uuid4()}"[:128]
        instance.stack_id = (f"arn:{record.partition}:cloudformation:{instance.region}:"
                             f"{instance.account_id}:"
                             f"stack/{instance.stack_name}/{uuid.uuid4()}")
    values = {**record.parameters, **instance.overrides}
    wanted = render_resources(_parse_template(record.template), values,
                              account_id=instance.account_id, region=instance.region,
                              stack_name=instance.stack_name)
    created: list[tuple[str, str]] = []
    try:
        for logical, (kind, properties, retained) in wanted.items():
            current = instance.resources.get(logical)
            if kind != "AWS::IAM::Role":
                physical = current[1] if current else f"{instance.stack_name}-{logical}"
                instance.resources[logical] = (kind, physical, properties, retained)
                continue
            name = _role_name(properties, stack_name=instance.stack_name, logical=logical)
            if current is None or current[1] != name:
                _create_role(iam, name, properties, logical=logical)
                created.append((logical, name))
                if current is not None and not current[3]:
                    _delete_role(iam, current[1])
            elif current[2] != properties:
                iam.update_assume_role_policy(
                    name, json.dumps(properties.get("AssumeRolePolicyDocument") or {}))
                _sync_role_policies(iam, name, properties)
            instance.resources[logical] = (kind, name, properties, retained)
    except _TemplateError:
        for logical, name in created:  # rollback: what this attempt created goes
            _delete_role(iam, name)
            instance.resources.pop(logical, None)
        raise
    for logical in [k for k in instance.resources if k not in wanted]:
        kind, physical, _properties, retained = instance.resources.pop(logical)
        if kind == "AWS::IAM::Role" and not retained:
            _delete_role(iam, physical)


def _undeploy(instance: StackInstance, *, partition: str) -> None:
    iam = iam_backends[instance.account_id][partition]
    for kind, physical, _properties, retained in instance.resources.values():
        if kind == "AWS::IAM::Role" and not retained:
            _delete_role(iam, physical)
    instance.resources.clear()


def _finish(state: SandboxState, record: StackSetRecord, operation: StackSetOperation) -> None:
    backend = organizations_backends[record.owner][record.partition]
    failures = 0
    now = state.clock.now()
    for target in operation.targets:
        account_id = target[0]
        instance = record.instances.get(target)
        if failures > operation.failure_tolerance:
            operation.results[target] = ("CANCELLED", "Cancelled since failure tolerance has "
                                                      "exceeded")
            if instance is not None:
                instance.detailed = "CANCELLED"
            continue
        account = next((a for a in backend.accounts if a.id == account_id), None)
        try:
            if operation.action == "DELETE":
                if instance is not None:
                    if not operation.retain_stacks:
                        _undeploy(instance, partition=record.partition)
                    record.instances.pop(target, None)
                operation.results[target] = ("SUCCEEDED", None)
                continue
            assert instance is not None
            if account is None or getattr(account, "state", "ACTIVE") != "ACTIVE":
                instance.detailed = "SKIPPED_SUSPENDED_ACCOUNT" if account is not None \
                    else "INOPERABLE"
                raise _TemplateError(f"Account {account_id} is not an active member of the "
                                     "organization")
            if not access_active(backend):
                raise _TemplateError("Trusted access for StackSets with AWS Organizations is "
                                     "not activated")
            _deploy(record, instance)
            instance.status, instance.detailed, instance.reason = "CURRENT", "SUCCEEDED", None
            operation.results[target] = ("SUCCEEDED", None)
        except _TemplateError as error:
            failures += 1
            operation.results[target] = ("FAILED", str(error))
            if instance is not None:
                instance.status = "OUTDATED"
                if instance.detailed not in ("SKIPPED_SUSPENDED_ACCOUNT", "INOPERABLE"):
                    instance.detailed = "FAILED"
                instance.reason = str(error)
    operation.ended = now
    if failures > operation.failure_tolerance:
        operation.status = "FAILED"
        operation.status_reason = "The Operation failed: failure tolerance exceeded"
    else:
        operation.status = "SUCCEEDED"


def advance(state: SandboxState) -> None:
    """Finish the stack-set operations whose time has come (the middleware calls this)."""
    records = state.stack_sets
    if not records:
        return
    now = state.clock.now()
    with state.lock:
        for record in list(records.values()):
            operation = record.running()
            if operation is not None and operation.status == "RUNNING" \
                    and operation.completes <= now:
                _finish(state, record, operation)


# --- documents ----------------------------------------------------------------------------------

def _instance_document(record: StackSetRecord, instance: StackInstance, *,
                       full: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "StackSetId": record.id, "Region": instance.region, "Account": instance.account_id,
        "Status": instance.status,
        "StackInstanceStatus": {"DetailedStatus": instance.detailed},
        "OrganizationalUnitId": instance.ou_id, "DriftStatus": "NOT_CHECKED",
        **present(StackId=instance.stack_id, StatusReason=instance.reason,
                  LastOperationId=instance.last_operation_id),
    }
    if full:
        document["ParameterOverrides"] = [{"ParameterKey": k, "ParameterValue": v}
                                          for k, v in sorted(instance.overrides.items())]
    return document


def _operation_summary(operation: StackSetOperation) -> dict[str, Any]:
    return {"OperationId": operation.id, "Action": operation.action, "Status": operation.status,
            "CreationTimestamp": operation.created,
            **present(EndTimestamp=operation.ended, StatusReason=operation.status_reason)}


# --- handlers -----------------------------------------------------------------------------------

def _activate_organizations_access(self: CloudFormationResponse) -> EmptyResult:
    state = current_state()
    backend = _management(self)
    with state.lock:
        if backend.org.feature_set != "ALL":
            raise aws_error("InvalidOperationException",
                            "Trusted access for StackSets needs an organization with all "
                            "features enabled")
        if not access_active(backend):
            backend.enable_aws_service_access(ServicePrincipal=SERVICE_PRINCIPAL)
        _ensure_service_role(iam_backends[backend.account_id][current_state().partition],
                             ORG_ADMIN_ROLE)
    return EmptyResult()


def _deactivate_organizations_access(self: CloudFormationResponse) -> EmptyResult:
    state = current_state()
    backend = _management(self)
    with state.lock:
        if access_active(backend):
            backend.disable_aws_service_access(ServicePrincipal=SERVICE_PRINCIPAL)
    return EmptyResult()


def _describe_organizations_access(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    backend = _management(self)
    with state.lock:
        return ActionResult({"Status": "ACTIVE" if access_active(backend) else "INACTIVE"})


def _create_stack_set(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    name = str(self._get_param("StackSetName") or "")
    if not NAME_PATTERN.fullmatch(name):
        raise _validation(f"1 validation error detected: Value '{name}' at 'stackSetName' "
                          "failed to satisfy constraint: Member must satisfy regular "
                          "expression pattern: [a-zA-Z][-a-zA-Z0-9]*")
    if (self._get_param("PermissionModel") or "SELF_MANAGED") != "SERVICE_MANAGED":
        raise _validation("The sandbox serves service-managed stack sets only "
                          "(PermissionModel SERVICE_MANAGED)")
    body = self._get_param("TemplateBody")
    if not body:
        raise _validation("Either TemplateBody or TemplateURL must be specified")
    template = _parse_template(str(body))
    capabilities = [str(c) for c in self._get_param("Capabilities") or ()]
    _check_capabilities(template, capabilities)
    backend = _management(self)
    with state.lock:
        _require_access(backend)
        records = _stack_sets(state)
        if any(r.owner == self.current_account and r.region == self.region and r.name == name
               and r.status == "ACTIVE" for r in records.values()):
            raise aws_error("NameAlreadyExistsException",
                            f"StackSet {name} already exists")
        record = StackSetRecord(
            id=f"{name}:{uuid.uuid4()}", name=name, owner=self.current_account,
            region=self.region, template=str(body),
            parameters=_parameter_list(self._get_param("Parameters")),
            capabilities=capabilities, description=self._get_param("Description"),
            tags=list(self._get_param("Tags") or ()),
            auto_deployment=dict(self._get_param("AutoDeployment") or {"Enabled": False}),
            created=state.clock.now(), partition=state.partition)
        records[_key(record.owner, record.region, record.id)] = record
        return ActionResult({"StackSetId": record.id})


def _describe_stack_set(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        ou_ids = sorted({i.ou_id for i in record.instances.values()})
        document: dict[str, Any] = {
            "StackSetName": record.name, "StackSetId": record.id, "Status": record.status,
            "TemplateBody": record.template,
            # moto's serializer turns these two mappings into the model's lists
            "Parameters": dict(sorted(record.parameters.items())),
            "Capabilities": record.capabilities,
            "Tags": {str(t["Key"]): str(t["Value"]) for t in record.tags},
            "StackSetARN": record.arn, "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {"Enabled": bool(record.auto_deployment.get("Enabled")),
                               "RetainStacksOnAccountRemoval": bool(
                                   record.auto_deployment.get("RetainStacksOnAccountRemoval"))},
            "OrganizationalUnitIds": ou_ids,
            "Regions": sorted({i.region for i in record.instances.values()}),
            "ManagedExecution": {"Active": False},
        }
        if record.description:
            document["Description"] = record.description
        return ActionResult({"StackSet": document})


def _list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    wanted = self._get_param("Status")
    with state.lock:
        summaries = [{"StackSetName": r.name, "StackSetId": r.id, "Status": r.status,
                      "PermissionModel": "SERVICE_MANAGED",
                      "AutoDeployment": {"Enabled": bool(r.auto_deployment.get("Enabled"))},
                      "DriftStatus": "NOT_CHECKED", "ManagedExecution": {"Active": False},
                      **({"Description": r.description} if r.description else {})}
                     for r in _stack_sets(state).values()
                     if r.owner == self.current_account and r.region == self.region
                     and (wanted is None or r.status == wanted)]
        return ActionResult(_page(summaries, {"MaxResults": self._get_param("MaxResults"),
                                              "NextToken": self._get_param("NextToken")},
                                  operation="ListStackSets"))


def _update_stack_set(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    backend = _management(self)
    with state.lock:
        _require_access(backend)
        record = _find(state, self, self._get_param("StackSetName"))
        body = self._get_param("TemplateBody")
        use_previous = bool(self._get_param("UsePreviousTemplate"))
        if not body and not use_previous:
            raise _validation("Either TemplateBody, TemplateURL or UsePreviousTemplate must be "
                              "specified")
        template = record.template if use_previous or not body else str(body)
        capabilities = [str(c) for c in self._get_param("Capabilities") or ()]
        _check_capabilities(_parse_template(template), capabilities)
        if record.running() is not None:
            raise aws_error("OperationInProgressException",
                            f"Another Operation on StackSet {record.id} is in progress")
        record.template = template
        parameters = self._get_param("Parameters")
        if parameters is not None:
            previous = {str(p["ParameterKey"]) for p in parameters if p.get("UsePreviousValue")}
            record.parameters = {**{k: v for k, v in record.parameters.items()
                                    if k in previous}, **_parameter_list(parameters)}
        record.capabilities = capabilities
        if self._get_param("Description") is not None:
            record.description = self._get_param("Description")
        operation = _start(state, record, action="UPDATE",
                           targets=sorted(record.instances),
                           operation_id=self._get_param("OperationId"),
                           preferences=self._get_param("OperationPreferences"))
        return ActionResult({"OperationId": operation.id})


def _delete_stack_set(self: CloudFormationResponse) -> EmptyResult:
    state = current_state()
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        if record.running() is not None:
            raise aws_error("OperationInProgressException",
                            f"Another Operation on StackSet {record.id} is in progress")
        if record.instances:
            raise aws_error("StackSetNotEmptyException",
                            "StackSet is not empty: delete its stack instances first")
        record.status = "DELETED"
    return EmptyResult()


def _instances_call(self: CloudFormationResponse, *, action: str) -> ActionResult:
    state = current_state()
    backend = _management(self)
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        if self._get_param("Accounts"):
            raise _validation("StackSets with SERVICE_MANAGED permission model can only have "
                              "OrganizationalUnit as target")
        if action != "DELETE":
            _require_access(backend)
        deployment = self._get_param("DeploymentTargets")
        chosen = _resolve_targets(backend, deployment, creating=action == "CREATE")
        regions = _regions(self._get_param("Regions"))
        targets = [(account, region) for account, _ou in chosen for region in regions]
        ou_of = dict(chosen)
        overrides = _parameter_list(self._get_param("ParameterOverrides"))
        declared = set(_parse_template(record.template).get("Parameters") or {})
        unknown = sorted(set(overrides) - declared)
        if unknown:
            raise _validation(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
        if action == "UPDATE":
            absent = [t for t in targets if t not in record.instances]
            if absent:
                raise aws_error("StackInstanceNotFoundException",
                                f"Stack instance for account {absent[0][0]} in region "
                                f"{absent[0][1]} not found in StackSet {record.name}")
        if action == "DELETE":
            retain = self._get_param("RetainStacks")
            if retain is None:
                raise _validation("RetainStacks is required")
            targets = [t for t in targets if t in record.instances]
        operation = _start(state, record, action=action, targets=targets,
                           operation_id=self._get_param("OperationId"),
                           preferences=self._get_param("OperationPreferences"),
                           retain_stacks=(str(self._get_param("RetainStacks")).lower() == "true"
                                          if action == "DELETE" else None),
                           ou_ids=[str(o) for o in (deployment or {}).get(
                               "OrganizationalUnitIds") or ()])
        if action in ("CREATE", "UPDATE"):
            for target in targets:
                instance = record.instances.get(target)
                if instance is None:
                    instance = record.instances[target] = StackInstance(
                        account_id=target[0], region=target[1], ou_id=ou_of[target[0]])
                instance.overrides.update(overrides)
                instance.status, instance.detailed = "OUTDATED", "PENDING"
                instance.last_operation_id = operation.id
        return ActionResult({"OperationId": operation.id})


def _create_stack_instances(self: CloudFormationResponse) -> ActionResult:
    return _instances_call(self, action="CREATE")


def _update_stack_instances(self: CloudFormationResponse) -> ActionResult:
    return _instances_call(self, action="UPDATE")


def _delete_stack_instances(self: CloudFormationResponse) -> ActionResult:
    return _instances_call(self, action="DELETE")


def _list_stack_instances(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    account = self._get_param("StackInstanceAccount")
    region = self._get_param("StackInstanceRegion")
    filters = {str(f.get("Name")): str(f.get("Values")) for f in self._get_param("Filters") or ()}
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        summaries = []
        for (instance_account, instance_region), instance in sorted(record.instances.items()):
            if (account and instance_account != account) or \
                    (region and instance_region != region):
                continue
            if "DETAILED_STATUS" in filters and instance.detailed != filters["DETAILED_STATUS"]:
                continue
            if "LAST_OPERATION_ID" in filters and \
                    instance.last_operation_id != filters["LAST_OPERATION_ID"]:
                continue
            summaries.append(_instance_document(record, instance, full=False))
        return ActionResult(_page(summaries, {"MaxResults": self._get_param("MaxResults"),
                                              "NextToken": self._get_param("NextToken")},
                                  operation="ListStackInstances"))


def _describe_stack_instance(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    target = (str(self._get_param("StackInstanceAccount")),
              str(self._get_param("StackInstanceRegion")))
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        instance = record.instances.get(target)
        if instance is None:
            raise aws_error("StackInstanceNotFoundException",
                            f"Stack instance for account {target[0]} in region {target[1]} "
                            f"not found in StackSet {record.name}")
        return ActionResult({"StackInstance": _instance_document(record, instance, full=True)})


def _operation(record: StackSetRecord, operation_id: str | None) -> StackSetOperation:
    for operation in record.operations:
        if operation.id == operation_id:
            return operation
    raise aws_error("OperationNotFoundException", f"Operation {operation_id} not found")


def _describe_stack_set_operation(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        operation = _operation(record, self._get_param("OperationId"))
        document: dict[str, Any] = {
            **_operation_summary(operation), "StackSetId": record.id,
            "OperationPreferences": {"FailureToleranceCount": operation.failure_tolerance,
                                     "MaxConcurrentCount": 1},
            "AdministrationRoleARN": f"arn:{state.partition}:iam::{record.owner}:"
                                     f"role{SERVICE_ROLE_PATH}{ORG_ADMIN_ROLE}",
            "ExecutionRoleName": "stacksets-exec-orgsync-sandbox",
        }
        if operation.retain_stacks is not None:
            document["RetainStacks"] = operation.retain_stacks
        if operation.ou_ids:
            document["DeploymentTargets"] = {"OrganizationalUnitIds": operation.ou_ids}
        if operation.status in ("FAILED",):
            failed = sum(1 for s, _r in operation.results.values() if s == "FAILED")
            document["StatusDetails"] = {"FailedStackInstancesCount": failed}
        return ActionResult({"StackSetOperation": document})


def _list_stack_set_operations(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        summaries = [_operation_summary(o) for o in reversed(record.operations)]
        return ActionResult(_page(summaries, {"MaxResults": self._get_param("MaxResults"),
                                              "NextToken": self._get_param("NextToken")},
                                  operation="ListStackSetOperations"))


def _list_stack_set_operation_results(self: CloudFormationResponse) -> ActionResult:
    state = current_state()
    with state.lock:
        record = _find(state, self, self._get_param("StackSetName"))
        operation = _operation(record, self._get_param("OperationId"))
        summaries = []
        for (account, region), (status, reason) in sorted(operation.results.items()):
            item: dict[str, Any] = {
                "Account": account, "Region": region, "Status": status,
                "AccountGateResult": {"Status": "SKIPPED",
                                      "StatusReason": "No account gate function configured"}}
            instance = record.instances.get((account, region))
            if instance is not None:
                item["OrganizationalUnitId"] = instance.ou_id
            if reason:
                item["StatusReason"] = reason
            summaries.append(item)
        return ActionResult(_page(summaries, {"MaxResults": self._get_param("MaxResults"),
                                              "NextToken": self._get_param("NextToken")},
                                  operation="ListStackSetOperationResults"))


HANDLERS = {
    "activate_organizations_access": _activate_organizations_access,
    "deactivate_organizations_access": _deactivate_organizations_access,
    "describe_organizations_access": _describe_organizations_access,
    "create_stack_set": _create_stack_set,
    "describe_stack_set": _describe_stack_set,
    "list_stack_sets": _list_stack_sets,
    "update_stack_set": _update_stack_set,
    "delete_stack_set": _delete_stack_set,
    "create_stack_instances": _create_stack_instances,
    "update_stack_instances": _update_stack_instances,
    "delete_stack_instances": _delete_stack_instances,
    "list_stack_instances": _list_stack_instances,
    "describe_stack_instance": _describe_stack_instance,
    "describe_stack_set_operation": _describe_stack_set_operation,
    "list_stack_set_operations": _list_stack_set_operations,
    "list_stack_set_operation_results": _list_stack_set_operation_results,
}


def install() -> None:
    """Patch moto's CloudFormation (idempotent)."""
    install_handlers(CloudFormationResponse, HANDLERS)
    trust_service(SERVICE_PRINCIPAL)
