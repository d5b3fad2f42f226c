"""``orgsync root unlock-s3-bucket | unlock-sqs-queue | audit``: privileged root tasks as reviewed
commands instead of the console's "Take privileged action".

The unlock commands follow apply's rules: refuse before any AWS access when nobody can approve
(no terminal and no ``--auto-approve``); show exactly what will be deleted; ask for ``yes``;
write the audit record *before* deleting (so that a crash mid-way still leaves a trace of what
was about to happen), then delete, read again to prove the policy is gone, and complete the
record. The record holds when, who (the caller's ARN), the account, the resource, the task policy
and the deleted document; never credentials.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.commands.common import debug_call_counts
from reconciler.console import is_interactive
from reconciler.errors import OrgsyncError, Refusal
from reconciler.options import GlobalOptions
from reconciler.outfile import replace_file
from reconciler.pipeline import make_aws
from reconciler.terminal import printable

if TYPE_CHECKING:
    from reconciler.aws import Aws
    from reconciler.model import DesiredState
    from reconciler.privileged.session import MemberAccount
    from reconciler.privileged.unlock import Target

DEFAULT_AUDIT_DIR = "orgsync-audit"
_ACCOUNT_ID = re.compile(r"\d{12}")


def _desired(file: str, *, required: bool) -> DesiredState | None:
    if not os.path.exists(file):
        if required:
            raise Refusal(f"{file} not found: ACCOUNT must be a 12-digit account id, or a name "
                          "from the file given with -f")
        return None
    from reconciler.config import load

    return load(file)


def _account_id(aws: Aws, account: str, *, file: str) -> str:
    """ACCOUNT as an id: a 12-digit id as it is, else a name of the file (looked up in the
    organization by email when the file gives no id)."""
    if _ACCOUNT_ID.fullmatch(account):
        return account
    desired = _desired(file, required=True)
    assert desired is not None
    spec = next((a for a in desired.accounts if a.name == account), None)
    if spec is None:
        names = ", ".join(a.name for a in desired.accounts) or "none"
        raise Refusal(f"{account!r} is neither a 12-digit account id nor an account name in "
                      f"{file} (names: {names})")
    if spec.id is not None:
        return spec.id
    from reconciler.pipeline import account_ids_from_aws

    found = account_ids_from_aws(aws, [spec]).get(spec.name)
    if found is not None:
        return found
    raise Refusal(f"account {account} ({spec.email}) is not in the organization")


def _refuse_without_approval(auto_approve: bool) -> None:
    if not auto_approve and not is_interactive():
        raise Refusal("no terminal to ask for approval: nothing was changed; pass "
                      "--auto-approve to run the task without asking")


def _ask(question: str) -> bool:
    click.echo(f"\n{question} Only 'yes' will be accepted.")
    try:
        answer = input("  Enter a value: ")
    except EOFError:
        return False
    return answer.strip() == "yes"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[-80:]


def _write_record(path: Path, record: dict[str, Any]) -> None:
    """Write atomically (a reader never sees half a record), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"), mode=0o600)


def _unlock(opts: GlobalOptions, *, account: str, file: str, auto_approve: bool,
            audit_dir: str, make_target: Any) -> int:
    from reconciler.privileged import session, unlock

    _refuse_without_approval(auto_approve)
    aws = make_aws(opts, parallelism=1)
    with debug_call_counts(opts, aws):
        account_id = _account_id(aws, account, file=file)
        caller = session.check_caller(aws)
        name = session.check_member(aws, caller, account_id=account_id)
        target: Target = make_target(account_id, aws)
        document = unlock.read(aws, target)
        task_arn = f"arn:{aws.partition}:iam::aws:policy/root-task/{target.task}"
        click.echo(f"Account:     {name} ({account_id})")
        click.echo(f"Resource:    {target.label} ({target.arn})")
        click.echo(f"Task policy: {task_arn}")
        click.echo(f"As:          {caller.arn}"
                   + (" (IAM delegated administrator)" if caller.delegated else ""))
        click.echo(f"\nThe policy that will be deleted:\n{json.dumps(document, indent=2)}")
        what = "bucket policy" if target.kind == "s3-bucket" else "queue policy"
        if not auto_approve and not _ask(f"Delete this {what}?"):
            raise Refusal("cancelled: nothing was changed")
        now = datetime.now(timezone.utc)
        path = Path(audit_dir) / (f"{now.strftime('%Y%m%dT%H%M%SZ')}-{account_id}-"
                                  f"{target.kind}-{_safe(target.name)}.json")
        record: dict[str, Any] = {
            "format_version": "1",
            "when": now.isoformat(timespec="seconds"),
            "who": caller.arn,
            "as": "delegated_administrator" if caller.delegated else "management",
            "account_id": account_id,
            "account_name": name,
            "resource": {"type": target.kind, "name": target.name, "arn": target.arn,
                         **({"url": target.url} if target.url else {})},
            "task_policy": task_arn,
            "deleted_policy": document,
            "outcome": "about to delete",
        }
        try:
            _write_record(path, record)
        except OSError as error:
            raise OrgsyncError(f"cannot write the audit record {path}: {error.strerror}; "
                               "nothing was changed") from error
        try:
            unlock.delete(aws, target)
        except OrgsyncError as error:
            record.update(outcome="failed", error=str(error))
            _write_record(path, record)
            raise OrgsyncError(f"{error} (nothing was deleted; audit record: {path})") from error
        gone = unlock.verify(aws, target)
        record.update(outcome="deleted" if gone else "deleted, but a policy is still there",
                      verified_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      verified_gone=gone)
        _write_record(path, record)
    if not gone:
        raise OrgsyncError(f"the {what} of {target.label} was deleted, but reading it again "
                           f"still finds a policy (audit record: {path})")
    click.echo(f"\nDeleted the {what} of {target.label} in account {account_id}; read again: "
               f"gone. Audit record: {path}")
    return 0


def unlock_s3_bucket(opts: GlobalOptions, *, account: str, bucket: str,
                     file: str = "accounts.yaml", auto_approve: bool = False,
                     audit_dir: str = DEFAULT_AUDIT_DIR) -> int:
    from reconciler.privileged.unlock import bucket_target

    return _unlock(opts, account=account, file=file, auto_approve=auto_approve,
                   audit_dir=audit_dir,
                   make_target=lambda account_id, aws: bucket_target(account_id, bucket))


def unlock_sqs_queue(opts: GlobalOptions, *, account: str, queue_url: str,
                     file: str = "accounts.yaml", auto_approve: bool = False,
                     audit_dir: str = DEFAULT_AUDIT_DIR) -> int:
    from reconciler.privileged.unlock import queue_target

    return _unlock(opts, account=account, file=file, auto_approve=auto_approve,
                   audit_dir=audit_dir, make_target=lambda account_id, aws: queue_target(
                       account_id, queue_url, region=aws.region))


def audit(opts: GlobalOptions, *, file: str = "accounts.yaml", fmt: str = "text",
          parallelism: int = 10) -> int:
    from reconciler.privileged import audit as root_audit
    from reconciler.privileged import session
    from reconciler.render.root_audit import render

    desired = _desired(file, required=False)
    aws = make_aws(opts, parallelism=parallelism)
    with debug_call_counts(opts, aws):
        caller = session.check_caller(aws)
        accounts = session.member_accounts(aws, caller)
        policies = _file_policies(desired, accounts)
        results = root_audit.audit(aws, accounts=accounts, policies=policies,
                                   parallelism=parallelism)
    document = root_audit.document(results, caller, calls=aws.calls.total)
    text = render(document, fmt)
    click.echo(text, nl=not text.endswith("\n"))
    if desired is None and fmt == "text":
        click.echo(f"orgsync: note: {file} not found: no file policy to compare with", err=True)
    unreadable = [a for a in document["accounts"] if a["error"]]
    for account in unreadable:
        click.echo(f"orgsync: error: account {account['id']}: {printable(str(account['error']))}",
                   err=True)
    return 1 if unreadable else 0


def _file_policies(desired: DesiredState | None,
                   accounts: list[MemberAccount]) -> dict[str, str]:
    """The file's effective root policy of each account id (matched as plan matches: by the id
    the file gives, else by email)."""
    if desired is None:
        return {}
    by_identity = {spec.identity: spec for spec in desired.accounts}
    policies: dict[str, str] = {}
    for account in accounts:
        spec = by_identity.get(account.id) or by_identity.get(account.email.lower())
        if spec is not None:
            policies[account.id] = spec.root_credentials
    return policies
