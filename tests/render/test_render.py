"""Renderers: golden files pin text (with and without colour) and markdown; the markdown of a
large plan stays under GitHub's comment limit and says what it left out.

Set ``UPDATE_GOLDEN=1`` to rewrite the golden files after a deliberate change (then review the
diff).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan import Action, Change, Plan, unknown_account_id
from reconciler.render import render

GOLDEN = Path(__file__).parent / "golden"


def _document() -> dict[str, Any]:
    return json.loads((GOLDEN / "plan.json").read_text())


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("fmt,color,verbose,name", [
    ("text", False, False, "plan.txt"),
    ("text", True, False, "plan.color.txt"),
    ("text", False, True, "plan.verbose.txt"),
    ("markdown", False, False, "plan.md"),
])
def test_golden(fmt: str, color: bool, verbose: bool, name: str) -> None:
    _check_golden(name, render(_document(), fmt, color=color, verbose=verbose))


def test_text_without_colour_has_no_escapes_and_marks_destruction() -> None:
    text = render(_document(), "text", color=False)
    assert "\x1b[" not in text
    assert text.count("!! DESTRUCTIVE\n") == 3
    assert "!! DESTRUCTIVE: 3 changes destroy something" in text
    assert text.rstrip().endswith("Plan: 5 to create, 5 to update, 1 to delete, 1 to close, "
                                  "1 to bootstrap.")
    assert "${account." not in text and "(known after apply)" in text


def test_colour_is_only_decoration() -> None:
    coloured = render(_document(), "text", color=True)
    assert "\x1b[1;31m!! DESTRUCTIVE\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render(_document(), "text", color=False)


def test_json_is_the_document() -> None:
    document = _document()
    text = render(document, "json")
    assert json.loads(text) == document
    assert text == render(json.loads(text), "json")


def test_empty_plan() -> None:
    document = Plan(management_account_id="123456789012").to_document()
    text = render(document, "text")
    assert "No changes. The organization matches the file." in text
    assert "DESTRUCTIVE" not in text
    assert "No changes" in render(document, "markdown")


def test_unknown_format() -> None:
    with pytest.raises(ValueError):
        render(_document(), "yaml")


def _big_plan(n: int) -> dict[str, Any]:
    changes = []
    for i in range(n):
        name = f"account-{i:04d}"
        changes.append(Change(
            kind="account", key=name, action=Action.CREATE, before=None,
            after={"name": name, "email": f"aws+{name}@example.com", "ou": "/Workloads/Team",
                   "tags": {"team": "platform", "cost-center": f"cc-{i}"},
                   "iam_user_access_to_billing": None, "role_name": "OrganizationAccountAccess"},
            reason="not in the organization"))
        changes.append(Change(
            kind="access_role", key=name, action=Action.CREATE, before=None,
            after={"account_id": unknown_account_id(name), "name": "OrganizationAccountAccess",
                   "policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
            reason="new account", depends_on=(f"account.{name}",)))
    changes.append(Change(kind="account", key="doomed", action=Action.CLOSE,
                          before={"id": "210000000001", "state": "ACTIVE"},
                          after={"id": "210000000001", "state": "closed"},
                          reason="closed", destructive=True))
    return Plan(management_account_id="123456789012", changes=tuple(changes)).to_document()


def test_markdown_of_500_changes_fits_and_says_what_it_left_out() -> None:
    document = _big_plan(250)  # 501 changes
    text = render(document, "markdown")
    assert len(text) < 65_536
    shown = text.count("<details>")
    note = re.search(r"(\d+) of (\d+) changes are not shown", text)
    assert note is not None
    assert int(note.group(2)) == 501
    assert shown + int(note.group(1)) == 501
    assert shown > 50
    assert "| create | 500 |" in text
    assert "[!CAUTION]" in text and "`account.doomed` (close)" in text
    assert "<code>- account.doomed</code> close <b>DESTRUCTIVE</b>" in text  # never left out
    # blocks are whole: every <details> that opens also closes
    assert text.count("<details>") == text.count("</details>")


def test_markdown_small_plan_is_complete() -> None:
    text = render(_big_plan(3), "markdown")
    assert text.count("<details>") == 7
    assert "not shown" not in text


def test_markdown_escapes_backticks_and_html() -> None:
    change = Change(kind="account", key="we`ird<b>", action=Action.CREATE, before=None,
                    after={"name": "we```ird<b>"}, reason="<script>")
    text = render(Plan("123456789012", changes=(change,)).to_document(), "markdown")
    summary = next(line for line in text.splitlines() if line.startswith("<details>"))
    assert "<script>" not in summary and "&lt;script&gt;" in summary
    assert "we`ird&lt;b&gt;" in summary
    assert "````text" in text
