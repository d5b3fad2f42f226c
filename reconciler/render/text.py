"""The plan as Terraform-like text for a terminal or a CI log.

Destructive actions must be impossible to miss, with or without colour: each is marked
``!! DESTRUCTIVE`` on its own line, and a banner before the summary counts and names them.
Colour is plain ANSI (red/green/yellow/cyan) so that golden files pin the exact bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.render.common import (
    attribute_lines,
    deferred_line,
    deferred_summary_line,
    destructive_banner,
    show_placeholders,
    summary_line,
    value_text,
)

_CODES = {"green": "32", "yellow": "33", "red": "31", "cyan": "36", "magenta": "35",
          "bold": "1", "dim": "2", "bold_red": "1;31"}
_ACTION_STYLE = {"create": "green", "invite": "green", "update": "yellow", "delete": "red",
                 "close": "red", "bootstrap": "magenta"}
_SYMBOL = {"create": "+", "invite": "+", "update": "~", "delete": "-", "close": "-",
           "bootstrap": "!"}
_SIGN_STYLE = {"+": "green", "~": "yellow", "-": "red"}


class _Writer:
    def __init__(self, *, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, name: str | None) -> str:
        if not self.color or name is None or not text:
            return text
        return f"\x1b[{_CODES[name]}m{text}\x1b[0m"

    def line(self, text: str = "") -> None:
        self.lines.append(text)


def render_text(document: Mapping[str, Any], *, color: bool = False) -> str:
    out = _Writer(color=color)
    changes = document.get("changes") or []
    out.line(out.style(f"orgsync plan for the organization of "
                       f"{document.get('management_account_id', '?')}", "bold"))
    out.line()
    if changes:
        out.line("orgsync will perform the following actions:")
        out.line()
        for change in changes:
            _change(out, change)
    for title, items, style in (
        ("Deferred (cannot be done yet; apply does an item showing an action once what it "
         "waits for happens):",
         [deferred_line(d) for d in document.get("deferred") or []], "cyan"),
        ("Unmanaged (in AWS, not in the file; never touched):",
         [f"{u['kind']} {u['id']} {u['name']}" for u in document.get("unmanaged") or []], None),
        ("Warnings:", list(document.get("warnings") or []), "yellow"),
        ("Errors (apply refuses this plan until they are fixed):",
         list(document.get("errors") or []), "red"),
    ):
        if not items:
            continue
        out.line(out.style(title, "bold"))
        for item in items:
            out.line("  " + out.style(show_placeholders(item), style))
        out.line()
    deferred = deferred_summary_line(document)
    if deferred:
        out.line(out.style(deferred, "cyan"))
    banner = destructive_banner(document)
    if banner:
        out.line(out.style(banner, "bold_red"))
    out.line(out.style(summary_line(document), "bold"))
    return "\n".join(out.lines) + "\n"


def _change(out: _Writer, change: Mapping[str, Any]) -> None:
    action = str(change.get("action"))
    style = _ACTION_STYLE.get(action)
    head = f"  {_SYMBOL.get(action, '?')} {change.get('address')} ({action})"
    out.line(out.style(head, style))
    if change.get("destructive"):
        out.line("      " + out.style("!! DESTRUCTIVE", "bold_red"))
    if change.get("reason"):
        out.line("      " + out.style(f"# {show_placeholders(str(change['reason']))}", "dim"))
    if change.get("depends_on"):
        out.line("      " + out.style("# after " + ", ".join(change["depends_on"]), "dim"))
    for sign, path, before, after in attribute_lines(change):
        prefix = f"      {out.style(sign, _SIGN_STYLE[sign])} {path}"
        indent = 8
        if sign == "+":
            out.line(f"{prefix} = {value_text(after, indent=indent)}")
        elif sign == "-":
            out.line(f"{prefix} = {value_text(before, indent=indent)}")
        else:
            out.line(f"{prefix}: {value_text(before, indent=indent)} -> "
                     f"{value_text(after, indent=indent)}")
    if change.get("instructions"):
        out.line("      " + out.style("instructions for the account's administrator:", "bold"))
        for text in show_placeholders(str(change["instructions"])).splitlines():
            out.line(("        " + text).rstrip())
    out.line()
