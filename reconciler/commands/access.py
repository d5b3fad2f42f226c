"""``orgsync access``: who can reach which account and role, under which conditions.

Reads what the report needs from the management account (the organization, to refuse another
one; ListAccounts, for the ids of accounts the file gives none and the names of accounts only AWS
grants; and the groups with their members and grant policies through the observe layer's one
GetAccountAuthorizationDetails read; when the file has an ``identity_center:`` section, the
instance, its permission sets and assignments and the assigned groups' members through
``reconciler.observe.identity_center``, whose reads are the plan runner's too), then prints
``reconciler.access``'s document as text, JSON or markdown. Read-only: the runner of
``orgsync plan`` may run it (its reads are declared below and part of ``orgsync permissions
--for plan``).
"""

from __future__ import annotations

import json
import sys

from reconciler.options import GlobalOptions
from reconciler.terminal import printable_document

# Registered with ``reconciler.permissions`` (DECLARING_MODULES, stage plan).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "sts:GetCallerIdentity",
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListAccounts",
        "iam:GetAccountAuthorizationDetails",
    ),
}


def run(opts: GlobalOptions, *, file: str, fmt: str = "text") -> int:
    from reconciler.access import ObservedAccess, access_report, render_markdown, render_text
    from reconciler.aws import paginate
    from reconciler.observe.group import read_management_iam
    from reconciler.observe.organization import read_caller, read_organization
    from reconciler.pipeline import make_aws, read_desired

    desired, _ = read_desired(file)
    aws = make_aws(opts, parallelism=1)
    read_caller(aws)
    org = aws.client("organizations")
    read_organization(org, expected_management_account_id=(
        desired.organization.management_account_id))
    listed = list(paginate(org, "list_accounts", "Accounts"))
    by_email = {str(a["Email"]).lower(): str(a["Id"]) for a in listed}
    account_ids = {a.name: by_email[a.email.lower()] for a in desired.accounts
                   if a.id is None and a.email.lower() in by_email}
    iam = read_management_iam(aws.client("iam"), desired=desired)
    center, members = None, {}
    if desired.identity_center is not None:
        from reconciler.observe.identity_center import read_group_members, read_identity_center

        center = read_identity_center(desired, aws, parallelism=4)
        if center is not None and center.identity_store_id is not None:
            assigned = {a.principal for a in desired.identity_center.assignments
                        if a.principal_type == "GROUP"}
            group_ids = [p.id for p in center.principals if p.type == "GROUP"
                         and (p.name in assigned or any(
                             a.principal_type == "GROUP" and a.principal_id == p.id
                             for a in center.assignments))]
            members = read_group_members(aws.client("identitystore"),
                                         identity_store_id=center.identity_store_id,
                                         group_ids=group_ids)
    observed = ObservedAccess(
        groups=iam.groups, managed_policies=iam.managed_policies,
        existing_users=iam.existing_users, account_ids=account_ids,
        account_names={str(a["Id"]): str(a.get("Name", a["Id"])) for a in listed},
        identity_center=center, identity_center_members=members)
    document = access_report(desired, observed)
    if fmt == "json":  # json.dumps escapes control characters itself
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(render_markdown(printable_document(document, keep_lines=False)))
    else:
        # names come from IAM and the identity store (display names may hold line breaks):
        # escaped, so that they cannot fake rows of the report (reconciler.terminal)
        sys.stdout.write(render_text(printable_document(document, keep_lines=False)))
    return 0
