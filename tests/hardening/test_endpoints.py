"""AWS-side failures a user can cause end in one line naming the cause (issue 19): an endpoint
URL that is not a URL, an endpoint that answers 200 with an HTML page, one that accepts
connections and never answers (bounded by ORGSYNC_CALL_TIMEOUT_S), and a member account's
credentials ("these are not the management account's credentials")."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import output
from tests.desired_files import HEADER

DESIRED = HEADER + """\
accounts: []
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "accounts.yaml").write_text(DESIRED)
    return tmp_path


@contextmanager
def _html_endpoint() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            page = b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _silent_endpoint() -> Iterator[str]:
    """Accepts connections, reads, never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


def test_endpoint_url_that_is_not_a_url(workdir: Path, orgsync: Any,
                                        aws_env: dict[str, str]) -> None:
    result = orgsync("plan", "--endpoint-url", "not a url", env=aws_env, cwd=workdir)
    assert result.returncode == 1, output(result)
    assert result.stderr == ("orgsync: error: --endpoint-url (AWS_ENDPOINT_URL) 'not a url' is "
                             "not an endpoint URL: expected http(s)://host[:port], e.g. "
                             "https://organizations.us-east-1.amazonaws.com\n")


def test_endpoint_answering_200_with_html(workdir: Path, orgsync: Any,
                                          aws_env: dict[str, str]) -> None:
    with _html_endpoint() as url:
        result = orgsync("plan", env={**aws_env, "AWS_ENDPOINT_URL": url}, cwd=workdir)
    assert result.returncode == 1, output(result)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"orgsync: error: {url} answered ")
    assert line.endswith(" with an HTML page (HTTP 200), not an AWS API response; is "
                         "--endpoint-url (AWS_ENDPOINT_URL) an AWS endpoint?")


def test_endpoint_that_never_answers_is_bounded(workdir: Path, orgsync: Any,
                                                aws_env: dict[str, str]) -> None:
    with _silent_endpoint() as url:
        started = time.monotonic()
        result = orgsync("plan", env={**aws_env, "AWS_ENDPOINT_URL": url,
                                      "ORGSYNC_CALL_TIMEOUT_S": "2"}, cwd=workdir, timeout=120)
        took = time.monotonic() - started
    assert result.returncode == 1, output(result)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"orgsync: error: {url} did not answer ")
    assert "within 2 s (retries included)" in line
    assert took < 60  # not 8 minutes (the bound is 2 s; the rest is a loaded machine's start-up)


def test_member_account_credentials(workdir: Path, orgsync: Any, aws_env: dict[str, str],
                                    sandbox: Any) -> None:
    orgs = sandbox.client("organizations")
    status = orgs.create_account(Email="aws+member@example.com",
                                 AccountName="member")["CreateAccountStatus"]
    while status["State"] == "IN_PROGRESS":
        time.sleep(0.1)
        status = orgs.describe_create_account_status(
            CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    member = status["AccountId"]
    credentials = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="member")["Credentials"]
    env = {**aws_env, "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
           "AWS_SESSION_TOKEN": credentials["SessionToken"]}
    for command in (("plan",), ("export",)):
        result = orgsync(*command, env=env, cwd=workdir)
        assert result.returncode == 1, output(result)
        [line] = result.stderr.splitlines()
        assert line.startswith("orgsync: error: these are not the management account's "
                               f"credentials: they belong to account {member} ("), line
        assert "whose management account is 123456789012" in line
