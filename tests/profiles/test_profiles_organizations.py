"""One managed block per organization in the AWS config file: a second organization's
profiles never wipe the first's, each organization's stale profiles are pruned from its own
block only, and the unkeyed block of earlier orgsync versions is adopted by the organization
written next. Offline: files in a temp directory, the real CLI for the end-to-end case.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.config import load_text
from reconciler.profiles import BLOCK_BEGIN, ConfigFileError, render, replace_block


def org_file(management: str, *accounts: tuple[str, str]) -> str:
    lines = ["version: 1", "organization:", f'  management_account_id: "{management}"',
             "accounts:"]
    for name, account_id in accounts:
        lines += [f"  - name: {name}", f"    email: aws+{name}-{account_id}@example.com",
                  f'    id: "{account_id}"']
    return "\n".join(lines) + "\n"


FIRST = org_file("111111111111", ("prod", "210987654321"), ("dev", "310987654321"))
SECOND = org_file("222222222222", ("data", "410987654321"), ("lake", "510987654321"))


def block(text: str, *, prefix: str = "") -> str:
    return render(load_text(text, filename="accounts.yaml"), {}, source_profile="default",
                  prefix=prefix)


def sections(text: str) -> list[str]:
    parser = configparser.RawConfigParser()
    parser.read_string(text)  # strict: a duplicated profile would raise
    return parser.sections()


USER = "[default]\nregion = eu-central-1\n"


def test_two_organizations_keep_both_blocks() -> None:
    both = replace_block(replace_block(USER, block(FIRST)), block(SECOND))
    assert sections(both) == ["default", "profile prod", "profile dev", "profile data",
                              "profile lake"]
    assert both.count(BLOCK_BEGIN) == 2
    assert "(organization 111111111111; from" in both and "(organization 222222222222; from" \
        in both
    # Writing the first organization again changes nothing, in place.
    assert replace_block(both, block(FIRST)) == both


def test_pruning_removes_only_that_organizations_stale_profiles() -> None:
    both = replace_block(replace_block(USER, block(FIRST)), block(SECOND))
    pruned = replace_block(both, block(org_file("111111111111", ("prod", "210987654321"))))
    assert sections(pruned) == ["default", "profile prod", "profile data", "profile lake"]
    pruned_second = replace_block(pruned, block(org_file("222222222222",
                                                         ("lake", "510987654321"))))
    assert sections(pruned_second) == ["default", "profile prod", "profile lake"]
    # The first organization's block is where it was, byte for byte.
    first_block = pruned[pruned.index(BLOCK_BEGIN):pruned.index("(organization 111111111111)")]
    assert first_block in pruned_second


def test_unkeyed_block_of_earlier_versions_is_adopted() -> None:
    old_block = ("# BEGIN orgsync managed profiles (from accounts.yaml; orgsync rewrites this "
                 "block)\n[profile legacy]\nrole_arn = arn:aws:iam::610987654321:role/X\n"
                 "source_profile = default\n\n# END orgsync managed profiles\n")
    existing = USER + "\n" + old_block + "\n[profile after]\nregion = us-west-2\n"
    adopted = replace_block(existing, block(FIRST))
    assert sections(adopted) == ["default", "profile prod", "profile dev", "profile after"]
    assert adopted.count(BLOCK_BEGIN) == 1 and "(organization 111111111111" in adopted
    # The next organization gets a block of its own, the adopted one stays.
    assert sections(replace_block(adopted, block(SECOND)))[-2:] == ["profile data",
                                                                    "profile lake"]


def test_a_name_in_another_organizations_block_is_refused() -> None:
    first = replace_block(USER, block(FIRST))
    clash = org_file("222222222222", ("prod", "410987654321"))
    with pytest.raises(ConfigFileError, match=r"profile 'prod' belongs to organization "
                       r"111111111111's orgsync block; choose another --prefix"):
        replace_block(first, block(clash))
    both = replace_block(first, block(clash, prefix="second-"))
    assert sections(both)[-1] == "profile second-prod"


def test_an_end_marker_of_another_organization_is_refused() -> None:
    broken = block(FIRST).replace("(organization 111111111111)", "(organization 222222222222)")
    with pytest.raises(ConfigFileError, match="of organization 222222222222 closes the block "
                       "of line 1; fix the file by hand"):
        replace_block(broken, block(SECOND))


def test_two_organizations_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text(FIRST)
    (tmp_path / "second.yaml").write_text(SECOND)
    config = tmp_path / "aws-config"
    config.write_text(USER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_ENDPOINT_URL="http://127.0.0.1:9", NO_COLOR="1")

    def write(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler.cli", "profiles", "-f",
                               str(tmp_path / name), "--write", "--config-file", str(config)],
                              env=env, capture_output=True, text=True, timeout=60, check=False)

    for name in ("first.yaml", "second.yaml"):
        result = write(name)
        assert result.returncode == 0, result.stderr
    assert "of organization 222222222222 written to" in result.stderr
    assert sections(config.read_text()) == ["default", "profile prod", "profile dev",
                                            "profile data", "profile lake"]
    (tmp_path / "first.yaml").write_text(org_file("111111111111", ("dev", "310987654321")))
    assert write("first.yaml").returncode == 0
    assert sections(config.read_text()) == ["default", "profile dev", "profile data",
                                            "profile lake"]
