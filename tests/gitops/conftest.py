"""Session-wide AWS call recording for the permissions coverage test.

When this folder is collected, ``ORGSYNC_CALL_LOG`` is pointed at a file for the whole session
(unless already set), so every ``orgsync`` subprocess that inherits the environment (the
``aws_env`` fixture copies it) appends its calls there; ``test_call_coverage`` checks them and is
moved to the end of the run so that it sees the rest of the session.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest

_ENV = "ORGSYNC_CALL_LOG"
_OWNED = "_ORGSYNC_CALL_LOG_OWNED_BY_GITOPS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "call_coverage_last: run after every other test")
    if os.environ.get(_ENV):
        return
    handle, path = tempfile.mkstemp(prefix="orgsync-calls-", suffix=".jsonl")
    os.close(handle)
    os.environ[_ENV] = path
    os.environ[_OWNED] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.pop(_OWNED, None)
    if path and os.environ.get(_ENV) == path:
        os.environ.pop(_ENV, None)
        with contextlib.suppress(OSError):
            os.unlink(path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker("call_coverage_last")]
    if last:
        items[:] = [item for item in items if item not in last] + last
