"""Property tests: no input makes the loader raise anything but ``ConfigError``, and the fast
schema check never disagrees with jsonschema (it decides whether jsonschema runs at all)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import load_text, schema
from reconciler.config.fastcheck import compile_schema
from reconciler.config.schema import validator_class
from reconciler.errors import ConfigError
from reconciler.model import DesiredState

EXAMPLE_TEXT = (Path(__file__).resolve().parents[2] / "examples" / "accounts.yaml").read_text()
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)

boundary_strings = (
    st.integers(0, 140).map(lambda n: "a" * n)
    | st.integers(0, 70).map(lambda n: "a" * n + "@example.com")
    | st.integers(0, 140).map(lambda n: "/" + "W" * n)
    | st.sampled_from(["prod\n", "", " ", "a@b.c", "arn:aws:iam::aws:policy/X", "/a/", "//"])
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | boundary_strings
    | st.text(max_size=20) | st.sampled_from(["*", "prod", "/", "absent", "RootSessions",
                                              "123456789012", "10.0.0.0/8", "invited", "closed"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "email", "id", "ou", "accounts", "role", "x", "source", "state",
                         "tags", "path", "members", "assume", "features", "default"])
        | st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
yamlish_text = st.lists(
    st.sampled_from(["version: 1\n", "organization:\n", "  management_account_id: '1'\n",
                     "accounts:\n", "  - name: a\n", "    email: a@b.co\n", "groups:\n",
                     "  - ", "- ", ": ", "&a ", "*a", "<<: *a\n", "[", "]", "{", "}", "'", '"',
                     "!!binary ", "!x ", "\t", "#", "---\n", "  ", "\n", "~", "2024-01-01",
                     "\x00", "\ufeff", "é"])
    | st.text(max_size=6),
    max_size=30,
).map("".join)


def mutate(document: dict[str, Any], path_choices: list[int], value: Any) -> Any:
    """The example with one node (chosen by ``path_choices``) replaced by ``value``."""
    result = copy.deepcopy(document)
    node: Any = result
    parent: Any = None
    key: Any = None
    for choice in path_choices:
        children = list(node.keys()) if isinstance(node, dict) else (
            list(range(len(node))) if isinstance(node, list) else [])
        if not children:
            break
        parent, key = node, children[choice % len(children)]
        node = node[key]
    if parent is None:
        return value
    parent[key] = value
    return result


def loads_or_config_error(text: str) -> None:
    try:
        desired = load_text(text, filename="p.yaml")
    except ConfigError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.column >= 1
            assert "\n" not in str(diagnostic)
    else:
        assert isinstance(desired, DesiredState)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | yamlish_text)
def test_any_text_gives_a_state_or_config_error(text: str) -> None:
    loads_or_config_error(text)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_structure_gives_a_state_or_config_error(value: Any) -> None:
    loads_or_config_error(yaml.safe_dump(value))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=6), json_values)
def test_mutated_example_gives_a_state_or_config_error(choices: list[int], value: Any) -> None:
    loads_or_config_error(yaml.safe_dump(mutate(EXAMPLE, choices, value), sort_keys=False))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=6), json_values)
def test_fast_check_agrees_with_jsonschema(choices: list[int], value: Any) -> None:
    document = schema()
    quick = compile_schema(document)
    assert quick is not None
    validator = validator_class()(document)
    for instance in (mutate(EXAMPLE, choices, value), value):
        assert quick(instance) == validator.is_valid(instance), instance


def _value_at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in leaf_paths(value, (*path, key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in leaf_paths(value, (*path, i))]
    return [path]


EXAMPLE_LEAVES = sorted({repr(v): v for v in (  # the example's own values: duplicates galore
    _value_at(EXAMPLE, p) for p in leaf_paths(EXAMPLE))}.values(), key=repr)


def replace_at(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(document)
    node: Any = result
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return result


def look_alikes(path: tuple[Any, ...]) -> list[Any]:
    """Values of the example at paths like ``path`` (same key elsewhere, list siblings): the
    values most likely to collide with it."""
    return [_value_at(EXAMPLE, other) for other in leaf_paths(EXAMPLE)
            if (other != path and len(other) == len(path) and other[-1] == path[-1])
            or (other[:-1] == path[:-1] and isinstance(other[-1], int))] or [None]


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(leaf_paths(EXAMPLE)))
def test_fast_check_agrees_on_every_leaf_of_the_example(
    data: st.DataObject, path: tuple[Any, ...]
) -> None:
    value = data.draw(st.sampled_from(look_alikes(path)) | st.sampled_from(EXAMPLE_LEAVES)
                      | boundary_strings | st.text(max_size=70) | json_values)
    document = schema()
    quick = compile_schema(document)
    assert quick is not None
    instance = replace_at(EXAMPLE, path, value)
    assert quick(instance) == validator_class()(document).is_valid(instance), (path, value)
    loads_or_config_error(yaml.safe_dump(instance, sort_keys=False))


def test_fast_check_accepts_the_example_and_declines_unknown_keywords() -> None:
    quick = compile_schema(schema())
    assert quick is not None and quick(EXAMPLE)
    assert compile_schema({"type": "object", "patternProperties": {"^x": {}}}) is None
