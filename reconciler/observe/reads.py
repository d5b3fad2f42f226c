"""The hook a kind gives the core read for what it reads about each account of the file.

The core read (``reconciler.observe.observe``) walks the Organizations tree and, as soon as the
walk lists an account of the file, submits one job for it to a thread pool, so that the serial
Organizations calls overlap the accounts' reads (which is what keeps a no-op plan near the
latency bound). What that job reads is not the core's business: each kind that reads something
per account registers an ``AccountRead`` (``reconciler.observe.registry``), and the job runs the
registered reads that want the account, in registration order, one after another.

A read's inputs are the account (``AccountView``: the file's spec, the observed account, and the
``ObserveScope`` the core read before the jobs: who runs the read, whether root sessions and
Account Management's trusted access are there) and the parts of the kinds it ``needs`` read
earlier in the same job (the alias and the account name are read through the access role just
read). ``land`` puts the parts of every account on ``ObservedState`` (the kind's field).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from reconciler.model import AccountSpec, DesiredState
from reconciler.observed import ObservedAccount, ObservedState

if TYPE_CHECKING:
    from reconciler.aws import Aws

T = TypeVar("T")

# The parts read earlier in the same job for the same account, by kind (only the kinds a read
# ``needs``; a kind that did not read this account is absent).
Parts = Mapping[str, object]


@dataclass(frozen=True)
class ObserveScope:
    """What the core read knows before the accounts' jobs start, and the reads depend on."""

    aws: Aws
    desired: DesiredState
    management_account_id: str
    # IAM's delegated administrator runs the read, not the management account: its own IAM is
    # another account's, so access roles and what is read through them or as the management
    # account (aliases, contacts) are not read (docs/root.md)
    delegated: bool
    root_possible: bool  # both centralized root access features are on (AssumeRoot can audit)
    # Account Management's trusted access (None: not read, no member's contacts are managed)
    trusted_access_account: bool | None


@dataclass(frozen=True)
class AccountView:
    """One account of the file, as the walk found it."""

    scope: ObserveScope
    spec: AccountSpec
    observed: ObservedAccount

    @property
    def id(self) -> str:
        return self.observed.id

    @property
    def management(self) -> bool:
        """The management account (read with its own credentials, never through a role)."""
        return self.observed.id == self.scope.management_account_id

    @property
    def active(self) -> bool:
        """Active in AWS, and the file wants it active (not on its way to being closed)."""
        return self.observed.state == "ACTIVE" and self.spec.state == "active"


@dataclass(frozen=True)
class AccountRead(Generic[T]):
    """What kind ``kind`` reads about each account, inside the core read's per-account job.

    ``wants(account, reading)``: whether to read this account (decided when the walk lists it,
    without a call); ``reading`` holds the kinds of ``needs`` that read it before this one.
    ``read(account, parts)``: the read itself (``parts``: what the ``needs`` kinds read for this
    account); None: nothing to record. ``land(observed, parts)``: ``observed`` with every
    account's part (by account id, sorted) in the kind's place. A read that raises fails the whole
    observe (a partial picture must not be planned): record what AWS refused in the part instead
    when the plan can go on without it. ``needs``: kinds whose reads run before this one (they
    must be registered earlier).
    """

    kind: str
    wants: Callable[[AccountView, frozenset[str]], bool]
    read: Callable[[AccountView, Parts], T | None]
    land: Callable[[ObservedState, Mapping[str, T]], ObservedState]
    needs: tuple[str, ...] = ()
