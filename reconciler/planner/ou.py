"""Organizational units: create the ones the file's accounts need, parents first.

OUs are never deleted: an OU in AWS that no account of the file uses is reported as unmanaged.
"""

from __future__ import annotations

from reconciler.plan import Action, Change, Unmanaged
from reconciler.planner.context import PlanContext


def needed_paths(ctx: PlanContext) -> list[str]:
    """Every OU path active accounts of the file need, parents included, parents first."""
    paths: set[str] = set()
    for match in ctx.matches.values():
        if match.spec.state != "active":
            continue
        parts = [p for p in match.spec.ou.split("/") if p]
        for i in range(1, len(parts) + 1):
            paths.add("/" + "/".join(parts[:i]))
    return sorted(paths, key=lambda p: (p.count("/"), p))


def parent_path(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def plan_ous(ctx: PlanContext) -> None:
    for path in needed_paths(ctx):
        if ctx.observed.ou_by_path(path) is not None:
            continue
        parent = parent_path(path)
        ctx.changes.append(Change(
            kind="ou", key=path, action=Action.CREATE, before=None,
            after={"path": path, "name": path.rsplit("/", 1)[1], "parent_path": parent},
            reason="not in the organization",
            depends_on=ctx.needs(f"ou.{parent}"),
        ))


def unmanaged_ous(ctx: PlanContext) -> list[Unmanaged]:
    described = set(ctx.desired.ou_paths)
    return [
        Unmanaged(kind="ou", id=ou.id, name=ou.path)
        for ou in sorted(ctx.observed.ous, key=lambda o: o.path)
        if ou.path not in described
    ]
