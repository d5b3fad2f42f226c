"""Creates organizational units by path, and finds an OU's id from its path for account moves.

OUs are looked up live (walking from the root by name) rather than trusted from the plan, so a
re-run after a crash finds the OU a previous run created instead of creating a second one; a
``DuplicateOrganizationalUnitException`` (another writer won the race) is answered the same way.
"""

from __future__ import annotations

from reconciler.apply.executor import StepContext, StepFailed
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
    if path in ("", "/"):
        return ctx.root_id
    known = ctx.known_ou_id(path)
    if known is not None:
        return known
    parent_path, _, name = path.rstrip("/").rpartition("/")
    parent_id = ou_id(ctx, parent_path or "/", create=create)
    found = _child_ou_id(ctx, parent_id, name)
    if found is None:
        if not create:
            raise StepFailed(f"OU {path} does not exist")
        orgs = ctx.aws.client("organizations")
        try:
            response = orgs.create_organizational_unit(ParentId=parent_id, Name=name)
            found = str(response["OrganizationalUnit"]["Id"])
        except AwsError as error:
            if "DuplicateOrganizationalUnit" not in error.code:
                raise
            found = _child_ou_id(ctx, parent_id, name)
            if found is None:
                raise
    ctx.record_ou_id(path, found)
    return found


def apply_change(change: Change, ctx: StepContext) -> str:
    after = change.after or {}
    path = str(after.get("path") or change.key)
    existed = ctx.known_ou_id(path) is not None
    parent_path, _, name = path.rstrip("/").rpartition("/")
    if not existed:
        parent_id = ou_id(ctx, parent_path or "/", create=True)
        existed = _child_ou_id(ctx, parent_id, name) is not None
    found = ou_id(ctx, path, create=True)
    return f"OU {path} already existed ({found})" if existed else f"created OU {path} ({found})"
