"""The plan as Terraform-like text for a terminal or a CI log.

Destructive actions must be impossible to miss, with or without colour: each is marked
``!! DESTRUCTIVE`` on its own line, and a banner before the summary counts and names them.
Colour is plain ANSI (red/green/yellow/cyan) so that golden files pin the exact bytes.

Policy documents (trust policies, inline and grant policies) are shown one line per statement
by default (``statement_summary``: effect, actions, resources, principals, conditions), so that a
plan of a few dozen changes reads in a screen or two; ``verbose=True`` (``--verbose`` on plan,
apply, show and demo) prints them in full, as indented JSON. Only the text changes: the JSON plan
(the contract) always carries the full documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan import ACTION_SYMBOLS
from reconciler.render.common import (
    attribute_lines,
    deferred_line,
    deferred_summary_line,
    destructive_banner,
    is_policy_document,
    show_placeholders,
    statement_summary,
    statements,
    summary_line,
    value_text,
)

_CODES = {"green": "32", "yellow": "33", "red": "31", "cyan": "36", "magenta": "35",
          "bold": "1", "dim": "2", "bold_red": "1;31"}
_ACTION_STYLE = {"create": "green", "invite": "green", "update": "yellow", "delete": "red",
                 "close": "red", "bootstrap": "magenta"}
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

    def gap(self) -> None:
        """A blank line, unless the last line is one."""
        if self.lines and self.lines[-1]:
            self.lines.append("")


def render_text(document: Mapping[str, Any], *, color: bool = False,
                verbose: bool = False) -> str:
    out = _Writer(color=color)
    changes = document.get("changes") or []
    out.line(out.style(f"orgsync plan for the organization of "
                       f"{document.get('management_account_id', '?')}", "bold"))
    out.line()
    if changes:
        out.line("orgsync will perform the following actions:")
        out.line()
        kind = None
        for change in changes:
            # verbose: a blank line after every change; else one between kinds (the changes
            # come ordered by kind), so that dozens of small creates read as a few blocks
            if not verbose and kind is not None and change.get("kind") != kind:
                out.gap()
            kind = change.get("kind")
            _change(out, change, verbose=verbose)
        out.gap()
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


def _change(out: _Writer, change: Mapping[str, Any], *, verbose: bool) -> None:
    action = str(change.get("action"))
    style = _ACTION_STYLE.get(action)
    head = f"  {ACTION_SYMBOLS.get(action, '?')} {change.get('address')} ({action})"
    reason = show_placeholders(str(change["reason"])) if change.get("reason") else ""
    after = "after " + ", ".join(change["depends_on"]) if change.get("depends_on") else ""
    if verbose:
        out.line(out.style(head, style))
        comments = [text for text in (reason, after) if text]
    else:  # the reason and what it waits for as one comment on the change's own line
        comment = "; ".join(text for text in (reason, after) if text)
        out.line(out.style(head, style) + (out.style(f"  # {comment}", "dim") if comment else ""))
        comments = []
    if change.get("destructive"):
        out.line("      " + out.style("!! DESTRUCTIVE", "bold_red"))
    for comment in comments:
        out.line("      " + out.style(f"# {comment}", "dim"))
    packed: list[str] = []  # short "+ key = value" attributes, packed on lines (not verbose)
    rest: list[tuple[str, str, Any, Any]] = []
    for sign, path, before, after_value in attribute_lines(change):
        shown = value_text(after_value, indent=8, width=_PACKED_WIDTH - 8) if sign == "+" else ""
        if (not verbose and sign == "+" and "\n" not in shown
                and _policies(path, after_value) is None):
            packed.append(f"{path} = {shown}")
        else:
            rest.append((sign, path, before, after_value))
    _packed_lines(out, packed)
    for sign, path, before, after_value in rest:
        if not verbose and _policy_lines(out, sign, path, before, after_value):
            continue
        prefix = f"      {out.style(sign, _SIGN_STYLE[sign])} {path}"
        indent = 8
        if sign == "+":
            out.line(f"{prefix} = {value_text(after_value, indent=indent)}")
        elif sign == "-":
            out.line(f"{prefix} = {value_text(before, indent=indent)}")
        else:
            out.line(f"{prefix}: {value_text(before, indent=indent)} -> "
                     f"{value_text(after_value, indent=indent)}")
    if change.get("instructions"):
        out.line("      " + out.style("instructions for the account's administrator:", "bold"))
        for text in show_placeholders(str(change["instructions"])).splitlines():
            out.line(("        " + text).rstrip())
    if verbose or change.get("instructions"):  # a long block of instructions ends with a gap
        out.line()


_PACKED_WIDTH = 100


def _packed_lines(out: _Writer, items: list[str]) -> None:
    """``+ a = 1  b = "x"  c = true``: new attributes that fit on one line, up to 100 columns
    (a created resource's attributes read as one record; changes to existing ones, and anything
    removed, keep a line each)."""
    line = ""
    for item in items:
        if line and 8 + len(line) + 2 + len(item) > _PACKED_WIDTH:
            out.line(f"      {out.style('+', _SIGN_STYLE['+'])} {line}")
            line = ""
        line = f"{line}  {item}" if line else item
    if line:
        out.line(f"      {out.style('+', _SIGN_STYLE['+'])} {line}")


def _policies(path: str, value: Any) -> list[tuple[str, Mapping[str, Any]]] | None:
    """``[(path, document)]`` when ``value`` is a policy document, or a mapping of names to policy
    documents (``inline_policies``), else None."""
    if is_policy_document(value):
        return [(path, value)]
    if isinstance(value, Mapping) and value and all(map(is_policy_document, value.values())):
        return [(f"{path}.{name}", document) for name, document in value.items()]
    return None


def _policy_lines(out: _Writer, sign: str, path: str, before: Any, after: Any) -> bool:
    """Write an attribute holding policy documents one line per statement; False (nothing
    written) when it holds none."""
    sides = [("-", _policies(path, before)), ("+", _policies(path, after))]
    if sign != "~":
        sides = [side for side in sides if side[0] == sign]
    if all(found is None for _, found in sides):
        return False
    if sign == "~":
        out.line(f"      {out.style(sign, _SIGN_STYLE[sign])} {path}:")
        for side_sign, found in sides:
            value = before if side_sign == "-" else after
            for sub_path, document in found or [(path, value)]:
                _statements(out, side_sign, sub_path, document, indent=8)
        return True
    for sub_path, document in sides[0][1] or []:
        _statements(out, sign, sub_path, document, indent=6)
    return True


def _statements(out: _Writer, sign: str, path: str, document: Any, *, indent: int) -> None:
    head = f"{' ' * indent}{out.style(sign, _SIGN_STYLE[sign])} {path} ="
    if not is_policy_document(document):
        out.line(f"{head} {value_text(document, indent=indent + 2)}")
        return
    found = statements(document)
    if len(found) == 1:
        out.line(f"{head} {statement_summary(found[0])}")
        return
    out.line(f"{head} {len(found)} statements:")
    for statement in found:
        out.line(f"{' ' * (indent + 4)}{statement_summary(statement)}")
