"""Observe's half of the kind registry: which kinds read something in each account's job, in
which order.

The core read (``reconciler.observe.observe``) runs, for every account of the file, the
registered ``AccountRead`` of each kind that wants the account, in registration order (see
``reconciler.observe.reads``). A read that needs another kind's part (the alias is read through
the access role) declares it in ``needs``, and the kind it needs must be registered before it:
``register_reads`` refuses it otherwise, so the order of the calls in a job is never an accident.
The upper half of the registry (``reconciler.kinds``: executors, permissions, readers made after
the core read) lives above observe and forwards a kind's ``account_reads`` here, because observe
may not import it.

Built-in order: access_role (first: the others get in through it), root_credentials, account
(tags, and the name through the role), account_alias (through the role), alternate_contacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.observe import (
    access_role,
    account,
    account_alias,
    alternate_contacts,
    root_credentials,
)
from reconciler.observe.reads import AccountRead

_READS: list[AccountRead[Any]] = []


def register_reads(reads: Iterable[AccountRead[Any]]) -> None:
    """Add a kind's per-account reads (one already registered is not added twice)."""
    for read in reads:
        if read in _READS:
            continue
        earlier = {r.kind for r in _READS}
        missing = [k for k in read.needs if k not in earlier]
        if missing:
            raise ValueError(f"the read of kind {read.kind!r} needs {', '.join(missing)}, "
                             "which must be registered before it")
        _READS.append(read)


def unregister_kind(kind: str) -> None:
    """Drop every per-account read of ``kind`` (tests that register a kind of their own)."""
    _READS[:] = [r for r in _READS if r.kind != kind]


def account_reads() -> tuple[AccountRead[Any], ...]:
    """Every registered per-account read, in the order each account's job runs them."""
    return tuple(_READS)


register_reads((
    access_role.ACCOUNT_READ,
    root_credentials.ACCOUNT_READ,
    account.ACCOUNT_READ,
    account_alias.ACCOUNT_READ,
    alternate_contacts.ACCOUNT_READ,
))
