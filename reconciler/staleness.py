"""What changed since a saved plan was made: the differences a stale-plan refusal lists.

A reviewer who is told only "stale plan" cannot tell a harmless tag edit from an account moved out
of band. A saved plan therefore carries a snapshot of what orgsync observed (names, ids, policies,
flags: never credentials), and a refusal compares it with what is observed now, resource by
resource and attribute by attribute, using the plan's addresses (``account.prod``) wherever an
observed thing belongs to the file. It also compares the desired-state file line by line and, when
the world looks the same but planning again differs, the plans' changes.

Pure: no I/O and no AWS; values whose key looks secret are never shown (there should be none).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from reconciler.jsontypes import JSON

if TYPE_CHECKING:
    from reconciler.model import DesiredState

MAX_SHOWN = 40
_SECRET_KEY = re.compile(r"secret|token|session|credential_value|private", re.IGNORECASE)
_MISSING = object()


def _flatten(value: JSON, prefix: str = "") -> dict[str, JSON]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay whole values."""
    if isinstance(value, Mapping) and value:
        flat: dict[str, JSON] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if _SECRET_KEY.search(str(key)) and isinstance(item, str):
                flat[path] = "(hidden)"
            else:
                flat.update(_flatten(item, path))
        return flat
    return {prefix or "value": value}


# ObservedState mappings keyed by account id, and the plan kind their entries belong to
_PER_ACCOUNT = {"roles": "access_role", "root_credentials": "root_credentials",
                "aliases": "account_alias", "alternate_contacts": "alternate_contacts"}


# ObservedState lists, and the address of each of their entries
_LISTED: dict[str, Callable[[Mapping[str, JSON]], str]] = {
    "ous": lambda ou: f"ou.{ou.get('path')}",
    "create_requests": lambda item: f"create_account_request.{item.get('id')}",
    "handshakes": lambda item: f"invitation.{item.get('id')}",
    "groups": lambda item: f"group.{item.get('name')}",
    "managed_policies": lambda item: f"managed_policy.{item.get('path', '')}{item.get('name')}",
}


def _entities(state: Mapping[str, JSON], names: Mapping[str, str]) -> dict[str, dict[str, JSON]]:
    """Observed state (``ObservedState.to_dict()``) by address -> flat attributes."""
    def account(account_id: str) -> str:
        return names.get(account_id, account_id)

    entities: dict[str, dict[str, JSON]] = {}
    for key, value in state.items():
        if key == "organization":
            entities.setdefault("organization", {}).update(_flatten(value))
        elif key in ("trusted_access_iam", "root_features", "trusted_access_account"):
            entities.setdefault("organization", {})[key] = value
        elif key in _LISTED:
            for item in value or ():
                entities[_LISTED[key](item)] = _flatten(item)
        elif key == "accounts":
            for item in value or ():
                entities[f"account.{account(str(item.get('id')))}"] = _flatten(item)
        elif key in _PER_ACCOUNT and isinstance(value, Mapping):
            kind = _PER_ACCOUNT[key]
            for account_id, item in value.items():
                entities[f"{kind}.{account(str(account_id))}"] = _flatten(item)
        elif key == "identity_center" and isinstance(value, Mapping):
            _identity_center_entities(entities, value, account)
        else:
            entities[key] = {"value": value}
    return entities


def _identity_center_entities(entities: dict[str, dict[str, JSON]], value: Mapping[str, JSON],
                              account: Callable[[str], str]) -> None:
    """Permission sets by ``permission_set.NAME``, assignments by account, set ARN and principal,
    requests in flight by id (``ObservedIdentityCenter``)."""
    entities["identity_center"] = {k: value.get(k) for k in ("instance_arn", "identity_store_id",
                                                             "error")}
    sets = {item.get("arn"): item.get("name") for item in value.get("permission_sets") or ()}
    for item in value.get("permission_sets") or ():
        entities[f"permission_set.{item.get('name')}"] = _flatten(item)
    for item in value.get("assignments") or ():
        where = account(str(item.get("account_id")))
        what = sets.get(item.get("permission_set_arn"), item.get("permission_set_arn"))
        entities[f"assignment.{where}/{what}/{str(item.get('principal_type')).lower()}:"
                 f"{item.get('principal_id')}"] = {"assigned": True}
    for item in value.get("requests") or ():
        entities[f"assignment_request.{item.get('request_id')}"] = _flatten(item)


def observed_differences(before: Mapping[str, JSON], after: Mapping[str, JSON], *,
                         names: Mapping[str, str]) -> list[dict[str, JSON]]:
    """Every (address, attribute, before, after) that differs between two observed states;
    ``names`` maps account ids to the file's account names (for the addresses)."""
    old, new = _entities(before, names), _entities(after, names)
    found: list[dict[str, JSON]] = []
    for address in sorted(set(old) | set(new)):
        if address not in old:
            found.append({"address": address, "attribute": "(exists)", "before": False,
                          "after": True})
            continue
        if address not in new:
            found.append({"address": address, "attribute": "(exists)", "before": True,
                          "after": False})
            continue
        for attribute in sorted(set(old[address]) | set(new[address])):
            was = old[address].get(attribute, None)
            now = new[address].get(attribute, None)
            if was != now:
                found.append({"address": address, "attribute": attribute, "before": was,
                              "after": now})
    return found


def file_differences(before: str, after: str, *, name: str) -> list[dict[str, JSON]]:
    """The desired-state file's changed lines (``attribute`` is "line N" of the new file)."""
    old, new = before.splitlines(), after.splitlines()
    found: list[dict[str, JSON]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for offset in range(max(i2 - i1, j2 - j1)):
            was = old[i1 + offset] if i1 + offset < i2 else None
            now = new[j1 + offset] if j1 + offset < j2 else None
            line = j1 + offset + 1 if now is not None else j1 + 1
            found.append({"address": f"file {name}", "attribute": f"line {line}",
                          "before": was, "after": now})
    return found


def change_differences(before: list[Mapping[str, JSON]],
                       after: list[Mapping[str, JSON]]) -> list[dict[str, JSON]]:
    """How two plans' changes differ: by (address, action), then attribute by attribute."""
    def keyed(changes: list[Mapping[str, JSON]]) -> dict[str, Mapping[str, JSON]]:
        return {f"{c['address']} ({c['action']})": c for c in changes}

    old, new = keyed(before), keyed(after)
    found: list[dict[str, JSON]] = []
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            found.append({"address": key, "attribute": "(planned)", "before": key in old,
                          "after": key in new})
            continue
        was = _flatten({"after": old[key].get("after"), "destructive":
                        old[key].get("destructive")})
        now = _flatten({"after": new[key].get("after"), "destructive":
                        new[key].get("destructive")})
        for attribute in sorted(set(was) | set(now)):
            if was.get(attribute, _MISSING) != now.get(attribute, _MISSING):
                found.append({"address": key, "attribute": attribute,
                              "before": was.get(attribute), "after": now.get(attribute)})
    return found


def _short(value: JSON, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= width else text[:width - 3] + "..."


def difference_lines(differences: Sequence[Mapping[str, JSON]], *,
                     limit: int = MAX_SHOWN) -> list[str]:
    """One line per difference, for a terminal (at most ``limit``, then how many more)."""
    lines = [f"  {d['address']}: {d['attribute']}: {_short(d['before'])} -> {_short(d['after'])}"
             for d in differences[:limit]]
    if len(differences) > limit:
        lines.append(f"  ... and {len(differences) - limit} more (apply --format json lists "
                     "them all)")
    return lines


def account_names(desired: DesiredState, *states: Mapping[str, JSON]) -> dict[str, str]:
    """Account id -> the file's account name (for the addresses of differences), from the
    file's ids and the emails of the accounts in observed states (``ObservedState.to_dict()``)."""
    by_email = {spec.email.lower(): spec.name for spec in desired.accounts}
    names = {spec.id: spec.name for spec in desired.accounts if spec.id}
    for state in states:
        for account in state.get("accounts") or ():
            name = by_email.get(str(account.get("email", "")).lower())
            if name is not None:
                names.setdefault(str(account.get("id")), name)
    return names
