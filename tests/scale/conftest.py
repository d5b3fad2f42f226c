"""Fixtures for the scale tests: the benchmark's own sandbox process, and in-process plans.

These tests use ``benchmarks/plan_scale.py``'s harness (so that the benchmark and the tests seed and
describe organizations the same way): a sandbox in its own process, seeded through CreateAccount
over HTTP, with centralized root access on before any account exists.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import plan_scale  # noqa: E402


@pytest.fixture
def scale_sandbox(tmp_path: Path) -> Iterator[plan_scale.SandboxProcess]:
    """A fresh sandbox process with root access features on and IAM users alice and bob."""
    with plan_scale.sandbox_process(tmp_path) as sb:
        plan_scale.prepare_organization(sb)
        yield sb


@pytest.fixture
def plan_in_process(scale_sandbox: plan_scale.SandboxProcess,
                    monkeypatch: pytest.MonkeyPatch) -> Any:
    """``plan_in_process(file, parallelism=8) -> PlanRun``: the CLI's ``build_plan`` in this
    process, against the scale sandbox, with only the sandbox's credentials in the environment."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in scale_sandbox.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)

    def run(file: Path, *, parallelism: int = 8) -> Any:
        from reconciler.options import GlobalOptions
        from reconciler.pipeline import build_plan

        opts = GlobalOptions(endpoint_url=scale_sandbox.endpoint, color=False)
        return build_plan(opts, file=str(file), parallelism=parallelism, progress=False)

    return run
