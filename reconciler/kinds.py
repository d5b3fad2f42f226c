"""The registry of resource kinds: a kind is its modules plus one registration here.

For each kind (``organization``, ``ou``, ``account``, ...) the registry says where its reads are
(``reconciler/observe/<kind>.py``), how its changes are applied
(``reconciler/apply/<kind>.py: apply_change(change, ctx) -> str``), whether its changes may run
side by side (each touches one member account through IAM/STS only), and, through those modules'
``PERMISSIONS``, which IAM actions it needs. Its planning steps are registered in the planner's
part of the registry (``reconciler.planner.registry``), because the planner is pure and may not
import observe or apply; what it reads in each account's job of the core read, in observe's part
(``reconciler.observe.registry``), because observe may not import this module.

Everything that loops over kinds is driven from here: apply dispatches each change to its kind's
executor and picks its lane (``reconciler.apply.executor``), ``orgsync permissions`` merges the
kinds' declarations (``reconciler.permissions``), and ``observe`` runs the core read
(``reconciler.observe.observe``: one tree walk, each account's registered reads overlapped with
it), then the readers of kinds that read the organization as a whole. docs/ARCHITECTURE.md,
"Adding a kind", says what a new kind writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reconciler.apply import access_role as apply_access_role
from reconciler.apply import account as apply_account
from reconciler.apply import account_alias as apply_account_alias
from reconciler.apply import alternate_contacts as apply_alternate_contacts
from reconciler.apply import delegated_admin as apply_delegated_admin
from reconciler.apply import group as apply_group
from reconciler.apply import identity_center as apply_identity_center
from reconciler.apply import organization as apply_organization
from reconciler.apply import ou as apply_ou
from reconciler.apply import root_credentials as apply_root_credentials
from reconciler.apply import stack_set as apply_stack_set
from reconciler.model import DesiredState
from reconciler.observe import access_role as observe_access_role
from reconciler.observe import account as observe_account
from reconciler.observe import account_alias as observe_account_alias
from reconciler.observe import alternate_contacts as observe_alternate_contacts
from reconciler.observe import delegated_admin as observe_delegated_admin
from reconciler.observe import group as observe_group
from reconciler.observe import identity_center as observe_identity_center
from reconciler.observe import organization as observe_organization
from reconciler.observe import ou as observe_ou
from reconciler.observe import root_credentials as observe_root_credentials
from reconciler.observe import stack_set as observe_stack_set
from reconciler.observe.reads import AccountRead
from reconciler.observe.registry import account_reads, register_reads
from reconciler.observe.registry import unregister_kind as unregister_reads
from reconciler.observed import ObservedState
from reconciler.planner.registry import PlanStep, plan_steps, register_steps, unregister_kind

if TYPE_CHECKING:
    from reconciler.aws import Aws

# A kind's own reads, made after the core read: it returns ``observed`` with its part filled in
# (``dataclasses.replace`` on its own field of ``ObservedState``), and raises to stop the plan.
Reader = Callable[[DesiredState, "Aws", ObservedState], ObservedState]


@dataclass(frozen=True)
class Kind:
    """One kind of resource orgsync manages.

    ``observe``/``apply``: the kind's modules; each may declare ``PERMISSIONS`` (scope ->
    actions: observe's are needed to plan, apply's only to apply), and ``apply`` has
    ``apply_change``. ``parallel``: its changes each touch one member account through IAM/STS
    only, so apply runs up to ``parallelism`` of them at once (else one at a time, in plan
    order). ``reader``: reads the core observe does not make (None: the core reads the kind).
    """

    name: str
    observe: ModuleType | None = None
    apply: ModuleType | None = None
    parallel: bool = False
    reader: Reader | None = None

    @property
    def plan_steps(self) -> tuple[PlanStep, ...]:
        return tuple(s for s in plan_steps() if s.kind == self.name)

    @property
    def account_reads(self) -> tuple[AccountRead[Any], ...]:
        """What it reads in each account's job of the core read (``reconciler.observe.reads``)."""
        return tuple(r for r in account_reads() if r.kind == self.name)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind, *, plan_steps: Iterable[PlanStep] = (),
             account_reads: Iterable[AccountRead[Any]] = ()) -> Kind:
    """Add ``kind`` (and, when given, its planning steps and its reads in each account's job of
    the core read); the same name replaces the entry."""
    register_reads(account_reads)
    _KINDS[kind.name] = kind
    register_steps(plan_steps)
    return kind


def unregister(name: str) -> None:
    """Remove a kind and its planning steps (tests that register a kind of their own)."""
    _KINDS.pop(name, None)
    unregister_kind(name)
    unregister_reads(name)


def registered() -> Mapping[str, Kind]:
    """Every registered kind, by name, in registration order."""
    return dict(_KINDS)


def observe(desired: DesiredState, aws: Aws, *, parallelism: int = 10,
            progress: bool = False) -> ObservedState:
    """Everything the planner needs: the core read, then each registered kind's ``reader``."""
    from reconciler.observe import observe as core_observe

    observed = core_observe(desired, aws, parallelism=parallelism, progress=progress)
    for kind in registered().values():
        if kind.reader is not None:
            observed = kind.reader(desired, aws, observed)
    return observed


for _kind in (
    Kind("organization", observe_organization, apply_organization),
    Kind("ou", observe_ou, apply_ou),
    Kind("account", observe_account, apply_account),
    Kind("access_role", observe_access_role, apply_access_role, parallel=True),
    Kind("stack_set", observe_stack_set, apply_stack_set),
    Kind("group", observe_group, apply_group),
    Kind("root_credentials", observe_root_credentials, apply_root_credentials, parallel=True),
    Kind("delegated_admin", observe_delegated_admin, apply_delegated_admin),
    # read by the core observe (an alias through the access role it has just read; contacts from
    # the management account); each change touches one account
    Kind("account_alias", observe_account_alias, apply_account_alias, parallel=True),
    Kind("alternate_contacts", observe_alternate_contacts, apply_alternate_contacts,
         parallel=True),
    # IAM Identity Center: both kinds are read together (assignments need the permission sets);
    # an assignment is one request on one account, so they run side by side
    Kind("permission_set", observe_identity_center, apply_identity_center,
         reader=observe_identity_center.reader),
    Kind("assignment", None, apply_identity_center, parallel=True),
):
    register(_kind)
