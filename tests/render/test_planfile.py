"""Saved plans: round trip, refusal of altered/unreadable files, HMAC signing, nothing secret,
and ``orgsync show`` rendering one through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import planfile
from reconciler.errors import Refusal
from reconciler.model import DesiredState, OrganizationSpec, RootCredentialsSpec
from reconciler.observed import ObservedAccount, ObservedOrganization, ObservedState
from reconciler.plan import Action, Change, Plan

DESIRED_TEXT = "version: 1\norganization:\n  management_account_id: '123456789012'\n"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _inputs() -> tuple[Plan, DesiredState, ObservedState]:
    change = Change(kind="account", key="prod", action=Action.CLOSE,
                    before={"id": "210000000001", "state": "ACTIVE"},
                    after={"id": "210000000001", "state": "closed"}, reason="closed",
                    destructive=True)
    plan = Plan(management_account_id="123456789012", changes=(change,))
    desired = DesiredState(OrganizationSpec("123456789012"), RootCredentialsSpec(None), (), (),
                           source_file="accounts.yaml")
    observed = ObservedState(
        organization=ObservedOrganization("o-1", "arn", "ALL", "123456789012", "r-1"),
        accounts=(ObservedAccount("210000000001", "prod", "aws+prod@example.com", "ACTIVE",
                                  "CREATED", "r-1", "/"),))
    return plan, desired, observed


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(planfile.KEY_ENV, raising=False)
    plan, desired, observed = _inputs()
    path = tmp_path / "plan.json"
    planfile.save(path, plan=plan, desired=desired, desired_text=DESIRED_TEXT, observed=observed)
    return path


def test_round_trip(saved: Path) -> None:
    plan, _, observed = _inputs()
    loaded = planfile.load(saved)
    assert loaded.plan.changes == plan.changes
    assert loaded.desired_text == DESIRED_TEXT
    assert loaded.desired_file == "accounts.yaml"
    assert loaded.observed_fingerprint == observed.fingerprint()
    data = json.loads(saved.read_text())
    assert data["checksum"].startswith("sha256:")
    assert data["changes"][0]["address"] == "account.prod"  # the contract's plan document


@pytest.mark.parametrize("edit", [
    lambda d: d["changes"][0]["after"].update(id="999999999999"),
    lambda d: d.update(observed_fingerprint="sha256:0"),
    lambda d: d["desired"].update(content=d["desired"]["content"] + "# edit\n"),
    lambda d: d["changes"].append(dict(d["changes"][0], key="other")),
    lambda d: d.update(checksum="sha256:" + "0" * 64),
])
def test_altered_plan_is_refused(saved: Path, edit: object) -> None:
    data = json.loads(saved.read_text())
    edit(data)  # type: ignore[operator]
    saved.write_text(json.dumps(data))
    with pytest.raises(Refusal, match="altered"):
        planfile.load(saved)


@pytest.mark.parametrize("content,reason", [
    ("{not json", "not a saved plan"),
    ('{"changes": []}', "not a saved orgsync plan"),
    ("", "not a saved plan"),
])
def test_unreadable_plan_is_refused(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(Refusal, match=reason):
        planfile.load(path)
    with pytest.raises(Refusal, match="cannot read"):
        planfile.load(tmp_path / "missing.json")


def test_hmac_signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, desired, observed = _inputs()
    path = tmp_path / "signed.json"
    monkeypatch.setenv(planfile.KEY_ENV, SECRET)
    planfile.save(path, plan=plan, desired=desired, desired_text=DESIRED_TEXT, observed=observed)
    text = path.read_text()
    assert SECRET not in text
    assert json.loads(text)["checksum"].startswith("hmac-sha256:")
    assert planfile.load(path).plan.changes == plan.changes
    monkeypatch.setenv(planfile.KEY_ENV, "another key")
    with pytest.raises(Refusal, match="altered"):
        planfile.load(path)
    monkeypatch.delenv(planfile.KEY_ENV)
    with pytest.raises(Refusal, match="signed"):
        planfile.load(path)


def test_unsigned_plan_refused_when_a_key_is_set(saved: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(planfile.KEY_ENV, SECRET)
    with pytest.raises(Refusal, match="not signed"):
        planfile.load(saved)


def _orgsync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from reconciler.cli import main; main()",
                           *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})})


def test_show_renders_a_saved_plan(saved: Path) -> None:
    result = _orgsync("show", str(saved))
    assert result.returncode == 0, result.stderr
    assert "- account.prod (close)" in result.stdout
    assert "!! DESTRUCTIVE" in result.stdout
    assert "\x1b[" not in result.stdout
    markdown = _orgsync("show", str(saved), "--format", "markdown")
    assert markdown.returncode == 0 and "[!CAUTION]" in markdown.stdout
    as_json = _orgsync("show", str(saved), "--format", "json")
    assert json.loads(as_json.stdout)["changes"][0]["action"] == "close"


def test_show_refuses_an_altered_plan_in_one_line(saved: Path) -> None:
    data = json.loads(saved.read_text())
    data["changes"][0]["destructive"] = False
    saved.write_text(json.dumps(data))
    result = _orgsync("show", str(saved))
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "altered" in result.stderr and "Traceback" not in result.stderr


def test_a_plan_nested_100000_deep_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(Refusal, match=r"is not a saved plan \(nested too deeply\)$"):
        planfile.load(path)
    nested = '{"a":' * 100_000 + "1" + "}" * 100_000
    path.write_text(nested)
    with pytest.raises(Refusal, match=r"nested too deeply"):
        planfile.load(path)


def test_show_of_a_deep_plan_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "show", str(path)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (f"orgsync: error: the plan file {path} is not a saved plan (nested "
                           "too deeply)\n")
