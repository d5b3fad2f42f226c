"""Reading an account's IAM account alias (``accounts[].alias``).

The alias is an IAM setting inside the account: ``ListAccountAliases`` answers for the caller's own
account only (IAM API Reference, ListAccountAliases: "Lists the account alias associated with the
AWS account (Note: you can have only one)"), so a member's alias is read through its access role
and the management account's with its own credentials. An account whose role cannot be assumed
gets an ``ObservedAlias`` with ``error`` (the planner then plans the alias after the role's
bootstrap) rather than failing the whole read.
"""

from __future__ import annotations

from reconciler.aws import Aws, paginate
from reconciler.errors import AccessDenied
from reconciler.observed import ObservedAlias

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
