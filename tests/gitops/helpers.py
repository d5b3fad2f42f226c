"""Running the ``orgsync`` command line as a user (or a CI job) would: a subprocess.

``env`` is a complete environment (the ``aws_env`` fixture for runs against the sandbox; the
current environment when None); ``extra_env`` is merged over it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(env: Mapping[str, str] | None, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    """``env`` plus ``extra_env``, no colour, and this checkout's code first on PYTHONPATH
    (whatever the working directory)."""
    merged = {**(os.environ if env is None else env), **(extra_env or {}), "NO_COLOR": "1"}
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                         merged.get("PYTHONPATH")]))
    return merged


def orgsync(args: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | Path | None = None, timeout: float = 300,
            extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``orgsync ARGS`` in a fresh interpreter and wait for it."""
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args],
                          env=_env(env, extra_env), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def start_orgsync(args: Sequence[str], *, env: Mapping[str, str] | None = None,
                  cwd: str | Path | None = None,
                  extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``orgsync ARGS`` without waiting (for runs that must overlap)."""
    return subprocess.Popen([sys.executable, "-m", "reconciler.cli", *args],
                            env=_env(env, extra_env), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
