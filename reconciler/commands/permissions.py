"""``orgsync permissions [--for plan|apply|member|root]``: the least-privilege IAM policy as JSON.

The policy comes from the PERMISSIONS declarations in the code (``reconciler.permissions``), so it
cannot fall behind what orgsync calls. When the desired-state file exists, resources are narrowed
to its management account, access role names and group paths; otherwise a note on stderr says that
the default names and a ``*`` account were used.
"""

from __future__ import annotations

import json
import os

from reconciler.console import make_console
from reconciler.options import GlobalOptions


def run(opts: GlobalOptions, *, for_: str = "apply", file: str = "accounts.yaml") -> int:
    from reconciler.permissions import PolicyContext, PolicyFor, context_from_desired, policy

    if os.path.exists(file):
        from reconciler.config import load

        context = context_from_desired(load(file))
    else:
        context = PolicyContext()
        make_console(color=opts.color, stderr=True).print(
            f"orgsync: note: {file} not found: the policy uses account '*', the role name "
            f"{context.access_role_names[0]} and the group path {context.group_paths[0]}; pass -f "
            "to narrow it to your file", markup=False)
    choices: dict[str, PolicyFor] = {"plan": "plan", "member": "member", "root": "root"}
    wanted: PolicyFor = choices.get(for_, "apply")
    document = policy(wanted, context=context)
    print(json.dumps(document, indent=2))
    return 0
