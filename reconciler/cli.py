"""The ``orgsync`` command line: argument parsing, exit codes and error printing, nothing else.

Each command's work lives in ``reconciler.commands.<name>.run(opts, ...)`` and is imported only when
that command runs, so ``orgsync validate`` never imports boto3. click is used for parsing because it
gives composable option decorators, help text and testing support that argparse would need by hand.
Exit codes follow CONTRACT.md section 3: usage errors are 1 (not click's 2, which is reserved for
``plan --detailed-exitcode``).
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler.errors import ConfigError, OrgsyncError
from reconciler.options import GlobalOptions
from reconciler.terminal import printable

F = TypeVar("F", bound=Callable[..., Any])


_MFA_CODE = re.compile(r"\d{6}")


def _decorated(func: F, decorators: Sequence[Callable[[Any], Any]]) -> F:
    """``func`` with the options of ``decorators``, listed in --help in that order."""
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


_OUTPUT_OPTIONS = (
    click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR)."),
    click.option("--debug", is_flag=True, help="Tracebacks and AWS call counts on stderr."),
)


def _output(func: F) -> F:
    """``--no-color`` / ``--debug`` alone: for the commands that never call AWS through the
    user's settings (validate, show, permissions, sandbox, demo), which so do not list
    ``--profile`` / ``--region`` / ``--endpoint-url`` they would ignore."""
    return _decorated(func, _OUTPUT_OPTIONS)


def _common(func: F) -> F:
    return _decorated(func, (
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE)."),
        click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
                     help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's "
                     "region)."),
        click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL",
                     help="AWS endpoint (default: AWS_ENDPOINT_URL), e.g. an orgsync sandbox."),
        *_OUTPUT_OPTIONS,
    ))


def _mfa(func: F) -> F:
    """``--mfa-serial`` / ``--mfa-token`` for the commands that enter member accounts. Their
    parameter names differ from ``profiles``' own ``--mfa-serial`` (written into profiles)."""
    return _decorated(func, [
        click.option("--mfa-serial", "session_mfa_serial", envvar="ORGSYNC_MFA_SERIAL",
                     metavar="ARN", help="MFA device of your IAM user (default: "
                     "ORGSYNC_MFA_SERIAL): member accounts are entered with an MFA session, so "
                     "access roles with require_mfa can be read and changed."),
        click.option("--mfa-token", "session_mfa_token", envvar="ORGSYNC_MFA_TOKEN",
                     metavar="CODE", help="The device's current 6-digit code (default: "
                     "ORGSYNC_MFA_TOKEN; asked for on a terminal)."),
    ])


def _mfa_settings(serial: str | None, token: str | None) -> tuple[str | None, str | None]:
    """The MFA device and code to use: the code is asked for on a terminal when it is missing."""
    serial = (serial or "").strip() or None
    token = (token or "").strip() or None
    if serial is None:
        if token is not None:
            raise click.UsageError("--mfa-token (ORGSYNC_MFA_TOKEN) needs --mfa-serial "
                                   "(ORGSYNC_MFA_SERIAL): the ARN of the MFA device")
        return None, None
    if token is None:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise click.UsageError(f"--mfa-serial {serial} needs a code and there is no "
                                   "terminal to ask for it: pass --mfa-token CODE or set "
                                   "ORGSYNC_MFA_TOKEN")
        token = str(click.prompt(f"MFA code for {serial}", hide_input=False, err=True)).strip()
    if not _MFA_CODE.fullmatch(token):
        raise click.UsageError(f"the MFA code for {serial} must be 6 digits")
    return serial, token


_verbose_option = click.option(
    "--verbose", is_flag=True,
    help="Text: policy documents in full (default: one line per statement).")


def _file_option(func: F) -> F:
    return click.option("-f", "--file", "file", default="accounts.yaml", show_default=True,
                        type=click.Path(dir_okay=False), help="The desired-state file.")(func)


def _apply_file_option(func: F) -> F:
    """apply's ``-f``: no default value, so that a saved plan is checked against the file it was
    made from unless ``-f`` names another (``commands.apply`` resolves None)."""
    return click.option("-f", "--file", "file", default=None, type=click.Path(dir_okay=False),
                        help="The desired-state file (default: accounts.yaml; with PLANFILE: the "
                        "file the plan was made from).")(func)


def _globals(kwargs: dict[str, Any]) -> GlobalOptions:
    no_color = kwargs.pop("no_color", False) or "NO_COLOR" in os.environ
    mfa_serial, mfa_token = None, None
    if "session_mfa_serial" in kwargs:
        mfa_serial, mfa_token = _mfa_settings(kwargs.pop("session_mfa_serial"),
                                              kwargs.pop("session_mfa_token", None))
    return GlobalOptions(
        mfa_serial=mfa_serial,
        mfa_token=mfa_token,
        profile=kwargs.pop("profile", None),
        region=kwargs.pop("region", None),
        endpoint_url=kwargs.pop("endpoint_url", None),
        color=not no_color,
        debug=kwargs.pop("debug", False),
    )


def _run(command: str, kwargs: dict[str, Any]) -> None:
    opts = _globals(kwargs)
    module = importlib.import_module(f"reconciler.commands.{command}")
    code = module.run(opts, **kwargs)
    raise SystemExit(code or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orgsync")
def cli() -> None:
    """Manage access to the member accounts of an AWS Organization as code."""


@cli.command()
@_file_option
@_output
def validate(**kwargs: Any) -> None:
    """Check the desired-state file offline (schema and semantics)."""
    _run("validate", kwargs)


@cli.command()
@_file_option
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan to this file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the plan (json: CONTRACT section 4).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@_verbose_option
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="Member accounts read at once.")
@_mfa
@_common
def plan(**kwargs: Any) -> None:
    """Read live AWS and show what apply would change."""
    _run("plan", kwargs)


@cli.command()
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@_apply_file_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="Member accounts read and changed at once.")
@click.option("--lock-timeout", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait for another apply's lock.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: a refusal (e.g. a stale saved plan, with what "
              "differs) is also written to stdout as a JSON document.")
@_verbose_option
@_mfa
@_common
def apply(**kwargs: Any) -> None:
    """Apply a fresh plan, or a saved one (refused if stale or altered)."""
    _run("apply", kwargs)


@cli.command()
@click.argument("planfile", type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the saved plan.")
@_verbose_option
@_output
def show(**kwargs: Any) -> None:
    """Render a saved plan."""
    _run("show", kwargs)


@cli.command()
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option("--force", is_flag=True, help="Let --out replace an existing file.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="Member accounts read at once.")
@click.option("--access-role", "role_names", multiple=True, metavar="NAME",
              help="Another access role name to look for in member accounts (repeatable).")
@_mfa
@_common
def export(**kwargs: Any) -> None:
    """Write an accounts.yaml describing the live organization."""
    _run("export", kwargs)


@cli.command()
@_file_option
@click.option("--source-profile", default="default", show_default=True,
              help="The profile holding management-account credentials.")
@click.option("--format", "fmt", type=click.Choice(["ini", "links", "aesr", "sso"]),
              default="ini", show_default=True,
              help="ini: AWS CLI profiles; links: console switch-role links; "
              "aesr: the aws-extend-switch-roles browser extension's configuration; "
              "sso: IAM Identity Center profiles (sso-session).")
@click.option("--markdown", is_flag=True, help="With --format links: a markdown table.")
@click.option("--mfa-serial", help="MFA device ARN to put in every profile.")
@click.option("--prefix", default="", help="Prefix for every profile name.")
@click.option("--group", metavar="NAME",
              help="Only the roles this group's members may assume (a group of the file).")
@click.option("--name-template", metavar="T",
              help="Profile names, with {account} {role} {account_id} {ou} {alias} (default: "
              "{account} for the access role, {account}-{role} for other roles).")
@click.option("--color-by", default="ou", show_default=True, metavar="ou|tag:KEY",
              help="With --format aesr: one colour per OU, or per value of the tag KEY.")
@click.option("--write", is_flag=True, help="Update the AWS config file in place.")
@click.option("--config-file", type=click.Path(dir_okay=False),
              help="AWS config file for --write (default: AWS_CONFIG_FILE or ~/.aws/config).")
@click.option("--user", help="With --format sso: only what this Identity Center user can reach.")
@click.option("--sso-start-url", help="With --format sso: the AWS access portal URL (default: "
              "https://<identity store id>.awsapps.com/start).")
@_common
def profiles(**kwargs: Any) -> None:
    """AWS CLI profiles, console switch-role links or aws-extend-switch-roles configuration
    for every role people may assume in the member accounts.

    Offline from the file; only accounts the file gives no id need one AWS read (ListAccounts)."""
    _run("profiles", kwargs)


@cli.command()
@_file_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown fits a pull-request comment or an access review.")
@_common
def access(**kwargs: Any) -> None:
    """Who can reach which account and role, under which conditions.

    From the file's groups and grants, checked against the groups in AWS: a grant or member the
    file declares that AWS lacks, or one AWS has that the file does not, is marked."""
    _run("access", kwargs)


@cli.command()
@click.argument("account")
@_file_option
@click.option("--credential-process", is_flag=True,
              help="Print AWS CLI credential_process JSON instead of shell exports.")
@click.option("--duration", type=click.IntRange(900, 43200), default=3600, show_default=True,
              help="Session length in seconds.")
@_mfa
@_common
def assume(**kwargs: Any) -> None:
    """Temporary credentials for one account's access role.

    The only orgsync command that prints credentials (shell exports, or credential_process JSON)."""
    _run("assume", kwargs)


@cli.command()
@click.option("--for", "for_", type=click.Choice(["plan", "apply", "member", "root"]),
              default="apply", show_default=True, help="plan: read-only runner; apply: full "
              "runner; member: what the access role needs for orgsync's reads; root: the "
              "break-glass role for `orgsync root` (unlock tasks, root audit).")
@_file_option  # gitops: narrows the policy's resources to the file's names (when it exists)
@_output
def permissions(**kwargs: Any) -> None:
    """The least-privilege IAM policy orgsync needs."""
    _run("permissions", kwargs)


@cli.command("force-unlock")
@click.argument("lock_id")
@_file_option
@_common
def force_unlock(**kwargs: Any) -> None:
    """Release an apply lock left behind by a crashed run (needs the lock id)."""
    _run("force_unlock", kwargs)


@cli.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (a loopback address).")
@click.option("--port", type=click.IntRange(0, 65535), default=4566, show_default=True,
              help="0 picks a free port.")
@click.option("--info-file", type=click.Path(dir_okay=False),
              help="Write endpoint and credentials here as JSON once the endpoint answers.")
@click.option("--standalone-accounts", type=click.IntRange(0, 999), default=3, show_default=True,
              help="Accounts outside the organization that can be invited.")
@click.option("--latency-ms", type=click.FloatRange(0), default=0, show_default=True,
              help="Added to every response.")
@click.option("--throttle", multiple=True, metavar="SERVICE=RPS",
              help="Throttle a service (organizations, iam, sts, account, sso-admin, "
              "identitystore) to RPS requests a second.")
@click.option("--create-delay-s", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds CreateAccount stays IN_PROGRESS.")
@click.option("--auto-accept-invites", is_flag=True,
              help="Invited standalone accounts accept by themselves.")
@click.option("--stackset-operation-s", type=click.FloatRange(0), default=1.0, show_default=True,
              help="How long a CloudFormation stack-set operation stays RUNNING.")
@click.option("--close-quota", type=click.IntRange(0), default=None,
              help="Accounts that may be closed in a rolling 30 days (default: 10% of member "
              "accounts, between 10 and 1,000, as AWS documents).")
@click.option("--users", default="", metavar="NAME,NAME",
              help="IAM users to create in the management account (e.g. the members a file's "
              "groups name).")
@click.option("--account-ready-lag-s", type=click.FloatRange(0), default=None,
              help="A new account refuses AssumeRole/AssumeRoot this long after SUCCEEDED.")
@click.option("--iam-lag-s", type=click.FloatRange(0), default=None,
              help="A role, trust policy or group grant takes effect this long after the write.")
@click.option("--close-lag-s", type=click.FloatRange(0), default=None,
              help="A closing account keeps reading ACTIVE this long.")
@click.option("--rename-lag-s", type=click.FloatRange(0), default=None,
              help="Organizations shows a new account name this long after PutAccountName.")
@click.option("--org-concurrency", type=click.IntRange(0), default=None, metavar="N",
              help="More than N Organizations requests in flight get TooManyRequestsException "
              "(0: no limit).")
@click.option("--concurrent-modification", type=click.FloatRange(0, 1), default=None,
              metavar="P", help="A fraction P of Organizations writes (and "
              "DescribeOrganization) fail once with ConcurrentModificationException.")
@click.option("--seed", type=int, default=None,
              help="Seed of the sandbox's random draws (reproducible runs).")
@click.option("--sso-lag-s", type=click.FloatRange(0), default=None,
              help="IAM Identity Center assignment and provisioning requests stay IN_PROGRESS "
              "this long.")
@click.option("--sso-groups", default="", metavar="NAME,NAME",
              help="Groups to add to the seeded IAM Identity Center identity store.")
@click.option("--no-identity-center", is_flag=True,
              help="The organization has no IAM Identity Center instance.")
@click.option("--realistic", is_flag=True,
              help="Short lags, Organizations concurrency 1 and a ConcurrentModificationException "
              "rate (explicit options win; see docs/sandbox.md).")
@click.option("--partition", type=click.Choice(["aws", "aws-cn", "aws-us-gov"]), default="aws",
              show_default=True,
              help="The AWS partition of the seeded organization: ARNs follow it and the "
              "region is us-east-1, cn-north-1 or us-gov-west-1.")
@_output
@click.pass_context
def sandbox(ctx: click.Context, **kwargs: Any) -> None:
    """A local AWS organization emulator on loopback (Organizations, IAM, STS, Identity Center).

    Without a subcommand it runs the sandbox in the foreground until Ctrl-C; `env` and
    `accept-invitation` talk to a sandbox already running (through its --info-file)."""
    if ctx.invoked_subcommand is None:
        _run("sandbox", kwargs)


def _info_file_option(func: F) -> F:
    return click.option("--info-file", required=True, type=click.Path(dir_okay=False),
                        help="The --info-file the running sandbox wrote.")(func)


@sandbox.command("env")
@_info_file_option
def sandbox_env(**kwargs: Any) -> None:
    """Print shell exports that point AWS tools at a running sandbox:
    eval "$(orgsync sandbox env --info-file sandbox.json)"."""
    module = importlib.import_module("reconciler.commands.sandbox")
    raise SystemExit(module.env(**kwargs) or 0)


@sandbox.command("accept-invitation")
@click.argument("account_id")
@_info_file_option
def sandbox_accept_invitation(**kwargs: Any) -> None:
    """Accept the open invitation of standalone account ACCOUNT_ID, as that account."""
    module = importlib.import_module("reconciler.commands.sandbox")
    raise SystemExit(module.accept_invitation(**kwargs) or 0)


@cli.group()
def root() -> None:
    """Privileged root tasks on member accounts (sts:AssumeRoot), from the management account
    or IAM's delegated administrator."""


def _run_root(function: str, kwargs: dict[str, Any]) -> None:
    opts = _globals(kwargs)
    module = importlib.import_module("reconciler.commands.root")
    raise SystemExit(getattr(module, function)(opts, **kwargs) or 0)


def _unlock_options(func: F) -> F:
    return _decorated(func, [
        _file_option,
        click.option("--auto-approve", is_flag=True, help="Delete without asking."),
        click.option("--audit-dir", default="orgsync-audit", show_default=True,
                     type=click.Path(file_okay=False),
                     help="Where the audit record (JSON) is written before deleting."),
        _common,
    ])


@root.command("unlock-s3-bucket")
@click.argument("account")
@click.argument("bucket")
@_unlock_options
def unlock_s3_bucket(**kwargs: Any) -> None:
    """Delete the bucket policy of BUCKET in member account ACCOUNT (a name from the file or a
    12-digit id) through a root session with the task policy S3UnlockBucketPolicy."""
    _run_root("unlock_s3_bucket", kwargs)


@root.command("unlock-sqs-queue")
@click.argument("account")
@click.argument("queue_url", metavar="QUEUE_URL")
@_unlock_options
def unlock_sqs_queue(**kwargs: Any) -> None:
    """Delete the queue policy of QUEUE_URL in member account ACCOUNT through a root session
    with the task policy SQSUnlockQueuePolicy."""
    _run_root("unlock_sqs_queue", kwargs)


@root.command("audit")
@_file_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the audit.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True,
              help="Member accounts read at once.")
@_common
def root_audit(**kwargs: Any) -> None:
    """Root-user credentials of every active member account (audit root sessions), beside the
    root policy the file gives each account."""
    _run_root("audit", kwargs)


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox running at the end until Ctrl-C.")
@click.option("--verbose", is_flag=True,
              help="Show the plan's policy documents in full (default: one line per statement).")
@_output
def demo(**kwargs: Any) -> None:
    """Try orgsync with no AWS account: sandbox, plan, apply, re-plan of the example."""
    _run("demo", kwargs)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the
    same clean-up runs (the apply lock is released): SIGTERM is what ``timeout``, CI
    cancellation, ``docker stop`` and Kubernetes send, SIGHUP what a closed terminal sends."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def _stop_on(signum: int, _frame: object) -> None:
    # a second TERM/HUP while cleaning up (releasing the lock) is ignored: the first one stops
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Terminated(signal.Signals(signum).name)


def _install_signal_handlers() -> dict[int, Any]:
    """Handle TERM and HUP (unless something set its own handler); returns what to restore."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) in (signal.SIG_DFL, None):
            previous[number] = signal.signal(number, _stop_on)
    return previous


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn every error into one line per problem and exit code 1."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("ORGSYNC_DEBUG"))
    previous = _install_signal_handlers()
    try:
        _main(args, debug=debug)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _misplaced_option_hint(error: click.ClickException, args: list[str]) -> str:
    """``orgsync --profile x plan``: click says "no such option"; say where it goes instead."""
    if not isinstance(error, click.NoSuchOption) or error.ctx is None \
            or error.ctx.command is not cli:
        return ""
    command = next((a for a in args if a in cli.commands), None)
    if command is None:
        return ""
    option = error.option_name
    names = {n for p in cli.commands[command].params for n in getattr(p, "opts", [])}
    if option not in names:
        return ""
    return f"; options go after the command: orgsync {command} {option} ..."


def _main(args: list[str], *, debug: bool) -> None:
    if not args:  # `orgsync` alone: the help, as a successful answer
        with click.Context(cli, info_name="orgsync") as context:
            click.echo(cli.get_help(context))
        sys.exit(0)
    try:
        cli.main(args=args, prog_name="orgsync", standalone_mode=False)
    except SystemExit as exit_:
        code = exit_.code
        sys.exit(code if isinstance(code, int) else (0 if code is None else 1))
    except click.exceptions.Abort as abort:  # click turns Ctrl-C into Abort
        cause = abort.__cause__ or abort.__context__
        if isinstance(cause, Terminated):
            click.echo(f"orgsync: terminated by {cause.signal_name}", err=True)
        else:
            interrupted = isinstance(cause, KeyboardInterrupt)
            click.echo(f"orgsync: {'interrupted' if interrupted else 'aborted'}", err=True)
        sys.exit(1)
    except click.ClickException as error:
        message = error.format_message()
        hint = _misplaced_option_hint(error, args)
        if hint:
            message = message.rstrip(".") + hint
        click.echo(f"orgsync: error: {printable(message)}", err=True)
        sys.exit(1)
    except ConfigError as error:
        for diagnostic in error.diagnostics:
            click.echo(str(diagnostic), err=True)
        sys.exit(1)
    except OrgsyncError as error:
        if debug:
            traceback.print_exc()
        # split on line feeds only: str.splitlines() also splits on U+2028, U+0085, ... which
        # printable() shows escaped, so that a name holding one stays on its line
        for line in str(error).rstrip("\n").split("\n") if str(error) else [type(error).__name__]:
            click.echo(f"orgsync: error: {printable(line)}", err=True)
        sys.exit(1)
    except Terminated as stop:
        click.echo(f"orgsync: terminated by {stop.signal_name}", err=True)
        _exit_now(1)
    except KeyboardInterrupt:  # CONTRACT section 3 has no code of its own for this: an error
        click.echo("orgsync: interrupted", err=True)
        _exit_now(1)
    except Exception as error:  # a bug: still one line, unless --debug
        if debug:
            traceback.print_exc()
        click.echo(f"orgsync: internal error: {type(error).__name__}: {printable(str(error))} "
                   "(run with --debug for a traceback)", err=True)
        sys.exit(1)
    sys.exit(0)


def _exit_now(code: int) -> None:
    """Exit at once after an interrupt. The lock and the output files were already dealt with
    while the interrupt unwound the run; a normal exit would also join the worker threads of the
    read and apply pools, each finishing an AWS call in flight (seconds apiece on a slow
    endpoint), so Ctrl-C would seem to hang."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
