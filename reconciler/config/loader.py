"""The loader's three stages in order, with every problem collected before anything is raised.

A YAML syntax error stops at once (nothing after it can be trusted); otherwise duplicate keys,
schema errors and semantic errors are all reported together, one line each, sorted by position.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.config.schema import schema_diagnostics
from reconciler.config.semantics import build, semantic_diagnostics
from reconciler.config.source import Source, canonical_text, read_source, text_sha256
from reconciler.config.yamldoc import parse
from reconciler.errors import ConfigError
from reconciler.model import DesiredState


def load(path: str | os.PathLike[str]) -> DesiredState:
    """Read, check and resolve the desired-state file at ``path`` (``-``: standard input);
    raises ``ConfigError``."""
    return load_source(read_source(path))


def load_source(source: Source) -> DesiredState:
    """Check and resolve a file already read with ``read_source`` (read once, used twice)."""
    return _load(source.text, filename=source.name, sha256=source.sha256)


def load_text(text: str, *, filename: str) -> DesiredState:
    """Check and resolve desired-state ``text`` (``filename`` is only for messages); the text is
    made canonical first (BOM, line ends) as ``read_source`` does."""
    text = canonical_text(text)
    return _load(text, filename=filename, sha256=text_sha256(text))


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
