"""``orgsync sandbox``: the local AWS organization emulator in the foreground.

Starts the sandbox on loopback, writes the ``--info-file`` (CONTRACT.md section 5) once the
endpoint answers, prints where it listens (never a secret key), and runs until Ctrl-C, which
stops it cleanly with a one-line message.

``orgsync sandbox env`` and ``orgsync sandbox accept-invitation`` serve a tutorial or a shell
against a sandbox already running: they read its info file, so no jq and no boto3 script is
needed to point a shell at it or to act as an invited account.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import threading
import urllib.request
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from reconciler.errors import OrgsyncError
from reconciler.options import GlobalOptions
from reconciler.outfile import replace_file
from reconciler.sandbox.options import SandboxOptions, parse_throttle
from reconciler.sandbox.options import realistic as preset


def run(opts: GlobalOptions, *, host: str, port: int, info_file: str | None,
        standalone_accounts: int, latency_ms: float, throttle: tuple[str, ...],
        create_delay_s: float, auto_accept_invites: bool, close_quota: int | None,
        users: str = "", stackset_operation_s: float = 1.0,
        account_ready_lag_s: float | None = None, iam_lag_s: float | None = None,
        close_lag_s: float | None = None, rename_lag_s: float | None = None,
        org_concurrency: int | None = None, concurrent_modification: float | None = None,
        seed: int | None = None, realistic: bool = False,
        partition: str = "aws", sso_lag_s: float | None = None, sso_groups: str = "",
        no_identity_center: bool = False) -> int:
    user_names = _parse_users(users)
    # This process only serves the emulator, and moto builds boto3 sessions while it serves
    # (a backend for each new account and region): a session fails with ProfileNotFound when the
    # shell's AWS_PROFILE names a profile its config lacks, answering every request with a 500.
    # The sandbox never uses the user's profile.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    group_names = _parse_sso_groups(sso_groups)
    try:
        throttles = parse_throttle(list(throttle))
    except ValueError as error:
        raise OrgsyncError(str(error)) from None
    try:
        from reconciler.sandbox import Sandbox, SandboxError
    except ImportError as error:
        raise OrgsyncError(f"the sandbox needs moto[server] ({error}); install "
                           "'orgsync[sandbox]'") from None
    options = SandboxOptions(
        host=host, port=port, standalone_accounts=standalone_accounts, latency_ms=latency_ms,
        throttle=throttles, create_delay_s=create_delay_s,
        auto_accept_invites=auto_accept_invites, close_quota=close_quota, users=user_names,
        stackset_operation_s=stackset_operation_s, partition=partition,
        sso_groups=group_names, identity_center=not no_identity_center)
    lags: dict[str, Any] = {"account_ready_lag_s": account_ready_lag_s, "iam_lag_s": iam_lag_s,
                            "close_lag_s": close_lag_s, "rename_lag_s": rename_lag_s,
                            "org_concurrency": org_concurrency,
                            "concurrent_modification": concurrent_modification, "seed": seed,
                            "sso_lag_s": sso_lag_s}
    if realistic:
        # an explicit --create-delay-s wins over the preset's too
        explicit_delay = create_delay_s if create_delay_s else None
        options = preset(options, create_delay_s=explicit_delay, **lags)
    else:
        options = replace(options, **{k: v for k, v in lags.items() if v is not None})
    sandbox = Sandbox(options)
    try:
        sandbox.start()
    except SandboxError as error:
        raise OrgsyncError(str(error)) from None
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _wait_until_answering(sandbox.info.endpoint_url)
        if info_file:
            _write_info(Path(info_file), sandbox.info.to_document())
        info = sandbox.info
        print(f"orgsync sandbox: listening on {info.endpoint_url} (region {info.region}, "
              f"management account {info.management_account_id}, "
              f"{len(info.standalone_accounts)} standalone accounts)", flush=True)
        if info_file:
            print(f"orgsync sandbox: credentials in {info_file}; Ctrl-C stops", flush=True)
        else:
            print(f"orgsync sandbox: access key id {info.access_key_id} (secret: use "
                  "--info-file); Ctrl-C stops", flush=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
    print("orgsync sandbox: stopped", file=sys.stderr, flush=True)
    return 0


def _wait_until_answering(endpoint_url: str) -> None:
    with urllib.request.urlopen(endpoint_url + "/_orgsync/counters", timeout=10) as response:
        response.read()


def _write_info(path: Path, document: dict[str, object]) -> None:
    """Write atomically and readable only by the owner (it holds the sandbox's keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"), mode=0o600)


# IAM user names, as CreateUser documents them: [\w+=,.@-]{1,64}
# (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html)
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def _parse_users(value: str) -> tuple[str, ...]:
    names: list[str] = []
    for raw in value.split(","):
        name = raw.strip()
        if not name:
            continue
        if not _USER_NAME.fullmatch(name):
            raise OrgsyncError(f"--users: {name!r} is not an IAM user name "
                               "([A-Za-z0-9_+=,.@-], 1 to 64 characters)")
        if name.lower() in (n.lower() for n in names):  # IAM names are unique ignoring case
            raise OrgsyncError(f"--users: {name!r} is given twice (IAM ignores case)")
        names.append(name)
    return tuple(names)


def _parse_sso_groups(value: str) -> tuple[str, ...]:
    """``--sso-groups``: identity-store group display names (1 to 1,024 characters, no control
    characters other than tab and newlines: the Identity Store API's GroupDisplayName)."""
    names: list[str] = []
    for raw in value.split(","):
        name = raw.strip()
        if not name:
            continue
        if len(name) > 1024 or any(ord(c) < 32 for c in name):
            raise OrgsyncError(f"--sso-groups: {name!r} is not a group display name "
                               "(1 to 1,024 printable characters)")
        if name in names:
            raise OrgsyncError(f"--sso-groups: {name!r} is given twice")
        names.append(name)
    return tuple(names)


def _read_info(info_file: str) -> dict[str, Any]:
    from reconciler.sandbox.options import SandboxInfo

    path = Path(info_file)
    try:
        document = json.loads(path.read_text())
        SandboxInfo.from_document(document)  # the keys a running sandbox writes
    except FileNotFoundError:
        raise OrgsyncError(f"{info_file}: no such file (start `orgsync sandbox --info-file "
                           f"{info_file}` first)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OrgsyncError(f"{info_file}: not a sandbox info file ({error})") from None
    if not isinstance(document, dict):
        raise OrgsyncError(f"{info_file}: not a sandbox info file")
    return document


def env(*, info_file: str) -> int:
    """Shell exports for the management account's admin (AWS_DEFAULT_REGION too, for AWS CLI
    v1). This prints the sandbox's (local, fixed) secret key: that is what it is for."""
    document = _read_info(info_file)
    values = {
        "AWS_ENDPOINT_URL": document["endpoint_url"],
        "AWS_ACCESS_KEY_ID": document["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": document["secret_access_key"],
        "AWS_REGION": document["region"],
        "AWS_DEFAULT_REGION": document["region"],
    }
    for name, value in values.items():
        print(f"export {name}={shlex.quote(str(value))}")
    # a profile or session token from the user's shell would win over these keys or mix with them
    print("unset AWS_PROFILE AWS_SESSION_TOKEN")
    return 0


def accept_invitation(*, account_id: str, info_file: str) -> int:
    """Accept ACCOUNT_ID's open invitation with that standalone account's own credentials,
    through the real Organizations API (ListHandshakesForAccount, then AcceptHandshake), as the
    invited account does in AWS."""
    document = _read_info(info_file)
    accounts = document.get("standalone_accounts") or []
    account = next((a for a in accounts if isinstance(a, dict) and a.get("id") == account_id),
                   None)
    if account is None:
        known = ", ".join(str(a.get("id")) for a in accounts if isinstance(a, dict))
        raise OrgsyncError(f"{account_id}: not a standalone account of this sandbox "
                           f"(known: {known or 'none'})")
    from reconciler.aws import Aws, paginate
    from reconciler.errors import AwsError

    aws = Aws(endpoint_url=str(document["endpoint_url"]), region=str(document["region"]))
    client = aws.keys_client("organizations", account_id=account_id,
                             access_key_id=str(account["access_key_id"]),
                             secret_access_key=str(account["secret_access_key"]))
    try:
        open_ = [h for h in paginate(client, "list_handshakes_for_account", "Handshakes",
                                     Filter={"ActionType": "INVITE"})
                 if h.get("State") == "OPEN"]
        if not open_:
            raise OrgsyncError(f"{account_id}: no open invitation (run `orgsync apply` for a "
                               "file that invites it first)")
        handshake = client.accept_handshake(HandshakeId=open_[0]["Id"])["Handshake"]
    except AwsError as error:
        raise OrgsyncError(f"{account_id}: accepting the invitation failed: {error}") from error
    print(f"orgsync sandbox: {account_id} accepted invitation {handshake['Id']} "
          f"({handshake.get('State', 'ACCEPTED')})")
    return 0
