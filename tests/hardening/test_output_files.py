"""Output files are written one way (issue 19): ``plan --out`` never replaces the desired-state
file, ``export --out`` replaces an existing file only with ``--force``, a symbolic link stays a
link, and a FIFO or device is written into rather than replaced by a regular file."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.outfile import OutputError, write_output
from tests.conftest import output
from tests.desired_files import HEADER

DESIRED = HEADER + """\
accounts: []
"""


def test_plan_out_onto_the_desired_state_file_is_refused(tmp_path: Path, orgsync: Any,
                                                         aws_env: dict[str, str],
                                                         sandbox: Any) -> None:
    (tmp_path / "accounts.yaml").write_text(DESIRED)
    os.symlink("accounts.yaml", tmp_path / "link.yaml")
    sandbox.control.reset_counters()
    for out in ("accounts.yaml", "./accounts.yaml", "link.yaml"):
        result = orgsync("plan", "--out", out, env=aws_env, cwd=tmp_path)
        assert result.returncode == 1, output(result)
        assert result.stderr == (f"orgsync: error: --out {out} is the desired-state file (-f): "
                                 "refusing to replace it; choose another file name; nothing "
                                 "was written\n")
    assert (tmp_path / "accounts.yaml").read_text() == DESIRED
    assert sandbox.control.counters() == {}  # refused before any AWS access


def test_export_out_replaces_an_existing_file_only_with_force(tmp_path: Path, orgsync: Any,
                                                             aws_env: dict[str, str]) -> None:
    target = tmp_path / "accounts.yaml"
    target.write_text("# hand-written, with comments\n" + DESIRED)
    refused = orgsync("export", "--out", "accounts.yaml", env=aws_env, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == ("orgsync: error: --out accounts.yaml already exists: pass --force "
                              "to replace it (its content, comments included, would be lost); "
                              "nothing was written\n")
    assert target.read_text().startswith("# hand-written")
    forced = orgsync("export", "--out", "accounts.yaml", "--force", env=aws_env, cwd=tmp_path)
    assert forced.returncode == 0, output(forced)
    assert "management_account_id" in target.read_text()
    assert not target.read_text().startswith("# hand-written")
    fresh = orgsync("export", "--out", "new.yaml", env=aws_env, cwd=tmp_path)
    assert fresh.returncode == 0, output(fresh)


def test_out_through_a_symlink_keeps_the_link(tmp_path: Path, orgsync: Any,
                                              aws_env: dict[str, str]) -> None:
    (tmp_path / "accounts.yaml").write_text(DESIRED)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "current.json").write_text("old")
    os.chmod(tmp_path / "plans" / "current.json", 0o640)
    os.symlink("plans/current.json", tmp_path / "plan.json")
    result = orgsync("plan", "--out", "plan.json", env=aws_env, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert (tmp_path / "plan.json").is_symlink()
    assert json.loads((tmp_path / "plans" / "current.json").read_text())["format_version"] == "1"
    assert stat.S_IMODE(os.stat(tmp_path / "plans" / "current.json").st_mode) == 0o640
    assert [p.name for p in (tmp_path / "plans").iterdir()] == ["current.json"]  # no temp left


def test_out_into_a_fifo_writes_into_it(tmp_path: Path, orgsync: Any,
                                        aws_env: dict[str, str]) -> None:
    """The same path as ``--out /dev/stdout`` or ``/dev/null``: a special file stays special."""
    (tmp_path / "accounts.yaml").write_text(DESIRED)
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = orgsync("plan", "--out", str(fifo), env=aws_env, cwd=tmp_path)
    reader.join(30)
    assert result.returncode == 0, output(result)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(received[0])["format_version"] == "1"


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError) as caught:
        write_output(str(fifo), "x")
    assert str(caught.value) == f"{fifo}: cannot write: no process is reading it"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dev_null_stays_a_device() -> None:
    write_output("/dev/null", "plan")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_output(str(target), "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
