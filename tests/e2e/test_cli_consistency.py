"""The command line is consistent: help everywhere, each command lists only the options it uses,
and the common slips (a global option before the command, a quoted version) get a hint."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from tests.conftest import run_orgsync

AWS_OPTIONS = {"--profile", "--region", "--endpoint-url"}


def _commands(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, click.Command]]:
    found = [(" ".join(path), command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _commands(sub, (*path, name))
    return found


def test_every_option_has_a_help_text() -> None:
    missing = [f"{name} {'/'.join(param.opts)}" for name, command in _commands(cli, ("orgsync",))
               for param in command.params
               if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", ["validate", "show", "permissions", "sandbox", "demo"])
def test_offline_commands_do_not_list_aws_options(name: str) -> None:
    names = {opt for param in cli.commands[name].params for opt in param.opts}
    assert not names & AWS_OPTIONS
    result = run_orgsync(name, "--help")
    assert result.returncode == 0
    assert not any(option in result.stdout for option in AWS_OPTIONS)


@pytest.mark.parametrize("name", ["plan", "apply", "export", "assume", "force-unlock"])
def test_aws_commands_list_aws_options(name: str) -> None:
    names = {opt for param in cli.commands[name].params for opt in param.opts}
    assert names >= AWS_OPTIONS


def test_no_arguments_prints_the_help_and_succeeds() -> None:
    result = run_orgsync()
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: orgsync [OPTIONS] COMMAND [ARGS]...")
    assert "validate" in result.stdout and result.stderr == ""


def test_a_global_option_before_the_command_gets_a_hint() -> None:
    result = run_orgsync("--profile", "prod", "plan")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "orgsync: error: No such option '--profile'; options go after the command: "
        "orgsync plan --profile ..."]


def test_an_unknown_option_before_the_command_gets_no_hint() -> None:
    result = run_orgsync("--bogus", "plan")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["orgsync: error: No such option '--bogus'."]


def test_a_quoted_version_says_write_1_without_quotes(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text('version: "1"\norganization:\n  management_account_id: "123456789012"\n'
                    "accounts: []\n")
    result = run_orgsync("validate", "-f", str(path))
    assert result.returncode == 1
    assert 'version: the string "1": write 1 without quotes' in result.stderr
    assert len([line for line in result.stderr.splitlines() if "version" in line]) == 1
