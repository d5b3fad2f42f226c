"""The planner's half of the kind registry: which planning steps run, in which order.

A kind plans in one or more steps (``account`` plans its creations early and its closures last);
each step is a pure function of the ``PlanContext`` that appends changes, deferred items, errors
and warnings. ``plan()`` runs every registered step sorted by ``rank`` (ties: registration
order), so a new kind adds its steps here with ranks that put them where its dependencies are
planned first. The upper half of the registry (``reconciler.kinds``: readers, executors,
permissions) lives above observe and apply, because the planner may not import them.

Ranks of the built-in kinds (leave gaps so that new kinds fit between them):
10 organization, 15 stack_set trusted access, 16 alternate_contacts trusted access, 20 ou,
30 account creation, 40 account updates, 50 delegated_admin, 60 access_role, 61-62 stack_set
follow-ups, 70 group, 75 Identity Center (permission_set and assignment), 80 root_credentials,
84 account_alias, 86 alternate_contacts, 90 account closures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.planner.access_role import plan_access_roles
from reconciler.planner.account import (
    plan_account_closures,
    plan_account_creation,
    plan_account_updates,
)
from reconciler.planner.account_alias import plan_account_aliases
from reconciler.planner.alternate_contacts import (
    plan_alternate_contacts,
    plan_contacts_trusted_access,
)
from reconciler.planner.context import PlanContext
from reconciler.planner.delegated_admin import plan_delegated_admin
from reconciler.planner.group import plan_groups
from reconciler.planner.identity_center import plan_identity_center
from reconciler.planner.organization import plan_organization
from reconciler.planner.ou import plan_ous
from reconciler.planner.root_credentials import plan_root_credentials
from reconciler.planner.stack_set import (
    plan_retired_instances,
    plan_trusted_access,
    plan_unfinished_takeovers,
)

PlanFunction = Callable[[PlanContext], None]


@dataclass(frozen=True)
class PlanStep:
    """One planning function of a kind, and where it runs among all kinds' steps.

    ``management_iam``: the step plans from reads that only the management account's
    credentials make (access roles and what is read through them, the management account's IAM
    groups, Identity Center); with IAM's delegated administrator's credentials those reads are
    not made (docs/root.md), so the step is skipped.
    """

    kind: str
    rank: int
    run: PlanFunction
    management_iam: bool = False
    also_plans: tuple[str, ...] = ()  # other kinds the same step plans (they need one another)


_STEPS: list[PlanStep] = []


def register_steps(steps: Iterable[PlanStep]) -> None:
    """Add a kind's planning steps (a step already registered is not added twice)."""
    for step in steps:
        if step not in _STEPS:
            _STEPS.append(step)


def unregister_kind(kind: str) -> None:
    """Drop every step of ``kind`` (tests that register a kind of their own)."""
    _STEPS[:] = [s for s in _STEPS if s.kind != kind]


def plan_steps() -> tuple[PlanStep, ...]:
    """Every registered step in the order ``plan()`` runs them."""
    return tuple(sorted(_STEPS, key=lambda s: s.rank))  # sorted() is stable: ties keep order


def planned_kinds() -> tuple[str, ...]:
    """The kinds that have planning steps, in the order of their first step."""
    return tuple(dict.fromkeys(k for s in plan_steps() for k in (s.kind, *s.also_plans)))


register_steps((
    PlanStep("organization", 10, plan_organization),
    PlanStep("stack_set", 15, plan_trusted_access),
    PlanStep("alternate_contacts", 16, plan_contacts_trusted_access),
    PlanStep("ou", 20, plan_ous),
    PlanStep("account", 30, plan_account_creation),
    PlanStep("account", 40, plan_account_updates),
    PlanStep("delegated_admin", 50, plan_delegated_admin),
    PlanStep("access_role", 60, plan_access_roles, management_iam=True),
    PlanStep("stack_set", 61, plan_unfinished_takeovers, management_iam=True),
    PlanStep("stack_set", 62, plan_retired_instances, management_iam=True),
    PlanStep("group", 70, plan_groups, management_iam=True),
    PlanStep("permission_set", 75, plan_identity_center, management_iam=True,
             also_plans=("assignment",)),
    PlanStep("root_credentials", 80, plan_root_credentials),
    PlanStep("account_alias", 84, plan_account_aliases, management_iam=True),
    PlanStep("alternate_contacts", 86, plan_alternate_contacts, management_iam=True),
    PlanStep("account", 90, plan_account_closures),
))
