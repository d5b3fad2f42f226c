"""IAM's centralized root access, which moto lacks.

Adds the organizations features (RootCredentialsManagement, RootSessions) with their real
prerequisite errors, and a root user per account whose password, access keys, signing certificates
and MFA devices root sessions (``sts:AssumeRoot``) act on when they omit ``UserName``.
``GetAccountSummary`` reports that root user truthfully for every caller.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from moto.core.responses import ActionResult, EmptyResult
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AccountSummary, AWSManagedPolicy, IAMBackend, iam_backends
from moto.iam.policy_validation import VALID_RESOURCE_PATH_STARTING_VALUES
from moto.iam.responses import IamResponse

from reconciler.sandbox.common import aws_error, current_state
from reconciler.sandbox.identity import Caller, default_document, identify, identity_policies
from reconciler.sandbox.organizations import IAM_PRINCIPAL, management_backend
from reconciler.sandbox.policy_eval import Decision, condition_keys, evaluate
from reconciler.sandbox.state import RootUser, SandboxState

FEATURES = ("RootCredentialsManagement", "RootSessions")


def _organization_checks(state: SandboxState, account_id: str, *,
                         management_only: bool) -> tuple[str, Any]:
    """(management account id, org) after AWS's prerequisite checks, else the AWS error."""
    backend = management_backend(account_id)
    if backend is None or backend.org is None:
        raise aws_error("OrganizationNotFoundException",
                        "The request failed because your organization was not found.")
    if backend.account_id != account_id:
        delegated = any(a.account.id == account_id and IAM_PRINCIPAL in a.services
                        for a in backend.admins)
        if management_only:
            raise aws_error("CallerIsNotManagementAccountException",
                            "The request failed because the caller is not the management "
                            "account of the organization.")
        if not delegated:
            raise aws_error("AccountNotManagementOrDelegatedAdministratorException",
                            "The request failed because the account is not the management "
                            "account or delegated administrator account for centralized root "
                            "access.")
    if backend.org.feature_set != "ALL":
        raise aws_error("OrganizationNotInAllFeaturesModeException",
                        "The request failed because your organization does not have all "
                        "features enabled.")
    if not any(s["ServicePrincipal"] == IAM_PRINCIPAL for s in backend.services):
        raise aws_error("ServiceAccessNotEnabledException",
                        "The request failed because trusted access isn't enabled for AWS "
                        "Identity and Access Management in AWS Organizations.")
    return backend.account_id, backend.org


def _features_result(state: SandboxState, management_id: str, org: Any) -> ActionResult:
    with state.lock:
        enabled = [f for f in FEATURES if f in state.org_features[management_id]]
    return ActionResult({"OrganizationId": org.id, "EnabledFeatures": enabled})


def _feature_handler(feature: str | None, *, enable: bool) -> Callable[[IamResponse], Any]:
    def handler(self: IamResponse) -> ActionResult:
        state = current_state()
        management_id, org = _organization_checks(
            state, self.current_account, management_only=enable and feature is not None)
        if feature is not None:
            with state.lock:
                features = state.org_features[management_id]
                if enable:
                    features.add(feature)
                else:
                    features.discard(feature)
        return _features_result(state, management_id, org)
    return handler


def root_user(state: SandboxState, account_id: str) -> RootUser:
    with state.lock:
        return state.root_users.setdefault(account_id, RootUser(account_id=account_id))


def _root_target(self: IamResponse) -> RootUser | None:
    """The root user this call acts on: only root sessions that omit UserName."""
    state = current_state()
    if self._get_param("UserName"):
        return None
    caller = identify(state, self.get_access_key())
    if caller.kind != "root-session":
        return None
    return root_user(state, caller.account_id)


def _no_entity(message: str) -> Exception:
    return aws_error("NoSuchEntity", message)


def _wrap(name: str, root_handler: Callable[[IamResponse, RootUser], Any]) -> None:
    original = getattr(IamResponse, f"_orgsync_original_{name}", None) or getattr(IamResponse,
                                                                                   name)
    setattr(IamResponse, f"_orgsync_original_{name}", original)

    def handler(self: IamResponse) -> Any:
        root = _root_target(self)
        if root is None:
            return original(self)
        with current_state().lock:
            return root_handler(self, root)
    setattr(IamResponse, name, handler)


def _get_login_profile(self: IamResponse, root: RootUser) -> ActionResult:
    if root.password_created is None:
        raise _no_entity(f"Login Profile for User {root.account_id} cannot be found.")
    return ActionResult({"LoginProfile": {"UserName": root.account_id,
                                          "CreateDate": root.password_created,
                                          "PasswordResetRequired": False}})


def _create_login_profile(self: IamResponse, root: RootUser) -> ActionResult:
    if self._get_param("Password"):
        raise aws_error("InvalidInput", "A root session can only allow password recovery: "
                                        "omit Password.")
    if root.password_created is not None:
        raise aws_error("EntityAlreadyExists",
                        f"Login Profile for user {root.account_id} already exists.")
    root.password_created = current_state().clock.now()
    return ActionResult({"LoginProfile": {"UserName": root.account_id,
                                          "CreateDate": root.password_created,
                                          "PasswordResetRequired": False}})


def _delete_login_profile(self: IamResponse, root: RootUser) -> EmptyResult:
    if root.password_created is None:
        raise _no_entity(f"Login Profile for User {root.account_id} cannot be found.")
    root.password_created = None
    return EmptyResult()


def _list_access_keys(self: IamResponse, root: RootUser) -> ActionResult:
    return ActionResult({"AccessKeyMetadata": [
        {"AccessKeyId": k.access_key_id, "Status": k.status, "CreateDate": k.created}
        for k in root.access_keys], "IsTruncated": False})


def _delete_access_key(self: IamResponse, root: RootUser) -> EmptyResult:
    key_id = self._get_param("AccessKeyId")
    before = len(root.access_keys)
    root.access_keys = [k for k in root.access_keys if k.access_key_id != key_id]
    if len(root.access_keys) == before:
        raise _no_entity(f"The Access Key with id {key_id} cannot be found.")
    return EmptyResult()


def _list_signing_certificates(self: IamResponse, root: RootUser) -> ActionResult:
    return ActionResult({"Certificates": [
        {"UserName": root.account_id, "CertificateId": c.certificate_id,
         "CertificateBody": c.body, "Status": c.status, "UploadDate": c.created}
        for c in root.signing_certificates], "IsTruncated": False})


def _delete_signing_certificate(self: IamResponse, root: RootUser) -> EmptyResult:
    cert_id = self._get_param("CertificateId")
    before = len(root.signing_certificates)
    root.signing_certificates = [c for c in root.signing_certificates
                                 if c.certificate_id != cert_id]
    if len(root.signing_certificates) == before:
        raise _no_entity(f"The Certificate with id {cert_id} cannot be found.")
    return EmptyResult()


def _list_mfa_devices(self: IamResponse, root: RootUser) -> ActionResult:
    return ActionResult({"MFADevices": [
        {"UserName": root.account_id, "SerialNumber": d.serial_number, "EnableDate": d.enabled}
        for d in root.mfa_devices if d.active], "IsTruncated": False})


def _deactivate_mfa_device(self: IamResponse, root: RootUser) -> EmptyResult:
    serial = self._get_param("SerialNumber")
    device = next((d for d in root.mfa_devices if d.serial_number == serial and d.active), None)
    if device is None:
        raise _no_entity(f"MFA Device with serial number {serial} does not exist.")
    device.active = False
    return EmptyResult()


def _delete_virtual_mfa_device(self: IamResponse, root: RootUser) -> EmptyResult:
    serial = self._get_param("SerialNumber")
    device = next((d for d in root.mfa_devices if d.serial_number == serial), None)
    if device is None:
        raise _no_entity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    if device.active:
        raise aws_error("DeleteConflict", "MFA device is still in use.")
    root.mfa_devices.remove(device)
    return EmptyResult()


def _simulate_principal_policy(self: IamResponse) -> ActionResult:
    """iam:SimulatePrincipalPolicy for a user (with its groups), group or role of the calling
    account, with the sandbox's policy evaluator (IAM API reference, SimulatePrincipalPolicy:
    identity-based policies only unless a resource policy is given; context keys a statement
    tests but the request does not supply are reported in MissingContextValues)."""
    source = str(self._get_param("PolicySourceArn") or "")
    actions = [str(a) for a in self._get_param("ActionNames", [])]
    resources = [str(r) for r in self._get_param("ResourceArns", [])] or ["*"]
    context = {str(e.get("ContextKeyName", "")).lower(): [str(v) for v in
                                                          e.get("ContextKeyValues") or []]
               for e in self._get_param("ContextEntries", []) or []}
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):(user|group|role)/(?:.*/)?([^/]+)", source)
    if match is None or match.group(1) != self.current_account:
        raise aws_error("InvalidInput", f"Invalid PolicySourceArn: {source}")
    iam = iam_backends[self.current_account][current_state().partition]
    kind, name = match.group(2), match.group(3)
    policies: list[Any]
    if kind == "user":
        if name not in iam.users:
            raise aws_error("NoSuchEntity", f"The user with name {name} cannot be found.")
        policies = identity_policies(Caller(self.current_account, source, "user",
                                            user_name=name))
    elif kind == "role":
        if not any(r.name == name for r in iam.roles.values()):
            raise aws_error("NoSuchEntity", f"The role with name {name} cannot be found.")
        policies = identity_policies(Caller(self.current_account, source, "assumed-role",
                                            role_arn=source))
    else:
        group = iam.groups.get(name)
        if group is None:
            raise aws_error("NoSuchEntity", f"The group with name {name} cannot be found.")
        policies = [*group.policies.values(),
                    *(default_document(p) for p in group.managed_policies.values())]
    decisions = {Decision.ALLOW: "allowed", Decision.DENY: "explicitDeny",
                 Decision.NONE: "implicitDeny"}
    results = []
    for action in actions:
        for resource in resources:
            decision = evaluate(policies, action=action, resource=resource, context=context)
            missing = sorted(condition_keys(policies, action=action, resource=resource)
                             - set(context))
            results.append({"EvalActionName": action, "EvalResourceName": resource,
                            "EvalDecision": decisions[decision], "MatchedStatements": [],
                            "MissingContextValues": missing})
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def _get_account_summary(self: IamResponse) -> ActionResult:
    original = IamResponse._orgsync_original_get_account_summary  # type: ignore[attr-defined]
    result = original(self)
    state = current_state()
    with state.lock:
        flags = root_user(state, self.current_account).summary()
    result.result["SummaryMap"].update(flags)
    return result


class SharedAWSManagedPolicy(AWSManagedPolicy):
    """An AWS managed policy as every account sees it until the account changes it.

    Every account lists AWS's ~1,500 managed policies (AdministratorAccess, ...), as in AWS, but a
    private copy of all of them costs ~10 ms and ~1 MB per account, which at thousands of
    accounts is most of the sandbox's time and memory. Accounts share these read-only objects
    instead; the IAM operations that change a managed policy (attach, detach, tag, versions) first
    give the account its own copy (``_privatize``), so attachment counts, tags and versions stay
    per account. Changing a shared object any other way is a bug and fails loudly."""

    def attach_to(self, obj: Any) -> None:
        raise RuntimeError(f"shared AWS managed policy {self.name} attached without a copy")

    def detach_from(self, obj: Any) -> None:
        raise RuntimeError(f"shared AWS managed policy {self.name} detached without a copy")


# a region of each partition: moto builds a managed policy's ARN from it
_PARTITION_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


@lru_cache(maxsize=3)
def _aws_managed_prototypes(partition: str) -> tuple[SharedAWSManagedPolicy, ...]:
    """AWS's managed policies as ``partition`` names them (``arn:aws-cn:iam::aws:policy/...``
    in China, IAM User Guide "AWS managed policies"; moto's data holds the aws ones)."""
    data = json.loads(aws_managed_policies_data)
    return tuple(cast(SharedAWSManagedPolicy, SharedAWSManagedPolicy.from_data(
        name, "000000000000", _PARTITION_REGION[partition], document))
        for name, document in data.items())


@lru_cache(maxsize=3)
def _aws_managed_by_arn(partition: str) -> dict[str, SharedAWSManagedPolicy]:
    return {p.arn: p for p in _aws_managed_prototypes(partition)}


def _managed_policy_inits(state: SandboxState) -> tuple[
        Callable[[IAMBackend], list[Any]], Callable[[IAMBackend], dict[str, Any]]]:
    """moto's hooks that give a new account its AWS managed policies: only in the sandbox's
    partition (moto may look keys up in every partition: keep those backends cheap)."""
    def init_aws_policies(self: IAMBackend) -> list[Any]:
        if self.partition != state.partition:
            return []
        return list(_aws_managed_prototypes(state.partition))

    def init_managed_policies(self: IAMBackend) -> dict[str, Any]:
        if self.partition != state.partition:
            return {}
        return dict(_aws_managed_by_arn(state.partition))

    return init_aws_policies, init_managed_policies


def _privatize(backend: IAMBackend, policy_arn: Any) -> None:
    """Give ``backend``'s account its own copy of a shared AWS managed policy."""
    shared = backend.managed_policies.get(policy_arn) if isinstance(policy_arn, str) else None
    if not isinstance(shared, SharedAWSManagedPolicy):
        return
    policy: Any = copy.copy(shared)
    policy.__dict__ = {k: v.copy() if isinstance(v, (list, dict)) else v
                       for k, v in shared.__dict__.items()}
    policy.__class__ = AWSManagedPolicy
    policy.versions = [copy.copy(v) for v in shared.versions]
    policy.account_id = backend.account_id
    backend.managed_policies[policy_arn] = policy
    backend.aws_managed_policies = [policy if p is shared else p
                                    for p in backend.aws_managed_policies]


def _get_account_authorization_details(self: IAMBackend,
                                       policy_filter: list[str]) -> dict[str, Any]:
    """moto's, without hashing every AWS managed policy twice on each call (its set difference
    of all managed policies and the AWS ones was half the cost of the call orgsync makes once
    per member account). Local policies are the ones that are not AWS managed."""
    def local() -> list[Any]:
        return [p for p in self.managed_policies.values() if not isinstance(p, AWSManagedPolicy)]

    if not policy_filter:
        return {"instance_profiles": self.instance_profiles.values(),
                "roles": self.roles.values(), "groups": self.groups.values(),
                "users": self.users.values(),
                "managed_policies": self.managed_policies.values()}
    returned: list[Any] = []
    if "AWSManagedPolicy" in policy_filter:
        returned = self.aws_managed_policies
    if "LocalManagedPolicy" in policy_filter:
        returned = returned + local()
    return {"instance_profiles": self.instance_profiles.values(),
            "roles": self.roles.values() if "Role" in policy_filter else [],
            "groups": self.groups.values() if "Group" in policy_filter else [],
            "users": self.users.values() if "User" in policy_filter else [],
            "managed_policies": returned}


def _customer_policies(self: AccountSummary) -> int:
    """GetAccountSummary's ``Policies``: moto matches a regular expression against each of the
    ~1,500 managed policy ARNs per call; the customer managed ones are the policies that are not
    AWS managed."""
    return sum(1 for p in self._iam_backend.managed_policies.values()
               if not isinstance(p, AWSManagedPolicy))


# IAMBackend methods that change the managed policy named by their first argument (policy_arn)
_POLICY_CHANGES = ("attach_role_policy", "detach_role_policy", "attach_group_policy",
                   "detach_group_policy", "attach_user_policy", "detach_user_policy",
                   "tag_policy", "untag_policy", "create_policy_version", "delete_policy_version",
                   "set_default_policy_version")


def _copy_on_change(name: str) -> None:
    original = getattr(IAMBackend, f"_orgsync_original_{name}", None) or getattr(IAMBackend,
                                                                                  name)
    setattr(IAMBackend, f"_orgsync_original_{name}", original)

    def method(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
        # one account's first changes of a policy from two threads must share one copy
        lock = self.__dict__.setdefault("_orgsync_policy_lock", threading.RLock())
        with lock:
            _privatize(self, kwargs["policy_arn"] if "policy_arn" in kwargs else
                       (args[0] if args else None))
            return original(self, *args, **kwargs)
    setattr(IAMBackend, name, method)


def _atomic_create_policy() -> None:
    """CreatePolicy is atomic on the policy's name in IAM (a second create of the name gets
    EntityAlreadyExists); moto checks then stores, and two threads of the sandbox's server can
    both pass the check. Serialize creates per account, as orgsync's apply lock relies on."""
    original = getattr(IAMBackend, "_orgsync_original_create_policy", None) or \
        IAMBackend.create_policy
    IAMBackend._orgsync_original_create_policy = original  # type: ignore[attr-defined]

    def create_policy(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
        lock = self.__dict__.setdefault("_orgsync_policy_lock", threading.RLock())
        with lock:
            return original(self, *args, **kwargs)
    setattr(IAMBackend, "create_policy", create_policy)  # noqa: B010


def install(state: SandboxState) -> None:
    """Patch moto's IAM (idempotent; the newest sandbox's state wins, one per process)."""
    init_aws_policies, init_managed_policies = _managed_policy_inits(state)
    setattr(IAMBackend, "_init_aws_policies", init_aws_policies)  # noqa: B010
    setattr(IAMBackend, "_init_managed_policies", init_managed_policies)  # noqa: B010
    setattr(IAMBackend, "get_account_authorization_details",  # noqa: B010
            _get_account_authorization_details)
    setattr(AccountSummary, "_policies", property(_customer_policies))  # noqa: B010
    for name in _POLICY_CHANGES:
        _copy_on_change(name)
    setattr(IamResponse, "simulate_principal_policy",  # noqa: B010
            _simulate_principal_policy)
    _atomic_create_policy()
    setattr(IamResponse, "list_organizations_features",  # noqa: B010
            _feature_handler(None, enable=False))
    for feature in FEATURES:
        suffix = "root_credentials_management" if feature == "RootCredentialsManagement" \
            else "root_sessions"
        setattr(IamResponse, f"enable_organizations_{suffix}",
                _feature_handler(feature, enable=True))
        setattr(IamResponse, f"disable_organizations_{suffix}",
                _feature_handler(feature, enable=False))
    _wrap("get_login_profile", _get_login_profile)
    # moto's policy validator knows no ``root`` resource type and refuses a policy naming
    # ``arn:aws:iam::*:root``, which AWS accepts: it is the resource of sts:AssumeRoot (Service
    # Authorization Reference, AWS STS: resource type "root",
    # arn:${Partition}:iam::${Account}:root).
    iam_paths = VALID_RESOURCE_PATH_STARTING_VALUES["iam"]["values"]
    if "root" not in iam_paths:
        iam_paths.append("root")
    _wrap("create_login_profile", _create_login_profile)
    _wrap("delete_login_profile", _delete_login_profile)
    _wrap("list_access_keys", _list_access_keys)
    _wrap("delete_access_key", _delete_access_key)
    _wrap("list_signing_certificates", _list_signing_certificates)
    _wrap("delete_signing_certificate", _delete_signing_certificate)
    _wrap("list_mfa_devices", _list_mfa_devices)
    _wrap("deactivate_mfa_device", _deactivate_mfa_device)
    _wrap("delete_virtual_mfa_device", _delete_virtual_mfa_device)
    if not hasattr(IamResponse, "_orgsync_original_get_account_summary"):
        IamResponse._orgsync_original_get_account_summary = (  # type: ignore[attr-defined]
            IamResponse.get_account_summary)
    setattr(IamResponse, "get_account_summary", _get_account_summary)  # noqa: B010
