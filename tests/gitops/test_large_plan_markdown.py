"""A 500-change plan, end to end: ``orgsync plan --out`` against the sandbox, then
``orgsync show --format markdown`` of the saved plan (what the CI job posts as the PR comment).

The comment must stay under GitHub's 65,536-character limit with room for the workflow's own
heading and footer, and must say what it left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .helpers import orgsync

GITHUB_COMMENT_LIMIT = 65_536
WORKFLOW_WRAPPER = 600  # the workflow's marker, heading and footer around the plan
ACCOUNTS = 480
OUS = 24  # /Load/Team-00 ... /Load/Team-23, plus /Load


def _large_file() -> str:
    lines = ['version: 1', 'organization:', '  management_account_id: "123456789012"',
             'accounts:']
    for i in range(ACCOUNTS):
        lines += [f"  - name: load-{i:03d}",
                  f"    email: aws+load-{i:03d}@example.com",
                  f"    ou: /Load/Team-{i % OUS:02d}",
                  f"    tags: {{team: team-{i % OUS:02d}, cost-center: cc-{i:05d}, "
                  f"owner: owner-{i:03d}@example.com}}"]
    return "\n".join(lines) + "\n"


def test_markdown_of_a_500_change_plan_fits_a_comment_and_says_what_it_left_out(
        sandbox, aws_env, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(_large_file())
    saved = tmp_path / "plan.json"
    planned = orgsync(["plan", "-f", str(accounts), "--out", str(saved), "--format", "json"],
                      env=aws_env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    document = json.loads(saved.read_text())
    changes = document["changes"]
    assert len(changes) >= 500
    assert json.loads(planned.stdout)["summary"] == document["summary"]

    shown = orgsync(["show", str(saved), "--format", "markdown"], env=aws_env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    markdown = shown.stdout
    assert len(markdown) + WORKFLOW_WRAPPER < GITHUB_COMMENT_LIMIT, len(markdown)

    # It says how many changes it left out, and the count is right.
    note = re.search(r"(\d+) of (\d+) changes are not shown", markdown)
    assert note, markdown[-2000:]
    omitted, total = int(note.group(1)), int(note.group(2))
    assert total == len(changes)
    listed = {c["address"] for c in changes if f"{c['address']}" in markdown}
    assert omitted > 0
    assert len(changes) - omitted <= len(listed)
    # The summary still counts every change.
    assert str(document["summary"]["create"]) in markdown

    # The same plan straight from `plan --format markdown` is the same comment.
    direct = orgsync(["plan", "-f", str(accounts), "--format", "markdown"], env=aws_env,
                     cwd=tmp_path)
    assert direct.returncode == 0, direct.stderr
    assert len(direct.stdout) + WORKFLOW_WRAPPER < GITHUB_COMMENT_LIMIT
    assert re.search(rf"\d+ of {total} changes are not shown", direct.stdout)
