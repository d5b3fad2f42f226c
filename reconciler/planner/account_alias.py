"""IAM account aliases (``accounts[].alias``): the name in an account's sign-in URL.

An account has at most one alias, and an alias is unique across AWS (per partition): "If you
create a new alias for your AWS account, the new alias overwrites the previous alias, and the URL
containing the previous alias stops working" (IAM User Guide, "Using an alias for your AWS account
ID", https://docs.aws.amazon.com/IAM/latest/UserGuide/console-account-alias.html). So a changed
alias is one ``update`` (CreateAccountAlias replaces the old one), shown as destructive because
the old sign-in URL stops working and its name is released to anyone; ``alias: null`` deletes the
alias (``delete``, destructive). Without an ``alias`` key the alias is not managed at all.

Aliases are IAM settings *inside* the account: apply writes them through the member's access role
(the management account's own with its own credentials), so a change waits for the account's
creation and for any change of its access role. When this plan moves an alias from one account of
the file to another, the account that gives it up goes first.
"""

from __future__ import annotations

from typing import cast

from reconciler.afters import AccountAliasAfter
from reconciler.model import NO_ALIAS
from reconciler.plan import Action, AttributeDiff, Change, Deferred
from reconciler.planner.context import AccountMatch, PlanContext

KIND = "account_alias"


def _role_name(ctx: PlanContext, match: AccountMatch) -> str | None:
    """The role apply enters the account with (None: the management account's credentials)."""
    if ctx.is_management(match):
        return None
    observed = ctx.observed.roles.get(match.account_id or "")
    if observed is not None and observed.status == "ok" and observed.via_role:
        return observed.via_role
    return match.spec.access_role.name


def plan_account_aliases(ctx: PlanContext) -> None:
    holders = {a.alias: account_id for account_id, a in ctx.observed.aliases.items()
               if a.alias and a.error is None}
    releasing: dict[str, str] = {}  # alias -> address of the change that gives it up
    planned: list[tuple[int, str]] = []  # (index in ctx.changes, wanted alias)
    for name in sorted(ctx.matches):
        match = ctx.matches[name]
        spec = match.spec
        if spec.alias is None or spec.state != "active":
            continue
        wanted = spec.alias if spec.alias != NO_ALIAS else None
        address = f"{KIND}.{name}"
        if match.disposition in ("deferred", "invite"):
            why = match.waiting_for or "the invitation (planned now) to be accepted"
            what = f"alias {wanted}" if wanted else "no alias"
            ctx.deferred.append(Deferred(address, f"{match.address}: {why}; then {what}"))
            continue
        if match.disposition not in ("present", "create"):
            continue
        role = _role_name(ctx, match)
        depends = ctx.needs(match.address, f"access_role.{name}")
        after: AccountAliasAfter = {"account_id": match.id_expr, "alias": wanted,
                                    "role_name": role}
        if match.disposition == "create":
            if wanted is None:
                continue  # a new account has no alias
            ctx.changes.append(Change(kind=KIND, key=name, action=Action.CREATE, before=None,
                                      after=after, reason=f"new account: alias {wanted}",
                                      depends_on=depends,
                                      diff=(AttributeDiff("alias", None, wanted),)))
            planned.append((len(ctx.changes) - 1, wanted))
            continue
        observed = ctx.observed.aliases.get(match.id_expr)
        change: Change | None
        if observed is None or observed.error is not None:
            why = observed.error if observed is not None and observed.error else "not read"
            change = _unknown(name, after, role=role, wanted=wanted, why=why, depends=depends)
        else:
            change = _known(name, after, role=role, wanted=wanted, current=observed.alias,
                            depends=depends)
            if change is not None and observed.alias and observed.alias != wanted:
                releasing[observed.alias] = change.address
        if change is None:
            continue
        ctx.changes.append(change)
        if wanted is not None:
            planned.append((len(ctx.changes) - 1, wanted))
    _order_moves(ctx, planned, holders=holders, releasing=releasing)


def _known(name: str, after: AccountAliasAfter, *, role: str | None, wanted: str | None,
           current: str | None, depends: tuple[str, ...]) -> Change | None:
    if current == wanted:
        return None
    before: AccountAliasAfter = {"account_id": after["account_id"], "alias": current}
    deleted: AccountAliasAfter = {**before, "role_name": role}
    diff = (AttributeDiff("alias", current, wanted),)
    if wanted is None:
        return Change(kind=KIND, key=name, action=Action.DELETE,
                      before=deleted, after=None, destructive=True,
                      reason=f"alias: null: delete alias {current} (its sign-in URL stops "
                             "working and the name is released)",
                      depends_on=depends, diff=diff)
    if current is None:
        return Change(kind=KIND, key=name, action=Action.CREATE, before=None, after=after,
                      reason=f"no alias: create {wanted}", depends_on=depends, diff=diff)
    return Change(kind=KIND, key=name, action=Action.UPDATE, before=before, after=after,
                  destructive=True,
                  reason=f"alias {current} -> {wanted} (the old sign-in URL stops working and "
                         f"{current} is released)",
                  depends_on=depends, diff=diff)


def _unknown(name: str, after: AccountAliasAfter, *, role: str | None, wanted: str | None,
             why: str, depends: tuple[str, ...]) -> Change:
    """The alias could not be read (the access role cannot be assumed yet): ensure the wanted
    one once apply gets in, which may replace or delete an alias nobody has seen: destructive."""
    before: AccountAliasAfter = {"account_id": after["account_id"], "alias": None}
    deleted: AccountAliasAfter = {**before, "role_name": role}
    if wanted is None:
        return Change(kind=KIND, key=name, action=Action.DELETE,
                      before=deleted, after=None, destructive=True,
                      reason=f"alias unknown ({why}); ensure the account has no alias (deletes "
                             "any)", depends_on=depends)
    return Change(kind=KIND, key=name, action=Action.UPDATE, before=None, after=after,
                  destructive=True,
                  reason=f"alias unknown ({why}); ensure alias {wanted} (replaces any other)",
                  depends_on=depends, diff=(AttributeDiff("alias", None, wanted),))


def _order_moves(ctx: PlanContext, planned: list[tuple[int, str]], *,
                 holders: dict[str, str], releasing: dict[str, str]) -> None:
    """An alias another account of the file holds now is taken only after that account's change
    has given it up (AWS answers EntityAlreadyExists otherwise); held by an account whose alias
    the file does not change, it is a plan error."""
    for index, wanted in planned:
        change = ctx.changes[index]
        holder = holders.get(wanted)
        # the changes at ``planned`` are this module's, whose after is an AccountAliasAfter
        after = cast(AccountAliasAfter, change.after or {})
        if holder is None or holder == after.get("account_id"):
            continue
        if wanted in releasing:
            first = next(c for c in ctx.changes if c.address == releasing[wanted])
            if change.address in first.depends_on:
                ctx.errors.append(
                    f"accounts {first.key} and {change.key}: the file swaps their aliases; AWS "
                    "cannot swap aliases in one step (each is taken while the other holds it): "
                    "give one of them a temporary alias, apply, then swap")
                continue
            ctx.changes[index] = Change(
                kind=change.kind, key=change.key, action=change.action, before=change.before,
                after=change.after, reason=change.reason, destructive=change.destructive,
                depends_on=tuple(dict.fromkeys((*change.depends_on, releasing[wanted]))),
                diff=change.diff)
            continue
        owner = ctx.account_by_id(holder)
        ctx.errors.append(
            f"account {change.key}: alias {wanted} belongs to account {holder}"
            f"{f' ({owner.name})' if owner else ''}, which keeps it; an alias is unique across "
            "AWS: give that account another alias (or alias: null) in the file first")
