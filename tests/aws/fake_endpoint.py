"""A scripted AWS JSON-protocol endpoint on loopback, for boundary behaviour the sandbox cannot be
made to show on demand (an empty page with a NextToken, N throttling answers then success, an HTML
500). boto3 talks to it over real HTTP, so signing, retries and parsing all run for real."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any]  # (HTTP status, JSON body or str for a raw body)
Script = Callable[[str, dict[str, Any]], Reply]  # (operation, request body) -> reply


@dataclass
class FakeEndpoint:
    url: str
    requests: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    # (operation, body, Authorization header)


@contextmanager
def fake_endpoint(script: Script) -> Iterator[FakeEndpoint]:
    lock = threading.Lock()
    holder: list[FakeEndpoint] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            target = self.headers.get("X-Amz-Target", "")
            operation = target.rsplit(".", 1)[-1]
            body = json.loads(raw or b"{}")
            with lock:
                holder[0].requests.append((operation, body, self.headers.get("Authorization", "")))
            status, reply = script(operation, body)
            payload = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if isinstance(reply, str)
                             else "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = FakeEndpoint(url=f"http://127.0.0.1:{server.server_address[1]}")
    holder.append(endpoint)
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
