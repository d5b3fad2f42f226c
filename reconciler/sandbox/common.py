"""Small helpers shared by the sandbox's moto extensions.

The extensions are methods patched onto moto's response classes; they reach the running sandbox's
state through the WSGI environ of the request they serve (the middleware puts it there), so that
nothing is kept in module globals.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from flask import request as flask_request
from moto.core.exceptions import ServiceException
from moto.organizations.models import FakeDelegatedAdministrator, FakeServiceAccess

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


def install_handlers(response_class: type, handlers: Mapping[str, Callable[..., Any]]) -> None:
    """Make ``handlers`` the methods of moto's ``response_class`` that serve their operations
    (by moto's method name; idempotent)."""
    for name, handler in handlers.items():
        setattr(response_class, name, handler)


def trust_service(principal: str, *, delegated_administrator: bool = False) -> None:
    """moto's Organizations accepts only the service principals it lists in
    EnableAWSServiceAccess (and, with ``delegated_administrator``, RegisterDelegatedAdministrator):
    add ``principal`` to them (idempotent)."""
    lists = [FakeServiceAccess.TRUSTED_SERVICES]
    if delegated_administrator:
        lists.append(FakeDelegatedAdministrator.SUPPORTED_SERVICES)
    for principals in lists:
        if principal not in principals:
            principals.append(principal)


def token_page(items: list[Any], params: dict[str, Any], *, key: str, operation: str, limit: int,
               invalid: Callable[[], Exception]) -> dict[str, Any]:
    """One page of ``items`` under ``key``: at most ``limit`` (MaxResults may ask for fewer),
    with an opaque NextToken that only ``operation`` accepts back (as Organizations and
    CloudFormation's tokens: another call's token, or a forged one, raises ``invalid()``)."""
    size = min(int(params.get("MaxResults") or limit), limit)
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            assert decoded["op"] == operation
            start = int(decoded["offset"])
        except Exception:
            raise invalid() from None
    page: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        page["NextToken"] = base64.urlsafe_b64encode(json.dumps(
            {"op": operation, "offset": start + size}).encode()).decode()
    return page


def sync_managed_policies(iam: Any, role_name: str, wanted: list[str]) -> None:
    """Attach to the role (in moto's IAM backend ``iam``) the managed policies of ``wanted`` it
    lacks and detach the others: what a service that owns the role (CloudFormation, Identity
    Center provisioning) does to it."""
    role = iam.get_role(role_name)
    for arn in wanted:
        if arn not in role.managed_policies:
            iam.attach_role_policy(arn, role_name)
    for arn in list(role.managed_policies):
        if arn not in wanted:
            iam.detach_role_policy(arn, role_name)


def epoch(value: datetime) -> float:
    return value.timestamp()


def naive_utc(value: datetime) -> datetime:
    """moto stores naive UTC datetimes."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)
