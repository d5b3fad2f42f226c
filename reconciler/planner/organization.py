"""The organization itself: IAM trusted access and the centralized root access features.

Only what the file manages is compared: ``root_credentials.features`` when given. Root policies of
member accounts need both ``RootCredentialsManagement`` (the credential tasks) and ``RootSessions``
(the ``sts:AssumeRoot`` sessions that run them); planning says so when one is missing instead of
letting apply fail halfway.
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import OrganizationAfter, TrustedAccessKey
from reconciler.model import ROOT_FEATURES
from reconciler.plan import Action, AttributeDiff, Change
from reconciler.planner.context import PlanContext

ADDRESS = "organization.organization"


def turn_on(ctx: PlanContext, key: TrustedAccessKey, *, reason: str) -> None:
    """Make this plan's organization change turn ``key`` on (a trusted access another kind's
    writes need), saying why: the change is amended, or added first when there is none."""
    for index, change in enumerate(ctx.changes):
        if change.address == ADDRESS:
            # the change's before/after were built by plan_organization as OrganizationAfter
            before = cast(OrganizationAfter, dict(change.before or {}))
            after = cast(OrganizationAfter, dict(change.after or {}))
            before[key] = False
            after[key] = True
            ctx.changes[index] = Change(
                kind=change.kind, key=change.key, action=change.action,
                before=before, after=after,
                reason=f"{change.reason}; {reason}", destructive=change.destructive,
                depends_on=change.depends_on,
                diff=(*change.diff, AttributeDiff(key, False, True)))
            return
    off: OrganizationAfter = {}
    on: OrganizationAfter = {}
    off[key] = False
    on[key] = True
    ctx.changes.insert(0, Change(
        kind="organization", key="organization", action=Action.UPDATE,
        before=off, after=on, reason=reason,
        diff=(AttributeDiff(key, False, True),)))


def plan_organization(ctx: PlanContext) -> None:
    desired = ctx.desired.root_credentials
    observed = ctx.observed
    observed_features = sorted(observed.root_features or [])
    managed_roots = [
        m for m in ctx.matches.values()
        if m.usable and m.spec.root_credentials != "unmanaged" and not ctx.is_management(m)
    ]
    if desired.features is None:
        missing = [f for f in ROOT_FEATURES if f not in observed_features]
        if managed_roots and observed.root_features is not None and missing:
            ctx.errors.append(
                "root_credentials: accounts with a root policy (e.g. "
                f"{managed_roots[0].spec.name}) need the organization features "
                f"{' and '.join(ROOT_FEATURES)}; {' and '.join(missing)} not enabled: add "
                "them to root_credentials.features")
        return
    wanted_features = sorted(set(desired.features))
    if wanted_features and observed.organization.feature_set != "ALL":
        ctx.errors.append(
            "root_credentials.features: centralized root access needs an organization with all "
            f"features enabled (this one has {observed.organization.feature_set})")
        return
    if managed_roots and any(f not in wanted_features for f in ROOT_FEATURES):
        ctx.errors.append(
            "root_credentials: accounts with a root policy (e.g. "
            f"{managed_roots[0].spec.name}) need {' and '.join(ROOT_FEATURES)} in "
            "root_credentials.features")
    before: OrganizationAfter = {"root_features": observed_features}
    after: OrganizationAfter = {"root_features": wanted_features}
    if wanted_features:
        before["trusted_access_iam"] = observed.trusted_access_iam
        after["trusted_access_iam"] = True
    if before == after and observed.root_features is not None:
        return
    compared = (("root_features", before.get("root_features"), after.get("root_features")),
                ("trusted_access_iam", before.get("trusted_access_iam"),
                 after.get("trusted_access_iam")))
    diff = tuple(AttributeDiff(key, old, new) for key, old, new in compared
                 if key in after and old != new)
    if not diff:  # features unreadable and nothing wanted: enabling trusted access is not asked
        return
    ctx.changes.append(Change(
        kind="organization", key="organization", action=Action.UPDATE,
        before=before, after=after, diff=diff,
        reason="root access features differ" if wanted_features != observed_features
        else "IAM trusted access is off",
    ))
