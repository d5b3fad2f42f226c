"""A local AWS organization emulator (Organizations, IAM, STS) built on moto's server.

orgsync's tests, demo and benchmarks run against it, so it behaves like AWS where orgsync depends
on AWS's behaviour (see docs/ARCHITECTURE.md "Sandbox" and CONTRACT.md section 5).
``SandboxOptions``/``SandboxInfo`` import without moto; ``Sandbox`` needs ``moto[server]``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.options import (
    MANAGEMENT_ACCOUNT_ID,
    SandboxInfo,
    SandboxOptions,
    StandaloneAccount,
    parse_throttle,
    standalone_accounts,
)

if TYPE_CHECKING:
    from reconciler.sandbox.control import Control, RemoteControl
    from reconciler.sandbox.server import Sandbox, SandboxError

__all__ = ["MANAGEMENT_ACCOUNT_ID", "Control", "RemoteControl", "Sandbox", "SandboxError",
           "SandboxInfo", "SandboxOptions", "StandaloneAccount", "parse_throttle",
           "standalone_accounts"]


@contextlib.contextmanager
def _without_user_profile() -> Iterator[None]:
    """moto builds boto3 sessions while its modules import (moto.ec2 lists regions through
    ``boto3.Session()``), and a session fails with ProfileNotFound when the user's AWS_PROFILE
    names a profile the config file lacks. The sandbox never uses the user's profile, so the
    import runs without it and the variables are put back afterwards."""
    saved = {k: os.environ.pop(k) for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
             if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def __getattr__(name: str) -> Any:
    if name in ("Sandbox", "SandboxError"):
        with _without_user_profile():
            from reconciler.sandbox import server

        return getattr(server, name)
    if name in ("Control", "RemoteControl"):
        from reconciler.sandbox import control

        return getattr(control, name)
    raise AttributeError(name)
