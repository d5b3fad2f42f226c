"""``orgsync force-unlock LOCK_ID``: release an apply lock that a crashed run left behind.

Releasing needs the lock id (printed when an apply is refused because of the lock) so that nobody
releases a lock they have not looked at; a lock with another id is left alone. When the
desired-state file is there, its management account must be the one the credentials are in, as for
plan and apply.
"""

from __future__ import annotations

import os

from reconciler.console import make_console
from reconciler.errors import Refusal
from reconciler.options import GlobalOptions


def run(opts: GlobalOptions, *, lock_id: str, file: str) -> int:
    from reconciler.aws import Aws
    from reconciler.lock import caller_identity, force_unlock

    aws = Aws(profile=opts.profile, region=opts.region, endpoint_url=opts.endpoint_url)
    if os.path.exists(file):
        from reconciler.config import load

        expected = load(file).organization.management_account_id
        account_id, _ = caller_identity(aws)
        if account_id != expected:
            raise Refusal(f"{file} manages the organization of account {expected}, but these "
                          f"credentials are in account {account_id}; nothing released")
    released = force_unlock(aws, lock_id=lock_id.strip())
    make_console(color=opts.color).print(f"Released the apply lock: {released.describe()}",
                                         markup=False)
    return 0
