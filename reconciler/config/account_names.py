"""The lists of account names a file's grants and Identity Center assignments carry: one check.

A group's ``assume`` grant and an ``identity_center.assignments`` item both name the accounts they
reach (``accounts: [dev, prod]`` or ``["*"]``); the same mistakes are possible in both (a name
listed twice, ``"*"`` with names, an unknown or closed account), so they are found, and worded,
the same way. Grants also may not name the management account (a grant's role is made in member
accounts only); an assignment may (Identity Center assigns in the management account too).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from reconciler.config.yamldoc import DocPath

Report = Callable[[DocPath, str], None]


def check_account_names(names: Any, path: DocPath,
                        accounts: dict[str, tuple[dict[str, Any], DocPath]], report: Report, *,
                        what: str, management: str | None = None) -> None:
    """Report each problem of the list ``names`` at ``path``.accounts (``what``: "a grant",
    "an assignment"; ``management``: the management account's id, which the list may not name,
    or None when it may)."""
    if not isinstance(names, list):
        return
    listed: set[str] = set()
    for index, name in enumerate(names):
        if not isinstance(name, str):
            continue
        where = (*path, "accounts", index)
        if name in listed:
            report(where, f"account {name!r} is listed more than once")
            continue
        listed.add(name)
        if name == "*":
            if len(names) > 1:
                report(where, "'*' already means every active member account: list account "
                       "names or '*', not both")
            continue
        if name not in accounts:
            close = difflib.get_close_matches(name, list(accounts), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            report(where, f"unknown account {name!r} (no such name under accounts){hint}")
            continue
        account, _ = accounts[name]
        if account.get("state") == "closed":
            report(where, f"account {name!r} is closed: {what} cannot name a closed account")
        if management is not None and account.get("id") == management:
            report(where, f"account {name!r} is the management account: grants reach member "
                   "accounts only")
