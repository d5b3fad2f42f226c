"""``orgsync profiles``: AWS CLI profiles or console switch-role links for every member account.

Offline from the file alone when every active member account has an ``id`` in it; accounts that
orgsync created and whose id the file does not record need one AWS read (ListAccounts, matched by
email), made only then. The formatting and the config-file editing live in ``reconciler.profiles``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from reconciler.cli import GlobalOptions
from reconciler.commands.plan import make_aws
from reconciler.console import make_console
from reconciler.model import AccountSpec
from reconciler.profiles import (
    DEFAULT_REGION,
    ConfigFileError,
    accounts_without_id,
    build_profiles,
    default_config_file,
    render,
    write_config_block,
)

if TYPE_CHECKING:
    from reconciler.aws import Aws


def run(
    opts: GlobalOptions,
    *,
    file: str,
    source_profile: str,
    fmt: str,
    markdown: bool,
    mfa_serial: str | None,
    prefix: str,
    write: bool,
    config_file: str | None,
) -> int:
    from reconciler.config import load

    if write and fmt != "ini":
        raise ConfigFileError("--write updates the AWS config file: it needs --format ini")
    if markdown and fmt != "links":
        raise ConfigFileError("--markdown goes with --format links")
    desired = load(file)
    err = make_console(color=opts.color, stderr=True)
    missing = accounts_without_id(desired)
    account_ids = account_ids_from_aws(make_aws(opts, parallelism=1), missing) if missing else {}
    for account in missing:
        if account.name not in account_ids:
            err.print(f"orgsync: note: account {account.name!r} ({account.email}) is not in the "
                      "organization yet: no profile for it", markup=False)
    region = opts.region or DEFAULT_REGION
    text = render(desired, account_ids, fmt=fmt, markdown=markdown,
                  source_profile=source_profile, region=region, mfa_serial=mfa_serial,
                  prefix=prefix)
    if not write:
        sys.stdout.write(text)
        return 0
    target = write_config_block(config_file or default_config_file(), text)
    count = len(build_profiles(desired, account_ids, prefix=prefix))
    err.print(f"orgsync: {count} profile(s) written to {target}", markup=False)
    return 0


def account_ids_from_aws(aws: Aws, accounts: list[AccountSpec]) -> dict[str, str]:
    """Ids of ``accounts`` (matched by email, as the organization knows them), by account name."""
    from reconciler.aws import paginate

    by_email = {
        str(item["Email"]).lower(): str(item["Id"])
        for item in paginate(aws.client("organizations"), "list_accounts", "Accounts")
    }
    return {a.name: by_email[a.email.lower()] for a in accounts if a.email.lower() in by_email}
