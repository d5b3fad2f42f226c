"""The real AWS CLI uses what ``orgsync profiles`` and ``orgsync assume`` produce, against the
sandbox: ``aws --profile <account> sts get-caller-identity`` answers as that account's access
role, through a generated profile, through ``eval "$(orgsync assume ...)"`` and through a
``credential_process`` profile that calls ``orgsync assume --credential-process``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from export.helpers import (
    aws_cli,
    base_env,
    create_account,
    run_cli,
    write_credentials,
)

from tests.desired_files import HEADER, MANAGEMENT_ACCOUNT

ACCOUNTS = HEADER + MANAGEMENT_ACCOUNT + """\
  - name: Web Shop            # created by orgsync: the file has no id, profiles looks it up
    email: aws+web@example.com
  - name: data
    email: aws+data@example.com
    access_role: {name: DataAdmin}
  - name: not-yet
    email: aws+not-yet@example.com
  - name: old
    email: aws+old@example.com
    id: "999999999999"
    state: closed
"""


@pytest.fixture()
def organization(sandbox: Any, tmp_path: Path) -> dict[str, str]:
    org = sandbox.client("organizations")
    ids = {
        "web": create_account(org, name="Web Shop", email="aws+web@example.com"),
        "data": create_account(org, name="data", email="aws+data@example.com",
                               RoleName="DataAdmin"),
    }
    (tmp_path / "accounts.yaml").write_text(ACCOUNTS)
    info = sandbox.info
    write_credentials(tmp_path, {"mgmt": (info.access_key_id, info.secret_access_key)})
    return ids


def cli_env(sandbox: Any, home: Path) -> dict[str, str]:
    """Only the endpoint and the config files: credentials come from the profiles."""
    env = base_env(sandbox, home)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    return env


def identity(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_generated_profiles_work_with_the_aws_cli(sandbox: Any, organization: dict[str, str],
                                                  tmp_path: Path) -> None:
    env = cli_env(sandbox, tmp_path)
    (tmp_path / "aws-config").write_text("[profile keep-me]\nregion = eu-west-1\n")
    written = run_cli(env, "profiles", "--profile", "mgmt", "--source-profile", "mgmt",
                      "--write", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert "'not-yet'" in written.stderr and "not in the organization yet" in written.stderr
    config = (tmp_path / "aws-config").read_text()
    assert config.startswith("[profile keep-me]\nregion = eu-west-1\n")
    assert "[profile not-yet]" not in config and "[profile old]" not in config
    assert sandbox.info.secret_access_key not in config + written.stdout + written.stderr

    web = identity(aws_cli(env, "--profile", "web-shop", "sts", "get-caller-identity",
                           cwd=tmp_path))
    assert web["Account"] == organization["web"]
    assert web["Arn"] == (f"arn:aws:sts::{organization['web']}:assumed-role/"
                          "OrganizationAccountAccessRole/orgsync-web-shop")
    data = identity(aws_cli(env, "--profile", "data", "sts", "get-caller-identity",
                            cwd=tmp_path))
    assert data["Arn"].startswith(f"arn:aws:sts::{organization['data']}:assumed-role/DataAdmin/")

    # data leaves the file: its profile goes, the rest stays, still one block.
    (tmp_path / "accounts.yaml").write_text(ACCOUNTS.replace(
        "  - name: data\n    email: aws+data@example.com\n    access_role: {name: DataAdmin}\n",
        ""))
    again = run_cli(env, "profiles", "--profile", "mgmt", "--source-profile", "mgmt", "--write",
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    config = (tmp_path / "aws-config").read_text()
    assert config.count("# BEGIN orgsync managed profiles") == 1
    assert "[profile data]" not in config and "[profile web-shop]" in config
    gone = aws_cli(env, "--profile", "data", "sts", "get-caller-identity", cwd=tmp_path)
    assert gone.returncode != 0 and "data" in gone.stderr


def test_assume_exports_for_eval(sandbox: Any, organization: dict[str, str],
                                 tmp_path: Path) -> None:
    env = base_env(sandbox, tmp_path)
    script = (f"eval \"$({shlex.join([sys.executable, '-m', 'reconciler.cli'])} assume "
              "'Web Shop')\" && aws sts get-caller-identity --output json")
    result = subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    web = identity(result)
    assert web["Account"] == organization["web"]
    assert ":assumed-role/OrganizationAccountAccessRole/" in web["Arn"]
    exports = run_cli(env, "assume", organization["data"], "--duration", "900", cwd=tmp_path)
    assert exports.returncode == 0, exports.stderr
    names = [line.split("=", 1)[0] for line in exports.stdout.splitlines()]
    assert names == ["export AWS_ACCESS_KEY_ID", "export AWS_SECRET_ACCESS_KEY",
                     "export AWS_SESSION_TOKEN", "export AWS_CREDENTIAL_EXPIRATION"]
    assert exports.stderr == ""


def test_assume_as_credential_process(sandbox: Any, organization: dict[str, str],
                                      tmp_path: Path) -> None:
    env = base_env(sandbox, tmp_path)
    raw = run_cli(env, "assume", "data", "--credential-process", cwd=tmp_path)
    assert raw.returncode == 0, raw.stderr
    document = json.loads(raw.stdout)
    assert document["Version"] == 1
    assert set(document) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                             "Expiration"}
    command = shlex.join([sys.executable, "-m", "reconciler.cli", "assume", "data",
                          "--credential-process", "-f", str(tmp_path / "accounts.yaml"),
                          "--profile", "mgmt"])
    (tmp_path / "aws-config").write_text(f"[profile via-orgsync]\ncredential_process = "
                                         f"{command}\n")
    cli = cli_env(sandbox, tmp_path)
    cli["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()),
                                                      os.environ.get("PYTHONPATH")]))
    data = identity(aws_cli(cli, "--profile", "via-orgsync", "sts", "get-caller-identity",
                            cwd=tmp_path))
    assert data["Account"] == organization["data"]
    assert ":assumed-role/DataAdmin/" in data["Arn"]


@pytest.mark.parametrize(("account", "message"), [
    ("management", "is the management account"),
    ("123456789012", "is the management account"),
    ("nope", "no account 'nope'"),
    ("not-yet", "is not in the organization yet"),
    ("old", "is closed in"),
])
def test_assume_refusals(sandbox: Any, organization: dict[str, str], tmp_path: Path,
                         account: str, message: str) -> None:
    result = run_cli(base_env(sandbox, tmp_path), "assume", account, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
