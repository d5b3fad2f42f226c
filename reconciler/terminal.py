"""Text that reaches a terminal or a CI log: control characters and line separators escaped.

A desired-state file under review, an IAM user name or a tag read from AWS is text a third party
wrote. Echoed raw, an escape sequence in it could rewrite the reviewer's terminal (retitle it,
hide lines, fake output), and U+2028, U+2029 or U+0085 would split one diagnostic into several
lines, which log parsers and ``orgsync: error:`` prefixes rely on. So everything orgsync echoes
from such text goes through ``printable``: C0 and C1 control characters, DEL, the Unicode line and
paragraph separators and the bidirectional overrides (the "Trojan Source" characters, which
reorder what a reviewer sees) are written as visible escapes (``\\x1b``, ``\\u2028``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                                "\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line, every control character and line separator escaped."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (line breaks too) made one space."""
    return " ".join(str(text).split())


def printable_lines(text: str) -> str:
    """``text`` with its line feeds (and tabs) kept and everything else unsafe escaped."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


def printable_document(value: Any, *, keep_lines: bool = True) -> Any:
    """A copy of a JSON-like ``value`` whose strings (keys too) are ``printable_lines``, or, with
    ``keep_lines=False`` (a document with no multi-line text, e.g. names in a table),
    ``printable``: a line break in a name read from AWS cannot then fake a row."""
    escape = printable_lines if keep_lines else printable
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return {escape(str(k)): printable_document(v, keep_lines=keep_lines)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_document(v, keep_lines=keep_lines) for v in value]
    return value
