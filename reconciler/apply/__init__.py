"""Apply: execute a plan's changes against AWS, one module per kind of resource.

``apply_approved`` (in ``executor``, the orchestrator) applies an approved plan and its listed
deferred items; ``apply_plan`` runs one round's changes in dependency order, each only if the
approved plan lists it, dispatching each to its kind's ``apply_change`` through the kind registry
(``reconciler.kinds``). Each kind's module (``organization``, ``ou``, ``account``, ...) imports
only the step kit (``kit``), ensures its after-state and declares the IAM actions it calls in
``PERMISSIONS`` (scope -> actions), from which ``orgsync permissions`` derives its policy.
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

__all__ = [
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
    "unlisted",
]
