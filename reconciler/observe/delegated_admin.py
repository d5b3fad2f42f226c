"""Reading IAM's delegated administrator, and who is running orgsync.

``root_credentials.delegated_admin`` names the member account registered for
``iam.amazonaws.com`` (Organizations ListDelegatedAdministrators). The same listing tells whether
the runner's own account is that delegated administrator: such a runner may plan and apply the
``root_credentials`` part (root sessions; ``iam:ListOrganizationsFeatures``; read-only Organizations
data), while everything else needs the management account (IAM User Guide, "Centralize root access
for member accounts": enabling the features stays with the management account; Organizations API
Reference: writes "can only be called from the management account").
"""

from __future__ import annotations

from reconciler.aws import Aws, Client, paginate
from reconciler.errors import AccessDenied, Refusal

# GetCallerIdentity needs no permission (the policy leaves it out); declared so that every call
# observe makes is accounted for.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("organizations:ListDelegatedAdministrators", "sts:GetCallerIdentity"),
}

IAM_SERVICE_PRINCIPAL = "iam.amazonaws.com"


def read_iam_delegated_admins(org: Client) -> tuple[str, ...]:
    """The account ids registered as IAM's delegated administrator, sorted."""
    admins = paginate(org, "list_delegated_administrators", "DelegatedAdministrators",
                      ServicePrincipal=IAM_SERVICE_PRINCIPAL)
    return tuple(sorted(str(a["Id"]) for a in admins))


def runner_account(aws: Aws, *, management_account_id: str,
                   delegated_admins: tuple[str, ...] | None) -> str:
    """The runner's account when it is IAM's delegated administrator, else the management
    account's id; refuses any other account (its IAM is not the management account's)."""
    caller = aws.caller_account_id()
    if caller == management_account_id:
        return caller
    if delegated_admins is None:
        try:
            delegated_admins = read_iam_delegated_admins(aws.client("organizations"))
        except AccessDenied:
            delegated_admins = ()  # a member without delegated rights may not list them
    if caller in delegated_admins:
        return caller
    raise Refusal(f"these credentials are in account {caller}, not the management account "
                  f"{management_account_id} nor IAM's delegated administrator: plan and apply "
                  "need the management account (IAM's delegated administrator can plan and "
                  "apply root_credentials)")
