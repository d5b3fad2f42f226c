"""An AWS error reaches the user as one line, and with ``--debug`` as a traceback whose cause is
what botocore said (orgsync's errors chain the SDK's instead of dropping it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILE = 'version: 1\norganization:\n  management_account_id: "123456789012"\naccounts: []\n'


def test_debug_shows_what_aws_said_and_the_one_line_stays(tmp_path: Path, orgsync: Any,
                                                          aws_env: dict[str, str]) -> None:
    (tmp_path / "accounts.yaml").write_text(FILE)
    secret = "wrong/secret/key/for/the/sandbox/000000"
    env = {**aws_env, "AWS_SECRET_ACCESS_KEY": secret, "AWS_MAX_ATTEMPTS": "1"}
    plain = orgsync("plan", env=env, cwd=tmp_path)
    debug = orgsync("plan", "--debug", env=env, cwd=tmp_path)
    assert plain.returncode == debug.returncode == 1
    assert plain.stderr.count("\n") == 1, plain.stderr
    assert plain.stderr.startswith("orgsync: error: ") and "Traceback" not in plain.stderr
    cause, found, orgsyncs = debug.stderr.partition("direct cause of the following exception")
    assert found, debug.stderr
    assert "botocore" in cause and "Traceback" in cause, debug.stderr
    assert "reconciler.errors" in orgsyncs, debug.stderr
    assert secret not in plain.stderr + debug.stderr
