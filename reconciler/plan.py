"""The plan: an ordered list of changes, as frozen values, and its one canonical JSON document.

Like Terraform's ``internal/plans``, a change is ``{action, before, after}``; apply is driven only
by the action and the after-value, and ``reason`` exists for display. Every renderer (text, json,
markdown) starts from ``Plan.to_document()`` so that the formats can never disagree, and a saved
plan file is that same document plus what apply needs to detect staleness and tampering.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from reconciler.jsontypes import JSON

FORMAT_VERSION = "1"



class Action(str, Enum):
    """What a change does; ``symbol`` is how the text plan shows it."""

    CREATE = "create"
    INVITE = "invite"
    UPDATE = "update"
    DELETE = "delete"
    CLOSE = "close"
    BOOTSTRAP = "bootstrap"

    @property
    def symbol(self) -> str:
        return ACTION_SYMBOLS[self.value]


# How the text and markdown plans mark each action (destructive ones with "-").
ACTION_SYMBOLS: Mapping[str, str] = {"create": "+", "invite": "+", "update": "~", "delete": "-",
                                     "close": "-", "bootstrap": "!"}

# The value standing for an account id that only exists once its account has been created:
# ``${account.NAME.id}``. Apply substitutes it (``resolve_account_ids``); renderers show
# "(known after apply)"; policy sizes count it as the 12 digits it becomes.
ACCOUNT_ID_PLACEHOLDER_PATTERN = r"\$\{account\.([^}\"]+)\.id\}"
ACCOUNT_ID_PLACEHOLDER = re.compile(ACCOUNT_ID_PLACEHOLDER_PATTERN)


def unknown_account_id(account_name: str) -> str:
    return "${account." + account_name + ".id}"


def resolve_account_ids(value: JSON, account_id: Callable[[str], str]) -> JSON:
    """``value`` with every placeholder replaced by ``account_id(name)`` (mappings and lists
    are copied; lists come back as lists)."""
    if isinstance(value, str):
        return ACCOUNT_ID_PLACEHOLDER.sub(lambda m: account_id(m.group(1)), value)
    if isinstance(value, Mapping):
        return {k: resolve_account_ids(v, account_id) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_account_ids(v, account_id) for v in value]
    return value


def how_to_accept(handshake_id: str | None, account_id: str | None) -> str:
    """How an invited account accepts its invitation (plan and apply say it exactly)."""
    who = f"account {account_id}" if account_id else "the invited account"
    command = (f"`aws organizations accept-handshake --handshake-id {handshake_id}`"
               if handshake_id and handshake_id.startswith("h-") else
               "`aws organizations list-handshakes-for-account` then `aws organizations "
               "accept-handshake --handshake-id <its Id>`")
    return (f"to accept, sign in to {who} and open the AWS Organizations console > "
            f"Invitations > Accept, or run {command} with that account's credentials")


@dataclass(frozen=True)
class AttributeDiff:
    """One attribute-level difference inside a change (from deepdiff, made readable)."""

    path: str  # e.g. "trust_policy.Statement[0].Condition"
    before: JSON = None
    after: JSON = None

    def to_dict(self) -> dict[str, JSON]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    kind: str
    key: str
    action: Action
    before: Mapping[str, JSON] | None
    after: Mapping[str, JSON] | None
    reason: str
    destructive: bool = False
    depends_on: tuple[str, ...] = ()  # addresses of changes that must succeed first
    diff: tuple[AttributeDiff, ...] = ()
    instructions: str | None = None  # for ``bootstrap``: what a human must run

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.key}"

    def to_dict(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {
            "address": self.address,
            "kind": self.kind,
            "key": self.key,
            "action": self.action.value,
            "before": plain_json(self.before),
            "after": plain_json(self.after),
            "reason": self.reason,
            "destructive": self.destructive,
            "depends_on": list(self.depends_on),
            "diff": [d.to_dict() for d in self.diff],
        }
        if self.instructions is not None:
            data["instructions"] = self.instructions
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Change:
        return cls(
            kind=data["kind"],
            key=data["key"],
            action=Action(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            reason=data.get("reason", ""),
            destructive=bool(data.get("destructive", False)),
            depends_on=tuple(data.get("depends_on", ())),
            diff=tuple(AttributeDiff(d["path"], d.get("before"), d.get("after"))
                       for d in data.get("diff", ())),
            instructions=data.get("instructions"),
        )


@dataclass(frozen=True)
class Deferred:
    """Something that cannot happen yet, and what it waits for.

    When the plan can foresee what will happen once the wait is over (an invited account's
    rename, access role and root-credential policy once its invitation is accepted), the item
    carries that ``action``, its ``after`` state (values not known yet are null) and whether it is
    ``destructive``: it is then a *listed* deferred change, which a follow-up round of the same
    apply may carry out (``reconciler.apply.executor.listed``). An item without an action is only
    reported; the next plan decides what to do about it.
    """

    address: str
    waiting_for: str
    action: Action | None = None
    after: Mapping[str, JSON] | None = None
    destructive: bool = False

    @property
    def kind(self) -> str:
        return self.address.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.address.split(".", 1)[1] if "." in self.address else ""

    def to_dict(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {"address": self.address, "waiting_for": self.waiting_for}
        if self.action is not None:
            data.update({"action": self.action.value, "after": plain_json(self.after),
                         "destructive": self.destructive})
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSON]) -> Deferred:
        action = data.get("action")
        return cls(address=data["address"], waiting_for=data["waiting_for"],
                   action=Action(action) if action else None, after=data.get("after"),
                   destructive=bool(data.get("destructive", False)))


@dataclass(frozen=True)
class Unmanaged:
    """Something in the organization that the file does not describe; never touched."""

    kind: str
    id: str
    name: str

    def to_dict(self) -> dict[str, JSON]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class Plan:
    management_account_id: str
    changes: tuple[Change, ...] = ()
    deferred: tuple[Deferred, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    errors: tuple[str, ...] = ()  # refusals found while planning (e.g. a changed email): exit 1
    warnings: tuple[str, ...] = ()
    extra: Mapping[str, JSON] = field(default_factory=dict)  # saved-plan metadata, see planfile

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def destructive_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.destructive)

    @property
    def listed_deferred(self) -> tuple[Deferred, ...]:
        """Deferred items that say what they will do (an action), in plan order."""
        return tuple(d for d in self.deferred if d.action is not None)

    @property
    def destructive_deferred(self) -> tuple[Deferred, ...]:
        return tuple(d for d in self.listed_deferred if d.destructive)

    def summary(self) -> dict[str, int]:
        """Changes by action, plus ``deferred``: how many deferred items carry an action (they
        happen once what they wait for has happened, in this apply or a later one)."""
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts["deferred"] = len(self.listed_deferred)
        return counts

    def deferred_summary(self) -> dict[str, int]:
        """Listed deferred items by action (only actions that occur)."""
        counts: dict[str, int] = {}
        for item in self.listed_deferred:
            assert item.action is not None
            counts[item.action.value] = counts.get(item.action.value, 0) + 1
        return counts

    def to_document(self) -> dict[str, JSON]:
        """The canonical plan document (CONTRACT.md section 4); keys may only ever be added."""
        document: dict[str, JSON] = {
            "format_version": FORMAT_VERSION,
            "management_account_id": self.management_account_id,
            "changes": [c.to_dict() for c in self.changes],
            "deferred": [d.to_dict() for d in self.deferred],
            "unmanaged": [u.to_dict() for u in self.unmanaged],
            "summary": self.summary(),
            "destructive": list(dict.fromkeys(
                [c.address for c in self.destructive_changes]
                + [d.address for d in self.destructive_deferred])),
            "deferred_summary": self.deferred_summary(),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }
        document.update(plain_json(self.extra) or {})
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, JSON]) -> Plan:
        known = {"format_version", "management_account_id", "changes", "deferred", "unmanaged",
                 "summary", "destructive", "deferred_summary", "errors", "warnings"}
        return cls(
            management_account_id=document["management_account_id"],
            changes=tuple(Change.from_dict(c) for c in document.get("changes", ())),
            deferred=tuple(Deferred.from_dict(d) for d in document.get("deferred", ())),
            unmanaged=tuple(Unmanaged(u["kind"], u["id"], u["name"])
                            for u in document.get("unmanaged", ())),
            errors=tuple(document.get("errors", ())),
            warnings=tuple(document.get("warnings", ())),
            extra={k: v for k, v in document.items() if k not in known},
        )


def plain_json(value: JSON) -> JSON:
    """Turn read-only mappings and tuples into plain JSON-able dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return value
