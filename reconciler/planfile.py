"""Saved plans: what a reviewer approved, in a file apply can trust.

A saved plan is the canonical plan document plus what apply needs to refuse the wrong thing:
the exact desired-state text it was planned from (and its digest), a fingerprint of everything
observed (the reviewer approved the whole picture, so any change in AWS makes the plan stale),
and a checksum over all of it so that an altered file is refused. With ``ORGSYNC_PLAN_KEY`` set
the checksum is an HMAC, so only holders of the key can produce a plan apply accepts.

Nothing secret goes in: the plan holds names, ids, policies and the desired file, never
credentials; the HMAC key itself is never written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from reconciler import __version__
from reconciler.config.source import ReadProblem, read_bytes
from reconciler.errors import Refusal
from reconciler.model import DesiredState
from reconciler.observed import ObservedState
from reconciler.outfile import write_output
from reconciler.plan import FORMAT_VERSION, Plan

KEY_ENV = "ORGSYNC_PLAN_KEY"
# A saved plan carries the desired file (at most 16 MiB) and the plan: ample, and bounded.
MAX_PLAN_BYTES = 64 * 1024 * 1024
SAVED_KEYS = ("orgsync_version", "created_at", "desired", "observed_fingerprint", "checksum")
# Written by this version, optional when reading (plans saved before it have none): what was
# observed, so that a stale-plan refusal can say what changed (``reconciler.staleness``).
OPTIONAL_SAVED_KEYS = ("observed",)


@dataclass(frozen=True)
class SavedPlan:
    """A saved plan, verified: the plan and what it was made from."""

    plan: Plan
    document: Mapping[str, Any]  # the plan document as saved (without the planfile keys)
    desired_text: str
    desired_file: str
    desired_sha256: str
    observed_fingerprint: str
    created_at: str
    orgsync_version: str
    observed: Mapping[str, Any] | None = None  # ``ObservedState.to_dict()`` when saved


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _checksum(data: Mapping[str, Any], key: str | None) -> str:
    payload = _canonical({k: v for k, v in data.items() if k != "checksum"})
    if key:
        return "hmac-sha256:" + hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def _key() -> str | None:
    return os.environ.get(KEY_ENV) or None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build(*, plan: Plan, desired: DesiredState, desired_text: str, observed: ObservedState,
          created_at: str | None = None) -> dict[str, Any]:
    """The saved-plan document (what ``save`` writes)."""
    document = plan.to_document()
    for key in (*SAVED_KEYS, *OPTIONAL_SAVED_KEYS):
        document.pop(key, None)
    document.update({
        "orgsync_version": __version__,
        "created_at": created_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "desired": {"file": desired.source_file, "sha256": sha256_text(desired_text),
                    "content": desired_text},
        "observed_fingerprint": observed.fingerprint(),
        "observed": json.loads(json.dumps(observed.to_dict(), default=str)),
    })
    document["checksum"] = _checksum(document, _key())
    return document


def save(path: str | os.PathLike[str], *, plan: Plan, desired: DesiredState, desired_text: str,
         observed: ObservedState) -> None:
    """Write the plan to ``path`` (``reconciler.outfile``: atomically, so a reader never sees half
    a plan; a device or FIFO is written into, a symbolic link's target replaced)."""
    document = build(plan=plan, desired=desired, desired_text=desired_text, observed=observed)
    write_output(os.fspath(path), json.dumps(document, indent=2, sort_keys=True,
                                             ensure_ascii=False) + "\n")


def load(path: str | os.PathLike[str]) -> SavedPlan:
    """Read and verify a saved plan; refuse (``Refusal``) one that is unreadable or altered."""
    name = os.fspath(path)
    try:
        text = read_bytes(name, max_bytes=MAX_PLAN_BYTES).decode("utf-8")
    except ReadProblem as problem:
        raise Refusal(f"cannot read the plan file {name}: {problem.reason}") from problem
    except UnicodeDecodeError as error:
        raise Refusal(f"the plan file {name} is not a saved plan (not UTF-8 text)") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise Refusal(f"the plan file {name} is not a saved plan (invalid JSON at line "
                      f"{error.lineno})") from error
    except RecursionError as error:  # json's C parser gives up on deep nesting; no plan does
        raise Refusal(f"the plan file {name} is not a saved plan (nested too deeply)") from error
    if not isinstance(data, dict) or not all(k in data for k in SAVED_KEYS):
        raise Refusal(f"the plan file {name} is not a saved orgsync plan (missing "
                      "checksum or plan data)")
    if data.get("format_version") != FORMAT_VERSION:
        raise Refusal(f"the plan file {name} has format version {data.get('format_version')!r}; "
                      f"this orgsync reads version {FORMAT_VERSION}")
    _verify(name, data)
    desired = data["desired"]
    if not isinstance(desired, dict) or sha256_text(str(desired.get("content", ""))) != \
            desired.get("sha256"):
        raise Refusal(f"the plan file {name} was altered: its desired-state content does not "
                      "match its digest")
    plan_document = {k: v for k, v in data.items()
                     if k not in SAVED_KEYS and k not in OPTIONAL_SAVED_KEYS}
    try:
        plan = Plan.from_document(plan_document)
    except (KeyError, TypeError, ValueError) as error:
        raise Refusal(f"the plan file {name} is not a valid plan ({type(error).__name__}: "
                      f"{error})") from error
    except RecursionError as error:
        raise Refusal(f"the plan file {name} is not a valid plan (nested too deeply)") from error
    return SavedPlan(
        plan=plan, document=plan_document, desired_text=str(desired["content"]),
        desired_file=str(desired.get("file", "")), desired_sha256=str(desired["sha256"]),
        observed_fingerprint=str(data["observed_fingerprint"]),
        created_at=str(data["created_at"]), orgsync_version=str(data["orgsync_version"]),
        observed=data["observed"] if isinstance(data.get("observed"), dict) else None)


def _verify(name: str, data: Mapping[str, Any]) -> None:
    stored = str(data.get("checksum", ""))
    key = _key()
    if stored.startswith("hmac-sha256:") and key is None:
        raise Refusal(f"the plan file {name} is signed: set {KEY_ENV} to the key it was "
                      "saved with")
    if key is not None and not stored.startswith("hmac-sha256:"):
        raise Refusal(f"the plan file {name} is not signed, but {KEY_ENV} is set: refusing an "
                      "unsigned plan")
    if not hmac.compare_digest(stored, _checksum(data, key)):
        raise Refusal(f"the plan file {name} was altered after it was saved (checksum "
                      "mismatch)" + (f", or signed with another {KEY_ENV}" if key else ""))
