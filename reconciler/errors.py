"""orgsync's own small error tree.

Every failure a user can cause or meet ends as one of these, so that the CLI can print one line per
problem and exit 1 without a traceback. The AWS layer translates botocore's ``ClientError`` into
``AwsError``; nothing outside ``reconciler.aws`` should ever see a botocore exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.terminal import printable


class OrgsyncError(Exception):
    """Base of every error orgsync reports to the user (exit code 1)."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a desired-state file, with its position (1-based line and column)."""

    file: str
    line: int
    column: int
    path: str  # e.g. "accounts[2].email"; "" for the document itself
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        # one line, and nothing from the file that a terminal would act on (reconciler.terminal)
        return printable(f"{self.file}:{self.line}:{self.column}: {where}{self.message}")


class ConfigError(OrgsyncError):
    """The desired-state file is invalid; carries every problem found, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.path))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class AwsError(OrgsyncError):
    """An AWS call failed; ``code`` is the AWS error code (e.g. ``AccessDenied``)."""

    def __init__(self, *, operation: str, code: str, message: str, account_id: str | None = None,
                 reason: str | None = None):
        self.operation = operation
        self.code = code
        self.aws_message = message
        self.account_id = account_id
        # a modeled Reason (e.g. ConstraintViolationException's CLOSE_ACCOUNT_QUOTA_EXCEEDED):
        # decide on it, never on the message's wording
        self.reason = reason
        where = f" in account {account_id}" if account_id else ""
        super().__init__(f"{operation}{where} failed: {code}: {message}")


class AccessDenied(AwsError):
    """The caller may not do this (also: a role that cannot be assumed)."""


class CredentialsError(AwsError):
    """The runner's own credentials are expired, invalid or unrecognized (ExpiredToken,
    InvalidClientTokenId, SignatureDoesNotMatch, ...): not a statement about the resource."""


class Throttled(AwsError):
    """AWS throttled the call even after botocore's retries."""


class NotFound(AwsError):
    """The resource does not exist (NoSuchEntity, AccountNotFoundException, ...)."""


class EndpointError(OrgsyncError):
    """The endpoint is not an AWS endpoint (an HTML page, an unparsable answer), is not a URL, or
    did not answer within the bound: nothing any call can fix, so the run stops with one line."""


class NotManagementCredentials(OrgsyncError):
    """The credentials belong to a member account, not the organization's management account."""


class Refusal(OrgsyncError):
    """orgsync refuses to go on: wrong organization, stale or altered plan, no approval."""


class StalePlan(Refusal):
    """A saved plan whose world changed since it was made; ``differences`` says what changed
    (``{"address", "attribute", "before", "after"}``, never a secret) and ``command`` what to
    run instead."""

    def __init__(self, message: str, *, differences: list[dict[str, Any]], command: str) -> None:
        super().__init__(message)
        self.differences = differences
        self.command = command
