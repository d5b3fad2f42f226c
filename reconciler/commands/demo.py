"""``orgsync demo``: the whole workflow against a local sandbox, with no AWS account and no network.

It exists so that a newcomer can see validate, plan, apply and a clean re-plan of the example file
in under a minute, with each step explained. Everything the example needs that a real organization
would already have (the invited account's ``legacy-admin`` profile, the IAM users its groups name)
is created in temporary places: a throw-away AWS config and credentials file and the in-process
sandbox. The user's own ``~/.aws`` and ``AWS_*`` settings are never read or written: the demo points
the AWS environment at its temporary files for its own duration and restores it afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from reconciler.console import make_console
from reconciler.options import GlobalOptions

MANAGEMENT_PROFILE = "orgsync-demo-management"
BOOTSTRAP_PROFILE = "legacy-admin"
DEMO_USERS = ("alice", "bob")
EXAMPLE_RESOURCE = "accounts.example.yaml"
DEMO_MFA_CODE = "123456"  # the sandbox accepts any 6-digit code for its admin's MFA device

# Settings that would make boto3 look at the user's own AWS configuration or credentials.
_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_EC2_METADATA_DISABLED", "AWS_CA_BUNDLE", "AWS_STS_REGIONAL_ENDPOINTS")


def example_text() -> str:
    """The example desired-state file: the checkout's ``examples/accounts.yaml`` when running from
    one, else the copy shipped inside the package."""
    checkout = Path(__file__).resolve().parents[2] / "examples" / "accounts.yaml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return resources.files("reconciler").joinpath(f"data/{EXAMPLE_RESOURCE}").read_text(
        encoding="utf-8")


@contextmanager
def _demo_environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with every AWS setting replaced by ``values`` for the block only."""
    saved = {name: os.environ.get(name) for name in (*_AWS_ENV, *values)}
    try:
        for name in _AWS_ENV:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _write_aws_files(directory: Path, info: Any) -> tuple[Path, Path]:
    standalone = info.standalone_accounts[0]
    credentials = directory / "credentials"
    config = directory / "config"
    credentials.write_text(
        f"[{MANAGEMENT_PROFILE}]\n"
        f"aws_access_key_id = {info.access_key_id}\n"
        f"aws_secret_access_key = {info.secret_access_key}\n\n"
        f"[{BOOTSTRAP_PROFILE}]\n"
        f"aws_access_key_id = {standalone.access_key_id}\n"
        f"aws_secret_access_key = {standalone.secret_access_key}\n",
        encoding="utf-8")
    config.write_text(
        f"[profile {MANAGEMENT_PROFILE}]\nregion = {info.region}\n\n"
        f"[profile {BOOTSTRAP_PROFILE}]\nregion = {info.region}\n",
        encoding="utf-8")
    credentials.chmod(0o600)
    return config, credentials


class _Narrator:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.step = 0

    def section(self, title: str, *lines: str) -> None:
        self.step += 1
        self.console.print()
        heading = f"{self.step}. {title}"
        if self.console.is_terminal:
            self.console.print(Rule(f"[bold]{escape(heading)}[/]", align="left"))
        else:
            self.console.print(f"== {heading} ==", markup=False)
        for line in lines:
            self.console.print(f"[dim]{escape(line)}[/]")


def run(opts: GlobalOptions, *, keep: bool = False, verbose: bool = False) -> int:
    from reconciler.sandbox import Sandbox, SandboxOptions

    out = make_console(color=opts.color)
    say = _Narrator(out)
    started = time.monotonic()
    out.print("[bold]orgsync demo[/]: a local AWS organization (a sandbox on loopback), the "
              "example accounts.yaml, and the full workflow. No AWS account, no network; your "
              "~/.aws is not touched.")
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="orgsync-demo-") as tmp, \
            Sandbox(SandboxOptions(port=0, auto_accept_invites=True)) as sandbox:
        warnings.simplefilter("ignore")  # the emulator's own warnings are not the user's concern
        info = sandbox.info
        workdir = Path(tmp)
        config, credentials = _write_aws_files(workdir, info)
        accounts = workdir / "accounts.yaml"
        accounts.write_text(example_text(), encoding="utf-8")
        env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
               "AWS_PROFILE": MANAGEMENT_PROFILE, "AWS_ENDPOINT_URL": info.endpoint_url,
               "AWS_REGION": info.region, "AWS_EC2_METADATA_DISABLED": "true"}
        # prod's access role requires MFA: plan and apply enter member accounts with an MFA
        # session of the sandbox admin's device (the sandbox accepts any 6-digit code).
        demo_opts = replace(opts, profile=MANAGEMENT_PROFILE, region=info.region,
                            endpoint_url=info.endpoint_url, mfa_serial=info.mfa_serial,
                            mfa_token=DEMO_MFA_CODE if info.mfa_serial else None)
        with _demo_environment(env):
            say.section(
                "The sandbox",
                f"A local AWS endpoint at {info.endpoint_url} emulates Organizations, IAM, "
                "STS and CloudFormation StackSets.",
                f"It holds an organization with management account {info.management_account_id} "
                f"and standalone accounts that can be invited, e.g. "
                f"{info.standalone_accounts[0].id} ({info.standalone_accounts[0].name}); it "
                "accepts invitations by itself here.",
                f"Temporary AWS profiles in {tmp}: {MANAGEMENT_PROFILE} (management account) and "
                f"{BOOTSTRAP_PROFILE} (credentials inside {info.standalone_accounts[0].id}, the "
                "example's bootstrap_profile).")
            _create_users(demo_opts, out)
            _explain_mfa(demo_opts, out)
            code = _workflow(demo_opts, say, accounts, verbose=verbose)
            if code == 0:
                code = _stack_set(demo_opts, say, workdir, info)
            if code == 0:
                _profiles(demo_opts, say, accounts)
            out.print()
            took = time.monotonic() - started
            if code == 0:
                out.print(f"[bold green]Demo finished[/] in {took:.0f} s. Next: write your own "
                          "accounts.yaml (orgsync export can start one from your organization), "
                          "then orgsync plan with your AWS credentials.")
            else:
                out.print(f"[bold red]Demo stopped[/] after {took:.0f} s: a step failed "
                          "(above).")
            if keep and code == 0:
                _keep_running(out, info, tmp)
    return code


def _create_users(opts: GlobalOptions, out: Console) -> None:
    from reconciler.aws import Aws
    from reconciler.errors import AwsError

    iam = Aws(profile=opts.profile, region=opts.region,
              endpoint_url=opts.endpoint_url).client("iam")
    for user in DEMO_USERS:
        try:
            iam.create_user(UserName=user)
        except AwsError as error:
            if "EntityAlreadyExists" not in error.code:
                raise
    out.print(f"The example's groups name IAM users {' and '.join(DEMO_USERS)}; in your "
              "organization they already exist. Here the demo created them in the sandbox's "
              "management account.")


def _explain_mfa(opts: GlobalOptions, out: Console) -> None:
    if opts.mfa_serial is None:
        return
    out.print(f"prod's access role requires MFA (require_mfa: true), so orgsync runs with an MFA "
              f"session: --mfa-serial {opts.mfa_serial} --mfa-token {DEMO_MFA_CODE} (the "
              "sandbox admin's device; any 6-digit code works here). Without it the plan would "
              "defer that role: \"waiting for credentials with MFA\".", markup=False)


def _workflow(opts: GlobalOptions, say: _Narrator, accounts: Path, *, verbose: bool) -> int:
    from reconciler.commands import apply as apply_command
    from reconciler.commands import plan as plan_command
    from reconciler.commands import validate as validate_command

    file = str(accounts)
    mfa = f" --mfa-serial {opts.mfa_serial} --mfa-token {DEMO_MFA_CODE}" if opts.mfa_serial else ""
    say.section("orgsync validate",
                "Checks accounts.yaml offline: schema, duplicate names and emails, references. "
                "No AWS access.")
    code = validate_command.run(opts, file=file)
    if code:
        return code
    say.section(f"orgsync plan{mfa}",
                "Reads the live organization (read-only) and shows what apply would change: "
                "+ create/invite, ~ update, - delete/close, ! needs a person. Policy documents "
                "show one line per statement (orgsync demo --verbose: in full).",
                "Ids of accounts that do not exist yet show as (known after apply). Work that "
                "waits for something (an invitation to be accepted) is listed as deferred, with "
                "the action apply takes once it can; a destructive one (the invited account's "
                "root credentials) counts in the DESTRUCTIVE banner.")
    code = plan_command.run(opts, file=file, out=None, fmt="text", detailed_exitcode=False,
                            parallelism=10, verbose=verbose)
    if code:
        return code
    say.section(f"orgsync apply --auto-approve{mfa}",
                "Executes the plan in order: organization settings, OUs, accounts (CreateAccount "
                "is asynchronous: orgsync waits for it), invitations, access roles, groups, "
                "root credentials, closures.",
                "On a terminal apply shows the plan again and asks for 'yes'; the demo approves "
                "automatically. At the end apply reads AWS again and re-plans to prove the "
                "result converged.")
    code = apply_command.run(opts, file=file, auto_approve=True, parallelism=10, show_plan=False)
    if code:
        return code
    say.section(f"orgsync plan --detailed-exitcode (again){mfa}",
                "Nothing should be left to do: exit code 0 means no changes (2 would mean "
                "changes, 1 an error). This is what a CI drift check runs.")
    return int(plan_command.run(opts, file=file, out=None, fmt="text", detailed_exitcode=True,
                                parallelism=10))


STACK_SET_ACCOUNT = """\
  - name: {name}                # invited, no bootstrap_profile: the stack set deploys its role
    email: {email}
    source: invited
    id: "{id}"
"""


def stack_set_example(example: str, *, name: str, email: str, account_id: str) -> str:
    """The example with ``invited_bootstrap: stackset`` and one more invited account."""
    lines = example.splitlines(keepends=True)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line.startswith("  management_account_id:"):
            out.append("  invited_bootstrap: stackset\n")
        elif line.rstrip() == "accounts:":
            out.append(STACK_SET_ACCOUNT.format(name=name, email=email, id=account_id))
    return "".join(out)


def _stack_set(opts: GlobalOptions, say: _Narrator, workdir: Path, info: Any) -> int:
    """The other way into an invited account: nobody signs in, no profile; orgsync's
    service-managed CloudFormation StackSet deploys the access role (docs/stacksets.md)."""
    from reconciler.commands import apply as apply_command

    account = info.standalone_accounts[1]
    path = workdir / "accounts-stackset.yaml"
    path.write_text(stack_set_example(example_text(), name=account.name, email=account.email,
                                      account_id=account.id), encoding="utf-8")
    say.section(
        f"orgsync apply -f {path.name} --auto-approve (an invited account nobody signs in to)",
        f"{account.name} ({account.id}) is invited with no bootstrap_profile: with "
        "organization.invited_bootstrap: stackset orgsync activates trusted access for "
        "CloudFormation StackSets and deploys the access role through its service-managed "
        "stack set orgsync-access-roles, to exactly that account.",
        f"{path.name} is the example plus that account and invited_bootstrap: stackset; "
        "legacy-analytics above got its role the other way, through its bootstrap_profile.")
    # its plan (the invitation, trusted access, the grant) would repeat the one above: the
    # demo prints one line for it, as for the first apply
    return int(apply_command.run(opts, file=str(path), auto_approve=True, parallelism=10,
                                 show_plan=False))


def _profiles(opts: GlobalOptions, say: _Narrator, accounts: Path) -> None:
    from reconciler.commands import profiles as profiles_command

    steps = (
        ("links", "orgsync profiles --format links",
         "Console switch-role links for every member account's access role (the sandbox has no "
         "console; with real AWS they open the account as that role). orgsync profiles writes "
         "AWS CLI profiles for those roles and every role a group is granted (--write: into "
         "~/.aws/config; --group NAME gives one group's roles)."),
    )
    for fmt, title, text in steps:
        say.section(title, text)
        profiles_command.run(opts, file=str(accounts), source_profile=MANAGEMENT_PROFILE, fmt=fmt,
                             markdown=False, mfa_serial=None, prefix="", write=False,
                             config_file=None)


def _keep_running(out: Console, info: Any, tmp: str) -> None:
    out.print(f"\nThe sandbox keeps running at {info.endpoint_url} (Ctrl-C to stop). Try:\n"
              f"  export AWS_CONFIG_FILE={tmp}/config AWS_SHARED_CREDENTIALS_FILE={tmp}/credentials"
              f" AWS_PROFILE={MANAGEMENT_PROFILE} AWS_ENDPOINT_URL={info.endpoint_url}\n"
              f"  orgsync plan -f {tmp}/accounts.yaml", markup=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping the sandbox")
