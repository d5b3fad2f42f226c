"""Creates organizational units by path, and finds an OU's id from its path for account moves.

An OU the run's observation did not include is looked up live (one listing of its parent) before
it is created, so a re-run after a crash finds the OU a previous run created instead of creating a
second one; a ``DuplicateOrganizationalUnitException`` (another writer won the race) is answered
the same way. OUs in the observation are trusted for the run (the run holds the apply lock).
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import OuAfter
from reconciler.apply.kit import StepContext, StepFailed
from reconciler.aws import paginate
from reconciler.errors import AwsError
from reconciler.plan import Change

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:CreateOrganizationalUnit",
    ),
}


def _child_ou_id(ctx: StepContext, parent_id: str, name: str) -> str | None:
    orgs = ctx.aws.client("organizations")
    for ou in paginate(orgs, "list_organizational_units_for_parent", "OrganizationalUnits",
                       ParentId=parent_id):
        if ou.get("Name") == name:
            return str(ou["Id"])
    return None


def ou_id(ctx: StepContext, path: str, *, create: bool = False) -> str:
    """The id of the OU at ``path`` ("/" is the root); creates missing levels when ``create``."""
    return ensure_ou(ctx, path, create=create)[0]


def ensure_ou(ctx: StepContext, path: str, *, create: bool = False) -> tuple[str, bool]:
    """(id of the OU at ``path``, whether this call created it). OUs observed before the run or
    found during it are known to ``ctx``; an unknown one costs one listing of its parent."""
    if path in ("", "/"):
        return ctx.root_id, False
    known = ctx.known_ou_id(path)
    if known is not None:
        return known, False
    parent_path, _, name = path.rstrip("/").rpartition("/")
    parent_id = ou_id(ctx, parent_path or "/", create=create)
    found = _child_ou_id(ctx, parent_id, name)
    created = False
    if found is None:
        if not create:
            raise StepFailed(f"OU {path} does not exist")
        orgs = ctx.aws.client("organizations")
        try:
            response = orgs.create_organizational_unit(ParentId=parent_id, Name=name)
            found, created = str(response["OrganizationalUnit"]["Id"]), True
        except AwsError as error:
            if "DuplicateOrganizationalUnit" not in error.code:
                raise
            found = _child_ou_id(ctx, parent_id, name)
            if found is None:
                raise
    ctx.record_ou_id(path, found)
    return found, created


def apply_change(change: Change, ctx: StepContext) -> str:
    after = cast(OuAfter, change.after or {})
    path = str(after.get("path") or change.key)
    found, created = ensure_ou(ctx, path, create=True)
    return f"created OU {path} ({found})" if created else f"OU {path} already existed ({found})"
