"""Reading an account's IAM account alias (``accounts[].alias``).

The alias is an IAM setting inside the account: ``ListAccountAliases`` answers for the caller's own
account only (IAM API Reference, ListAccountAliases: "Lists the account alias associated with the
AWS account (Note: you can have only one)"), so a member's alias is read through its access role
and the management account's with its own credentials. An account whose role cannot be assumed
gets an ``ObservedAlias`` with ``error`` (the planner then plans the alias after the role's
bootstrap) rather than failing the whole read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.aws import Aws, paginate
from reconciler.errors import AccessDenied
from reconciler.observe.access_role import usable_role
from reconciler.observe.reads import AccountRead, AccountView, Parts
from reconciler.observed import ObservedAlias, ObservedRole, ObservedState

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("iam:ListAccountAliases",),
    "member": ("iam:ListAccountAliases",),
}


def read_alias(aws: Aws, *, account_id: str, role_name: str | None) -> ObservedAlias:
    """The alias of ``account_id`` (``role_name`` None: the caller's own account)."""
    client = (aws.client("iam") if role_name is None else
              aws.member_client("iam", account_id=account_id, role_name=role_name))
    try:
        aliases = [str(a) for a in paginate(client, "list_account_aliases", "AccountAliases")]
    except AccessDenied as error:
        return ObservedAlias(account_id, None, error=f"{error.code}: {error.aws_message}")
    return ObservedAlias(account_id, aliases[0] if aliases else None)


def _wants(account: AccountView, reading: frozenset[str]) -> bool:
    # a member's where its access role is read (through it), the management account's with its
    # own credentials (not IAM's delegated administrator's: its IAM is another account's)
    if account.spec.alias is None:
        return False
    return not account.scope.delegated if account.management else "access_role" in reading


def _read(account: AccountView, parts: Parts) -> ObservedAlias:
    if account.management:
        return read_alias(account.scope.aws, account_id=account.id, role_name=None)
    role = parts.get("access_role")
    role = role if isinstance(role, ObservedRole) else None
    via = usable_role(role)
    if via is None:  # no way in: the planner plans the alias after the role's bootstrap
        return ObservedAlias(account.id, None, error=role.error if role else None)
    return read_alias(account.scope.aws, account_id=account.id, role_name=via)


def _land(observed: ObservedState, parts: Mapping[str, ObservedAlias]) -> ObservedState:
    return replace(observed, aliases=dict(parts))


ACCOUNT_READ = AccountRead("account_alias", wants=_wants, read=_read, land=_land,
                           needs=("access_role",))
