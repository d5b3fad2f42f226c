"""Counting the AWS API calls orgsync makes, for ``--debug``, benchmarks and permission checks.

The counts come from botocore's own event hooks on every client the AWS layer creates, so they are
what really went over the wire: ``calls`` are logical API calls (one per method call or page) and
``attempts`` are HTTP attempts, retries included. Each record carries the scope it was made in
(``management``, ``member``, ``root``, ``profile``) and the account it concerns, which lets a test
compare the calls made in each scope with the IAM actions the observe modules declare.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass

Scope = str  # "management" | "member" | "root" | "profile"
MANAGEMENT = "management"


@dataclass(frozen=True)
class CallKey:
    scope: Scope
    account_id: str  # "" when the caller's own account (management or profile)
    operation: str  # "service:Operation", e.g. "organizations:ListAccountsForParent"


class CallLog:
    """Thread-safe counts of logical calls and HTTP attempts by (scope, account, operation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[CallKey] = Counter()
        self._attempts: Counter[CallKey] = Counter()

    def record_call(self, *, scope: Scope, account_id: str | None, operation: str) -> None:
        key = CallKey(scope, account_id or "", operation)
        with self._lock:
            self._calls[key] += 1
        append_to_call_log_file(scope=scope, operation=operation)  # gitops: ORGSYNC_CALL_LOG

    def record_attempt(self, *, scope: Scope, account_id: str | None, operation: str) -> None:
        key = CallKey(scope, account_id or "", operation)
        with self._lock:
            self._attempts[key] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._attempts.clear()

    def entries(self, *, attempts: bool = False) -> dict[CallKey, int]:
        """A snapshot of every (scope, account, operation) count."""
        with self._lock:
            return dict(self._attempts if attempts else self._calls)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    @property
    def total_attempts(self) -> int:
        with self._lock:
            return sum(self._attempts.values())

    def by_operation(self, *, attempts: bool = False) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for key, n in self.entries(attempts=attempts).items():
            counts[key.operation] += n
        return dict(sorted(counts.items()))

    def by_scope(self, *, attempts: bool = False) -> dict[str, dict[str, int]]:
        """scope -> operation -> count."""
        result: dict[str, Counter[str]] = {}
        for key, n in self.entries(attempts=attempts).items():
            result.setdefault(key.scope, Counter())[key.operation] += n
        return {scope: dict(sorted(c.items())) for scope, c in sorted(result.items())}

    def for_account(self, account_id: str, *, attempts: bool = False) -> dict[str, int]:
        """operation -> count for the calls that concerned one account (any scope)."""
        counts: Counter[str] = Counter()
        for key, n in self.entries(attempts=attempts).items():
            if key.account_id == account_id:
                counts[key.operation] += n
        return dict(sorted(counts.items()))

    def summary_lines(self) -> list[str]:
        """Human-readable counts per operation (calls and HTTP attempts), for ``--debug``."""
        calls = self.by_operation()
        attempts = self.by_operation(attempts=True)
        accounts = {k.account_id for k in self.entries() if k.account_id}
        lines = [f"AWS calls: {self.total} calls, {self.total_attempts} HTTP attempts, "
                 f"{len(accounts)} member accounts"]
        width = max((len(op) for op in {*calls, *attempts}), default=0)
        for operation in sorted({*calls, *attempts}):
            lines.append(f"  {operation:<{width}}  {calls.get(operation, 0):>7} calls  "
                         f"{attempts.get(operation, 0):>7} attempts")
        return lines


# --- gitops (issue 7): the call log file behind the permissions coverage test -----------------
CALL_LOG_ENV = "ORGSYNC_CALL_LOG"


def append_to_call_log_file(*, scope: Scope, operation: str) -> None:
    """When ``ORGSYNC_CALL_LOG`` names a file, append one JSON line per logical call to it:
    ``{"operation": "iam:GetRole", "scope": "member", "command": "plan"}`` (``command`` is the
    orgsync subcommand of this process, "" when orgsync runs as a library). No account ids, no
    parameters, nothing secret. Each line is one ``write`` on an ``O_APPEND`` descriptor, so
    concurrent processes and threads never interleave within a line."""
    path = os.environ.get(CALL_LOG_ENV)
    if not path:
        return
    line = json.dumps({"operation": operation, "scope": scope, "command": _orgsync_command()})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _orgsync_command() -> str:
    program = sys.argv[0] if sys.argv else ""
    is_cli = os.path.basename(program) == "orgsync" or program.endswith(
        os.path.join("reconciler", "cli.py"))
    if is_cli and len(sys.argv) > 1:
        return next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    return ""
