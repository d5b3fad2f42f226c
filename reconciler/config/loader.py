"""The loader's three stages in order, with every problem collected before anything is raised.

A YAML syntax error stops at once (nothing after it can be trusted); otherwise duplicate keys,
schema errors and semantic errors are all reported together, one line each, sorted by position.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.config.schema import schema_diagnostics
from reconciler.config.semantics import build, semantic_diagnostics
from reconciler.config.yamldoc import parse
from reconciler.errors import ConfigError, Diagnostic
from reconciler.model import DesiredState


def load(path: str | os.PathLike[str]) -> DesiredState:
    """Read, check and resolve the desired-state file at ``path``; raises ``ConfigError``."""
    filename = os.fspath(path)
    try:
        with open(filename, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        problem = Diagnostic(filename, 1, 1, "", f"cannot read the file: {reason}")
        raise ConfigError([problem]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise ConfigError([Diagnostic(filename, line, column, "",
                                      "the file is not UTF-8 text")]) from None
    return _load(text, filename=filename, sha256=hashlib.sha256(raw).hexdigest())


def load_text(text: str, *, filename: str) -> DesiredState:
    """Check and resolve desired-state ``text`` (``filename`` is only for messages)."""
    return _load(text, filename=filename,
                 sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: the loader allocates hundreds of thousands of small
    containers and creates no cycles, and gen-2 collections while it does cost a third of the
    time of a large file."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(text: str, *, filename: str, sha256: str) -> DesiredState:
    with _no_cyclic_gc():
        return _load_checked(text, filename=filename, sha256=sha256)


def _load_checked(text: str, *, filename: str, sha256: str) -> DesiredState:
    doc = parse(text, filename=filename)
    if doc.fatal:
        raise ConfigError(doc.diagnostics)
    problems = [
        *doc.diagnostics,
        *schema_diagnostics(doc, filename=filename),
        *semantic_diagnostics(doc, filename=filename),
    ]
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return build(doc, filename=filename, sha256=sha256)
