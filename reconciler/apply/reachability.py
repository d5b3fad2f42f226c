"""Waiting until AWS lets orgsync into a member account: AWS is eventually consistent.

A CreateAccount request that has SUCCEEDED does not mean the account can be entered: AWS's
CreateAccount reference says "you might need to wait a few minutes before you can successfully
access the account" (https://docs.aws.amazon.com/organizations/latest/APIReference/
API_CreateAccount.html), and Terraform users report AssumeRole into a new account failing for up
to about seven minutes (hashicorp/terraform-provider-aws#15654). A role that was just created or
whose trust policy was just changed can refuse AssumeRole for a while too (IAM User Guide,
"Changes that I make are not always immediately visible",
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html; terraform-provider-aws
#6566), and so can AssumeRoot into a new account.

Every step that enters a member account calls one of these functions: they retry an
``AccessDenied`` with backoff, report progress, and give up after a bounded time with ``Waiting``
(the step is reported as ``waiting``, not ``failed``; a re-run picks up from there, because every
executor ensures its after-state). Any other error (bad credentials, an MFA session that ran out,
throttling after botocore's retries) is not a matter of time and is raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from reconciler.apply.kit import StepContext, Waiting, backoff
from reconciler.errors import AccessDenied
from reconciler.plan import Change

# How long to wait comes from ApplyOptions (account_ready_timeout_s, role_ready_timeout_s: what
# AWS documents or is seen to need); the progress messages say how long a wait has lasted so that
# a person watching knows it is not stuck.
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0


def wait_until_assumable(ctx: StepContext, change: Change, *, account_id: str, role_name: str,
                         timeout_s: float | None = None, new_account: bool = False) -> float:
    """Return once the management account can assume ``role_name`` in ``account_id`` (seconds
    waited). ``new_account``: the account was just created, so wait as long as AWS can take to
    make it reachable (``ApplyOptions.account_ready_timeout_s``), else as long as IAM can take to
    make a role change effective (``role_ready_timeout_s``). Raises ``Waiting`` when the time is
    up, any error other than ``AccessDenied`` at once."""

    def attempt() -> None:
        ctx.aws.forget(account_id)  # never a cached session from before the change
        ctx.aws.assume_role(account_id=account_id, role_name=role_name)

    what = (f"new account {account_id} to accept AssumeRole into {role_name}" if new_account
            else f"role {role_name} in {account_id} to become assumable")
    return _wait(ctx, change, attempt, what=what,
                 timeout_s=_timeout(ctx, timeout_s, new_account=new_account))


def wait_until_root_reachable(ctx: StepContext, change: Change, *, account_id: str, task: str,
                              timeout_s: float | None = None) -> float:
    """Return once sts:AssumeRoot with ``task`` into ``account_id`` succeeds (a new account
    refuses it for minutes, as it refuses AssumeRole). Raises ``Waiting`` when the time is up."""

    def attempt() -> None:
        ctx.aws.assume_root(account_id=account_id, task=task)

    return _wait(ctx, change, attempt, what=f"account {account_id} to accept AssumeRoot",
                 timeout_s=_timeout(ctx, timeout_s, new_account=True))


def is_new_account(ctx: StepContext, account_id: str) -> bool:
    """Whether AWS may still be refusing everyone entry into ``account_id`` because it is new:
    it joined during this run (observe did not see it), or CreateAccount made it shortly before
    (``ObservedState.recently_created``). Waiting on an AccessDenied is right only then: for an
    older account it is a real refusal, and waiting minutes for it would only delay the error."""
    if ctx.observed.account_by_id(account_id) is None:
        return True
    return ctx.observed.recently_created(account_id)


def ready_wait_left(ctx: StepContext, account_id: str) -> float:
    """Seconds left of ``account_ready_timeout_s`` counted from the account's creation (as
    observed), 0 when unknown or over."""
    account = ctx.observed.account_by_id(account_id)
    if account is None or not account.joined_at or not ctx.observed.observed_at:
        return 0.0
    try:
        joined = datetime.fromisoformat(account.joined_at)
        observed = datetime.fromisoformat(ctx.observed.observed_at)
    except ValueError:
        return 0.0
    age = (observed - joined).total_seconds() + (time.time() - observed.timestamp())
    return max(0.0, ctx.options.account_ready_timeout_s - max(0.0, age))


def _timeout(ctx: StepContext, timeout_s: float | None, *, new_account: bool) -> float:
    if timeout_s is not None:
        return timeout_s
    if new_account:
        return ctx.options.account_ready_timeout_s
    return ctx.options.role_ready_timeout_s


def _wait(ctx: StepContext, change: Change, attempt: Callable[[], None], *, what: str,
          timeout_s: float) -> float:
    start = time.monotonic()
    deadline = start + timeout_s
    delays = backoff(FIRST_DELAY_S, MAX_DELAY_S)
    while True:
        try:
            attempt()
            return time.monotonic() - start
        except AccessDenied as error:
            waited = time.monotonic() - start
            if time.monotonic() >= deadline:
                raise Waiting(f"still waiting for {what} after {waited:.0f} s ({error.code}); "
                              "AWS can take minutes: re-run apply to continue") from error
            ctx.reporter.progress(change, f"waiting for {what} ({waited:.0f} s of at most "
                                          f"{timeout_s:.0f} s)")
            ctx.sleep(min(next(delays), max(0.0, deadline - time.monotonic()) + 0.01))
