"""The JSON Schema of accounts.yaml and its errors turned into one-line, positioned diagnostics.

The schema file is package data (``reconciler/data/accounts.schema.json``; the repository's
``schemas/accounts.schema.json`` links to it) so that editors, the installed package and this
validator all read the same document. jsonschema's own messages are written for JSON developers
(``'bob@' does not match '^[\\x21-...'``); this module rewrites each kind into what a YAML author
needs, and picks the most specific error out of ``anyOf`` (jsonschema's ``best_match``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match, by_relevance

from reconciler.config.fastcheck import anchored, compile_schema
from reconciler.config.yamldoc import DocPath, YamlDocument
from reconciler.errors import Diagnostic

SCHEMA_RESOURCE = "accounts.schema.json"
_SPECIFIC = by_relevance(strong=frozenset({"pattern", "minLength", "maxLength", "enum"}))
_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping (key: value)",
    "array": "a list",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "nothing (null)",
}


def schema() -> dict[str, Any]:
    """The accounts.yaml JSON Schema (a fresh copy: callers may change it)."""
    data = resources.files("reconciler").joinpath("data")
    text = data.joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _anchored_pattern(
    validator: Any, pattern: str, instance: Any, schema_: dict[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` as the spec says (``re.search``), except that a final ``$`` means the end of
    the text: Python's ``$`` would also accept a trailing newline (``"prod\\n"``)."""
    if isinstance(instance, str) and anchored(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {schema_['pattern']!r}")


def validator_class() -> Any:
    """Draft 2020-12 with ``$`` meaning the end of the text in patterns."""
    return validators.extend(Draft202012Validator, {"pattern": _anchored_pattern})


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def schema_diagnostics(doc: YamlDocument, *, filename: str) -> list[Diagnostic]:
    """Every schema problem of ``doc.data``, most specific first within each ``anyOf``."""
    root = schema()
    quick = compile_schema(root)
    if quick is not None and quick(doc.data):
        return []
    validator = validator_class()(root)
    found: list[Diagnostic] = []
    for error in validator.iter_errors(doc.data):
        if error.context:
            picked = best_match(error.context, key=_SPECIFIC)
            error = picked if picked is not None else error
        found.extend(_translate(error, doc, filename=filename))
    return found


def _translate(error: ValidationError, doc: YamlDocument, *, filename: str) -> list[Diagnostic]:
    path: DocPath = tuple(error.absolute_path)
    kind = error.validator
    instance = error.instance
    rule: Any = error.validator_value
    sub: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}

    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(sub.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else (
                f" (allowed: {', '.join(allowed)})" if allowed else ""
            )
            out.append(doc.at_key((*path, key), f"unknown key {key!r}{hint}", file=filename))
        return out
    if kind == "required" and isinstance(instance, dict):
        return [
            doc.at_value(path, f"missing required key {name!r}", file=filename)
            for name in rule
            if name not in instance
        ]
    if kind == "propertyNames":
        return [doc.at_key((*path, str(instance)), f"key {_short(instance)}: "
                           f"{_length_message(error)}", file=filename)]
    if kind == "uniqueItems" and isinstance(instance, list):
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                return [doc.at_value((*path, index), f"{_short(item)} is listed more than once",
                                     file=filename)]
            seen.append(item)
    return [doc.at_value(path, _message(error, sub), file=filename)]


def _length_message(error: ValidationError) -> str:
    if error.validator == "minLength":
        return "must not be empty" if error.validator_value == 1 else (
            f"must be at least {error.validator_value} characters long")
    if error.validator == "maxLength":
        return f"must be at most {error.validator_value} characters long"
    return error.message


def _message(error: ValidationError, sub: dict[str, Any]) -> str:
    kind = error.validator
    instance = error.instance
    rule: Any = error.validator_value
    custom = sub.get("errorMessage")
    if kind in ("pattern", "minLength", "maxLength") and isinstance(custom, str):
        return f"{_short(instance)} {custom}"
    if kind in ("minLength", "maxLength"):
        return f"{_short(instance)}: {_length_message(error)}"
    if kind == "type":
        wanted = [rule] if isinstance(rule, str) else list(rule)
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
        hint = ""
        if "string" in wanted and isinstance(instance, (int, float)) and not isinstance(
            instance, bool
        ):
            hint = f' (put it in quotes: "{instance}")'
        return f"expected {words}, got {_describe(instance)}{hint}"
    if kind == "enum":
        return f"{_short(instance)} is not one of: {', '.join(map(str, rule))}"
    if kind == "const":
        if rule == 1:
            if instance == "1":
                return 'the string "1": write 1 without quotes'
            return f"unsupported format version {_short(instance)}: this orgsync reads version 1"
        return f"{_short(instance)} is not {rule!r}"
    if kind == "minItems":
        return f"needs at least {rule} item{'s' if rule != 1 else ''}"
    if kind == "maxProperties":
        return f"has {len(instance)} entries; at most {rule} are allowed"
    return error.message
