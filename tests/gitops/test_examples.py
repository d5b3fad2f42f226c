"""The GitHub Actions example, the pipeline roles' trust policies and the pre-commit hook.

The workflow cannot run here, so its test checks the properties the review flow depends on: which
events run what, OIDC instead of stored keys, a read-only role for pull requests, one comment found
by a hidden marker, the saved plan kept and the reviewed one applied, one apply at a time. The
pre-commit hook is run for real: its entry, as pre-commit would run it, over good and bad files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.desired_files import HEADER

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "github-actions"

GOOD = HEADER + """accounts:
  - name: prod
    email: aws+prod@example.com
"""
BAD = HEADER + """accounts:
  - name: prod
    email: bob@
"""


def _workflow() -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / "orgsync.yml").read_text())
    assert isinstance(loaded, dict)
    # PyYAML reads the key "on" as True (YAML 1.1).
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in _steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in _steps(job))


def test_workflow_triggers_and_jobs() -> None:
    workflow = _workflow()
    assert set(workflow["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert "pull_request" in jobs["plan"]["if"]
    assert "push" in jobs["apply"]["if"]


def test_pull_request_job_validates_plans_comments_once_and_keeps_the_plan() -> None:
    job = _workflow()["jobs"]["plan"]
    assert job["permissions"]["id-token"] == "write"
    assert job["permissions"]["pull-requests"] == "write"
    runs = _runs(job)
    assert "orgsync validate" in runs
    assert re.search(r"orgsync plan .*--out out/plan\.json --format markdown", runs)
    credentials = _uses(job, "aws-actions/configure-aws-credentials")
    assert credentials and credentials[0]["with"]["role-to-assume"] == \
        "${{ vars.ORGSYNC_PLAN_ROLE_ARN }}"
    script = _uses(job, "actions/github-script")[0]["with"]["script"]
    assert "updateComment" in script and "createComment" in script
    assert "startsWith(marker)" in script
    assert _workflow()["env"]["PLAN_MARKER"].startswith("<!--")
    upload = _uses(job, "actions/upload-artifact")[0]["with"]
    assert upload["name"] == "orgsync-plan-${{ github.event.pull_request.head.sha }}"
    assert "out/plan.json" in upload["path"] and "out/accounts.yaml" in upload["path"]


def test_apply_job_applies_the_reviewed_plan_alone_with_the_apply_role() -> None:
    job = _workflow()["jobs"]["apply"]
    assert job["concurrency"] == {"group": "orgsync-apply", "cancel-in-progress": False}
    assert job["environment"] == "orgsync-apply"
    assert job["permissions"]["id-token"] == "write"
    credentials = _uses(job, "aws-actions/configure-aws-credentials")[0]["with"]
    assert credentials["role-to-assume"] == "${{ vars.ORGSYNC_APPLY_ROLE_ARN }}"
    download = _uses(job, "actions/download-artifact")[0]["with"]
    assert download["run-id"] == "${{ steps.reviewed.outputs.run-id }}"
    runs = _runs(job)
    assert re.search(r"orgsync apply reviewed/plan\.json .*--auto-approve", runs)
    assert "cmp -s" in runs  # the merged file must be the one that was planned
    assert "--lock-timeout" in runs
    script = _uses(job, "actions/github-script")[0]["with"]["script"]
    assert "listPullRequestsAssociatedWithCommit" in script
    assert "orgsync-plan-${pr.head.sha}" in script


def test_no_long_lived_aws_keys_anywhere_in_the_workflow() -> None:
    text = (EXAMPLES / "orgsync.yml").read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in text and "aws-secret-access-key" not in text
    assert "secrets." not in text


def test_trust_policies_trust_only_github_oidc_for_one_repository() -> None:
    plan = json.loads((EXAMPLES / "plan-role-trust-policy.json").read_text())
    apply = json.loads((EXAMPLES / "apply-role-trust-policy.json").read_text())
    for document in (plan, apply):
        (statement,) = document["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(
            ":oidc-provider/token.actions.githubusercontent.com")
        equals = statement["Condition"]["StringEquals"]
        assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    plan_subjects = plan["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"]
    assert "repo:OWNER/REPO:pull_request" in plan_subjects
    assert apply["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] == "repo:OWNER/REPO:environment:orgsync-apply"
    environment = _workflow()["jobs"]["apply"]["environment"]
    assert apply["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"].endswith(f":environment:{environment}")


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "orgsync-validate"]
    return dict(hook)


def test_pre_commit_hook_matches_accounts_files_only() -> None:
    pattern = re.compile(_hook()["files"])
    for name in ("accounts.yaml", "accounts.yml", "org/accounts.yaml"):
        assert pattern.search(name), name
    for name in ("my-accounts.yaml", "accounts.yaml.bak", "accounts.json"):
        assert not pattern.search(name), name


def test_pre_commit_hook_entry_validates_every_file(tmp_path: Path) -> None:
    """Run the hook's entry the way pre-commit does (argv = entry + file names)."""
    hook = _hook()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    good = tmp_path / "a" / "accounts.yaml"
    bad = tmp_path / "b" / "accounts.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "orgsync"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m reconciler.cli \"$@\"\n")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    argv = shlex.split(hook["entry"])

    ok = subprocess.run([*argv, str(good)], env=env, capture_output=True, text=True,
                        timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run([*argv, str(good), str(bad)], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert failed.returncode == 1
    assert "email" in failed.stderr and str(bad) in failed.stderr
    assert "Traceback" not in failed.stderr
