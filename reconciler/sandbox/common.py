"""Small helpers shared by the sandbox's moto extensions.

The extensions are methods patched onto moto's response classes; they reach the running sandbox's
state through the WSGI environ of the request they serve (the middleware puts it there), so that
nothing is kept in module globals.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import request as flask_request
from moto.core.exceptions import ServiceException

from reconciler.sandbox.state import SandboxState

ENVIRON_KEY = "orgsync.sandbox.state"


def current_state() -> SandboxState:
    state = flask_request.environ.get(ENVIRON_KEY)
    if state is None:  # pragma: no cover - the middleware always sets it
        raise RuntimeError("request did not come through the orgsync sandbox middleware")
    return state


def remote_addr() -> str:
    return str(flask_request.remote_addr or "127.0.0.1")


class SandboxAwsError(ServiceException):
    """An AWS error raised by an extension; moto serialises it with the model of the service
    being called (the class lives outside moto, so moto does not guess a service from it)."""


def aws_error(code: str, message: str, **members: Any) -> ServiceException:
    """An AWS error in the called service's protocol; ``members`` are extra error members the
    model declares (e.g. ``Reason``)."""
    error = SandboxAwsError(code, message)
    for name, value in members.items():
        setattr(error, name, value)
    return error


def epoch(value: datetime) -> float:
    return value.timestamp()


def naive_utc(value: datetime) -> datetime:
    """moto stores naive UTC datetimes."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)
