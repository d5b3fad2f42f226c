"""Rendering a plan for people and programs: text, json and markdown from one document.

Every format starts from ``Plan.to_document()`` (or a saved plan file, which is the same
document), as Terraform renders its human plan from its JSON form: the formats can never disagree
about what a plan does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from reconciler.render.jsondoc import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.terminal import printable_document

Format = Literal["text", "json", "markdown"]
FORMATS: tuple[str, ...] = ("text", "json", "markdown")

__all__ = ["FORMATS", "Format", "render"]


def render(document: Mapping[str, Any], fmt: str, *, color: bool = False,
           verbose: bool = False) -> str:
    """The plan document as ``fmt``; ``color`` only affects text (ANSI escapes), and so does
    ``verbose`` (policy documents in full instead of one line per statement). Text and
    markdown show every string with its control characters escaped (``reconciler.terminal``:
    names, tags and members come from files and AWS); JSON escapes them as JSON does."""
    if fmt == "json":
        return render_json(document)
    if fmt == "text":
        return render_text(printable_document(document), color=color, verbose=verbose)
    if fmt == "markdown":
        return render_markdown(printable_document(document))
    raise ValueError(f"unknown plan format {fmt!r} (expected one of {', '.join(FORMATS)})")
