"""The least-privilege IAM policies orgsync needs, derived from the code's own declarations.

Every observe and apply module declares ``PERMISSIONS: dict[scope, tuple[action, ...]]`` next to
the calls it makes (cloud-custodian keeps each action's permissions beside it for the same reason):
scope ``management`` is what the runner calls with its own credentials, ``member`` what it calls
through a member account's access role, ``root`` what it calls inside an ``sts:AssumeRoot`` session
and ``bootstrap`` what it calls with a member's own profile. The kinds' modules come from the kind
registry (``reconciler.kinds``: a registered kind is in the policy with no other edit), the rest
(the AWS layer, ``orgsync root``'s modules) from walking their packages with ``pkgutil``; this
module turns them into policies:

- ``plan``: the management reads of every observe module, ``sts:AssumeRole`` on the access roles
  and ``sts:AssumeRoot`` limited by ``sts:TaskPolicyArn`` to the task policies the reads need.
- ``apply``: ``plan`` plus every apply module's writes, the apply lock and the write tasks.
- ``member``: what the access role in a member account must allow for orgsync's reads.
- ``root``: what ``orgsync root ...`` (unlock a bucket or queue policy, audit root users) calls,
  for a break-glass role of its own in the management or IAM delegated administrator account;
  neither the plan nor the apply runner gets the unlock tasks.

Resources are scoped where IAM supports it: group actions to the managed group paths, customer
managed policy actions to the same paths (and the lock's path), role assumption to the access role
names. Everything else IAM only grants on ``"*"``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from reconciler.errors import OrgsyncError
from reconciler.model import DEFAULT_ACCESS_ROLE, DEFAULT_GROUP_PATH

Stage = Literal["plan", "apply", "root"]
PolicyFor = Literal["plan", "apply", "member", "root"]

SCOPES = ("management", "member", "root", "bootstrap")
# Packages (besides the kinds' modules) whose modules declare PERMISSIONS, and the stage their
# calls belong to. The AWS layer itself is included for any call it makes on its own (caller
# identity, region discovery).
DECLARING_PACKAGES: tuple[tuple[str, Stage], ...] = (
    ("reconciler.aws", "plan"),
    ("reconciler.privileged", "root"),
)
DECLARING_MODULES: tuple[tuple[str, Stage], ...] = (
    ("reconciler.lock", "apply"),
    ("reconciler.commands.access", "plan"),  # orgsync access: read-only, the plan runner's reads
)

ROOT_TASK_PREFIX = "arn:aws:iam::aws:policy/root-task/"
_AUDIT_READS = ("iam:ListAccessKeys", "iam:ListSigningCertificates", "iam:GetLoginProfile",
                "iam:ListMFADevices", "iam:GetUser", "iam:GetAccessKeyLastUsed")
# What each AWS-managed root task policy allows (IAM User Guide, "AWS managed policies for
# privileged tasks"); a root session can do nothing else, whatever the caller's own policy says.
ROOT_TASKS: Mapping[str, frozenset[str]] = {
    "IAMAuditRootUserCredentials": frozenset((*_AUDIT_READS, "iam:GetAccountSummary")),
    "IAMDeleteRootUserCredentials": frozenset((
        *_AUDIT_READS, "iam:DeleteAccessKey", "iam:DeleteSigningCertificate",
        "iam:DeleteLoginProfile", "iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice")),
    "IAMCreateRootUserPassword": frozenset(("iam:CreateLoginProfile", "iam:GetLoginProfile")),
    # the resource-policy tasks (arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy and
    # .../SQSUnlockQueuePolicy, as AWS publishes them)
    "S3UnlockBucketPolicy": frozenset(("s3:DeleteBucketPolicy", "s3:PutBucketPolicy",
                                       "s3:GetBucketPolicy", "s3:ListAllMyBuckets")),
    "SQSUnlockQueuePolicy": frozenset(("sqs:SetQueueAttributes", "sqs:GetQueueAttributes",
                                       "sqs:ListQueues", "sqs:GetQueueUrl")),
}
_TASK_PREFERENCE = tuple(ROOT_TASKS)  # ties in the set cover go to the least powerful task

# Actions whose resource is an IAM group (Service Authorization Reference, IAM): scoped to the
# managed group paths. Actions not listed here are granted on "*".
GROUP_ACTIONS = frozenset((
    "iam:CreateGroup", "iam:DeleteGroup", "iam:GetGroup", "iam:UpdateGroup",
    "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
    "iam:PutGroupPolicy", "iam:GetGroupPolicy", "iam:DeleteGroupPolicy", "iam:ListGroupPolicies",
    "iam:AttachGroupPolicy", "iam:DetachGroupPolicy", "iam:ListAttachedGroupPolicies",
))
# Actions whose resource is a customer managed policy: scoped to the managed paths.
POLICY_ACTIONS = frozenset((
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListPolicyVersions",
    "iam:SetDefaultPolicyVersion", "iam:ListEntitiesForPolicy", "iam:TagPolicy",
    "iam:UntagPolicy", "iam:ListPolicyTags",
))
ASSUME_ACTIONS = frozenset(("sts:AssumeRole", "sts:AssumeRoot"))
# Calls IAM never denies: they need no statement (GetSessionToken: "No permissions are required",
# IAM User Guide, "Permissions for GetSessionToken").
ALWAYS_ALLOWED = frozenset(("sts:GetCallerIdentity", "sts:GetSessionToken"))

_ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Declaration:
    """One module's ``PERMISSIONS``, and whether its calls happen at plan or only at apply time."""

    module: str
    stage: Stage
    permissions: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class PolicyContext:
    """What narrows the resources: the management account and the names the file uses."""

    management_account_id: str = "*"
    access_role_names: tuple[str, ...] = (DEFAULT_ACCESS_ROLE,)
    group_paths: tuple[str, ...] = (DEFAULT_GROUP_PATH,)
    partition: str = "aws"
    notes: tuple[str, ...] = field(default=(), compare=False)


def declarations() -> tuple[Declaration, ...]:
    """Every module's PERMISSIONS: the registered kinds' observe (plan) and apply modules, and
    the modules of the other declaring packages."""
    from reconciler.kinds import registered

    found: list[Declaration] = []
    for kind in registered().values():
        stages: tuple[tuple[ModuleType | None, Stage], ...] = ((kind.observe, "plan"),
                                                               (kind.apply, "apply"))
        for module, stage in stages:
            declared = getattr(module, "PERMISSIONS", None)
            if module is not None and declared is not None:
                found.append(Declaration(module.__name__, stage,
                                         _checked(module.__name__, declared)))
    for package_name, stage in DECLARING_PACKAGES:
        for module in _walk(package_name):
            declared = getattr(module, "PERMISSIONS", None)
            if declared is not None:
                found.append(Declaration(module.__name__, stage, _checked(module.__name__,
                                                                           declared)))
    for module_name, stage in DECLARING_MODULES:
        module = importlib.import_module(module_name)
        found.append(Declaration(module_name, stage,
                                 _checked(module_name, module.PERMISSIONS)))
    return tuple(sorted(found, key=lambda d: d.module))


def actions(decls: Iterable[Declaration], *, stage: Stage, scope: str) -> frozenset[str]:
    """The actions of ``scope`` that a run of ``stage`` may call (apply includes plan; the root
    commands are a stage of their own)."""
    stages: dict[Stage, tuple[Stage, ...]] = {"plan": ("plan",), "apply": ("plan", "apply"),
                                              "root": ("root",)}
    wanted = stages[stage]
    return frozenset(action for d in decls if d.stage in wanted
                     for action in d.permissions.get(scope, ()))


def root_tasks(root_actions: Iterable[str]) -> tuple[str, ...]:
    """The fewest task policies that allow every root-session action (greedy set cover)."""
    missing = set(root_actions)
    chosen: list[str] = []
    while missing:
        best = max(_TASK_PREFERENCE, key=lambda t: (len(ROOT_TASKS[t] & missing),
                                                     -_TASK_PREFERENCE.index(t)))
        if not ROOT_TASKS[best] & missing:
            raise OrgsyncError("no root task policy allows "
                               + ", ".join(sorted(missing)) + " (a PERMISSIONS declaration bug)")
        chosen.append(best)
        missing -= ROOT_TASKS[best]
    return tuple(sorted(chosen, key=_TASK_PREFERENCE.index))


def policy(for_: PolicyFor, *, context: PolicyContext | None = None,
           decls: tuple[Declaration, ...] | None = None) -> dict[str, Any]:
    """The IAM policy document for the plan runner, the apply runner or the member access role."""
    ctx = context or PolicyContext()
    found = declarations() if decls is None else decls
    if not found:
        raise OrgsyncError("no module declares PERMISSIONS: the installation is incomplete")
    if for_ == "member":
        return _document(_statements_for_actions(
            actions(found, stage="plan", scope="member"), ctx, lock=False, sid="MemberReads"))
    stage: Stage = for_
    management = actions(found, stage=stage, scope="management")
    statements = _statements_for_actions(management, ctx, lock=stage == "apply",
                                         sid="RootTasks" if stage == "root" else "Runner")
    if stage != "root":
        statements.append({
            "Sid": "AssumeAccessRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [f"arn:{ctx.partition}:iam::*:role/{name}"
                         for name in sorted(set(ctx.access_role_names))],
        })
    tasks = root_tasks(actions(found, stage=stage, scope="root"))
    if tasks:
        statements.append({
            "Sid": "AssumeRootForTasks",
            "Effect": "Allow",
            "Action": "sts:AssumeRoot",
            "Resource": f"arn:{ctx.partition}:iam::*:root",
            "Condition": {"StringEquals": {"sts:TaskPolicyArn": [
                f"arn:{ctx.partition}:iam::aws:policy/root-task/{t}" for t in tasks]}},
        })
    return _document(statements)


def covers(document: Mapping[str, Any], action: str) -> bool:
    """Whether some Allow statement of ``document`` names ``action`` (wildcards honoured)."""
    if action in ALWAYS_ALLOWED:
        return True
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        for pattern in _as_list(statement.get("Action")):
            if _glob_match(str(pattern), action):
                return True
    return False


def allowed_root_tasks(document: Mapping[str, Any]) -> frozenset[str]:
    """The task policy names an ``sts:AssumeRoot`` statement of ``document`` allows."""
    tasks: set[str] = set()
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") == "Allow" and "sts:AssumeRoot" in _as_list(
                statement.get("Action")):
            condition = statement.get("Condition", {}).get("StringEquals", {})
            for arn in _as_list(condition.get("sts:TaskPolicyArn")):
                tasks.add(str(arn).rsplit("/", 1)[-1])
    return frozenset(tasks)


def context_from_desired(desired: Any) -> PolicyContext:
    """Narrow the resources to what a loaded ``DesiredState`` names."""
    names = {desired.organization.access_role}  # also the role orgsync reads others through
    names.update(account.access_role.name for account in desired.accounts)
    if getattr(desired.organization, "invited_bootstrap", "manual") == "stackset":
        from reconciler.stackset import ADOPT_ROLE

        names.add(ADOPT_ROLE)  # apply takes an existing access role over through it
    return PolicyContext(
        management_account_id=desired.organization.management_account_id,
        access_role_names=tuple(sorted(names)),
        group_paths=tuple(desired.managed_group_paths),
    )


def _statements_for_actions(wanted: frozenset[str], ctx: PolicyContext, *, lock: bool,
                            sid: str) -> list[dict[str, Any]]:
    plain = sorted(a for a in wanted - ASSUME_ACTIONS - ALWAYS_ALLOWED
                   if a not in GROUP_ACTIONS and a not in POLICY_ACTIONS)
    groups = sorted(a for a in wanted if a in GROUP_ACTIONS)
    policies = sorted(a for a in wanted if a in POLICY_ACTIONS)
    iam = f"arn:{ctx.partition}:iam::{ctx.management_account_id}"
    paths = sorted(set(ctx.group_paths))
    statements: list[dict[str, Any]] = []
    if plain:
        statements.append({"Sid": sid, "Effect": "Allow", "Action": plain, "Resource": "*"})
    if groups:
        statements.append({"Sid": "ManagedGroups", "Effect": "Allow", "Action": groups,
                           "Resource": [f"{iam}:group{p}*" for p in paths]})
    if policies:
        from reconciler.lock import LOCK_PATH

        resources = [f"{iam}:policy{p}*" for p in paths]
        if lock:
            resources.append(f"{iam}:policy{LOCK_PATH}*")
        statements.append({"Sid": "ManagedPolicies", "Effect": "Allow", "Action": policies,
                           "Resource": resources})
    return statements


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _walk(package_name: str) -> list[ModuleType]:
    try:
        package = importlib.import_module(package_name)
    except ModuleNotFoundError as error:
        if error.name is not None and package_name.startswith(error.name):
            return []  # the package is not there (yet): it declares nothing
        raise
    modules = [package]
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=package_name + "."):
        modules.append(importlib.import_module(info.name))
    return modules


def _checked(module_name: str, declared: Any) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(declared, Mapping):
        raise OrgsyncError(f"{module_name}.PERMISSIONS is not a mapping")
    result: dict[str, tuple[str, ...]] = {}
    for scope, values in declared.items():
        if scope not in SCOPES:
            raise OrgsyncError(f"{module_name}.PERMISSIONS has an unknown scope {scope!r}")
        bad = [v for v in values if not isinstance(v, str) or not _ACTION_RE.match(v)]
        if bad:
            raise OrgsyncError(f"{module_name}.PERMISSIONS[{scope!r}] has bad actions {bad}")
        result[scope] = tuple(values)
    return result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _glob_match(pattern: str, action: str) -> bool:
    regex = "^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, action.lower()) is not None
