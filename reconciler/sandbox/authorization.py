"""Identity-based policies decide every call an IAM user or role session makes, as in AWS.

Until this module the sandbox evaluated the caller's identity policies only where a resource
policy was involved too (``sts:AssumeRole`` with the role's trust policy, S3 and SQS with their
resource policies, root sessions with their task policy) and in IAM Identity Center. Every other
call by an IAM user or role session succeeded whatever its policies said, so a runner whose policy
lacked an action orgsync calls (exactly what ``orgsync permissions`` must get right) passed every
test and would fail on its first real run. AWS decides each request from the principal's
identity-based policies: without an Allow that applies, the request is implicitly denied, and an
explicit Deny always wins (IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

What is checked here: IAM users (long-term keys and GetSessionToken credentials) and role
sessions, for IAM, Organizations, Account Management and CloudFormation calls. Not here:
``sts:AssumeRole``/``AssumeRoot`` (``sts.py`` evaluates them with the trust policy), S3/SQS
(``resources.py``, with the resource policy), Identity Center (``identity_center.py``), and calls
that need no permission (``sts:GetCallerIdentity``: "No permissions are required to perform this
operation", STS API reference). The root user and root sessions are not governed by identity
policies (root sessions are limited by their task policy in ``app.py``).

The resource of an IAM request is its ARN where the request names it (a group, role, user or
policy, with the path IAM holds for it), as in the IAM Service Authorization Reference's resource
types for each action, so ``orgsync permissions``' path-scoped statements are tested as AWS tests
them. For the other services, and IAM calls that name no resource (list and account-level
actions, which the Service Authorization Reference lists with no resource type), the resource is
``*``: only statements whose Resource matches ``*`` (that is, ``"*"``) apply. This is stricter than
AWS for a policy that scopes, say, ``organizations:MoveAccount`` to account ARNs (refused here,
allowed by AWS); orgsync's own policies use ``"*"`` for those services.
"""

from __future__ import annotations

from typing import Any

from moto.iam.models import iam_backends

from reconciler.sandbox.identity import Caller, identify, identity_policies, mfa_context
from reconciler.sandbox.policy_eval import Decision, evaluate
from reconciler.sandbox.protocol import Response, error_response, form_params, iam_action
from reconciler.sandbox.state import SandboxState

# Services whose calls are decided here (the others decide elsewhere, see the module docstring).
SERVICES = frozenset({"iam", "organizations", "account", "cloudformation"})
ACCESS_DENIED = {"organizations": "AccessDeniedException", "account": "AccessDeniedException",
                 "iam": "AccessDenied", "cloudformation": "AccessDenied"}
GOVERNED = frozenset({"user", "user-session", "assumed-role"})


def _path_of(collection: dict[str, Any], name: str) -> str | None:
    item = collection.get(name)
    return str(getattr(item, "path", "/") or "/") if item is not None else None


def iam_resource(caller: Caller, params: dict[str, str]) -> str:
    """The ARN an IAM request acts on, from the names it carries (``*`` when it names none).
    The order follows the Service Authorization Reference: AddUserToGroup, AttachGroupPolicy,
    PutGroupPolicy act on the group; AttachRolePolicy on the role; a policy's own actions on
    the policy."""
    account, partition = caller.account_id, caller.partition
    iam = iam_backends[account][partition]
    prefix = f"arn:{partition}:iam::{account}:"
    if params.get("GroupName"):
        name = params["GroupName"]
        groups = {g.name: g for g in iam.groups.values()}
        path = _path_of(groups, name) or params.get("Path") or "/"
        return f"{prefix}group{path}{name}"
    if params.get("RoleName"):
        name = params["RoleName"]
        roles = {r.name: r for r in iam.roles.values()}
        path = _path_of(roles, name) or params.get("Path") or "/"
        return f"{prefix}role{path}{name}"
    if params.get("UserName"):
        name = params["UserName"]
        path = _path_of(iam.users, name) or params.get("Path") or "/"
        return f"{prefix}user{path}{name}"
    if params.get("PolicyArn"):
        return params["PolicyArn"]
    if params.get("PolicyName") and params.get("Action") == "CreatePolicy":
        return f"{prefix}policy{params.get('Path') or '/'}{params['PolicyName']}"
    return "*"


def _context(caller: Caller, state: SandboxState, remote: str) -> dict[str, Any]:
    """The global condition keys of the request (IAM User Guide, "AWS global condition context
    keys"): who asks, from where, and with or without MFA."""
    context: dict[str, Any] = {
        "aws:principalarn": caller.role_arn or caller.arn,
        "aws:principalaccount": caller.account_id,
        "aws:principaltype": "AssumedRole" if caller.kind == "assumed-role" else "User",
        "aws:sourceip": remote, "aws:securetransport": "true",
        **mfa_context(caller, now=state.clock.now())}
    if caller.user_name:
        context["aws:username"] = caller.user_name
    return context


def denial(state: SandboxState, *, access_key: str, service: str, operation: str, body: bytes,
           remote: str) -> Response | None:
    """AWS's refusal of this call under the caller's identity policies, else None."""
    if service not in SERVICES:
        return None
    caller = identify(state, access_key)
    if caller.kind not in GOVERNED:
        return None
    action = iam_action(service, operation)
    resource = iam_resource(caller, form_params(body)) if service == "iam" and body else "*"
    decision = evaluate(identity_policies(caller), action=action, resource=resource,
                        context=_context(caller, state, remote))
    if decision is Decision.ALLOW:
        return None
    why = ("with an explicit deny in an identity-based policy" if decision is Decision.DENY
           else f"because no identity-based policy allows the {action} action")
    return error_response(service, ACCESS_DENIED[service],
                          f"User: {caller.arn} is not authorized to perform: {action} on "
                          f"resource: {resource} {why}")
