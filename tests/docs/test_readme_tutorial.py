"""The README's tutorial, run as written: its shell blocks against a real `orgsync sandbox`.

Each tutorial block in README.md is a fenced ```sh block right after a
``<!-- tutorial: NAME -->`` comment. This test extracts them in order and runs them in ONE bash
process (as a reader pasting them into one terminal would: the `cd`, the `eval` of
`orgsync sandbox env` and the background job carry from block to block), with `orgsync` on PATH
running this checkout's CLI (`sys.executable -m reconciler.cli`). Every command must exit 0
(`set -e`; an ERR trap names the one that did not), and each step's output is checked for what
the README says it shows. So the README cannot drift from the tool.

The bash process gets a session of its own, and the whole process group (the sandbox started
in the background included) is killed at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
README = REPO_ROOT / "README.md"

_BLOCK = re.compile(r"<!-- tutorial: ([\w-]+) -->\n```sh\n(.*?)\n```\n", re.DOTALL)
_MARK = "@@@ tutorial step "


def tutorial_blocks(text: str) -> list[tuple[str, str]]:
    """The (name, code) of every tutorial block, in README order."""
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(text)]


def test_every_tutorial_marker_is_followed_by_a_shell_block() -> None:
    text = README.read_text()
    markers = re.findall(r"<!-- tutorial: ([\w-]+) -->", text)
    names = [name for name, _ in tutorial_blocks(text)]
    assert names == markers, "a <!-- tutorial: NAME --> comment must be followed by a ```sh block"
    assert len(names) == len(set(names)), f"tutorial step names repeat: {names}"


def test_readme_is_short() -> None:
    lines = README.read_text().count("\n")
    assert lines < 250, f"README.md has {lines} lines: move reference material to docs/"


def _script(blocks: list[tuple[str, str]]) -> str:
    lines = ["set -eE",
             "trap 'echo \"@@@ FAILED (exit $?): $BASH_COMMAND\" >&2' ERR"]
    for name, code in blocks:
        lines.append(f"echo '{_MARK}{name}'")
        lines.append(code)
    lines.append(f"echo '{_MARK}end'")
    return "\n".join(lines) + "\n"


def _steps(output: str) -> dict[str, str]:
    parts = re.split(rf"^{re.escape(_MARK)}([\w-]+)$", output, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_readme_tutorial_runs(tmp_path: Path) -> None:
    blocks = tutorial_blocks(README.read_text())
    names = [name for name, _ in blocks]
    assert names == ["start", "write", "plan", "apply", "accept", "replan", "profiles", "stop"]

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "orgsync"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reconciler.cli "$@"\n')
    wrapper.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ORGSYNC_")) and k != "PYTHONPATH"}
    env.update({
        "PATH": os.pathsep.join([str(bin_dir), env.get("PATH", "/usr/bin:/bin")]),
        "PYTHONPATH": str(REPO_ROOT),
        "HOME": str(home),  # no ~/.aws of the user's
        "NO_COLOR": "1",
        # what a reader's shell may hold: `orgsync sandbox env` must win over it
        "AWS_PROFILE": "someone-elses-profile",
    })
    script = tmp_path / "tutorial.sh"
    script.write_text(_script(blocks))

    process = subprocess.Popen(["bash", str(script)], cwd=work, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=420)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the tutorial did not finish in 420 s:\n{output}\n{_sandbox_log(work)}")
    finally:
        # the sandbox in the background, if the tutorial stopped before `kill %1`
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == 0, f"{output}\n{_sandbox_log(work)}"
    steps = _steps(output)
    assert list(steps) == [*names, "end"], output
    assert "@@@ FAILED" not in output

    # what the README says each step shows
    assert "accounts.yaml: valid (2 accounts, 1 OU, 1 group, 2 grants)" in steps["plan"]
    assert "+ account.dev (create)" in steps["plan"]
    assert "+ account.analytics (invite)" in steps["plan"]
    assert "+ group.admins (create)" in steps["plan"]
    assert "access_role.analytics (create): waiting for the invitation" in steps["plan"]
    assert re.search(r"waiting account\.analytics: invited 210987654321 \(h-", steps["apply"])
    assert "converged: a new plan has no changes apart from 2 deferred." in steps["apply"]
    assert "210987654321 accepted invitation h-" in steps["accept"]
    assert "done access_role.analytics" in steps["accept"]
    assert "renamed 'legacy-analytics' to 'analytics'" in steps["accept"]
    assert "converged: a new plan has no changes." in steps["accept"]
    assert "No changes. The organization matches the file." in steps["replan"]
    assert "[profile dev]" in steps["profiles"]
    assert "role_arn = arn:aws:iam::210987654321:role/OrganizationAccountAccessRole" \
        in steps["profiles"]
    assert ("https://signin.aws.amazon.com/switchrole?account=210987654321"
            "&roleName=OrganizationAccountAccessRole&displayName=analytics") in steps["profiles"]
    # the pointed shell never saw a secret printed
    info = (work / "orgsync-tutorial" / "sandbox.json").read_text()
    secret = re.search(r'"secret_access_key": "([^"]+)"', info)
    assert secret is not None and secret.group(1) not in output


def _sandbox_log(work: Path) -> str:
    log = work / "orgsync-tutorial" / "sandbox.log"
    return f"sandbox.log:\n{log.read_text()}" if log.exists() else "(no sandbox.log)"
