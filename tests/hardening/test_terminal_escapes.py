"""Text from files and AWS is echoed escaped (issue 19): no control character reaches the
terminal, and U+2028 / U+2029 / U+0085 never split one line into several."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import Diagnostic
from reconciler.render import render
from reconciler.terminal import printable, printable_lines

HOSTILE = "a\x1b]0;pwned\x07b\x1b[2Jc\u2028d\x85e\u2029f\u202eg\rh\ni\x9bj"


def test_printable_escapes_everything_a_terminal_acts_on() -> None:
    shown = printable(HOSTILE)
    assert shown == ("a\\x1b]0;pwned\\x07b\\x1b[2Jc\\u2028d\\x85e\\u2029f\\u202eg\\rh\\ni"
                     "\\x9bj")
    assert shown.isprintable() and len(shown.splitlines()) == 1
    assert printable_lines("one\ntwo\x1b") == "one\ntwo\\x1b"
    assert printable("plain café, ünïcode ✓") == "plain café, ünïcode ✓"


def test_a_diagnostic_is_one_printable_line() -> None:
    shown = str(Diagnostic("accounts.yaml", 3, 5, f"tags.{HOSTILE}", f"bad {HOSTILE!s}"))
    assert shown.isprintable() and len(shown.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_plan_shows_hostile_tags_escaped(fmt: str) -> None:
    document = {
        "format_version": "1", "management_account_id": "123456789012",
        "changes": [{"address": "account.app", "kind": "account", "key": "app",
                     "action": "update", "before": {"tags": {"team": "x"}},
                     "after": {"tags": {"team": HOSTILE}}, "reason": f"tags {HOSTILE}",
                     "destructive": False}],
        "deferred": [], "unmanaged": [], "warnings": [f"w {HOSTILE}"],
        "summary": {"create": 0, "update": 1, "delete": 0, "invite": 0, "close": 0},
    }
    shown = render(document, fmt)
    for line in shown.split("\n"):
        assert line.isprintable(), repr(line)
    assert len(shown.splitlines()) == shown.count("\n")  # no line split but by line feeds


def test_an_error_with_a_line_separator_stays_one_line(tmp_path: Path, orgsync: Any) -> None:
    bad = tmp_path / "accounts.yaml"
    bad.write_text('version: 1\norganization:\n  management_account_id: "123456789012"\n'
                   'accounts:\n  - name: prod\n    email: aws+prod@example.com\n'
                   '    tags: {"team\\e[31m\\L": x}\n', encoding="utf-8")
    result = orgsync("validate", "-f", str(bad))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()  # str.splitlines: also U+2028, U+0085
    assert "\\x1b[31m\\u2028" in line and line.isprintable()
