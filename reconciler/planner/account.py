"""Member accounts: create, invite, rename/move/retag, close; and which accounts are unmanaged.

An account's identity is its id when the file gives one, else its email (see ``context``). Closing
is only ever explicit (``state: closed``) and is the one destructive account action; an account
already closed, suspended or gone is never re-created. In an AWS GovCloud (US) organization both
are plan errors that say where AWS does them: accounts are created and closed from the paired
commercial organization.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.afters import AccountAfter, AccountCreateRequest
from reconciler.plan import Action, AttributeDiff, Change, Deferred, Unmanaged
from reconciler.planner.context import AccountMatch, PlanContext
from reconciler.policy import partition_of


def _tags(values: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if values is None else dict(sorted(values.items()))


def _billing(value: bool | None) -> str | None:
    return None if value is None else ("ALLOW" if value else "DENY")


GOVCLOUD = "aws-us-gov"
# Organizations API reference, CreateGovCloudAccount: "You call this action from the management
# account of your organization in the commercial Region to create a standalone Amazon Web
# Services account in the Amazon Web Services GovCloud (US) Region. After the account is created,
# the management account of an organization in the Amazon Web Services GovCloud (US) Region can
# invite it to that organization."
GOVCLOUD_CREATE = (
    "account {name}: accounts cannot be created in an AWS GovCloud (US) organization: "
    "CreateGovCloudAccount, called from the management account of the paired commercial "
    "organization, makes a standalone GovCloud account (and its commercial pair); then list it "
    "here with source: invited and its id, and orgsync invites it")
# Organizations API reference, CloseAccount: "If the Amazon Web Services account you attempt to
# close is linked to an Amazon Web Services GovCloud (US) account, the CloseAccount request will
# close both accounts" (see "Closing an AWS GovCloud (US) account", GovCloud User Guide).
GOVCLOUD_CLOSE = (
    "account {name}: an AWS GovCloud (US) account is closed through the commercial account it "
    "is paired with: CloseAccount on that account, in the commercial organization, closes both; "
    "close it there, and this file's state: closed then matches")


def _in_govcloud(ctx: PlanContext) -> bool:
    return partition_of(ctx.observed.organization.arn) == GOVCLOUD


def plan_account_creation(ctx: PlanContext) -> None:
    """``create`` and ``invite`` changes, and the deferrals of accounts AWS is working on."""
    govcloud = _in_govcloud(ctx)
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        spec = match.spec
        ou_dependency = ctx.needs(f"ou.{spec.ou}")
        if match.disposition == "create" and govcloud:
            ctx.errors.append(GOVCLOUD_CREATE.format(name=name))
        elif match.disposition == "create":
            before: AccountCreateRequest | None = None
            if match.pending_request is not None:
                before = {"create_request_id": match.pending_request, "state": "IN_PROGRESS"}
            created: AccountAfter = {
                "name": spec.name, "email": spec.email, "ou": spec.ou,
                "tags": _tags(spec.tags),
                "iam_user_access_to_billing": _billing(spec.iam_user_access_to_billing),
                "role_name": spec.access_role.name,
            }
            ctx.changes.append(Change(
                kind="account", key=name, action=Action.CREATE, before=before,
                after=created, reason=match.reason, depends_on=ou_dependency,
            ))
        elif match.disposition == "invite":
            assert spec.id is not None  # an account is invited by its id
            invited: AccountAfter = {"id": spec.id, "email": spec.email, "name": spec.name,
                                     "ou": spec.ou, "tags": _tags(spec.tags)}
            ctx.changes.append(Change(
                kind="account", key=name, action=Action.INVITE, before=None,
                after=invited, reason=match.reason, depends_on=ou_dependency,
            ))
            ctx.deferred.append(Deferred(
                match.address, f"the invitation of {match.address} (planned now) to be accepted; "
                "then its name, OU and tags are made as in the file",
                action=Action.UPDATE, after=invited_after(match)))
        elif match.disposition == "deferred" and match.waiting_for:
            if spec.source == "invited":
                ctx.deferred.append(Deferred(
                    match.address, f"{match.waiting_for}; then its name, OU and tags are made as "
                    "in the file", action=Action.UPDATE, after=invited_after(match)))
            else:
                ctx.deferred.append(Deferred(match.address, match.waiting_for))


def invited_after(match: AccountMatch) -> AccountAfter:
    """The account update an invited account gets once it has joined (its ``after``)."""
    spec = match.spec
    return {"id": match.id_expr, "name": spec.name, "ou": spec.ou, "tags": _tags(spec.tags)}


def _shape(match: AccountMatch, *, desired: bool) -> AccountAfter:
    observed = match.observed
    assert observed is not None
    spec = match.spec
    managed_tags = spec.tags is not None
    if desired:
        return {"id": observed.id, "name": spec.name, "ou": spec.ou,
                "tags": _tags(spec.tags) if managed_tags else None}
    return {"id": observed.id, "name": observed.name, "ou": observed.ou_path,
            "tags": _tags(observed.tags or {}) if managed_tags else None}


def plan_account_updates(ctx: PlanContext) -> None:
    """Rename, move and retag accounts that exist (``present``)."""
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        if match.disposition != "present":
            continue
        before = _shape(match, desired=False)
        after = _shape(match, desired=True)
        if before == after:
            continue
        diff: list[AttributeDiff] = []
        what: list[str] = []
        if before["name"] != after["name"]:
            diff.append(AttributeDiff("name", before["name"], after["name"]))
            what.append("renamed")
        if before["ou"] != after["ou"]:
            diff.append(AttributeDiff("ou", before["ou"], after["ou"]))
            what.append("moved")
        old_tags = before["tags"] or {}
        new_tags = after["tags"] or {}
        for tag in sorted(set(old_tags) | set(new_tags)):
            if old_tags.get(tag) != new_tags.get(tag):
                diff.append(AttributeDiff(f"tags.{tag}", old_tags.get(tag), new_tags.get(tag)))
        if old_tags != new_tags:
            what.append("tags differ")
        ctx.changes.append(Change(
            kind="account", key=name, action=Action.UPDATE, before=before, after=after,
            diff=tuple(diff), reason=", ".join(what),
            depends_on=ctx.needs(f"ou.{match.spec.ou}"),
        ))


def plan_account_closures(ctx: PlanContext) -> None:
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        if match.disposition != "close" or match.observed is None:
            continue
        observed = match.observed
        if ctx.is_management(match):
            ctx.errors.append(f"account {name}: the management account cannot be closed")
            continue
        if _in_govcloud(ctx):
            ctx.errors.append(GOVCLOUD_CLOSE.format(name=name))
            continue
        ctx.changes.append(Change(
            kind="account", key=name, action=Action.CLOSE,
            before=AccountAfter(id=observed.id, name=observed.name, email=observed.email,
                                state=observed.state),
            after=AccountAfter(id=observed.id, state="closed"),
            diff=(AttributeDiff("state", observed.state, "closed"),),
            reason="state: closed in the file (reinstatement only through AWS Support, within "
                   "90 days)",
            destructive=True,
        ))


def unmanaged_accounts(ctx: PlanContext) -> list[Unmanaged]:
    described = {m.observed.id for m in ctx.matches.values() if m.observed is not None}
    return [
        Unmanaged(kind="account", id=account.id, name=account.name)
        for account in sorted(ctx.observed.accounts, key=lambda a: a.id)
        if account.id not in described
    ]
