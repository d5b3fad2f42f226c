"""Makes each member account's access role exactly what the file says, or tells a person how to.

How orgsync gets into the account decides everything: through the role itself or ``via_role`` (an
assumed role in the member account), or for an invited account that has no such role yet through
its ``bootstrap_profile`` (credentials *inside* that account, used once). Without either, the
``bootstrap`` change carries instructions that a member-account admin must run; that counts as
"needs a person", not a failure.

The role's permissions are made exact: attached managed policies == ``policies`` and no inline
policies (AWS's CreateAccount puts an inline allow-everything policy on the role; the planner
treats it as ``AdministratorAccess``, and apply replaces it with the attachment). Attachments are
added before anything is removed so that a role never goes without the access it should keep. IAM
is eventually consistent, so after a change apply waits (bounded) until the role can be assumed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, cast

from reconciler.afters import AccessRoleAfter
from reconciler.apply.kit import NeedsHuman, StepContext, StepFailed, Waiting
from reconciler.apply.reachability import ready_wait_left, wait_until_assumable
from reconciler.aws import paginate
from reconciler.errors import AwsError, NotFound
from reconciler.plan import Action, Change
from reconciler.policy import equivalent

_ROLE_CALLS = (
    "iam:GetRole",
    "iam:CreateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
)

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("sts:AssumeRole",),
    "member": _ROLE_CALLS,
    "bootstrap": ("sts:GetCallerIdentity", *_ROLE_CALLS),
}

ROLE_DESCRIPTION = "Administrator access from the management account (managed by orgsync)"


def apply_change(change: Change, ctx: StepContext) -> str:
    if change.action is Action.BOOTSTRAP and not _new_account_became_reachable(change, ctx):
        raise NeedsHuman(str(ctx.resolve(change.instructions or "create the access role in the "
                                         "member account (no instructions in the plan)")))
    if change.action not in (Action.CREATE, Action.UPDATE, Action.BOOTSTRAP):
        raise StepFailed(f"access role changes cannot be {change.action.value}")
    after = cast(AccessRoleAfter, ctx.resolve(change.after or {}))
    if after.get("stack_set"):
        from reconciler.apply import stack_set

        return stack_set.deploy_role(change, ctx, after)
    account_id, name = str(after["account_id"]), str(after["name"])
    iam, how = _iam_client(change, ctx, after)
    notes = _ensure_role(iam, after)
    if not notes:
        return f"role {name} in {account_id} already as wanted (via {how})"
    ctx.aws.forget(account_id)
    notes.append(_wait_until_assumable(change, ctx, account_id=account_id, name=name,
                                       trust=after.get("trust_policy") or {}))
    return f"{'; '.join(notes)} (via {how})"


def _new_account_became_reachable(change: Change, ctx: StepContext) -> bool:
    """A role that could not be assumed in an account CreateAccount made minutes ago: AWS may
    simply not let anyone in yet (reachability.py). Wait for it, up to the time AWS can take
    counted from the account's creation; True when the role can now be assumed (then it is
    ensured like any other), False when a person is needed after all."""
    after = cast(AccessRoleAfter, ctx.resolve(change.after or {}))
    account_id, name = str(after.get("account_id", "")), str(after.get("name", ""))
    if after.get("bootstrap_profile") or not ctx.observed.recently_created(account_id):
        return False
    remaining = ready_wait_left(ctx, account_id)
    if remaining <= 0:
        return False
    try:
        wait_until_assumable(ctx, change, account_id=account_id, role_name=name,
                             timeout_s=remaining, new_account=True)
    except Waiting:
        return False
    return True


def _iam_client(change: Change, ctx: StepContext, after: AccessRoleAfter) -> tuple[Any, str]:
    """An IAM client inside the member account, and how it was obtained (for the output)."""
    account_id, name = str(after["account_id"]), str(after["name"])
    profile = after.get("bootstrap_profile")
    via = after.get("via_role")
    candidates = [r for r in (via, name) if r]
    if profile and change.action is Action.CREATE and not via:
        candidates = []  # the role does not exist yet: only the profile can get in
    errors: list[str] = []
    if change.action is Action.BOOTSTRAP:  # a new account that became reachable
        return ctx.aws.member_client("iam", account_id=account_id, role_name=name), \
            f"role {name}"
    if not profile and not via and change.action is Action.CREATE:
        # A new account: CreateAccount made the role, but AWS lets nobody in for minutes after
        # the account is SUCCEEDED; wait (bounded, with progress) rather than fail.
        wait_until_assumable(ctx, change, account_id=account_id, role_name=name,
                             new_account=True)
        return ctx.aws.member_client("iam", account_id=account_id, role_name=name), \
            f"role {name}"
    for role in dict.fromkeys(candidates):
        try:
            # AssumeRole now, so that a role that cannot be assumed falls through
            ctx.aws.assume_role(account_id=account_id, role_name=role)
            return ctx.aws.member_client("iam", account_id=account_id, role_name=role), \
                f"role {role}"
        except AwsError as error:
            errors.append(str(error))
    if profile:
        identity = ctx.aws.profile_client("sts", profile=profile).get_caller_identity()
        if identity.get("Account") != account_id:
            raise StepFailed(f"bootstrap_profile {profile!r} holds credentials for account "
                             f"{identity.get('Account')}, not {account_id}")
        return ctx.aws.profile_client("iam", profile=profile), f"profile {profile}"
    raise StepFailed("cannot get into account " + account_id + ": " + "; ".join(errors))


def _ensure_role(iam: Any, after: AccessRoleAfter) -> list[str]:
    name = str(after["name"])
    trust = after.get("trust_policy") or {}
    notes: list[str] = []
    try:
        role = iam.get_role(RoleName=name)["Role"]
        current_trust = role.get("AssumeRolePolicyDocument")
        if isinstance(current_trust, str):
            current_trust = json.loads(current_trust)
        if not equivalent(current_trust, trust):
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            notes.append("updated the trust policy")
    except NotFound:
        try:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                            Description=ROLE_DESCRIPTION)
            notes.append(f"created role {name}")
        except AwsError as error:
            if "EntityAlreadyExists" not in error.code:
                raise
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            notes.append("updated the trust policy")
    wanted = set(after.get("policies") or ())
    attached = {p["PolicyArn"] for p in paginate(iam, "list_attached_role_policies",
                                                 "AttachedPolicies", RoleName=name)}
    for arn in sorted(wanted - attached):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        notes.append(f"attached {arn.rsplit('/', 1)[-1]}")
    inline_wanted: Mapping[str, Any] = after.get("inline_policies") or {}
    for policy_name, document in sorted(inline_wanted.items()):
        try:
            current = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        except NotFound:
            current = None
        if current is None or not equivalent(current, document):
            iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                PolicyDocument=json.dumps(document))
            notes.append(f"put inline policy {policy_name}")
    for policy_name in paginate(iam, "list_role_policies", "PolicyNames", RoleName=name):
        if policy_name not in inline_wanted:
            # NoSuchEntity: nothing left to delete (e.g. our own delete whose reply was lost)
            with contextlib.suppress(NotFound):
                iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
            notes.append(f"deleted inline policy {policy_name}")
    for arn in sorted(attached - wanted):
        with contextlib.suppress(NotFound):
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        notes.append(f"detached {arn.rsplit('/', 1)[-1]}")
    return notes


def _requires_mfa(trust: Mapping[str, Any]) -> bool:
    return "multifactorauthpresent" in json.dumps(trust).lower()


def _wait_until_assumable(change: Change, ctx: StepContext, *, account_id: str, name: str,
                          trust: Mapping[str, Any]) -> str:
    """Wait (bounded) until the management account can assume the role: IAM is eventually
    consistent (``reachability``: a role still refused when the time is up is ``waiting``). A
    role that requires MFA is checked with the run's MFA session (``--mfa-serial``); without one
    it cannot be checked, so it is not."""
    mfa = _requires_mfa(trust)
    if mfa and not ctx.aws.has_mfa:
        return "not test-assumed (it requires MFA; run with --mfa-serial to check it)"
    wait_until_assumable(ctx, change, account_id=account_id, role_name=name)
    return ("assumable from the management account with MFA" if mfa
            else "assumable from the management account")
