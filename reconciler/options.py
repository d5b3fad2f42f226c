"""``GlobalOptions``: the settings every command shares, apart from the command line's parsing.

``reconciler.cli`` builds them from the options given; the commands and the pipeline
(``reconciler.pipeline``) take them, so that no command imports the CLI module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GlobalOptions:
    """Settings every command shares: where AWS is and how to print."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    color: bool = True
    debug: bool = False
    # --mfa-serial / --mfa-token: enter member accounts with an MFA session (plan, apply, export,
    # assume). The code is a one-time secret: kept out of repr (and so out of any log).
    mfa_serial: str | None = None
    mfa_token: str | None = field(default=None, repr=False)
