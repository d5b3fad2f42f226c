"""Helpers for the sandbox's conformance tests: shape checks against botocore's models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StructureShape

from reconciler.sandbox import Sandbox
from tests.aws.seed import key_client

# Error codes every AWS query/JSON service can return without modelling them.
COMMON_ERROR_CODES = {"AccessDenied", "AccessDeniedException", "Throttling", "ExpiredToken",
                      "ExpiredTokenException", "ValidationError", "ServiceException",
                      "InvalidInput", "InvalidClientTokenId", "SignatureDoesNotMatch",
                      "UnrecognizedClientException", "InvalidSignatureException"}


def missing_required(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every member the model marks required that ``value`` (parsed by botocore) lacks."""
    problems: list[str] = []
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path or '<output>'}: expected a structure, got {type(value).__name__}"]
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}" if path else name)
        for name, member in shape.members.items():
            if name in value:
                problems += missing_required(member, value[name], f"{path}.{name}" if path
                                             else name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            problems += missing_required(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            problems += missing_required(shape.value, item, f"{path}.{key}")
    return problems


def check_response(client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """Assert ``response`` has every required member of ``operation``'s output shape."""
    model = client.meta.service_model.operation_model(operation)
    if model.output_shape is not None:
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        problems = missing_required(model.output_shape, body)
        assert not problems, f"{operation}: required members missing: {problems}"
    return response


def check_error(client: Any, error: ClientError, expected_code: str | None = None) -> str:
    """Assert the error's code is one the service model declares (or a common AWS code)."""
    code = error.response["Error"]["Code"]
    if expected_code is not None:
        assert code == expected_code, f"expected {expected_code}, got {code}: {error}"
    modelled = {shape.error_code for shape in client.meta.service_model.error_shapes}
    modelled |= {shape.name for shape in client.meta.service_model.error_shapes}
    assert code in modelled or code in COMMON_ERROR_CODES, f"{code} is not in the model"
    return code


@pytest.fixture
def call(sandbox: Sandbox) -> Callable[..., dict[str, Any]]:
    """``call(client, "ListAccounts", **params)``: call and check the response shape."""

    def invoke(client: Any, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(client, botocore.xform_name(operation))
        return check_response(client, operation, method(**params))

    return invoke


@pytest.fixture
def error(sandbox: Sandbox) -> Callable[..., ClientError]:
    """``error(client, "Op", "ExpectedCode", **params)``: the call must fail with that code."""

    def invoke(client: Any, operation: str, code: str, **params: Any) -> ClientError:
        method = getattr(client, botocore.xform_name(operation))
        with pytest.raises(ClientError) as caught:
            method(**params)
        check_error(client, caught.value, code)
        return caught.value

    return invoke


@pytest.fixture
def as_session(sandbox: Sandbox) -> Callable[[str, dict[str, Any]], Any]:
    """A client using temporary credentials (from AssumeRole/AssumeRoot)."""
    return lambda service, credentials: key_client(sandbox, service, credentials)


__all__ = ["botocore", "check_error", "check_response", "missing_required"]
