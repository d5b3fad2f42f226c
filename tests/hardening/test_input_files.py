"""The desired-state file is read one way by every command (issue 19): a CRLF or BOM file plans
and applies like its LF twin (a saved plan of it is not "stale"), ``-f -`` reads standard input
once, ``-f /dev/stdin`` is not "changed while read", and special files end in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import output
from tests.desired_files import HEADER

SIMPLE = HEADER + """\
accounts:
  - name: app
    email: aws+app@example.com
    ou: /Workloads
    tags: {team: apps}
"""


@pytest.mark.parametrize("encoding", ["crlf", "bom", "bom_crlf"])
def test_saved_plan_of_a_crlf_or_bom_file_applies(tmp_path: Path, orgsync: Any,
                                                  aws_env: dict[str, str], encoding: str) -> None:
    raw = SIMPLE.encode()
    if "crlf" in encoding:
        raw = raw.replace(b"\n", b"\r\n")
    if "bom" in encoding:
        raw = b"\xef\xbb\xbf" + raw
    (tmp_path / "accounts.yaml").write_bytes(raw)
    saved = orgsync("plan", "--out", "plan.json", env=aws_env, cwd=tmp_path)
    assert saved.returncode == 0, output(saved)
    applied = orgsync("apply", "plan.json", "--auto-approve", env=aws_env, cwd=tmp_path)
    assert applied.returncode == 0, output(applied)
    assert "stale" not in applied.stderr and "\nconverged:" in applied.stdout, output(applied)


def test_plan_digest_is_the_same_for_lf_crlf_and_bom(tmp_path: Path) -> None:
    from reconciler.config import read_source

    digests = set()
    for name, raw in (("lf", SIMPLE.encode()), ("crlf", SIMPLE.encode().replace(b"\n", b"\r\n")),
                      ("bom", b"\xef\xbb\xbf" + SIMPLE.encode())):
        (tmp_path / name).write_bytes(raw)
        source = read_source(tmp_path / name)
        assert source.text == SIMPLE
        digests.add(source.sha256)
    assert len(digests) == 1


def test_dash_reads_standard_input_once(tmp_path: Path, orgsync: Any,
                                        aws_env: dict[str, str]) -> None:
    plan = orgsync("plan", "-f", "-", "--format", "json", input=SIMPLE, env=aws_env,
                   cwd=tmp_path)
    assert plan.returncode == 0, output(plan)
    assert "account.app" in [c["address"] for c in json.loads(plan.stdout)["changes"]]
    # apply reads the file before the lock and plans from it after: still one read
    applied = orgsync("apply", "-f", "-", "--auto-approve", input=SIMPLE, env=aws_env,
                      cwd=tmp_path)
    assert applied.returncode == 0, output(applied)
    assert "\nconverged:" in applied.stdout, output(applied)
    bad = orgsync("validate", "-f", "-", input="version: 1\nacounts: []\n", env=aws_env)
    assert bad.returncode == 1
    assert any(line.startswith("<stdin>:2:1: acounts: unknown key")
               for line in bad.stderr.splitlines()), bad.stderr


def test_dev_stdin_is_not_changed_while_read(tmp_path: Path, aws_env: dict[str, str]) -> None:
    with open(tmp_path / "accounts.yaml", "w", encoding="utf-8") as stream:
        stream.write(SIMPLE)
    with open(tmp_path / "accounts.yaml", encoding="utf-8") as stdin:
        done = subprocess.run([sys.executable, "-m", "reconciler.cli", "plan", "-f",
                               "/dev/stdin"], stdin=stdin, capture_output=True, text=True,
                              env=aws_env, timeout=120, check=False)
    assert done.returncode == 0, output(done)
    assert "changed while" not in done.stderr
    assert "+ account.app (create)" in done.stdout


def test_a_fifo_with_a_writer_is_read_once(tmp_path: Path, aws_env: dict[str, str]) -> None:
    """``-f <(sops -d accounts.enc.yaml)``: a pipe with a writer is read to its end."""
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m reconciler.cli validate '
                           f'-f <(printf %s "$DESIRED")'], capture_output=True, text=True,
                          env={**aws_env, "DESIRED": SIMPLE}, timeout=60, check=False)
    assert done.returncode == 0, output(done)
    assert "valid (1 account" in done.stdout
