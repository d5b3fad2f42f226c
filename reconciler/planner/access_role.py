"""The access role in each member account: the role the management account assumes to get in.

Its trust policy and permissions are exact. An invited account has no such role and orgsync cannot
get in to make one: with a ``bootstrap_profile`` apply creates it through that profile, otherwise
the plan gives the account's own administrator a ``bootstrap`` step (a CloudFormation template and
the exact command) to run once.
"""

from __future__ import annotations

import json
import re

from reconciler import policy
from reconciler.afters import AccessRoleAfter
from reconciler.observed import ObservedRole
from reconciler.plan import Action, AttributeDiff, Change, Deferred
from reconciler.planner import stack_set
from reconciler.planner.context import AccountMatch, PlanContext


def organization_partition(ctx: PlanContext) -> str:
    """``aws``, ``aws-cn``, ``aws-us-gov``: from the organization's ARN (``aws`` if unknown)."""
    return policy.partition_of(ctx.observed.organization.arn)


def desired_role(ctx: PlanContext, match: AccountMatch, *, via_role: str | None,
                 bootstrap_profile: str | None) -> AccessRoleAfter:
    spec = match.spec.access_role
    partition = organization_partition(ctx)
    return {
        "account_id": match.id_expr,
        "name": spec.name,
        "trust_policy": policy.trust_policy(ctx.management_account_id,
                                            require_mfa=spec.require_mfa, partition=partition),
        "policies": sorted({policy.aws_managed_policy_in(p, partition=partition)
                            for p in spec.policies}),
        "inline_policies": {},
        "via_role": via_role,
        "bootstrap_profile": bootstrap_profile,
    }


def observed_role(role: ObservedRole) -> AccessRoleAfter:
    return {
        "account_id": role.account_id,
        "name": role.name,
        "trust_policy": None if role.trust_policy is None else dict(role.trust_policy),
        "policies": sorted(role.attached_policies),
        "inline_policies": {k: dict(v) for k, v in sorted(role.inline_policies.items())},
        "via_role": role.via_role,
        "bootstrap_profile": None,
    }


def plan_access_roles(ctx: PlanContext) -> None:
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        address = f"access_role.{name}"
        if match.spec.state != "active" or ctx.is_management(match):
            continue
        if match.disposition == "deferred":
            ctx.deferred.append(_foreseen(ctx, match, address,
                                          f"{match.address}: {match.waiting_for}"))
        elif match.disposition == "invite":
            ctx.deferred.append(_foreseen(
                ctx, match, address,
                f"the invitation of {match.address} (planned now) to be accepted"))
        elif match.disposition == "create":
            after = desired_role(ctx, match, via_role=None, bootstrap_profile=None)
            ctx.changes.append(Change(
                kind="access_role", key=name, action=Action.CREATE, before=None, after=after,
                reason="new account: ensure the access role once the account exists",
                depends_on=ctx.needs(match.address)))
        elif match.disposition == "present":
            _plan_existing(ctx, match, address)


def _foreseen(ctx: PlanContext, match: AccountMatch, address: str, waiting_for: str) -> Deferred:
    """An invited account has no access role: once it has joined, the role is created through its
    ``bootstrap_profile``, or its administrator gets a ``bootstrap`` step. Listed with that action
    so that the same apply may do it (a created account's role comes with CreateAccount)."""
    if match.spec.source != "invited":
        return Deferred(address, waiting_for)
    profile = match.spec.bootstrap_profile
    after = desired_role(ctx, match, via_role=None, bootstrap_profile=profile)
    if stack_set.served(ctx, match):
        name = stack_set.stack_set_name(ctx)
        return Deferred(address, f"{waiting_for}; then stack set {name} deploys the role",
                        action=Action.CREATE,
                        after={**after, "stack_set": {"name": name,
                                                      "region": stack_set.region(ctx)}})
    if profile is not None:
        return Deferred(address, f"{waiting_for}; then the role is created through profile "
                                 f"{profile}", action=Action.CREATE, after=after)
    return Deferred(address, f"{waiting_for}; then the account's administrator must create the "
                             "role (instructions in that plan)", action=Action.BOOTSTRAP,
                    after=after)


def _plan_existing(ctx: PlanContext, match: AccountMatch, address: str) -> None:
    name = match.spec.name
    role = ctx.observed.roles.get(match.id_expr)
    wanted_name = match.spec.access_role.name
    if role is not None and role.name != wanted_name and role.status == "ok":
        role = ObservedRole(account_id=role.account_id, name=wanted_name, status="missing",
                            via_role=role.name)
    if role is None or role.status == "not_assumable":
        why = (role.error if role is not None and role.error else "orgsync cannot get in")
        profile = match.spec.bootstrap_profile
        observed_account = match.observed
        if match.spec.access_role.require_mfa and observed_account is not None and \
                observed_account.joined_method == "CREATED" and profile is None:
            # CreateAccount made this role; with require_mfa its trust admits only MFA sessions,
            # orgsync's own credentials included. Without MFA orgsync cannot see inside it, which
            # is what the file asked for: say so instead of planning a bootstrap that is not one.
            ctx.deferred.append(Deferred(
                address, f"credentials with MFA: role {wanted_name} requires MFA (require_mfa: "
                f"true) and could not be assumed ({why}); run orgsync with an MFA session to "
                "check or change it: --mfa-serial ARN --mfa-token CODE (or ORGSYNC_MFA_SERIAL "
                "and ORGSYNC_MFA_TOKEN)"))
            return
        after = desired_role(ctx, match, via_role=None, bootstrap_profile=profile)
        if stack_set.served(ctx, match):
            ctx.changes.append(stack_set.role_change(ctx, match, after=after, why=why))
        elif profile is not None:
            ctx.changes.append(Change(
                kind="access_role", key=name, action=Action.CREATE, before=None, after=after,
                reason=f"role {wanted_name} is not assumable ({why}); create or update it "
                       f"through profile {profile}"))
        else:
            ctx.changes.append(Change(
                kind="access_role", key=name, action=Action.BOOTSTRAP, before=None, after=after,
                reason=f"role {wanted_name} is not assumable ({why}); the account's "
                       "administrator must create it once (or set bootstrap_profile)",
                instructions=bootstrap_instructions(
                    account_id=match.id_expr, role_name=wanted_name,
                    management_account_id=ctx.management_account_id,
                    trust=after["trust_policy"], policies=after["policies"])))
        return
    if role.status == "missing":
        after = desired_role(ctx, match, via_role=role.via_role, bootstrap_profile=None)
        ctx.changes.append(Change(
            kind="access_role", key=name, action=Action.CREATE, before=None, after=after,
            reason=f"role {wanted_name} does not exist (read through {role.via_role})"))
        return
    after = desired_role(ctx, match, via_role=role.via_role, bootstrap_profile=None)
    before = observed_role(role)
    policies, drift = policy.effective_role_policies(
        role.attached_policies, role.inline_policies, partition=organization_partition(ctx))
    what: list[str] = []
    diffs: list[AttributeDiff] = []
    if not policy.equivalent(role.trust_policy, after["trust_policy"]):
        what.append("trust policy differs")
        diffs.extend(policy.document_diffs(role.trust_policy, after["trust_policy"],
                                           prefix="trust_policy"))
    if list(policies) != after["policies"]:
        what.append("permissions differ")
        diffs.extend(policy.attribute_diffs(list(policies), after["policies"],
                                            prefix="policies"))
    if drift:
        what.append("unexpected inline policies")
        diffs.extend(policy.attribute_diffs({k: dict(v) for k, v in drift.items()}, {},
                                            prefix="inline_policies"))
    if not what:
        return
    ctx.changes.append(Change(
        kind="access_role", key=name, action=Action.UPDATE, before=before, after=after,
        reason=", ".join(what), diff=tuple(diffs)))


def bootstrap_instructions(*, account_id: str, role_name: str, management_account_id: str,
                           trust: object, policies: object) -> str:
    """What the member account's administrator runs once: a CloudFormation template, the
    ``aws cloudformation deploy`` command, and the ``aws iam`` alternative."""
    assert isinstance(trust, dict) and isinstance(policies, list)
    statement = trust["Statement"][0]
    condition = statement.get("Condition")
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        f"Description: orgsync access role {role_name} (management account "
        f"{management_account_id} may assume it)",
        "Resources:",
        "  OrgsyncAccessRole:",
        "    Type: AWS::IAM::Role",
        "    Properties:",
        f"      RoleName: {role_name}",
        "      AssumeRolePolicyDocument:",
        f"        Version: '{policy.POLICY_VERSION}'",
        "        Statement:",
        "          - Effect: Allow",
        "            Principal:",
        f"              AWS: {json.dumps(statement['Principal']['AWS'])}",
        "            Action: sts:AssumeRole",
    ]
    if condition:
        lines += [
            "            Condition:",
            "              Bool:",
            "                aws:MultiFactorAuthPresent: 'true'",
        ]
    lines.append("      ManagedPolicyArns:")
    lines += [f"        - {arn}" for arn in policies] or ["        []"]
    template = "\n".join(lines)
    # stack names are [a-zA-Z][-a-zA-Z0-9]* (at most 128); role names also allow _+=,.@
    stack = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9-]", "-", f"orgsync-{role_name}"))
    stack = stack.rstrip("-")[:128]
    attach = "\n".join(
        f"aws iam attach-role-policy --role-name {role_name} --policy-arn {arn}"
        for arn in policies)
    trust_json = json.dumps(trust, separators=(",", ":"))
    return (
        f"Run once with administrator credentials of account {account_id} (not the management "
        "account).\n"
        "1. Save this CloudFormation template as orgsync-access-role.yaml:\n\n"
        f"{template}\n\n"
        "2. Deploy it:\n\n"
        f"aws cloudformation deploy --template-file orgsync-access-role.yaml "
        f"--stack-name {stack} --capabilities CAPABILITY_NAMED_IAM\n\n"
        "Or, without CloudFormation:\n\n"
        f"aws iam create-role --role-name {role_name} "
        f"--assume-role-policy-document '{trust_json}'\n"
        f"{attach}\n\n"
        f"If a role named {role_name} already exists (for example left over from another "
        "organization), CloudFormation cannot create it: update it instead, then remove any "
        "other policies it has (list them with `aws iam list-attached-role-policies` and "
        "`aws iam list-role-policies`):\n\n"
        f"aws iam update-assume-role-policy --role-name {role_name} "
        f"--policy-document '{trust_json}'\n"
        f"{attach}\n\n"
        "Then run orgsync plan again."
    )
