"""What the text and markdown renderers share: how values, summaries and placeholders read.

An account id that only exists after apply is written ``${account.NAME.id}`` in the plan; people
see ``(known after apply)``, like Terraform (``(known after apply: NAME)`` inside a longer string
such as a role ARN, so that a reviewer can tell the accounts apart).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from reconciler.plan import ACCOUNT_ID_PLACEHOLDER, ACCOUNT_ID_PLACEHOLDER_PATTERN

KNOWN_AFTER_APPLY = "(known after apply)"
_QUOTED_PLACEHOLDER = re.compile(f'"{ACCOUNT_ID_PLACEHOLDER_PATTERN}"')
SUMMARY_ORDER = ("create", "invite", "update", "delete", "close", "bootstrap")
SUMMARY_WORDS = {"create": "to create", "invite": "to invite", "update": "to update",
                 "delete": "to delete", "close": "to close", "bootstrap": "to bootstrap"}


def show_placeholders(text: str) -> str:
    text = _QUOTED_PLACEHOLDER.sub(KNOWN_AFTER_APPLY, text)
    return ACCOUNT_ID_PLACEHOLDER.sub(lambda m: f"(known after apply: {m.group(1)})", text)


def value_text(value: Any, *, indent: int = 0, width: int = 76) -> str:
    """A JSON value as people read it: one line when short, else indented JSON."""
    one_line = json.dumps(value, ensure_ascii=False, sort_keys=False)
    if len(one_line) <= width or not isinstance(value, (Mapping, list)):
        return show_placeholders(one_line)
    pretty = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)
    pad = " " * indent
    return show_placeholders(pretty.replace("\n", "\n" + pad))


def listed_deferred(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Deferred items that say what they will do once unblocked (they carry an ``action``)."""
    return [d for d in document.get("deferred") or () if d.get("action")]


def deferred_summary_line(document: Mapping[str, Any]) -> str:
    """The listed deferred items by action (work apply does once what they wait for happens, in
    the same run or a later one), or "" when there are none."""
    items = listed_deferred(document)
    if not items:
        return ""
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item["action"])] = counts.get(str(item["action"]), 0) + 1
    parts = [f"{counts[a]} {SUMMARY_WORDS.get(a, 'to ' + a)}" for a in SUMMARY_ORDER
             if counts.get(a)]
    destroying = sum(1 for item in items if item.get("destructive"))
    note = f", {destroying} destructive" if destroying else ""
    return f"Deferred until what they wait for happens: {', '.join(parts)}{note}."


def summary_line(document: Mapping[str, Any]) -> str:
    """The plan's last line: its changes by action (``deferred_summary_line`` counts the rest)."""
    counts = document.get("summary") or {}
    if not document.get("changes"):
        if listed_deferred(document):
            return "No changes can be made now; the deferred items wait (listed above)."
        return "No changes. The organization matches the file."
    parts = [f"{counts.get(a, 0)} {SUMMARY_WORDS[a]}" for a in SUMMARY_ORDER
             if a in ("create", "update", "delete") or counts.get(a, 0)]
    return "Plan: " + ", ".join(parts) + "."


def destructive_changes(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in document.get("changes", ()) if c.get("destructive")]


def destructive_items(document: Mapping[str, Any]) -> list[str]:
    """Every destructive thing the plan does, now or once unblocked: ``address (action)`` for
    changes, ``address (action, deferred)`` for listed deferred items."""
    return ([f"{c['address']} ({c['action']})" for c in destructive_changes(document)]
            + [f"{d['address']} ({d['action']}, deferred)" for d in listed_deferred(document)
               if d.get("destructive")])


def destructive_banner(document: Mapping[str, Any]) -> str | None:
    items = destructive_items(document)
    if not items:
        return None
    listed = ", ".join(items[:20])
    more = f", and {len(items) - 20} more" if len(items) > 20 else ""
    noun = "change destroys" if len(items) == 1 else "changes destroy"
    return f"!! DESTRUCTIVE: {len(items)} {noun} something: {listed}{more}"


def deferred_line(item: Mapping[str, Any]) -> str:
    """One deferred item as people read it: what it will do (when it says), and what it waits
    for."""
    action = item.get("action")
    head = str(item["address"])
    if action:
        head += f" ({action}{', DESTRUCTIVE' if item.get('destructive') else ''})"
    return f"{head}: waiting for {item['waiting_for']}"


def attribute_lines(change: Mapping[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(sign, path, before, after) lines for a change: its diff for updates, else the after (or
    before, for deletes) attributes."""
    action = change.get("action")
    diff = change.get("diff") or []
    if diff and action not in ("create", "invite", "bootstrap"):
        lines = []
        for entry in diff:
            before, after = entry.get("before"), entry.get("after")
            sign = "+" if before is None else ("-" if after is None else "~")
            lines.append((sign, entry.get("path", ""), before, after))
        return lines
    if action in ("delete", "close"):
        source = change.get("before") or {}
        return [("-", k, v, None) for k, v in source.items()]
    source = change.get("after") or {}
    return [("+", k, None, v) for k, v in source.items() if v is not None and v != {} and v != []]


def is_policy_document(value: Any) -> bool:
    """An IAM policy document (trust, inline or managed): a mapping with a ``Statement``."""
    return isinstance(value, Mapping) and isinstance(value.get("Statement"), (list, Mapping))


def statements(document: Mapping[str, Any]) -> list[Any]:
    """A policy document's statements (IAM allows one statement object instead of a list)."""
    found = document.get("Statement")
    return [found] if isinstance(found, Mapping) else list(found or [])


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value]
    return [json.dumps(value, ensure_ascii=False)]


def _listed(items: list[str], *, limit: int) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit - 1])} and {len(items) - limit + 1} more"


def statement_summary(statement: Any, *, limit: int = 3) -> str:
    """One policy statement on one line, as a reviewer reads it:
    ``Allow sts:AssumeRole on ARN by AWS ARN if Bool aws:MultiFactorAuthPresent=true``.

    Effect, actions (``NotAction``: "all actions except"), resources, principals and conditions
    (``OPERATOR key=value``, or ``key in [a, b]`` for several values); lists longer than
    ``limit`` name their first items and count the rest (the JSON plan and ``--verbose`` have them
    all)."""
    if not isinstance(statement, Mapping):
        return json.dumps(statement, ensure_ascii=False)
    parts = [f"[{statement['Sid']}]"] if statement.get("Sid") else []
    parts.append(str(statement.get("Effect", "?")))
    for key, prefix in (("Action", ""), ("NotAction", "all actions except ")):
        if key in statement:
            parts.append(prefix + _listed(_strings(statement[key]), limit=limit))
    for key, prefix in (("Resource", "on "), ("NotResource", "on all resources except ")):
        if key in statement:
            parts.append(prefix + _listed(_strings(statement[key]), limit=limit))
    for key, prefix in (("Principal", "by "), ("NotPrincipal", "by anyone except ")):
        principal = statement.get(key)
        if principal is None:
            continue
        if isinstance(principal, Mapping):
            parts.append(prefix + "; ".join(f"{kind} {_listed(_strings(who), limit=limit)}"
                                            for kind, who in principal.items()))
        else:
            parts.append(prefix + ", ".join(_strings(principal)))
    conditions = statement.get("Condition")
    if isinstance(conditions, Mapping) and conditions:
        tests = []
        for operator, block in conditions.items():
            if not isinstance(block, Mapping):
                tests.append(f"{operator} {json.dumps(block, ensure_ascii=False)}")
                continue
            for key, value in block.items():
                values = _strings(value)
                shown = (f"={values[0]}" if len(values) == 1
                         else f" in [{_listed(values, limit=limit)}]")
                tests.append(f"{operator} {key}{shown}")
        parts.append("if " + "; ".join(tests))
    return show_placeholders(" ".join(parts))
