"""Reading the OU tree by walking it from the root.

One ListOrganizationalUnitsForParent and one ListAccountsForParent per OU (plus a page per 20
children) give every OU's path *and* every account's parent, so no account needs a ListParents
call: the cost is O(OUs + accounts/20) serial Organizations calls, whatever the number of accounts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.aws import Client, paginate
from reconciler.observed import ObservedOU

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
    ),
}


@dataclass(frozen=True)
class PlacedAccount:
    """An account as ListAccountsForParent returned it, with where it sits."""

    raw: dict[str, Any]
    parent_id: str
    ou_path: str


def walk_tree(org: Client, *, root_id: str,
              on_account: Callable[[PlacedAccount], None] | None = None
              ) -> tuple[tuple[ObservedOU, ...], tuple[PlacedAccount, ...]]:
    """Every OU (parents first, then by path) and every account with its parent.
    ``on_account`` is called for each account as soon as it is listed (to start reading it)."""
    ous: list[ObservedOU] = []
    accounts: list[PlacedAccount] = []
    queue: deque[tuple[str, str]] = deque([(root_id, "/")])
    while queue:
        parent_id, parent_path = queue.popleft()
        for raw in paginate(org, "list_accounts_for_parent", "Accounts", ParentId=parent_id):
            placed = PlacedAccount(raw, parent_id, parent_path)
            accounts.append(placed)
            if on_account is not None:
                on_account(placed)
        children = paginate(org, "list_organizational_units_for_parent", "OrganizationalUnits",
                            ParentId=parent_id)
        for child in sorted(children, key=lambda c: str(c.get("Name", ""))):
            name = str(child.get("Name", ""))
            path = (parent_path.rstrip("/") + "/" + name)
            ous.append(ObservedOU(id=str(child["Id"]), name=name, path=path, parent_id=parent_id))
            queue.append((str(child["Id"]), path))
    ous.sort(key=lambda o: (o.path.count("/"), o.path))
    accounts.sort(key=lambda a: str(a.raw.get("Id", "")))
    return tuple(ous), tuple(accounts)
