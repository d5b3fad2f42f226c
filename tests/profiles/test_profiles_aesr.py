"""``orgsync profiles --format aesr``: the aws-extend-switch-roles configuration, read back with
the extension's own INI dialect and matched against the file's accounts and roles.

``parse_aesr`` follows the extension's parser (github.com/tilfinltd/aesr-config,
``src/ini-parser.ts`` and ``src/config-loader.ts``): ``;`` or ``#`` starts a comment anywhere in a
line, a ``[name]`` header starts a profile (``profile `` stripped), a key may appear once, a value
may not be empty, ``role_arn`` or ``aws_account_id`` is required, a profile named by a target's
``source_profile`` is a base account and every ``source_profile`` must name a defined profile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.profiles_aesr import generate  # the benchmark's organizations, smaller
from reconciler.aesr import SYNC_LIMIT, color_for, compressed_size
from reconciler.config import load_text
from reconciler.errors import OrgsyncError
from reconciler.profiles import render
from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT

ACCOUNTS = HEADER + MANAGEMENT_ACCOUNT + """\
  - name: "R&D; lab #1"
    email: aws+rnd@example.com
    id: "210987654321"
    ou: /Research
    tags: {env: dev}
  - name: prod
    email: aws+prod@example.com
    id: "310987654321"
    ou: /Workloads/Prod
    tags: {env: prod}
    access_role: {name: Admin}
  - name: prod-eu
    email: aws+prod-eu@example.com
    id: "410987654321"
    ou: /Workloads/Prod
groups:
  - name: readers
    members: [bob]
    assume:
      - accounts: ["*"]
        role: ReadOnly
"""


def parse_aesr(text: str) -> dict[str, Any]:
    """The extension's parse of ``text``: {"singles": [...], "complexes": [{..., "targets"}]}."""
    items: list[dict[str, str]] = []
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = re.sub(r"[;#].*$", "", raw).strip()
        if not line:
            continue
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            items.append({"name": re.sub(r"^profile\s+", "", header.group(1).strip(),
                                         flags=re.IGNORECASE)})
            continue
        assert items, f"line {number}: Unexpected text"
        key, _, value = (part.strip() for part in line.partition("="))
        assert value, f"line {number}: Invalid parameter definition"
        assert key not in items[-1], f"line {number}: the `{key}` parameter is duplicated"
        items[-1][key] = value
    for item in items:
        if "role_arn" in item:
            assert "aws_account_id" not in item and "role_name" not in item
            prefix, _, item["role_name"] = item.pop("role_arn").partition("/")
            item["aws_account_id"] = prefix.split(":")[4]
        assert item.get("aws_account_id"), f"{item['name']}: no AWS account id"
    targets: dict[str, list[dict[str, str]]] = {}
    for item in items:
        if "source_profile" in item:
            targets.setdefault(item.pop("source_profile"), []).append(item)
    by_name = {item["name"]: item for item in items}
    assert set(targets) <= set(by_name), "source_profile names an undefined profile"
    complexes = [{**by_name[name], "targets": found} for name, found in targets.items()]
    singles = [item for item in items if item["name"] not in targets
               and all(item not in found for found in targets.values())]
    for base in complexes:
        for target in base["targets"]:
            assert target.get("role_name") or base.get("target_role_name")
    return {"singles": singles, "complexes": complexes}


def desired() -> Any:
    return load_text(ACCOUNTS, filename="accounts.yaml")


def test_parsed_back_matches_accounts_and_roles() -> None:
    parsed = parse_aesr(render(desired(), {}, fmt="aesr"))
    assert parsed["singles"] == []
    (base,) = parsed["complexes"]
    assert base["name"] == "organization-123456789012"
    assert base["aws_account_id"] == "123456789012"  # the account the users sign in to
    assert "role_name" not in base  # any role or user of the management account
    default_role = base["target_role_name"]
    assert default_role == "OrganizationAccountAccessRole"
    reached = [(t["name"], t["aws_account_id"], t.get("role_name", default_role))
               for t in base["targets"]]
    assert reached == [
        ("R&D lab 1", "210987654321", "OrganizationAccountAccessRole"),
        ("R&D lab 1-ReadOnly", "210987654321", "ReadOnly"),
        ("prod", "310987654321", "Admin"),
        ("prod-ReadOnly", "310987654321", "ReadOnly"),
        ("prod-eu", "410987654321", "OrganizationAccountAccessRole"),
        ("prod-eu-ReadOnly", "410987654321", "ReadOnly"),
    ]


def test_colours_per_ou_and_per_tag() -> None:
    by_ou = {t["name"]: t.get("color") for t in
             parse_aesr(render(desired(), {}, fmt="aesr"))["complexes"][0]["targets"]}
    assert all(re.fullmatch(r"[0-9a-f]{6}", c or "") for c in by_ou.values())
    assert by_ou["prod"] == by_ou["prod-eu"] == by_ou["prod-eu-ReadOnly"] \
        == color_for("ou:/Workloads/Prod")
    assert by_ou["R&D lab 1"] != by_ou["prod"]
    by_tag = {t["name"]: t.get("color") for t in parse_aesr(
        render(desired(), {}, fmt="aesr", color_by="tag:env"))["complexes"][0]["targets"]}
    assert by_tag["prod"] == color_for("tag:env=prod")
    assert by_tag["R&D lab 1"] == color_for("tag:env=dev") != by_tag["prod"]
    assert by_tag["prod-eu"] is None  # no env tag: no colour line at all


def test_group_and_template() -> None:
    text = render(desired(), {}, fmt="aesr", group="readers",
                  name_template="{account} ({role})")
    targets = parse_aesr(text)["complexes"][0]["targets"]
    assert [(t["name"], t["role_name"]) for t in targets] == [
        ("R&D lab 1 (ReadOnly)", "ReadOnly"), ("prod (ReadOnly)", "ReadOnly"),
        ("prod-eu (ReadOnly)", "ReadOnly")]


def test_bad_color_by() -> None:
    with pytest.raises(OrgsyncError, match="--color-by 'owner': use ou or tag:KEY"):
        render(desired(), {}, fmt="aesr", color_by="owner")


# lz-string 1.5.0's compressToUTF16(text).length, computed with the JavaScript library (node).
LZ_VECTORS = [("", 2), ("a", 2), ("ab", 3), ("aaaa", 3), ("hello world hello world", 11),
              ("é€😀 mixed ünïcode", 17),
              ("[prod]\naws_account_id = 210987654321\nrole_name = Admin\n" * 20, 184)]


@pytest.mark.parametrize(("text", "length"), LZ_VECTORS)
def test_compressed_size_is_lz_strings(text: str, length: int) -> None:
    assert compressed_size(text) == length


def orgsync(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_ENDPOINT_URL="http://127.0.0.1:9", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "reconciler.cli", "profiles", *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_cli_warns_past_the_sync_storage_limit(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(generate(20, 1))
    small = orgsync(tmp_path, "-f", str(tmp_path / "small.yaml"), "--format", "aesr")
    assert small.returncode == 0 and small.stderr == ""
    assert len(parse_aesr(small.stdout)["complexes"][0]["targets"]) == 40
    (tmp_path / "big.yaml").write_text(generate(600, 5))
    big = orgsync(tmp_path, "-f", str(tmp_path / "big.yaml"), "--format", "aesr")
    assert big.returncode == 0, big.stderr
    size = compressed_size(big.stdout)
    assert size > SYNC_LIMIT
    assert big.stderr == (f"orgsync: warning: this configuration takes {size} characters "
                          f"compressed, over the {SYNC_LIMIT} the extension can keep in the "
                          "browser's sync storage: set its \"Configuration storage\" to local "
                          "before pasting, or use --group to paste less\n")
    assert len(parse_aesr(big.stdout)["complexes"][0]["targets"]) == 3600


def test_cli_refusals(tmp_path: Path) -> None:
    (tmp_path / "accounts.yaml").write_text(ACCOUNTS)
    file = str(tmp_path / "accounts.yaml")
    for args, message in [
        (("--format", "aesr", "--write"), "--write updates the AWS config file: it needs "
                                          "--format ini"),
        (("--color-by", "tag:env"), "--color-by goes with --format aesr"),
        (("--group", "nobody"), "--group 'nobody': no such group"),  # before any AWS read
    ]:
        result = orgsync(tmp_path, "-f", file, *args)
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""
