"""Rendering ``orgsync root audit``: text, json and markdown from one audit document.

Like the plan, every format starts from the same document (``reconciler.privileged.audit.
document``), so the table a person reads and the JSON a pipeline checks cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.terminal import printable_document


def _credentials(account: Mapping[str, Any]) -> list[str]:
    if account.get("error"):
        return [f"unreadable: {account['error']}"]
    parts = ["password" if account.get("password") else "no password"]
    keys = account.get("access_keys") or []
    parts.append(f"{len(keys)} access key(s)" if keys else "no access keys")
    certificates = account.get("signing_certificates") or []
    parts.append(f"{len(certificates)} signing certificate(s)" if certificates
                 else "no signing certificates")
    devices = account.get("mfa_devices") or []
    parts.append(f"{len(devices)} MFA device(s)" if devices else "no MFA")
    return parts


def _verdict(account: Mapping[str, Any]) -> str:
    if account.get("error"):
        return "unknown"
    if account.get("findings"):
        return "differs: " + ", ".join(account["findings"])
    if account.get("policy") in ("absent", "password_recovery"):
        return "as the file says"
    return "-"


def _header(document: Mapping[str, Any]) -> str:
    caller = document.get("caller") or {}
    role = ("IAM delegated administrator" if caller.get("as") == "delegated_administrator"
            else "management account")
    return (f"Root users of the member accounts of the organization of "
            f"{document.get('management_account_id')} (read by {caller.get('arn')}, "
            f"{role})")


def _summary(document: Mapping[str, Any]) -> str:
    summary = document.get("summary") or {}
    return (f"{summary.get('accounts', 0)} account(s): "
            f"{summary.get('with_root_credentials', 0)} with root credentials, "
            f"{summary.get('not_as_the_file_says', 0)} not as the file says, "
            f"{summary.get('unreadable', 0)} unreadable; {summary.get('aws_calls', 0)} AWS "
            "calls")


def render_text(document: Mapping[str, Any]) -> str:
    lines = [_header(document), ""]
    for account in document.get("accounts") or []:
        lines.append(f"  {account['name'] or '?'} ({account['id']})")
        lines.append(f"    root user:   {', '.join(_credentials(account))}")
        lines.append(f"    file policy: {account.get('policy')}    {_verdict(account)}")
        for key in account.get("access_keys") or []:
            lines.append(f"    access key {key.get('id')} ({key.get('status')}, created "
                         f"{key.get('created')})")
        for device in account.get("mfa_devices") or []:
            lines.append(f"    MFA device {device}")
    lines += ["", _summary(document)]
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(document: Mapping[str, Any]) -> str:
    lines = [f"### {_cell(_header(document))}", "",
             "| account | id | root user | file policy | verdict |",
             "|---|---|---|---|---|"]
    for account in document.get("accounts") or []:
        lines.append(f"| {_cell(account['name'])} | `{account['id']}` | "
                     f"{_cell(', '.join(_credentials(account)))} | "
                     f"`{_cell(account.get('policy'))}` | {_cell(_verdict(account))} |")
    lines += ["", _summary(document)]
    return "\n".join(lines) + "\n"


def render(document: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, sort_keys=False) + "\n"
    # account names and AWS's error messages escaped for the terminal (reconciler.terminal)
    if fmt == "markdown":
        return render_markdown(printable_document(document, keep_lines=False))
    if fmt == "text":
        return render_text(printable_document(document, keep_lines=False))
    raise ValueError(f"unknown format {fmt!r}")
