"""Terraform's AWS provider against the sandbox, offline: an independent client of the emulator.

orgsync and the sandbox were written together, so orgsync passing against the sandbox proves
less than it seems. The Terraform AWS provider is a second, independent client (aws-sdk-go-v2,
its own waiters, retries and reads-after-writes); when it works against the sandbox, the sandbox
answers as AWS does for the operations it uses. Tests (``tests/sandbox/test_terraform_client.py``)
and benchmarks (``benchmarks/vs_terraform.py``) use this module to run it.

    tf = Terraform.for_sandbox(workdir, endpoint_url=..., access_key_id=..., secret_access_key=...)
    tf.write("main.tf", tf.provider_block() + resources)
    tf.init(); tf.apply(); tf.output(); tf.destroy()

Terraform runs with no network: a CLI configuration whose only provider source is the filesystem
mirror (``/opt/tf-plugins`` unless ``ORGSYNC_TF_MIRROR`` says otherwise), checkpoint (update
checks) off, and an environment holding no ``AWS_*`` or ``TF_*`` variable of the caller's (the
provider block names the sandbox's endpoint and keys). ``missing()`` says why Terraform cannot run
here (no binary, no mirror) so that a test can skip with that message.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MIRROR = "/opt/tf-plugins"
PROVIDER_VERSION_ENV = "ORGSYNC_TF_PROVIDER_VERSION"
# the services whose endpoints point at the sandbox (Terraform's `endpoints` block names)
SANDBOX_SERVICES = ("organizations", "iam", "sts", "account")


def terraform_binary() -> str | None:
    return os.environ.get("ORGSYNC_TERRAFORM") or shutil.which("terraform") or (
        "/usr/local/bin/terraform" if Path("/usr/local/bin/terraform").is_file() else None)


def mirror_path() -> Path:
    return Path(os.environ.get("ORGSYNC_TF_MIRROR", DEFAULT_MIRROR))


def mirrored_aws_versions(mirror: Path | None = None) -> list[str]:
    """The hashicorp/aws provider versions in the filesystem mirror (unpacked layout)."""
    base = (mirror or mirror_path()) / "registry.terraform.io" / "hashicorp" / "aws"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir())


def missing() -> str | None:
    """Why Terraform cannot run offline here, or None when it can."""
    if terraform_binary() is None:
        return "terraform is not installed (set ORGSYNC_TERRAFORM or put it on PATH)"
    if not mirrored_aws_versions():
        return (f"no hashicorp/aws provider in the filesystem mirror {mirror_path()} "
                "(set ORGSYNC_TF_MIRROR)")
    return None


class TerraformError(RuntimeError):
    """A terraform command failed; the message holds its output."""

    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        super().__init__(f"terraform {' '.join(args)} exited {result.returncode}\n"
                         f"--- stdout ---\n{result.stdout[-6000:]}\n"
                         f"--- stderr ---\n{result.stderr[-6000:]}")


@dataclass
class Terraform:
    """One Terraform working directory configured for a sandbox."""

    workdir: Path
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    binary: str = field(default_factory=lambda: terraform_binary() or "terraform")
    mirror: Path = field(default_factory=mirror_path)
    timeout_s: float = 600.0

    @classmethod
    def for_sandbox(cls, workdir: Path | str, *, endpoint_url: str, access_key_id: str,
                    secret_access_key: str, region: str = "us-east-1") -> Terraform:
        tf = cls(workdir=Path(workdir), endpoint_url=endpoint_url, access_key_id=access_key_id,
                 secret_access_key=secret_access_key, region=region)
        tf.workdir.mkdir(parents=True, exist_ok=True)
        tf._write_cli_config()
        return tf

    # --- files ------------------------------------------------------------------------------

    @property
    def cli_config(self) -> Path:
        return self.workdir / ".terraformrc"

    def _write_cli_config(self) -> None:
        self.cli_config.write_text(
            "provider_installation {\n"
            f"  filesystem_mirror {{\n    path = {json.dumps(str(self.mirror))}\n  }}\n"
            "}\n"
            "disable_checkpoint = true\n")

    def provider_version(self) -> str:
        versions = mirrored_aws_versions(self.mirror)
        return os.environ.get(PROVIDER_VERSION_ENV) or (versions[-1] if versions else "5.100.0")

    def provider_block(self, *, alias: str | None = None, assume_role_arn: str | None = None,
                       access_key_id: str | None = None,
                       secret_access_key: str | None = None) -> str:
        """A ``provider "aws"`` block on the sandbox (plus ``terraform {required_providers}``
        for the unaliased one). Only the instance metadata lookup is skipped: credentials,
        the account id and the region are checked against the sandbox like against AWS."""
        endpoints = "\n".join(f"    {name} = {json.dumps(self.endpoint_url)}"
                              for name in SANDBOX_SERVICES)
        lines = ['provider "aws" {']
        if alias:
            lines.append(f"  alias = {json.dumps(alias)}")
        lines += [
            f"  region = {json.dumps(self.region)}",
            f"  access_key = {json.dumps(access_key_id or self.access_key_id)}",
            f"  secret_key = {json.dumps(secret_access_key or self.secret_access_key)}",
            "  skip_metadata_api_check = true",
            "  max_retries = 3",
            "  endpoints {", endpoints, "  }",
        ]
        if assume_role_arn:
            lines += ["  assume_role {", f"    role_arn = {json.dumps(assume_role_arn)}",
                      '    session_name = "terraform"', "  }"]
        lines.append("}")
        block = "\n".join(lines) + "\n"
        if alias is None:
            block = ("terraform {\n  required_providers {\n    aws = {\n"
                     '      source = "hashicorp/aws"\n'
                     f"      version = {json.dumps(self.provider_version())}\n"
                     "    }\n  }\n}\n\n" + block)
        return block

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    # --- running ----------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "TF_")) and k != "CHECKPOINT_DISABLE"}
        env.update({
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            # no shared config or credentials file of the machine's may reach the provider
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        })
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [self.binary, f"-chdir={self.workdir}", *args]
        # Its own process group: on a timeout the provider processes Terraform started (one
        # per provider configuration, ~300 MB each) go with it instead of living on.
        with subprocess.Popen(command, env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              start_new_session=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise TerraformError(list(args), result)
        return result

    def init(self) -> subprocess.CompletedProcess[str]:
        return self.run("init", "-no-color", "-input=false")

    @staticmethod
    def _var_args(variables: dict[str, Any] | None) -> list[str]:
        return [f"-var={name}={value}" for name, value in (variables or {}).items()]

    def apply(self, variables: dict[str, Any] | None = None, *,
              parallelism: int | None = None) -> subprocess.CompletedProcess[str]:
        extra = [f"-parallelism={parallelism}"] if parallelism else []
        return self.run("apply", "-no-color", "-input=false", "-auto-approve", *extra,
                        *self._var_args(variables))

    def plan_exitcode(self, variables: dict[str, Any] | None = None) -> int:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes (1 raises)."""
        result = self.run("plan", "-no-color", "-input=false", "-detailed-exitcode",
                          *self._var_args(variables), check=False)
        if result.returncode not in (0, 2):
            raise TerraformError(["plan"], result)
        return result.returncode

    def destroy(self, variables: dict[str, Any] | None = None
                ) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "-no-color", "-input=false", "-auto-approve",
                        *self._var_args(variables))

    def output(self) -> dict[str, Any]:
        result = self.run("output", "-json")
        return {name: value["value"] for name, value in json.loads(result.stdout).items()}

    def state_list(self) -> list[str]:
        result = self.run("state", "list", check=False)
        return [line for line in result.stdout.splitlines() if line.strip()]


__all__ = ["Terraform", "TerraformError", "mirrored_aws_versions", "missing", "terraform_binary"]
