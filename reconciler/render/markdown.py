"""The plan as a pull-request comment (GitHub-flavoured markdown).

A reviewer sees the summary table and any destructive action first; each change is a collapsed
``<details>`` block. GitHub rejects comments over 65,536 characters, so the comment is kept under
a budget and says honestly how many changes (and list items) it left out, never silently dropping
anything.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from reconciler.plan import ACTION_SYMBOLS
from reconciler.render.common import (
    SUMMARY_ORDER,
    deferred_line,
    deferred_summary_line,
    destructive_items,
    show_placeholders,
    summary_line,
)
from reconciler.render.text import _change, _Writer

GITHUB_COMMENT_LIMIT = 65_536
BUDGET = 60_000  # room for a CI wrapper's own heading and footer
MAX_BLOCK = 6_000  # one change's body at most
MAX_LIST_ITEMS = 50  # deferred / unmanaged / warnings / errors shown at most


def _fence(body: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{body}\n{ticks}"


def _code(text: str) -> str:
    return "<code>" + html.escape(text) + "</code>"


def _block(change: Mapping[str, Any]) -> str:
    writer = _Writer(color=False)
    _change(writer, change, verbose=True)  # markdown collapses each change: documents in full
    lines = [line for line in writer.lines[1:] if not line.startswith("      # ")
             or line.startswith("      # after")]
    body = "\n".join(line[4:] if line.startswith("    ") else line for line in lines).strip("\n")
    if len(body) > MAX_BLOCK:
        cut = body[:MAX_BLOCK].rsplit("\n", 1)[0]
        body = (f"{cut}\n... ({len(body) - len(cut):,} more characters: see the full plan "
                "with `orgsync show`)")
    action = str(change.get("action"))
    marker = " <b>DESTRUCTIVE</b>" if change.get("destructive") else ""
    reason = html.escape(show_placeholders(str(change.get("reason") or "")))
    summary = (f"{_code(ACTION_SYMBOLS.get(action, '?') + ' ' + str(change.get('address')))} "
               f"{action}{marker}{': ' + reason if reason else ''}")
    return f"<details><summary>{summary}</summary>\n\n{_fence(body)}\n\n</details>\n"


def _escaped(text: Any) -> str:
    return html.escape(show_placeholders(str(text)))


def _deferred_item(item: Mapping[str, Any]) -> str:
    line = _escaped(deferred_line(item))
    address = html.escape(str(item["address"]))
    return f"`{address}`" + line[len(address):]


def _list_section(title: str, items: list[str]) -> str:
    if not items:
        return ""
    shown = items[:MAX_LIST_ITEMS]
    lines = [f"#### {title}", ""] + [f"- {item}" for item in shown]
    if len(items) > len(shown):
        lines.append(f"- ... and {len(items) - len(shown)} more (see the full plan)")
    return "\n".join(lines) + "\n\n"


def render_markdown(document: Mapping[str, Any]) -> str:
    changes = list(document.get("changes") or [])
    counts = document.get("summary") or {}
    head: list[str] = [f"### orgsync plan for `{document.get('management_account_id', '?')}`",
                       ""]
    destructive = destructive_items(document)
    if destructive:
        listed = ", ".join(f"`{item.split(' ', 1)[0]}` {item.split(' ', 1)[1]}"
                           for item in destructive[:20])
        more = f", and {len(destructive) - 20} more" if len(destructive) > 20 else ""
        head += ["> [!CAUTION]",
                 f"> **{len(destructive)} destructive change{'s' if len(destructive) != 1 else ''}"
                 f"**: {listed}{more}. Closing an account or deleting root credentials cannot be "
                 "undone by orgsync.", ""]
    if document.get("errors"):
        head += ["> [!WARNING]",
                 f"> **{len(document['errors'])} error(s)**: apply refuses this plan until they "
                 "are fixed (listed below).", ""]
    head += [f"**{summary_line(document)}**", ""]
    if deferred_summary_line(document):
        head += [deferred_summary_line(document), ""]
    if changes:
        head += ["| action | count |", "|---|---:|"]
        head += [f"| {a} | {counts.get(a, 0)} |" for a in SUMMARY_ORDER]
        if counts.get("deferred"):
            head.append(f"| deferred | {counts['deferred']} |")
        head.append("")
    top = "\n".join(head) + "\n"
    tail = "".join([
        _list_section("Errors", [html.escape(e) for e in document.get("errors") or []]),
        _list_section("Warnings", [html.escape(w) for w in document.get("warnings") or []]),
        _list_section("Deferred (cannot be done yet)",
                      [_deferred_item(d) for d in document.get("deferred") or []]),
        _list_section("Unmanaged (in AWS, not in the file; never touched)",
                      [f"{u['kind']} `{u['id']}` {html.escape(str(u['name']))}"
                       for u in document.get("unmanaged") or []]),
    ])
    rendered = [_block(change) for change in changes]
    used = len(top) + len(tail) + 400  # the omission note
    chosen: set[int] = set()
    # destructive changes are shown first of all, then the others in plan order
    order = sorted(range(len(changes)), key=lambda i: (not changes[i].get("destructive"), i))
    for index in order:
        if used + len(rendered[index]) > BUDGET:
            continue
        chosen.add(index)
        used += len(rendered[index])
    blocks = [rendered[i] for i in sorted(chosen)]
    omitted = len(changes) - len(chosen)
    note = ""
    if omitted:
        note = (f"> [!NOTE]\n> {omitted} of {len(changes)} changes are not shown here, to stay "
                f"under GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit (every change is "
                "counted in the table above). Run `orgsync show PLANFILE` on the saved plan for "
                "all of them.\n\n")
    changes_section = ("#### Changes\n\n" + "\n".join(blocks) + "\n") if blocks else ""
    return top + changes_section + note + tail
