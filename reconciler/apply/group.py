"""Makes orgsync's IAM groups in the management account exactly what the file says.

A group is owned by its path (IAM groups cannot be tagged). Membership, inline policies and
orgsync's own managed grant policies (``orgsync-<group>-assume-N``) are made exact; managed policies
orgsync does not own are left attached. Grant documents may name accounts created earlier in the
same run, written ``${account.NAME.id}`` in the plan and substituted here.

Every write is preceded by a read, and "already exists" answers are treated as success, so a
re-run after a crash never creates a second policy or version.

Grant policies the plan lists in ``before`` with ``"attached": false`` and does not want (left
behind by a crash, a group deleted by hand, or a group that left the file) are detached from their
group if they got attached since, stripped of their old versions and deleted; "no such entity"
means already gone. A ``before.path`` of null means orgsync has no group of that name: the group
(if someone else has one) is never touched, only its left-over policies are deleted.

A planned create that meets a same-named group under another path (IAM group names are unique per
account whatever the path; observe reads only orgsync's paths) fails without changing anything:
moving it would take over someone else's group, its members and its policies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, cast

from reconciler.afters import GroupAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.aws import pages, paginate
from reconciler.errors import AwsError, NotFound
from reconciler.plan import Action, Change
from reconciler.policy import equivalent, is_managed_grant_policy_name, partition_of

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "iam:GetGroup",
        "iam:CreateGroup",
        "iam:UpdateGroup",
        "iam:DeleteGroup",
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:PutGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:ListAttachedGroupPolicies",
        "iam:AttachGroupPolicy",
        "iam:DetachGroupPolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:DeletePolicy",
        "iam:ListEntitiesForPolicy",
    ),
}

MAX_POLICY_VERSIONS = 5


def apply_change(change: Change, ctx: StepContext) -> str:
    iam = ctx.aws.client("iam")
    if change.action is Action.DELETE:
        return _delete(iam, ctx, change)
    if change.action not in (Action.CREATE, Action.UPDATE):
        raise StepFailed(f"group changes cannot be {change.action.value}")
    after = cast(GroupAfter, ctx.resolve(change.after or {}))
    name, path = str(after["name"]), str(after.get("path") or "/orgsync/")
    notes: list[str] = []
    if change.action is Action.CREATE:
        # Create first, read only if the name is taken: a runner holding `orgsync permissions`'
        # policy may act only on groups under orgsync's paths, and IAM authorizes a request for
        # a group that does not exist against the ARN without a path (group/NAME), so a read
        # before the create is refused (AccessDenied, not NoSuchEntity) on real AWS.
        try:
            iam.create_group(GroupName=name, Path=path)
            notes.append(f"created group {name}")
        except AwsError as error:
            if "EntityAlreadyExists" not in error.code:
                raise
            notes.extend(_adopt_existing(iam, name, path))
    else:
        try:
            group = iam.get_group(GroupName=name)["Group"]
            if group.get("Path") != path:
                iam.update_group(GroupName=name, NewPath=path)
                notes.append(f"moved to path {path}")
        except NotFound:
            iam.create_group(GroupName=name, Path=path)
            notes.append(f"created group {name}")
    notes.extend(_ensure_members(iam, name, tuple(after.get("members") or ())))
    notes.extend(_ensure_inline(iam, name, after.get("inline_policies") or {}))
    wanted = after.get("managed_policies") or ()
    notes.extend(_ensure_managed(iam, ctx, name, wanted))
    keep = {_policy_arn(ctx, str(p["path"]), str(p["name"]))
            for p in wanted}
    notes.extend(_delete_left_over(iam, ctx, name, change, keep=keep))
    return "; ".join(notes) or "already as wanted"


def _adopt_existing(iam: Any, name: str, path: str) -> list[str]:
    """The name is taken: ours when it is under our path (a create whose reply was lost, or
    another run's), else refused without a change."""
    try:
        found = str(iam.get_group(GroupName=name)["Group"].get("Path") or "/")
    except AwsError as error:
        if "AccessDenied" not in error.code:
            raise
        raise StepFailed(
            f"IAM group {name} already exists, outside orgsync's path {path} (the runner may "
            "not even read it: orgsync's policy covers only its own paths); rename the group "
            "in the file, or move the existing group to a path of its own") from error
    if found != path:
        raise StepFailed(_not_ours(name, found, path))
    return []


def _not_ours(name: str, found: str, wanted: str) -> str:
    """Why a planned create stops at a same-named group elsewhere (IAM group names are unique
    per account whatever the path, and observe reads only orgsync's paths)."""
    head = (f"IAM group {name} already exists under path {found}, which is not orgsync's (the "
            f"file puts it under {wanted}); nothing was changed. Give the group another name in "
            "the file, or adopt the existing group: ")
    if found == "/":  # the file may not use "/": it would hand orgsync every group
        return head + (f"move it to a path of its own (aws iam update-group --group-name {name} "
                       "--new-path /PATH/) and set that path for it in the file")
    return head + (f"set path: {found} for it in the file (orgsync then owns every group under "
                   f"{found}: those not in the file are deleted)")


def _members(iam: Any, name: str) -> set[str]:
    return {u["UserName"] for u in paginate(iam, "get_group", "Users", GroupName=name)}


def _ensure_members(iam: Any, name: str, wanted: tuple[str, ...]) -> list[str]:
    current = _members(iam, name)
    notes: list[str] = []
    for user in sorted(set(wanted) - current):
        iam.add_user_to_group(GroupName=name, UserName=user)
        notes.append(f"added {user}")
    for user in sorted(current - set(wanted)):
        # NoSuchEntity: nothing left to remove (e.g. our own call whose reply was lost)
        with contextlib.suppress(NotFound):
            iam.remove_user_from_group(GroupName=name, UserName=user)
        notes.append(f"removed {user}")
    return notes


def _ensure_inline(iam: Any, name: str, wanted: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    current = set(paginate(iam, "list_group_policies", "PolicyNames", GroupName=name))
    for policy_name, document in sorted(wanted.items()):
        if policy_name in current:
            existing = iam.get_group_policy(GroupName=name,
                                            PolicyName=policy_name)["PolicyDocument"]
            if isinstance(existing, str):
                existing = json.loads(existing)
            if equivalent(existing, document):
                continue
        iam.put_group_policy(GroupName=name, PolicyName=policy_name,
                             PolicyDocument=json.dumps(document, separators=(",", ":")))
        notes.append(f"put inline policy {policy_name}")
    for policy_name in sorted(current - set(wanted)):
        with contextlib.suppress(NotFound):  # nothing left to delete
            iam.delete_group_policy(GroupName=name, PolicyName=policy_name)
        notes.append(f"deleted inline policy {policy_name}")
    return notes


def _policy_arn(ctx: StepContext, path: str, name: str) -> str:
    """A managed policy of the management account, in the organization's partition."""
    partition = partition_of(ctx.observed.organization.arn)
    return f"arn:{partition}:iam::{ctx.management_account_id}:policy{path}{name}"


def _ensure_policy(iam: Any, arn: str, spec: Mapping[str, Any]) -> str | None:
    """Make the managed policy at ``arn`` exist with ``spec['document']`` as its default version."""
    document = json.dumps(spec["document"], separators=(",", ":"))
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except NotFound:
        try:
            iam.create_policy(PolicyName=spec["name"], Path=spec["path"], PolicyDocument=document,
                              Description="orgsync: assume grants of one group")
            return f"created policy {spec['name']}"
        except AwsError as error:
            if "EntityAlreadyExists" not in error.code:
                raise
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
    default = policy.get("DefaultVersionId", "v1")
    current = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
    if isinstance(current, str):
        current = json.loads(current)
    if equivalent(current, spec["document"]):
        return None
    versions = list(paginate(iam, "list_policy_versions", "Versions", PolicyArn=arn))
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min((v for v in versions if not v.get("IsDefaultVersion")),
                     key=lambda v: str(v.get("CreateDate", "")))
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    return f"new version of policy {spec['name']}"


def _owned_attached(iam: Any, ctx: StepContext, group: str) -> list[str]:
    """ARNs of orgsync's grant policies attached to ``group`` (by name pattern and path)."""
    owned: list[str] = []
    prefix = _policy_arn(ctx, "", "")
    for policy in paginate(iam, "list_attached_group_policies", "AttachedPolicies",
                           GroupName=group):
        arn = str(policy["PolicyArn"])
        if (arn.startswith(prefix)
                and is_managed_grant_policy_name(group, str(policy["PolicyName"]))):
            owned.append(arn)
    return owned


def _ensure_managed(iam: Any, ctx: StepContext, group: str,
                    wanted: Any) -> list[str]:
    notes: list[str] = []
    wanted_arns: set[str] = set()
    for spec in wanted:
        arn = _policy_arn(ctx, str(spec["path"]), str(spec["name"]))
        wanted_arns.add(arn)
        note = _ensure_policy(iam, arn, spec)
        if note:
            notes.append(note)
    attached = {str(p["PolicyArn"]) for p in paginate(
        iam, "list_attached_group_policies", "AttachedPolicies", GroupName=group)}
    for arn in sorted(wanted_arns - attached):
        iam.attach_group_policy(GroupName=group, PolicyArn=arn)
        notes.append(f"attached {arn.rsplit('/', 1)[-1]}")
    for arn in sorted(set(_owned_attached(iam, ctx, group)) - wanted_arns):
        _detach(iam, group, arn)
        notes.append(f"detached {arn.rsplit('/', 1)[-1]}")
        if _delete_policy(iam, arn):
            notes.append(f"deleted policy {arn.rsplit('/', 1)[-1]}")
    return notes


def _delete_policy(iam: Any, arn: str) -> bool:
    """Delete an orgsync policy that nothing uses any more (its old versions first)."""
    try:
        entities = iam.list_entities_for_policy(PolicyArn=arn)
    except NotFound:
        return False
    if any(entities.get(k) for k in ("PolicyGroups", "PolicyUsers", "PolicyRoles")):
        return False
    return _delete_versions_and_policy(iam, arn)


def _left_over_arns(ctx: StepContext, change: Change) -> list[str]:
    """The ARNs of the grant policies the plan saw loose (``"attached": false`` in before)."""
    before = cast(GroupAfter, change.before or {})
    return sorted(_policy_arn(ctx, str(p["path"]), str(p["name"]))
                  for p in before.get("managed_policies") or ()
                  if p.get("attached") is False)


def _delete_left_over(iam: Any, ctx: StepContext, group: str, change: Change, *,
                      keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Delete the loose grant policies of ``group`` that are not in ``keep``.

    Detaches one from ``group`` if it got attached since the plan; refuses (StepFailed, after
    the others are done) one that something else uses, which only a person can decide about.
    """
    notes: list[str] = []
    in_use: list[str] = []
    for arn in _left_over_arns(ctx, change):
        if arn in keep:
            continue
        short = arn.rsplit("/", 1)[-1]
        others: list[str] = []
        try:
            for page in pages(iam, "list_entities_for_policy", PolicyArn=arn):
                for entry in page.get("PolicyGroups") or ():
                    if entry["GroupName"] == group:
                        _detach(iam, group, arn)
                        notes.append(f"detached {short}")
                    else:
                        others.append(f"group {entry['GroupName']}")
                others.extend(f"user {u['UserName']}" for u in page.get("PolicyUsers") or ())
                others.extend(f"role {r['RoleName']}" for r in page.get("PolicyRoles") or ())
        except NotFound:
            continue
        if others:
            in_use.append(f"{short} (attached to {', '.join(others)})")
            continue
        if _delete_versions_and_policy(iam, arn):
            notes.append(f"deleted left-over policy {short}")
    if in_use:
        done = f" (done: {'; '.join(notes)})" if notes else ""
        raise StepFailed(f"left-over grant policies still in use, not deleted: "
                         f"{', '.join(in_use)}; detach them by hand{done}")
    return notes


def _detach(iam: Any, group: str, arn: str) -> None:
    with contextlib.suppress(NotFound):
        iam.detach_group_policy(GroupName=group, PolicyArn=arn)


def _delete_versions_and_policy(iam: Any, arn: str) -> bool:
    """Delete a policy nothing uses: its non-default versions first (IAM requires it). False
    when it was already gone."""
    try:
        versions = list(paginate(iam, "list_policy_versions", "Versions", PolicyArn=arn))
        for version in versions:
            if not version.get("IsDefaultVersion"):
                with contextlib.suppress(NotFound):
                    iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)
    except NotFound:
        return False
    return True


def _delete(iam: Any, ctx: StepContext, change: Change) -> str:
    before = cast(GroupAfter, change.before or {})
    name = str(before.get("name") or change.key)
    if before.get("path") is None and "path" in before:
        notes = _delete_left_over(iam, ctx, name, change)
        return "; ".join(notes) or "left-over grant policies were already gone"
    try:
        iam.get_group(GroupName=name)
    except NotFound:
        notes = _delete_left_over(iam, ctx, name, change)
        return "; ".join([f"group {name} was already gone", *notes])
    notes = _ensure_members(iam, name, ())
    notes.extend(_ensure_inline(iam, name, {}))
    owned = set(_owned_attached(iam, ctx, name))
    for policy in list(paginate(iam, "list_attached_group_policies", "AttachedPolicies",
                                GroupName=name)):
        arn = str(policy["PolicyArn"])
        _detach(iam, name, arn)
        if arn in owned:
            _delete_policy(iam, arn)
    notes.extend(_delete_left_over(iam, ctx, name, change))
    with contextlib.suppress(NotFound):  # nothing left to delete: our own lost-reply delete
        iam.delete_group(GroupName=name)
    notes.append(f"deleted group {name}")
    return "; ".join(notes)
