"""``orgsync profiles``: AWS CLI profiles, console switch-role links or the aws-extend-switch-roles
configuration for every role people may assume in the member accounts.

Offline from the file alone when every active member account has an ``id`` in it; accounts that
orgsync created and whose id the file does not record need one AWS read (ListAccounts, matched by
email), made only then. The formatting and the config-file editing live in ``reconciler.profiles``.
"""

from __future__ import annotations

import sys

from reconciler.aesr import SYNC_LIMIT, check_color_by, compressed_size
from reconciler.console import make_console
from reconciler.model import DesiredState
from reconciler.options import GlobalOptions
from reconciler.pipeline import account_ids_from_aws, make_aws
from reconciler.profiles import (
    DEFAULT_REGION,
    ConfigFileError,
    accounts_without_id,
    build_profiles,
    check_group,
    check_name_template,
    default_config_file,
    render,
    write_config_block,
)


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
    group: str | None = None,
    name_template: str | None = None,
    color_by: str = "ou",
    user: str | None = None,
    sso_start_url: str | None = None,
) -> int:
    from reconciler.config import load

    if write and fmt not in ("ini", "sso"):
        raise ConfigFileError("--write updates the AWS config file: it needs --format ini or sso")
    if (user or sso_start_url) and fmt != "sso":
        raise ConfigFileError("--user and --sso-start-url go with --format sso")
    if markdown and fmt != "links":
        raise ConfigFileError("--markdown goes with --format links")
    if color_by != "ou" and fmt != "aesr":
        raise ConfigFileError("--color-by goes with --format aesr")
    if name_template is not None:
        check_name_template(name_template)
    check_color_by(color_by)
    desired = load(file)
    if group is not None:
        check_group(desired, group)
    err = make_console(color=opts.color, stderr=True)
    if fmt == "sso":
        return _sso(opts, desired, user=user, start=sso_start_url, prefix=prefix, write=write,
                    config_file=config_file)
    missing = accounts_without_id(desired)
    account_ids = account_ids_from_aws(make_aws(opts, parallelism=1), missing) if missing else {}
    for account in missing:
        if account.name not in account_ids:
            err.print(f"orgsync: note: account {account.name!r} ({account.email}) is not in the "
                      "organization yet: no profile for it", markup=False)
    region = opts.region or DEFAULT_REGION
    text = render(desired, account_ids, fmt=fmt, markdown=markdown,
                  source_profile=source_profile, region=region, mfa_serial=mfa_serial,
                  prefix=prefix, group=group, name_template=name_template, color_by=color_by)
    built = build_profiles(desired, account_ids, prefix=prefix, group=group,
                           name_template=name_template)
    if fmt == "ini" and not mfa_serial:
        needs_mfa = [p.profile for p in built if p.require_mfa]
        if needs_mfa:
            err.print(f"orgsync: note: {', '.join(needs_mfa)} need(s) an MFA session: pass "
                      "--mfa-serial ARN (your MFA device) to put it in the profiles",
                      markup=False)
    if fmt == "aesr":
        size = compressed_size(text)
        if size > SYNC_LIMIT:
            err.print(f"orgsync: warning: this configuration takes {size} characters "
                      f"compressed, over the {SYNC_LIMIT} the extension can keep in the "
                      "browser's sync storage: set its \"Configuration storage\" to local "
                      "before pasting, or use --group to paste less", markup=False)
    if not write:
        sys.stdout.write(text)
        return 0
    target = write_config_block(config_file or default_config_file(), text)
    organization = desired.organization.management_account_id
    err.print(f"orgsync: {len(built)} profile(s) of organization {organization} written to "
              f"{target}", markup=False)
    return 0


def _sso(opts: GlobalOptions, desired: DesiredState, *, user: str | None, start: str | None,
         prefix: str, write: bool, config_file: str | None) -> int:
    """``--format sso``: read the Identity Center instance, then write the profiles."""
    from reconciler.errors import OrgsyncError
    from reconciler.pipeline import read_sso_assignments
    from reconciler.profiles_sso import build_sso_profiles, render_sso, start_url

    aws = make_aws(opts, parallelism=4)
    read = read_sso_assignments(desired, aws, user=user)
    if read.store is None:
        raise OrgsyncError(f"--format sso: {read.error}")
    store = read.store
    if read.unknown_user:
        raise OrgsyncError(f"--user {user}: no such user in the identity store {store}")
    profiles = build_sso_profiles(list(read.pairs), prefix=prefix)
    region = opts.region or aws.region
    text = render_sso(profiles, sso_start_url=start or start_url(store), sso_region=aws.region,
                      region=region, source_file=desired.source_file, user=user,
                      organization=desired.organization.management_account_id)
    err = make_console(color=opts.color, stderr=True)
    if not profiles:
        err.print(f"orgsync: note: no account assignment reaches {user or 'anyone'}",
                  markup=False)
    if not write:
        sys.stdout.write(text)
        return 0
    target = write_config_block(config_file or default_config_file(), text)
    err.print(f"orgsync: {len(profiles)} profile(s) written to {target}", markup=False)
    return 0
