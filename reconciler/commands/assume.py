"""``orgsync assume ACCOUNT``: temporary credentials for one member account's access role.

This is the one command that prints credentials, on purpose: as ``export`` lines for ``eval`` or as
the JSON the AWS CLI's ``credential_process`` setting reads. Nothing else in orgsync prints, logs or
saves a secret. The account is named as in the file (or by id); its access role name comes from the
file, and the credentials are an ordinary sts:AssumeRole through the AWS boundary (made with an MFA
session when ``--mfa-serial`` is given, which roles with ``require_mfa`` need).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from reconciler.errors import Refusal
from reconciler.model import AccountSpec, DesiredState
from reconciler.options import GlobalOptions
from reconciler.profiles import session_name, slug

if TYPE_CHECKING:
    from reconciler.aws import Aws

_ACCOUNT_ID = re.compile(r"^\d{12}$")


def run(
    opts: GlobalOptions,
    *,
    account: str,
    file: str,
    credential_process: bool,
    duration: int,
) -> int:
    from reconciler.config import load
    from reconciler.pipeline import make_aws

    desired = load(file)
    aws = make_aws(opts, parallelism=1)
    account_id, role_name, label = resolve(desired, account, aws=aws)
    # With --mfa-serial the AssumeRole is made with an MFA session (a role with require_mfa
    # admits nothing else); the printed credentials are the role's, never the MFA session's.
    response = aws.assume_role_client().assume_role(
        RoleArn=aws.role_arn(account_id, role_name),
        RoleSessionName=session_name(slug(label) or account_id),
        DurationSeconds=duration,
    )
    sys.stdout.write(format_credentials(response["Credentials"],
                                        credential_process=credential_process))
    return 0


def resolve(desired: DesiredState, account: str, *, aws: Aws) -> tuple[str, str, str]:
    """``(account id, access role name, account name)`` for a name or id from the command line.

    Ids the file does not write down (accounts orgsync created) are found by email with one
    ListAccounts; an id that is not in the file at all gets the organization's access role."""
    from reconciler.pipeline import account_ids_from_aws

    management = desired.organization.management_account_id
    if account == management:
        raise Refusal(f"{account} is the management account: it has no access role")
    spec = _find(desired, account)
    if spec is not None:
        _check_usable(spec, desired)
        account_id = spec.id or account_ids_from_aws(aws, [spec]).get(spec.name)
        if account_id is None:
            raise Refusal(f"account {spec.name!r} ({spec.email}) is not in the organization yet")
        return account_id, spec.access_role.name, spec.name
    if not _ACCOUNT_ID.match(account):
        names = ", ".join(a.name for a in desired.accounts) or "none"
        raise Refusal(f"no account {account!r} in {desired.source_file} (accounts: {names})")
    unnamed = [a for a in desired.accounts if a.id is None]
    found = account_ids_from_aws(aws, unnamed) if unnamed else {}
    spec = next((a for a in unnamed if found.get(a.name) == account), None)
    if spec is None:
        return account, desired.organization.access_role, account
    _check_usable(spec, desired)
    return account, spec.access_role.name, spec.name


def _check_usable(spec: AccountSpec, desired: DesiredState) -> None:
    if spec.id == desired.organization.management_account_id:
        raise Refusal(f"{spec.name} is the management account: it has no access role")
    if spec.state != "active":
        raise Refusal(f"account {spec.name!r} is closed in {desired.source_file}")


def _find(desired: DesiredState, account: str) -> AccountSpec | None:
    for spec in desired.accounts:
        if account in (spec.name, spec.id):
            return spec
    return None


def format_credentials(credentials: dict[str, Any], *, credential_process: bool) -> str:
    """Shell ``export`` lines, or AWS CLI ``credential_process`` JSON (Version 1)."""
    expiration = credentials["Expiration"]
    if isinstance(expiration, datetime):
        expiration = expiration.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if credential_process:
        return json.dumps({
            "Version": 1,
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Expiration": str(expiration),
        }) + "\n"
    values = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_CREDENTIAL_EXPIRATION": str(expiration),
    }
    return "".join(f"export {name}={shlex.quote(str(value))}\n" for name, value in values.items())
