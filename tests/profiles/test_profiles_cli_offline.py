"""``orgsync profiles`` through the real command line, offline (every account has an id).

The AWS settings point at a closed port with no credentials: any AWS call would fail, so these
tests also prove that profiles stays offline when the file gives every id.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.profiles import BLOCK_BEGIN
from tests.desired_files import HEADER

ACCOUNTS = HEADER + """\
accounts:
  - name: management
    email: aws+mgmt@example.com
    id: "123456789012"
  - name: Prod
    email: aws+prod@example.com
    id: "210987654321"
    access_role: {name: Admin}
  - name: legacy
    email: aws+legacy@example.com
    source: invited
    id: "310987654321"
  - name: old
    email: aws+old@example.com
    id: "410987654321"
    state: closed
"""


def orgsync(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_ENDPOINT_URL="http://127.0.0.1:9", NO_COLOR="1",
               AWS_CONFIG_FILE=str(home / "nonexistent-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "nonexistent-credentials"))
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    (tmp_path / "accounts.yaml").write_text(ACCOUNTS)
    return tmp_path


def test_ini_to_stdout(home: Path) -> None:
    result = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--source-profile", "mgmt",
                     "--region", "eu-west-1", "--prefix", "acme-", home=home)
    assert result.returncode == 0, result.stderr
    parser = configparser.RawConfigParser()
    parser.read_string(result.stdout)
    assert parser.sections() == ["profile acme-prod", "profile acme-legacy"]
    assert parser["profile acme-prod"]["role_arn"] == "arn:aws:iam::210987654321:role/Admin"
    assert parser["profile acme-legacy"]["source_profile"] == "mgmt"
    assert parser["profile acme-legacy"]["region"] == "eu-west-1"


def test_links_and_markdown(home: Path) -> None:
    links = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--format", "links",
                    home=home)
    assert links.returncode == 0, links.stderr
    assert links.stdout.splitlines() == [
        "https://signin.aws.amazon.com/switchrole?account=210987654321&roleName=Admin"
        "&displayName=Prod",
        "https://signin.aws.amazon.com/switchrole?account=310987654321"
        "&roleName=OrganizationAccountAccessRole&displayName=legacy",
    ]
    table = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--format", "links",
                    "--markdown", home=home)
    assert table.returncode == 0 and table.stdout.count("\n") == 4


def test_write_twice_one_block_and_removed_account_loses_profile(home: Path) -> None:
    config = home / "aws-config"
    config.write_text("[default]\nregion = us-east-2\n\n[profile mine]\nregion = us-west-1\n")
    os.chmod(config, 0o600)
    for _ in range(2):
        result = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--write",
                         "--config-file", str(config), home=home)
        assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert text.count(BLOCK_BEGIN) == 1
    assert "[profile prod]" in text and "[profile legacy]" in text
    (home / "accounts.yaml").write_text(ACCOUNTS.replace(
        '  - name: legacy\n    email: aws+legacy@example.com\n    source: invited\n'
        '    id: "310987654321"\n', ""))
    result = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--write",
                     "--config-file", str(config), home=home)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert "[profile legacy]" not in text and "[profile prod]" in text
    assert text.startswith("[default]\nregion = us-east-2\n\n[profile mine]\nregion = us-west-1\n")
    assert (config.stat().st_mode & 0o777) == 0o600


def test_write_uses_aws_config_file_and_refuses_clash(home: Path) -> None:
    config = home / "nonexistent-config"  # what AWS_CONFIG_FILE names in orgsync()
    config.write_text("[profile prod]\nregion = us-east-2\n")
    result = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--write", home=home)
    assert result.returncode == 1
    assert "profile 'prod' exists outside orgsync's block" in result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_text() == "[profile prod]\nregion = us-east-2\n"


def test_write_needs_ini(home: Path) -> None:
    result = orgsync("profiles", "-f", str(home / "accounts.yaml"), "--write", "--format",
                     "links", home=home)
    assert result.returncode == 1 and "--write" in result.stderr
