"""Apply: execute a plan's changes against AWS, one module per kind of resource.

``apply_approved`` (in ``executor``) applies an approved plan and its listed deferred items;
``apply_plan`` runs one round's changes in dependency order, each only if the approved plan lists
it; each kind's module
(``organization``, ``ou``, ``account``, ``access_role``, ``group``, ``root_credentials``) ensures
its after-state and declares the IAM actions it calls in ``PERMISSIONS`` (scope -> actions), from
which ``orgsync permissions`` derives its least-privilege policy.
"""

from __future__ import annotations

from reconciler.apply.executor import (
    ApplyOptions,
    ApplyResult,
    ApplyRun,
    NeedsHuman,
    Reporter,
    SilentReporter,
    StepFailed,
    StepResult,
    Waiting,
    apply_approved,
    apply_plan,
    unlisted,
)

KIND_MODULES = ("organization", "ou", "account", "access_role", "stack_set", "group",
                "root_credentials", "delegated_admin")


def permissions() -> dict[str, tuple[str, ...]]:
    """Every apply module's PERMISSIONS merged: scope -> sorted unique IAM actions."""
    import importlib

    merged: dict[str, set[str]] = {}
    for name in KIND_MODULES:
        module = importlib.import_module(f"reconciler.apply.{name}")
        for scope, actions in module.PERMISSIONS.items():
            merged.setdefault(scope, set()).update(actions)
    return {scope: tuple(sorted(actions)) for scope, actions in sorted(merged.items())}


__all__ = [
    "KIND_MODULES",
    "ApplyOptions",
    "ApplyResult",
    "ApplyRun",
    "NeedsHuman",
    "Reporter",
    "SilentReporter",
    "StepFailed",
    "StepResult",
    "Waiting",
    "apply_approved",
    "apply_plan",
    "permissions",
    "unlisted",
]
