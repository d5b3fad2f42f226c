"""YAML to plain data, keeping the file position of every key and value.

PyYAML's ``load`` throws positions away and silently keeps the last of two duplicate keys, so the
loader composes the node graph instead (libyaml's C parser when available: a 5,000-account file must
validate in well under a second) and converts it here. Every problem becomes a ``Diagnostic``; a
YAML syntax error stops the conversion, other problems (duplicate keys, unsupported tags) are
collected and the conversion goes on so that later checks can report more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Diagnostic

#: A location in the document, as jsonschema writes it: keys and 0-based list indexes.
DocPath = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_FLOW_DEPTH = 500
MAX_EXPANDED_NODES = 1_000_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_PLAIN_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str")
)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"


def format_path(path: DocPath) -> str:
    """``("accounts", 2, "email")`` -> ``accounts[2].email`` (keys that are not plain words are
    quoted: ``tags["cost center"]``)."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part and all(c.isalnum() or c in "_-" for c in part) and part.isascii():
            out.append(f".{part}" if out else part)
        else:
            out.append('["' + part.replace("\\", "\\\\").replace('"', '\\"') + '"]')
    return "".join(out)


class Spot(NamedTuple):
    """1-based line and column of a value, and of its key (for mapping entries)."""

    line: int
    column: int
    key_line: int
    key_column: int


@dataclass
class YamlDocument:
    """The converted document, where each part came from, and the problems met on the way."""

    data: Any
    spots: dict[DocPath, Spot] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fatal: bool = False  # nothing was converted: a syntax error, an empty file, an alias bomb

    def spot(self, path: DocPath) -> Spot:
        """The position of ``path``, or of its closest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.spots.get(path[:end])
            if found is not None:
                return found
        return Spot(1, 1, 1, 1)

    def at_value(self, path: DocPath, message: str, *, file: str) -> Diagnostic:
        spot = self.spot(path)
        return Diagnostic(file, spot.line, spot.column, format_path(path), message)

    def at_key(self, path: DocPath, message: str, *, file: str) -> Diagnostic:
        spot = self.spot(path)
        return Diagnostic(file, spot.key_line, spot.key_column, format_path(path), message)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _flow_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting, counting brackets inside strings too (an upper bound)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _loader(text: str) -> type[yaml.SafeLoader]:
    """libyaml's parser when present (ten times faster), except for deeply bracketed text: its
    recursion has no limit and crashes the interpreter, where PyYAML's raises RecursionError."""
    fast: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
    if fast is None or _flow_depth(text) > MAX_FLOW_DEPTH:
        return yaml.SafeLoader
    return fast


def _fatal(filename: str, line: int, column: int, message: str) -> YamlDocument:
    return YamlDocument(None, {}, [Diagnostic(filename, line, column, "", message)], fatal=True)


def parse(text: str, *, filename: str) -> YamlDocument:
    """Compose ``text`` and convert it; a syntax error gives a ``fatal`` document with one
    diagnostic."""
    try:
        root = yaml.compose(text, Loader=_loader(text))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context = ""
        if error.context:
            started = error.context_mark
            at = "" if started is None or started is mark else (
                f" at line {started.line + 1}, column {started.column + 1}")
            context = f" ({error.context}{at})"
        problem = error.problem or "invalid YAML"
        if problem.startswith("but ") and error.context:  # "expected X ..., but found Y"
            problem, context = f"{context.strip()[1:-1]}, {problem}", ""
        return _fatal(filename, line, column, f"YAML syntax error: {problem}{context}")
    except yaml.reader.ReaderError as error:  # a character YAML does not allow
        before = text[: error.position]
        column = error.position - (before.rfind("\n") + 1) + 1
        return _fatal(filename, before.count("\n") + 1, column,
                      f"YAML syntax error: {error.reason} (U+{_code(error.character):04X})")
    except yaml.YAMLError as error:
        return _fatal(filename, 1, 1, f"YAML syntax error: {error}".splitlines()[0])
    except RecursionError:
        return _fatal(filename, 1, 1, f"the document is nested more than {MAX_DEPTH} levels deep")
    if root is None:
        return _fatal(filename, 1, 1, "the file is empty")
    converter = _Converter(filename)
    if "&" in text:  # only anchors let a node appear twice: the size check is for aliases
        too_big = converter.check_size(root)
        if too_big is not None:
            return _fatal(filename, *_mark(root), too_big)
    try:
        data = converter.convert(root, (), _mark(root))
    except _TooDeep:
        return _fatal(filename, 1, 1, f"the document is nested more than {MAX_DEPTH} levels deep")
    return YamlDocument(data, converter.spots, converter.diagnostics)


class _Converter:
    """Node graph -> dicts, lists and scalars, recording a ``Spot`` for every path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.spots: dict[DocPath, Spot] = {}
        self.diagnostics: list[Diagnostic] = []
        self.constructor = SafeConstructor()

    def check_size(self, root: Node) -> str | None:
        """Refuse documents whose aliases expand beyond reason (a "billion laughs" file would
        otherwise hang validation) or refer to themselves."""
        sizes: dict[int, int] = {}
        active: set[int] = set()

        def size(node: Node, depth: int) -> int:
            key = id(node)
            if key in sizes:
                return sizes[key]
            if key in active:
                raise _Recursive
            if depth > MAX_DEPTH:
                raise _TooDeep
            active.add(key)
            total = 1
            for child in _children(node):
                total += size(child, depth + 1)
                if total > MAX_EXPANDED_NODES:
                    raise _TooLarge
            active.discard(key)
            sizes[key] = total
            return total

        try:
            size(root, 0)
        except _Recursive:
            return "an alias refers to a node that contains it (recursive structure)"
        except _TooDeep:
            return f"the document is nested more than {MAX_DEPTH} levels deep"
        except _TooLarge:
            return f"aliases expand the document beyond {MAX_EXPANDED_NODES:,} nodes"
        return None

    def convert(self, node: Node, path: DocPath, key_mark: tuple[int, int]) -> Any:
        mark = node.start_mark
        self.spots[path] = Spot(mark.line + 1, mark.column + 1, key_mark[0], key_mark[1])
        if len(path) > MAX_DEPTH:
            raise _TooDeep
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                self._problem(node, path, f"unsupported YAML tag {node.tag}")
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self._problem(node, path, f"unsupported YAML tag {node.tag}")
            return [
                self.convert(item, (*path, index), _mark(item))
                for index, item in enumerate(node.value)
            ]
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: DocPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, tuple[int, int]] = {}
        merges: list[MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.extend(self._merge_sources(value_node, path))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            key_mark = _mark(key_node)
            if key in first_seen:
                first = first_seen[key]
                self.diagnostics.append(Diagnostic(
                    self.filename, key_mark[0], key_mark[1], format_path((*path, key)),
                    f"duplicate key {key!r}: first at line {first[0]}, column {first[1]}, "
                    f"again at line {key_mark[0]}, column {key_mark[1]}",
                ))
                continue
            first_seen[key] = key_mark
            result[key] = self.convert(value_node, (*path, key), key_mark)
        for key_node, value_node in self._merged_pairs(merges, path):
            key = self._key(key_node, path)
            if key is not None and key not in result:
                result[key] = self.convert(value_node, (*path, key), _mark(key_node))
        return result

    def _merged_pairs(self, sources: list[MappingNode], path: DocPath) -> list[tuple[Node, Node]]:
        """The entries merge keys bring in, earlier sources first; a source's own entries come
        before what its own ``<<`` brings (YAML's merge rules)."""
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            nested: list[MappingNode] = []
            for key_node, value_node in source.value:
                if key_node.tag == _MERGE_TAG:
                    nested.extend(self._merge_sources(value_node, path))
                else:
                    pairs.append((key_node, value_node))
            pairs.extend(self._merged_pairs(nested, path))
        return pairs

    def _merge_sources(self, value: Node, path: DocPath) -> Iterator[MappingNode]:
        if isinstance(value, MappingNode):
            yield value
            return
        if isinstance(value, SequenceNode) and all(
            isinstance(item, MappingNode) for item in value.value
        ):
            yield from value.value
            return
        self._problem(value, path, "a merge key (<<) needs a mapping or a list of mappings")

    def _key(self, node: Node, path: DocPath) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)
        self._problem(node, path, "mapping keys must be plain text, not lists or mappings")
        return None

    def _scalar(self, node: Node, path: DocPath) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            return str(node.value)  # dates are text here: `since: 2024-01-01` is the string
        if node.tag == _STR_TAG:
            return node.value
        if node.tag not in _PLAIN_SCALAR_TAGS:
            self._problem(node, path, f"unsupported YAML tag {node.tag}")
            return str(node.value)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError) as error:
            self._problem(node, path, f"invalid value: {error}".splitlines()[0])
            return str(node.value)

    def _problem(self, node: Node, path: DocPath, message: str) -> None:
        line, column = _mark(node)
        self.diagnostics.append(
            Diagnostic(self.filename, line, column, format_path(path), message)
        )


def _code(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


class _Recursive(Exception):
    pass


class _TooDeep(Exception):
    pass


class _TooLarge(Exception):
    pass
