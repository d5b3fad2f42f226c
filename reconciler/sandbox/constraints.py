"""Input constraints AWS enforces and botocore does not.

botocore validates a request's required members, types and minimum lengths before it sends it,
but not maximum lengths, maximum values, patterns or enums; AWS checks all of them on the server.
Without this module the sandbox would accept a tag value with ``<`` in it, an account name
PutAccountName refuses, ``MaxResults=50`` on an Organizations list, or a 129-character IAM policy
name, and orgsync would pass tests that fail against AWS. The constraints come from the installed
botocore service model of the called operation (``min``/``max``/``pattern``/``enum`` on each
shape), walked generically, and the errors have each service's own shape:

- Organizations: ``InvalidInputException`` with the model's ``Reason`` (MAX_LENGTH_EXCEEDED,
  MAX_VALUE_EXCEEDED, INVALID_PATTERN, INVALID_ENUM, ...), as the Organizations API reference
  describes ("InvalidInputException ... This exception includes a reason that contains
  additional information about the violated limit").
- IAM and STS (query protocol): ``ValidationError``, e.g. "1 validation error detected: Value
  '...' at 'policyName' failed to satisfy constraint: Member must have length less than or
  equal to 128" (AWS common errors, "ValidationError").
- Account Management: ``ValidationException`` with ``reason: fieldValidationFailed`` and a
  ``fieldList`` (Account Management API reference, ValidationException).

Java regular expressions in the models use ``\\p{L}``, ``\\p{Z}`` and ``\\p{N}`` (Unicode letters,
separators, numbers; the Organizations tag pattern ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$``), which
Python's ``re`` lacks: they are translated to explicit character classes built from
``unicodedata`` once.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from reconciler.sandbox.protocol import Response, error_response, form_params, service_model

VALIDATED_SERVICES = ("organizations", "iam", "sts", "account", "sso-admin", "identitystore")


@dataclass(frozen=True)
class Violation:
    member: str  # lowerCamelCase path, as AWS's messages name it ("tags.1.member.value")
    value: Any
    constraint: str  # "Member must have length less than or equal to 128"
    reason: str  # the Organizations InvalidInputException reason


# --- Java character classes --------------------------------------------------------------------

def _ranges(codepoints: list[int]) -> str:
    parts: list[str] = []
    start = previous = codepoints[0]
    for cp in [*codepoints[1:], -1]:
        if cp == previous + 1:
            previous = cp
            continue
        parts.append(_escape(start) if start == previous else
                     f"{_escape(start)}-{_escape(previous)}")
        start = previous = cp
    return "".join(parts)


def _escape(codepoint: int) -> str:
    return f"\\U{codepoint:08x}"


@lru_cache(maxsize=1)
def _category_classes() -> dict[str, str]:
    """Each major Unicode general category (L, Z, N, ...) as a class body, in one pass."""
    members: dict[str, list[int]] = {}
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):
        members.setdefault(category(chr(cp))[0], []).append(cp)
    return {major: _ranges(codepoints) for major, codepoints in members.items()}


def _category_class(name: str) -> str:
    return _category_classes()[name[0]]


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A model's (Java) pattern as a Python regular expression."""
    translated = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            token = pattern[index:index + 2]
            if token == "\\p" and pattern[index + 2:index + 3] == "{":
                end = pattern.index("}", index)
                name = pattern[index + 3:end]
                body = _category_class(name[0])
                translated.append(body if in_class else f"[{body}]")
                index = end + 1
                continue
            translated.append(token)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        translated.append(char)
        index += 1
    return re.compile("".join(translated), re.DOTALL)


# --- reading the request -----------------------------------------------------------------------

def _from_query(shape: Shape, form: dict[str, str], prefix: str) -> Any:
    """The value of ``shape`` at ``prefix`` in a query-protocol form (None: absent)."""
    if isinstance(shape, StructureShape):
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            value = _from_query(member, form, f"{prefix}.{key}" if prefix else key)
            if value is not None:
                result[name] = value
        return result if result or not prefix else None
    if isinstance(shape, ListShape):
        items = []
        index = 1
        while True:
            item = _from_query(shape.member, form, f"{prefix}.member.{index}")
            if item is None:
                break
            items.append(item)
            index += 1
        if items:
            return items
        return [] if prefix in form else None
    if isinstance(shape, MapShape):
        entries: dict[str, Any] = {}
        index = 1
        while f"{prefix}.entry.{index}.key" in form:
            entries[form[f"{prefix}.entry.{index}.key"]] = _from_query(
                shape.value, form, f"{prefix}.entry.{index}.value")
            index += 1
        return entries or None
    raw = form.get(prefix)
    if raw is None:
        return None
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def _input_shape(service: str, operation: str) -> Shape | None:
    """The operation's input shape in botocore's model (None: no such operation, no input)."""
    model = service_model(service)
    if operation not in model.operation_names:
        return None
    shape: Shape | None = model.operation_model(operation).input_shape
    return shape


def request_params(service: str, operation: str, body: bytes) -> dict[str, Any] | None:
    """The request's parameters shaped like botocore's input (None: unreadable)."""
    input_shape = _input_shape(service, operation)
    if input_shape is None:
        return None
    if service in ("iam", "sts"):
        return _from_query(input_shape, form_params(body), "") or {}
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


# --- checking ----------------------------------------------------------------------------------

def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _check(shape: Shape, value: Any, path: str) -> Violation | None:
    """The first violation of ``shape``'s constraints in ``value`` (members in model order)."""
    return next(_violations(shape, value, path), None)


def _violations(shape: Shape, value: Any, path: str) -> Iterator[Violation]:
    meta = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                yield Violation(_join(path, name), None, "Member must not be null",
                                "INPUT_REQUIRED")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                yield from _violations(member, value[name], _join(path, name))
    elif isinstance(shape, ListShape) and isinstance(value, list):
        yield from _range(meta, len(value), value, path, "length")
        for index, item in enumerate(value, start=1):
            yield from _violations(shape.member, item, f"{path}.{index}.member")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        yield from _range(meta, len(value), value, path, "length")
        for key, item in value.items():
            yield from _violations(shape.key, key, f"{path}.key")
            yield from _violations(shape.value, item, f"{path}.value")
    elif shape.type_name == "string" and isinstance(value, str):
        yield from _range(meta, len(value), value, path, "length")
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            yield Violation(path, value, "Member must satisfy enum value set: "
                            f"[{', '.join(enum)}]", "INVALID_ENUM")
        pattern = meta.get("pattern")
        if pattern and not compile_pattern(pattern).fullmatch(value):
            yield Violation(path, value, f"Member must satisfy regular expression pattern: "
                            f"{pattern}", "INVALID_PATTERN")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        yield from _range(meta, value, value, path, "value")


def _range(meta: dict[str, Any], measure: int, value: Any, path: str,
           what: str) -> Iterator[Violation]:
    """The model's ``max``/``min`` of a length (strings, lists, maps) or a value (numbers)."""
    if "max" in meta and measure > meta["max"]:
        yield Violation(path, value, f"Member must have {what} less than or equal to "
                        f"{meta['max']}", f"MAX_{what.upper()}_EXCEEDED")
    elif "min" in meta and measure < meta["min"]:
        yield Violation(path, value, f"Member must have {what} greater than or equal to "
                        f"{meta['min']}", f"MIN_{what.upper()}_EXCEEDED")


def _join(path: str, name: str) -> str:
    return f"{path}.{_camel(name)}" if path else _camel(name)


def violation(service: str, operation: str, params: dict[str, Any]) -> Violation | None:
    """The first constraint of ``operation``'s input model that ``params`` breaks."""
    input_shape = _input_shape(service, operation)
    if input_shape is None:
        return None
    return _check(input_shape, params, "")


def shape_violation(shape: Shape, value: Any) -> Violation | None:
    """The first model constraint ``value`` breaks, for any shape (a response's output shape
    too: the sandbox's conformance tests check what it answers with the same rules)."""
    return _check(shape, value, "")


def _message(found: Violation) -> str:
    shown = "" if found.value is None or isinstance(found.value, (list, dict)) \
        else f"'{found.value}' "
    return (f"1 validation error detected: Value {shown}at '{found.member}' failed to satisfy "
            f"constraint: {found.constraint}")


def check_request(service: str | None, operation: str | None, body: bytes) -> Response | None:
    """AWS's error for a request that breaks its operation's model constraints, else None."""
    if service not in VALIDATED_SERVICES or not operation:
        return None
    params = request_params(service, operation, body)
    if params is None:
        return None
    found = violation(service, operation, params)
    if found is None:
        return None
    message = _message(found)
    if service == "organizations":
        return error_response(service, "InvalidInputException", message,
                              extra={"Reason": found.reason})
    if service == "account":
        return error_response(service, "ValidationException", message, extra={
            "reason": "fieldValidationFailed",
            "fieldList": [{"name": found.member, "message": found.constraint}]})
    if service in ("sso-admin", "identitystore"):  # JSON 1.1: ValidationException
        return error_response(service, "ValidationException", message)
    return error_response(service, "ValidationError", message)


__all__ = ["Violation", "check_request", "compile_pattern", "request_params", "shape_violation",
           "violation"]
