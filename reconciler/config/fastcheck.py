"""A fast yes/no answer to "does this document satisfy the schema?" for the common case.

jsonschema builds an error-tracking validator per node: about half a second for a 5,000-account
file, which alone would miss the one-second target. Almost every file a user validates is valid,
so this module compiles the same schema file into plain closures that answer only yes or no; when
the answer is no, the loader asks jsonschema for the real, well-chosen errors. Only the keywords
the accounts schema uses are supported, and an unknown keyword makes ``compile_schema`` return
``None`` (always use jsonschema) rather than guess; a property test checks that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
    "errorMessage", "markdownDescription", "deprecated",
})
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


class _Unsupported(Exception):
    pass


def _equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema has it: booleans are not numbers, 1 == 1.0."""
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, (int, float)) and isinstance(two, (int, float)):
        return one == two
    return type(one) is type(two) and one == two


def _unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(
        _equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )


def anchored(pattern: str) -> re.Pattern[str]:
    """A schema pattern whose final ``$`` means the end of the text (no trailing newline)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def compile_schema(root: dict[str, Any]) -> Check | None:
    """A yes/no validator for ``root``, or ``None`` if it uses keywords this module lacks."""
    defs = root.get("$defs", {})
    compiled: dict[str, Check] = {}

    def ref(name: str) -> Check:
        def check(value: Any) -> bool:
            return compiled[name](value)
        return check

    def build(node: Any) -> Check:
        if node is True:
            return lambda value: True
        if node is False:
            return lambda value: False
        if not isinstance(node, dict):
            raise _Unsupported
        checks: list[Check] = []
        for keyword, rule in node.items():
            if keyword in _ANNOTATIONS:
                continue
            checks.append(keyword_check(keyword, rule, node))
        if len(checks) == 1:
            return checks[0]
        return lambda value: all(check(value) for check in checks)

    def keyword_check(keyword: str, rule: Any, node: dict[str, Any]) -> Check:
        if keyword == "$ref":
            if not isinstance(rule, str) or not rule.startswith("#/$defs/"):
                raise _Unsupported
            name = rule.removeprefix("#/$defs/")
            if name not in defs:
                raise _Unsupported
            return ref(name)
        if keyword == "type":
            kinds = [_TYPES[rule]] if isinstance(rule, str) else [_TYPES[r] for r in rule]
            return lambda value: any(kind(value) for kind in kinds)
        if keyword == "enum":
            return lambda value: any(_equal(value, option) for option in rule)
        if keyword == "const":
            return lambda value: _equal(value, rule)
        if keyword == "pattern":
            regex = anchored(rule)
            return lambda value: not isinstance(value, str) or regex.search(value) is not None
        if keyword == "minLength":
            return lambda value: not isinstance(value, str) or len(value) >= rule
        if keyword == "maxLength":
            return lambda value: not isinstance(value, str) or len(value) <= rule
        if keyword == "minItems":
            return lambda value: not isinstance(value, list) or len(value) >= rule
        if keyword == "maxProperties":
            return lambda value: not isinstance(value, dict) or len(value) <= rule
        if keyword == "uniqueItems":
            return lambda value: not (rule and isinstance(value, list)) or _unique(value)
        if keyword == "required":
            return lambda value: not isinstance(value, dict) or all(k in value for k in rule)
        if keyword == "items":
            item = build(rule)
            return lambda value: not isinstance(value, list) or all(item(v) for v in value)
        if keyword == "anyOf":
            options = [build(option) for option in rule]
            return lambda value: any(option(value) for option in options)
        if keyword == "propertyNames":
            name_check = build(rule)
            return lambda value: not isinstance(value, dict) or all(name_check(k) for k in value)
        if keyword == "properties":
            props = {key: build(sub) for key, sub in rule.items()}
            return lambda value: not isinstance(value, dict) or all(
                props[k](v) for k, v in value.items() if k in props)
        if keyword == "additionalProperties":
            if "patternProperties" in node:
                raise _Unsupported
            known = frozenset(node.get("properties", {}))
            extra = build(rule)
            return lambda value: not isinstance(value, dict) or all(
                extra(v) for k, v in value.items() if k not in known)
        raise _Unsupported

    try:
        for name, sub in defs.items():
            compiled[name] = build(sub)
        return build(root)
    except (_Unsupported, KeyError, TypeError):
        return None
