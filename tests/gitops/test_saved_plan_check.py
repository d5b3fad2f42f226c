"""The saved-plan check as a library result (``reconciler.pipeline.check_saved_plan``): a plan
saved against the sandbox is either made again (the world is as it was) or stale, with why and
what differs; ``orgsync apply PLANFILE`` only words and prints this (its refusals end to end:
tests/e2e/test_cli_saved_plans_region_signals.py, tests/hardening)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler import planfile
from reconciler.aws import Aws
from reconciler.options import GlobalOptions
from reconciler.pipeline import build_plan, check_saved_plan

FILE = """\
version: 1
organization:
  management_account_id: "123456789012"
accounts:
  - name: prod
    email: aws+prod@example.com
    ou: /Workloads
  - name: dev
    email: aws+dev@example.com
    ou: /Workloads
"""


def test_a_saved_plan_is_made_again_or_stale_with_its_differences(
        sandbox_process_env: Any, tmp_path: Path) -> None:
    sandbox = sandbox_process_env
    source = tmp_path / "accounts.yaml"
    source.write_text(FILE)
    aws = Aws(endpoint_url=sandbox.info.endpoint_url, parallelism=2)
    made = build_plan(GlobalOptions(), file=str(source), aws=aws, progress=False)
    planfile.save(tmp_path / "plan.json", plan=made.plan, desired=made.desired,
                  desired_text=made.desired_text, observed=made.observed)
    saved = planfile.load(tmp_path / "plan.json")
    addresses = [c.address for c in saved.plan.changes]
    assert addresses[:3] == ["ou./Workloads", "account.dev", "account.prod"]

    # nothing changed: the plan made again, from the saved text, is the saved plan
    check = check_saved_plan(saved, aws, file=None, parallelism=2)
    assert check.stale is None and check.missing_file is None and not check.differences
    assert check.run is not None and check.compared_file == str(source)
    assert check.run.plan.to_document()["changes"] == saved.plan.to_document()["changes"]
    assert check.run.desired_text == FILE

    # -f names a file that is not there: nothing compared, nothing read
    gone = check_saved_plan(saved, aws, file=str(tmp_path / "nowhere.yaml"), parallelism=2)
    assert gone.run is None and gone.missing_file == str(tmp_path / "nowhere.yaml")

    # -f names a file that differs from the one the plan was made from: line by line
    edited = tmp_path / "edited.yaml"
    edited.write_text(FILE.replace("aws+dev@", "aws+dev2@"))
    changed = check_saved_plan(saved, aws, file=str(edited), parallelism=2)
    assert (changed.run, changed.stale, changed.compared_file) == (None, "file", str(edited))
    assert [(d["attribute"], d["before"], d["after"]) for d in changed.differences] == [
        ("line 9", "    email: aws+dev@example.com", "    email: aws+dev2@example.com")]

    # the same world, but the saved plan lists other changes than planning again gives
    fewer = replace(saved, plan=replace(saved.plan, changes=saved.plan.changes[:1]))
    differs = check_saved_plan(fewer, aws, file=None, parallelism=2)
    assert differs.run is None and differs.stale == "plan"
    assert {(d["address"], d["attribute"], d["before"], d["after"])
            for d in differs.differences} == {
        (f"{c.address} ({c.action.value})", "(planned)", False, True)
        for c in saved.plan.changes[1:]}

    # something observed changed out of band: named by address
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    org.create_organizational_unit(ParentId=root, Name="Workloads")
    moved = check_saved_plan(saved, aws, file=None, parallelism=2)
    assert moved.run is None and moved.stale == "organization"
    assert {"address": "ou./Workloads", "attribute": "(exists)", "before": False,
            "after": True} in moved.differences
