"""``orgsync permissions``: the policies come from the code's declarations, are well-formed and
least-privilege, and the example pipeline policies are the ones the code generates today."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from reconciler import permissions as perms
from reconciler.permissions import (
    ROOT_TASKS,
    Declaration,
    PolicyContext,
    actions,
    allowed_root_tasks,
    covers,
    declarations,
    policy,
    root_tasks,
)

from .helpers import orgsync

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "github-actions"
WRITE_VERBS = re.compile(r":(Create|Delete|Put|Attach|Detach|Update|Tag|Untag|Enable|Disable|"
                         r"Invite|Move|Close|Add|Remove|Set|Accept|Cancel|Decline|Deactivate)")


# IAM service prefix -> the botocore services whose operations it authorizes, where they differ
# (IAM Identity Center's admin API, botocore's sso-admin, is authorized as "sso:...")
_BOTOCORE_SERVICES = {"sso": ("sso-admin", "sso")}


@cache
def _operations(service: str) -> frozenset[str]:
    session = botocore.session.get_session()
    return frozenset().union(*(session.get_service_model(name).operation_names
                               for name in _BOTOCORE_SERVICES.get(service, (service,))))


def test_declarations_are_found_in_observe_and_apply_packages() -> None:
    found = declarations()
    modules = {d.module for d in found}
    assert any(m.startswith("reconciler.apply.") for m in modules), modules
    assert any(m.startswith("reconciler.observe") for m in modules), modules
    assert "reconciler.lock" in modules
    kinds = {m.rsplit(".", 1)[-1] for m in modules if m.startswith("reconciler.apply.")}
    assert {"account", "ou", "access_role", "group", "root_credentials",
            "organization"} <= kinds, kinds


def test_every_declaring_kind_module_is_registered() -> None:
    """A module of observe/ or apply/ that declares PERMISSIONS belongs to a registered kind (the
    registry, not a package walk, is where the policy finds them: an unregistered one would be
    missing from it)."""
    import importlib
    import pkgutil

    from reconciler.kinds import registered

    in_registry = {m.__name__ for k in registered().values() for m in (k.observe, k.apply)
                   if m is not None}
    for package_name in ("reconciler.observe", "reconciler.apply"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__, prefix=package_name + "."):
            module = importlib.import_module(info.name)
            if hasattr(module, "PERMISSIONS"):
                assert info.name in in_registry, f"{info.name} declares PERMISSIONS: register it"
    assert {d.module for d in declarations()} >= in_registry


def test_every_registered_kind_is_planned() -> None:
    """Every kind of the registry has planning steps (a kind may be planned before its reads
    and executor are registered, while it is being built: Identity Center's)."""
    from reconciler.kinds import registered
    from reconciler.planner.registry import planned_kinds

    assert set(registered()) <= set(planned_kinds())


def test_every_declared_action_is_a_real_aws_operation() -> None:
    for declaration in declarations():
        for scope, declared in declaration.permissions.items():
            for action in declared:
                service, operation = action.split(":", 1)
                assert operation in _operations(service), \
                    f"{declaration.module} PERMISSIONS[{scope}] names {action}: no such operation"


def test_root_actions_are_allowed_by_some_task_policy() -> None:
    for stage in ("plan", "apply"):
        root_actions = actions(declarations(), stage=stage, scope="root")
        tasks = root_tasks(root_actions)
        allowed = frozenset().union(*(ROOT_TASKS[t] for t in tasks)) if tasks else frozenset()
        assert root_actions <= allowed


def test_root_task_cover_picks_the_least_powerful_tasks() -> None:
    assert root_tasks(["iam:GetAccountSummary", "iam:ListAccessKeys"]) == \
        ("IAMAuditRootUserCredentials",)
    assert root_tasks(["iam:DeleteLoginProfile", "iam:CreateLoginProfile",
                       "iam:ListMFADevices"]) == \
        ("IAMDeleteRootUserCredentials", "IAMCreateRootUserPassword")
    assert root_tasks([]) == ()


def _all_actions(document: dict) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


def test_plan_policy_reads_only_and_apply_policy_adds_the_writes() -> None:
    plan = policy("plan")
    apply = policy("apply")
    plan_actions = _all_actions(plan) - {"sts:AssumeRole", "sts:AssumeRoot"}
    writes = sorted(a for a in plan_actions if WRITE_VERBS.search(a))
    assert not writes, f"the plan policy grants writes: {writes}"
    assert _all_actions(plan) <= _all_actions(apply)
    assert "organizations:CreateAccount" in _all_actions(apply)
    assert "organizations:CreateAccount" not in _all_actions(plan)
    assert allowed_root_tasks(plan) == {"IAMAuditRootUserCredentials"}
    assert {"IAMAuditRootUserCredentials", "IAMDeleteRootUserCredentials",
            "IAMCreateRootUserPassword"} == allowed_root_tasks(apply)
    for document in (plan, apply):
        assert "*" not in _all_actions(document)
        assert all(not a.endswith(":*") for a in _all_actions(document))
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            if statement["Action"] == "sts:AssumeRole":
                assert statement["Resource"] == [
                    "arn:aws:iam::*:role/OrganizationAccountAccessRole"]


def test_policies_fit_in_a_managed_policy() -> None:
    for for_ in ("plan", "apply", "member"):
        compact = json.dumps(policy(for_), separators=(",", ":"))
        assert len(compact) < 6144, (for_, len(compact))


def test_resources_are_scoped_to_the_managed_paths_and_the_lock() -> None:
    ctx = PolicyContext(management_account_id="123456789012",
                        access_role_names=("OrgAdmin", "OrganizationAccountAccessRole"),
                        group_paths=("/orgsync/", "/teams/"))
    apply = policy("apply", context=ctx)
    by_sid = {s["Sid"]: s for s in apply["Statement"]}
    assert by_sid["ManagedGroups"]["Resource"] == [
        "arn:aws:iam::123456789012:group/orgsync/*", "arn:aws:iam::123456789012:group/teams/*"]
    assert "arn:aws:iam::123456789012:policy/orgsync-lock/*" in \
        by_sid["ManagedPolicies"]["Resource"]
    assert by_sid["AssumeAccessRoles"]["Resource"] == [
        "arn:aws:iam::*:role/OrgAdmin", "arn:aws:iam::*:role/OrganizationAccountAccessRole"]
    assert "iam:CreateGroup" in by_sid["ManagedGroups"]["Action"]
    assert "iam:CreateGroup" not in by_sid["Runner"]["Action"]
    root = by_sid["AssumeRootForTasks"]
    assert root["Resource"] == "arn:aws:iam::*:root"
    assert all(arn.startswith("arn:aws:iam::aws:policy/root-task/")
               for arn in root["Condition"]["StringEquals"]["sts:TaskPolicyArn"])
    plan = policy("plan", context=ctx)
    plan_resources = json.dumps(plan)
    assert "orgsync-lock" not in plan_resources


def test_member_policy_is_the_observe_member_reads() -> None:
    member = policy("member")
    expected = actions(declarations(), stage="plan", scope="member")
    assert _all_actions(member) == set(expected)
    assert not [a for a in _all_actions(member) if WRITE_VERBS.search(a)]


def test_declarations_drive_the_policy() -> None:
    """A new declaration shows up in the policy without any list to update."""
    extra = Declaration("reconciler.apply.example", "apply",
                        {"management": ("organizations:DeleteOrganization",)})
    base = declarations()
    assert not covers(policy("apply", decls=base), "organizations:DeleteOrganization")
    assert covers(policy("apply", decls=(*base, extra)), "organizations:DeleteOrganization")
    assert not covers(policy("plan", decls=(*base, extra)), "organizations:DeleteOrganization")


def test_covers_honours_wildcards_and_always_allowed_calls() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": ["organizations:List*"],
                               "Resource": "*"},
                              {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    assert covers(document, "organizations:ListAccounts")
    assert not covers(document, "organizations:CreateAccount")
    assert not covers(document, "iam:GetRole")
    assert covers(document, "sts:GetCallerIdentity")


@pytest.mark.parametrize("for_", ["plan", "apply", "member", "root"])
def test_command_prints_the_policy(for_: str, tmp_path: Path) -> None:
    result = orgsync(["permissions", "--for", for_], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == policy(for_)
    assert "not found" in result.stderr  # the note that the default names were used


def test_command_narrows_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "accounts.yaml").write_text(
        "version: 1\n"
        "organization:\n  management_account_id: \"123456789012\"\n  access_role: OrgAdmin\n"
        "accounts:\n  - name: prod\n    email: aws+prod@example.com\n"
        "groups:\n  - name: admins\n    path: /teams/\n    members: []\n")
    result = orgsync(["permissions", "--for", "apply"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    text = json.dumps(document)
    assert "arn:aws:iam::*:role/OrgAdmin" in text
    assert "OrganizationAccountAccessRole" not in text  # the file never names it
    assert "arn:aws:iam::123456789012:group/teams/*" in text
    assert "arn:aws:iam::123456789012:policy/orgsync-lock/*" in text
    assert result.stderr == ""


@pytest.mark.parametrize("for_", ["plan", "apply"])
def test_example_pipeline_policies_are_up_to_date(for_: str) -> None:
    """examples/github-actions/<for>-role-policy.json is today's ``orgsync permissions`` output
    (regenerate: ``orgsync permissions --for plan > examples/github-actions/plan-role-policy.json``
    from a directory without an accounts.yaml)."""
    path = EXAMPLES / f"{for_}-role-policy.json"
    assert json.loads(path.read_text()) == policy(for_), f"regenerate {path}"


def test_member_policy_example_is_up_to_date() -> None:
    path = EXAMPLES / "member-access-role-reads-policy.json"
    assert json.loads(path.read_text()) == policy("member"), f"regenerate {path}"


def test_unknown_scope_or_bad_action_is_a_declaration_bug() -> None:
    with pytest.raises(perms.OrgsyncError, match="unknown scope"):
        perms._checked("m", {"everywhere": ("iam:GetRole",)})
    with pytest.raises(perms.OrgsyncError, match="bad actions"):
        perms._checked("m", {"management": ("GetRole",)})


def test_root_policy_is_the_break_glass_role() -> None:
    """``--for root``: the root commands' reads and the three tasks they use, nothing else; the
    plan and apply runners never get the unlock tasks."""
    document = policy("root")
    assert allowed_root_tasks(document) == {"IAMAuditRootUserCredentials",
                                            "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy"}
    assert not covers(document, "sts:AssumeRole")
    assert covers(document, "organizations:ListAccounts")
    assert not covers(document, "organizations:CreateAccount")
    assert not covers(document, "iam:CreateRole")
    for runner in ("plan", "apply"):
        tasks = allowed_root_tasks(policy(runner))
        assert "S3UnlockBucketPolicy" not in tasks and "SQSUnlockQueuePolicy" not in tasks
