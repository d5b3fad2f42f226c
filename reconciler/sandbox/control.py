"""The sandbox's test controls, in Python and over HTTP.

Tests drive what AWS would do on its own time or on its own terms: move the clock (invitations
expire, creations finish), make the Nth call of an operation fail with a given AWS error or drop
its connection, read per-operation call counters, and accept or decline an invitation as the
invited account. ``Control`` works on a sandbox in this process; ``RemoteControl`` speaks the same
operations over HTTP under ``/_orgsync/`` to a sandbox in another process (``orgsync sandbox``).

HTTP API (JSON in and out):
  GET  /_orgsync/info                     the published SandboxInfo
  GET  /_orgsync/counters                 {"operations": {"organizations.ListAccounts": 3}, ...,
                                           "creations": {"peak_in_flight": 5,
                                                         "refused_rate_limit": 0}}
  POST /_orgsync/counters/reset
  POST /_orgsync/clock/advance            {"seconds": 86400}
  POST /_orgsync/faults                   {"operation": "organizations.CreateAccount", "nth": 1,
                                           "code": "ServiceException", "drop": false,
                                           "lost_response": false}
  DELETE /_orgsync/faults
  POST /_orgsync/async-faults             {"operation": "sso-admin.CreateAccountAssignment",
                                           "nth": 1, "reason": "..."}: that Identity Center
                                          request is accepted (IN_PROGRESS), then ends FAILED
  POST /_orgsync/handshakes/<id>/accept   (or /decline) as the invited account
  POST /_orgsync/reset                    back to the seeded state (runtime options stay)
  GET  /_orgsync/options                  {"latency_ms": 0.0, "throttle": {}, "iam_lag_s": 0.0, ...}
  POST /_orgsync/options                  {"latency_ms": 50, "throttle": {"organizations": 2},
                                           "account_ready_lag_s": 2, "iam_lag_s": 1,
                                           "close_lag_s": 1, "rename_lag_s": 1,
                                           "org_concurrency": 1, "concurrent_modification": 0.05,
                                           "seed": 7}
                                          (any key may be left out; throttle {} turns it off)
  GET  /_orgsync/cost                     {"cpu_s": CPU seconds the sandbox process has used}
  POST /_orgsync/root-access-keys         {"account_id": "..."}: a new working access key of that
                                          account's root user {"AccessKeyId", "SecretAccessKey"}
                                          (what a root user can still make in the console)
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from reconciler.sandbox import identity_center, organizations
from reconciler.sandbox.options import RUNTIME_OPTIONS, SandboxOptions
from reconciler.sandbox.protocol import Response
from reconciler.sandbox.state import Fault

if TYPE_CHECKING:
    from reconciler.sandbox.server import Sandbox


class Control:
    """Test controls for a sandbox running in this process (``sb.control``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward; transitions due by then happen on the next call."""
        self._sandbox.state.clock.advance(seconds)
        organizations.advance(self._sandbox.state)
        identity_center.advance(self._sandbox.state)

    def inject_fault(self, operation: str, *, code: str | None = None, nth: int = 1,
                     message: str | None = None, drop: bool = False,
                     lost_response: bool = False) -> None:
        """Make the ``nth`` call (counted from now) of ``operation`` ("service.Operation", e.g.
        "organizations.CreateAccount") fail with AWS error ``code``, or drop its connection
        (``drop``: the call is not performed), or perform it and then drop the connection before
        the reply (``lost_response``: the write happened, the client does not know)."""
        if "." not in operation:
            raise ValueError("operation must be 'service.Operation', e.g. 'iam.GetRole'")
        if not drop and not lost_response and not code:
            raise ValueError("give an AWS error code, or drop=True, or lost_response=True")
        if nth < 1:
            raise ValueError("nth counts from 1")
        state = self._sandbox.state
        with state.lock:
            state.faults.append(Fault(operation=operation, nth=nth, code=code, drop=drop,
                                      message=message or f"Injected fault: {code}",
                                      lost_response=lost_response))

    def clear_faults(self) -> None:
        with self._sandbox.state.lock:
            self._sandbox.state.faults.clear()
            center = identity_center.center_of(self._sandbox.state)
            if center is not None:
                center.async_faults.clear()

    def inject_async_failure(self, operation: str, *, nth: int = 1,
                             reason: str | None = None) -> None:
        """Make the ``nth`` Identity Center request of ``operation``
        ("sso-admin.CreateAccountAssignment", "sso-admin.DeleteAccountAssignment",
        "sso-admin.ProvisionPermissionSet") made from now on answer IN_PROGRESS, then end FAILED
        with ``reason`` (default: "An unexpected internal service exception was encountered"),
        changing nothing: AWS's asynchronous failures."""
        identity_center.inject_async_failure(self._sandbox.state, operation, nth=nth,
                                             reason=reason)

    def set_options(self, *, latency_ms: float | None = None,
                    throttle: dict[str, float] | None = None,
                    **consistency_options: float | int | None) -> dict[str, Any]:
        """Change latency (ms added to every AWS call), throttling (service -> requests per
        second; {} for none), the lags and the Organizations limits (``account_ready_lag_s``,
        ``iam_lag_s``, ``close_lag_s``, ``rename_lag_s``, ``org_concurrency``,
        ``concurrent_modification``, ``seed``) at runtime, keeping the sandbox's state."""
        return _options_document(self._sandbox.set_options(
            latency_ms=latency_ms, throttle=throttle, **consistency_options))

    def options(self) -> dict[str, Any]:
        return _options_document(self._sandbox.options)

    def cpu_seconds(self) -> float:
        """CPU time this process has used (the sandbox's own, when it runs alone in it)."""
        return time.process_time()

    def counters(self) -> dict[str, int]:
        """Calls per "service.Operation" since the last reset."""
        return dict(self._sandbox.state.counters_document()["operations"])

    def calls(self, operation: str, *, account_id: str | None = None) -> int:
        document = self._sandbox.state.counters_document()
        if account_id is None:
            return int(document["operations"].get(operation, 0))
        return int(document["by_account"].get(f"{account_id}:{operation}", 0))

    def creations(self) -> dict[str, int]:
        """CreateAccount concurrency since the last reset: ``peak_in_flight`` (the most requests
        IN_PROGRESS at once) and ``refused_rate_limit`` (calls answered
        ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED)."""
        return dict(self._sandbox.state.counters_document()["creations"])

    def reset_counters(self) -> None:
        state = self._sandbox.state
        with state.lock:
            state.counters.clear()
            state.account_counters.clear()
            state.creations.update(peak_in_flight=0, refused_rate_limit=0)

    def create_root_access_key(self, account_id: str) -> dict[str, str]:
        """A working access key of ``account_id``'s root user, as its owner could make one in
        the console: tests use it to check what AWS refuses to root users."""
        from moto.iam.utils import random_access_key, random_alphanumeric

        from reconciler.sandbox.iam import root_user
        from reconciler.sandbox.state import RootAccessKey

        state = self._sandbox.state
        if not (len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"not an account id: {account_id!r}")
        key = RootAccessKey("AKIA" + random_access_key(), state.clock.now(),
                            secret_access_key=random_alphanumeric(40))
        with state.lock:
            root_user(state, account_id).access_keys.append(key)
            state.root_keys[key.access_key_id] = account_id
        assert key.secret_access_key is not None
        return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}

    def accept_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._respond(handshake_id, accept=True)

    def decline_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._respond(handshake_id, accept=False)

    def _respond(self, handshake_id: str, *, accept: bool) -> dict[str, Any]:
        state = self._sandbox.state
        with state.lock:
            handshake = state.handshakes.get(handshake_id)
            if handshake is None or handshake.target_account_id is None:
                raise KeyError(f"no handshake {handshake_id} with a sandbox account as target")
            target = handshake.target_account_id
        return organizations.respond(state, handshake_id, target, accept=accept)

    def handle_http(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        parts = environ.get("PATH_INFO", "").strip("/").split("/")[1:]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            result = self._route(method, parts, body)
        except (KeyError, ValueError, TypeError) as error:
            return _json(400, {"error": str(error)})
        except Exception as error:  # an AWS-shaped error from the handshake logic
            return _json(400, {"error": str(error), "code": getattr(error, "code", None)})
        if result is None:
            return _json(404, {"error": f"no control operation {method} /{'/'.join(parts)}"})
        return _json(200, result)

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> Any:
        if parts == ["info"] and method == "GET":
            return self._sandbox.info.to_document()
        if parts == ["counters"] and method == "GET":
            return self._sandbox.state.counters_document()
        if parts == ["counters", "reset"] and method == "POST":
            self.reset_counters()
            return {}
        if parts == ["clock", "advance"] and method == "POST":
            self.advance_clock(float(body["seconds"]))
            return {"now": self._sandbox.state.clock.time()}
        if parts == ["faults"] and method == "POST":
            self.inject_fault(str(body["operation"]), code=body.get("code"),
                              nth=int(body.get("nth", 1)), message=body.get("message"),
                              drop=bool(body.get("drop", False)),
                              lost_response=bool(body.get("lost_response", False)))
            return {}
        if parts == ["async-faults"] and method == "POST":
            self.inject_async_failure(str(body["operation"]), nth=int(body.get("nth", 1)),
                                      reason=body.get("reason"))
            return {}
        if parts == ["faults"] and method == "DELETE":
            self.clear_faults()
            return {}
        if len(parts) == 3 and parts[0] == "handshakes" and parts[2] in ("accept", "decline") \
                and method == "POST":
            return self._respond(parts[1], accept=parts[2] == "accept")
        if parts == ["reset"] and method == "POST":
            self._sandbox.reset()
            return {}
        if parts == ["options"] and method == "GET":
            return self.options()
        if parts == ["options"] and method == "POST":
            unknown = sorted(set(body) - set(RUNTIME_OPTIONS))
            if unknown:
                raise ValueError(f"unknown option {unknown[0]!r}: expected one of "
                                 f"{', '.join(RUNTIME_OPTIONS)}")
            latency = body.get("latency_ms")
            throttle = body.get("throttle")
            if throttle is not None and not isinstance(throttle, dict):
                raise TypeError("throttle must be an object: {\"organizations\": 2, ...}")
            others = {k: v for k, v in body.items() if k not in ("latency_ms", "throttle")}
            return self.set_options(latency_ms=float(latency) if latency is not None else None,
                                    throttle=throttle, **others)
        if parts == ["cost"] and method == "GET":
            return {"cpu_s": self.cpu_seconds()}
        if parts == ["root-access-keys"] and method == "POST":
            return self.create_root_access_key(str(body["account_id"]))
        return None


def _options_document(options: SandboxOptions) -> dict[str, Any]:
    document: dict[str, Any] = {"latency_ms": options.latency_ms,
                                "throttle": dict(options.throttle)}
    document.update({name: getattr(options, name) for name in RUNTIME_OPTIONS
                     if name not in document})
    return document


def _json(status: int, document: Any) -> Response:
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()


class RemoteControl:
    """The same controls for a sandbox in another process, over HTTP."""

    def __init__(self, endpoint_url: str, *, timeout: float = 10.0) -> None:
        self._base = endpoint_url.rstrip("/") + "/_orgsync/"
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            return json.loads(response.read() or b"{}")

    def info(self) -> dict[str, Any]:
        return self._call("GET", "info")

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "clock/advance", {"seconds": seconds})

    def create_root_access_key(self, account_id: str) -> dict[str, str]:
        return dict(self._call("POST", "root-access-keys", {"account_id": account_id}))

    def inject_fault(self, operation: str, *, code: str | None = None, nth: int = 1,
                     message: str | None = None, drop: bool = False,
                     lost_response: bool = False) -> None:
        self._call("POST", "faults", {"operation": operation, "code": code, "nth": nth,
                                      "message": message, "drop": drop,
                                      "lost_response": lost_response})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def inject_async_failure(self, operation: str, *, nth: int = 1,
                             reason: str | None = None) -> None:
        self._call("POST", "async-faults", {"operation": operation, "nth": nth,
                                            "reason": reason})

    def counters(self) -> dict[str, int]:
        return dict(self._call("GET", "counters")["operations"])

    def calls(self, operation: str, *, account_id: str | None = None) -> int:
        document = self._call("GET", "counters")
        if account_id is None:
            return int(document["operations"].get(operation, 0))
        return int(document["by_account"].get(f"{account_id}:{operation}", 0))

    def creations(self) -> dict[str, int]:
        return dict(self._call("GET", "counters").get("creations", {}))

    def reset_counters(self) -> None:
        self._call("POST", "counters/reset", {})

    def accept_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._call("POST", f"handshakes/{handshake_id}/accept", {})

    def decline_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._call("POST", f"handshakes/{handshake_id}/decline", {})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def set_options(self, *, latency_ms: float | None = None,
                    throttle: dict[str, float] | None = None,
                    **consistency_options: float | int | None) -> dict[str, Any]:
        body: dict[str, Any] = {k: v for k, v in consistency_options.items() if v is not None}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if throttle is not None:
            body["throttle"] = throttle
        return dict(self._call("POST", "options", body))

    def options(self) -> dict[str, Any]:
        return dict(self._call("GET", "options"))

    def cpu_seconds(self) -> float:
        return float(self._call("GET", "cost")["cpu_s"])
