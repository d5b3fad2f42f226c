"""``orgsync access``: who can reach which account and role, under which conditions.

Reads what the report needs from the management account (``reconciler.pipeline.read_access``:
the organization, to refuse another one; ListAccounts, for the ids of accounts the file gives none
and the names of accounts only AWS grants; and the groups with their members and grant policies
through the observe layer's one GetAccountAuthorizationDetails read; when the file has an
``identity_center:`` section, the instance, its permission sets and assignments and the assigned
groups' members through ``reconciler.observe.identity_center``, whose reads are the plan runner's
too), then prints ``reconciler.access``'s document as text, JSON or markdown. Read-only: the
runner of ``orgsync plan`` may run it (its reads are declared below and part of ``orgsync
permissions --for plan``).
"""

from __future__ import annotations

import json
import sys

from reconciler.options import GlobalOptions

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
    from reconciler.access import access_report, render_markdown, render_text
    from reconciler.pipeline import make_aws, read_access, read_desired

    desired, _ = read_desired(file)
    document = access_report(desired, read_access(desired, make_aws(opts, parallelism=1)))
    if fmt == "json":  # json.dumps escapes control characters itself
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(render_markdown(document))
    else:
        sys.stdout.write(render_text(document))
    return 0
