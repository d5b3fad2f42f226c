"""Which account an access key belongs to, without scanning every account.

moto answers "whose key is this?" (``moto.iam.models.get_account_id_from``) by scanning every
account's IAM in all seven partitions, creating each missing partition's backend on the way, and a
sandbox request asks up to three times. Per-call CPU and memory then grow with the number of
accounts (gigabytes at thousands of accounts), so at scale a benchmark would measure the emulator,
not orgsync.

The sandbox keeps an index in its state (access key id -> account and partition), filled when
moto creates a key (``create_access_key``, ``create_temp_access_key``: AssumeRole,
GetSessionToken, ...) and when a scan finds one. An indexed place is believed only while the key is
still there (a deleted key, or a reset, sends the lookup back to the scan), and the scan looks only
at backends that exist (a backend moto would create to look in holds no keys), so every answer is
the one moto's own scan gives. A reset replaces the state's contents, index included.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam import models as iam_models
from moto.utilities.utils import PARTITION_NAMES

from reconciler.sandbox.state import SandboxState


def _holds(account_id: str, partition: str, access_key: str) -> bool:
    account = dict.get(iam_models.iam_backends, account_id)
    backend = dict.get(account, partition) if account is not None else None
    return backend is not None and access_key in backend.access_keys


def account_of_key(state: SandboxState, access_key: str) -> str:
    """The account whose IAM holds ``access_key`` (moto's default account when none does)."""
    root_key = state.root_key(access_key)
    if root_key is not None:
        return root_key[0]
    index = state.key_accounts
    place = index.get(access_key)
    if place is not None:
        if _holds(place[0], place[1], access_key):
            return place[0]
        index.pop(access_key, None)
    for account_id, account in list(iam_models.iam_backends.items()):
        for partition in PARTITION_NAMES:
            backend = dict.get(account, partition)
            if backend is not None and access_key in backend.access_keys:
                index[access_key] = (account_id, partition)
                return str(account_id)
    return str(DEFAULT_ACCOUNT_ID)


def remember(state: SandboxState, access_key: str, *, account_id: str,
             partition: str = "aws") -> None:
    """Record where a key lives (a hint: lookups check it before believing it)."""
    state.key_accounts[access_key] = (account_id, partition)


def install(state: SandboxState) -> None:
    """Route moto's key lookups through ``state``'s index, and index keys as moto creates them.
    Called at every sandbox start (one sandbox per process): the newest state wins."""
    backend_class: Any = iam_models.IAMBackend
    create_key = getattr(backend_class, "_orgsync_original_create_access_key",
                         backend_class.create_access_key)
    create_temp = getattr(backend_class, "_orgsync_original_create_temp_access_key",
                          backend_class.create_temp_access_key)
    backend_class._orgsync_original_create_access_key = create_key
    backend_class._orgsync_original_create_temp_access_key = create_temp

    def create_access_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = create_key(self, *args, **kwargs)
        remember(state, key.access_key_id, account_id=self.account_id, partition=self.partition)
        return key

    def create_temp_access_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = create_temp(self, *args, **kwargs)
        remember(state, key.access_key_id, account_id=self.account_id, partition=self.partition)
        return key

    backend_class.create_access_key = create_access_key
    backend_class.create_temp_access_key = create_temp_access_key
    # moto's responses import it from the module at each call, so this reaches them too
    iam_models.get_account_id_from = functools.partial(account_of_key, state)
