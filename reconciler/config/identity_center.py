"""The ``identity_center:`` section: the checks a JSON Schema cannot make, and its resolved spec.

Kept apart from ``semantics`` because it is one resource family with its own rules: session
lengths Identity Center accepts (1 to 12 hours), inline policies given as YAML or as a JSON
string (decoded here, once, so that the planner compares documents, never text), and assignments
whose ``accounts`` lists, ``"*"`` and ``users`` lists are expanded into one assignment each, the
way group grants are expanded.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from typing import Any

from reconciler.config.account_names import Report, check_account_names
from reconciler.config.yamldoc import DocPath
from reconciler.model import (
    MAX_SESSION_S,
    MIN_SESSION_S,
    PERMISSION_SET_ATTRIBUTES,
    AssignmentSpec,
    IdentityCenterSpec,
    PermissionSetSpec,
    PolicyReference,
    Position,
    PrincipalType,
    canonical_duration,
    duration_seconds,
)

SECTION = "identity_center"
# PutInlinePolicyToPermissionSet: InlinePolicy is 1-32,768 characters (botocore's sso-admin
# model, shape PermissionSetPolicyDocument).
MAX_INLINE_POLICY = 32_768


def _items(value: Any, path: DocPath) -> Iterator[tuple[DocPath, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, index), item


def decode_policy(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(the policy document, why it is not one): a mapping as written, or a JSON string."""
    if value is None:
        return None, None
    document = value
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except json.JSONDecodeError as error:
            return None, f"inline_policy is not valid JSON ({error.msg} at line {error.lineno} " \
                          f"column {error.colno}); write a policy document (YAML or JSON)"
    if not isinstance(document, dict):
        return None, "inline_policy must be a policy document (a mapping with Statement)"
    if document.get("Version") != "2012-10-17":
        # AWS fails the provisioning of such a set: "Policy document must be version 2012-10-17
        # or greater" (IAM defaults a policy without Version to 2008-10-17)
        return None, ('inline_policy needs Version: "2012-10-17" (Identity Center refuses '
                      "older policy versions when it provisions the permission set)")
    statements = document.get("Statement")
    if not isinstance(statements, (list, dict)) or not statements:
        return None, "inline_policy has no Statement: a policy document needs at least one"
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return None, "inline_policy: every statement needs Effect Allow or Deny"
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_INLINE_POLICY:
        return None, (f"inline_policy is {size} characters (minified); Identity Center allows "
                      f"{MAX_INLINE_POLICY}")
    return document, None


def check(data: dict[str, Any], accounts: dict[str, tuple[dict[str, Any], DocPath]],
          report: Report) -> None:
    """Report every cross-field problem of the section (also on documents the schema rejected)."""
    section = data.get(SECTION)
    if not isinstance(section, dict):
        return
    names: dict[str, DocPath] = {}
    for path, item in _items(section.get("permission_sets"), (SECTION, "permission_sets")):
        name = item.get("name")
        if isinstance(name, str):
            if name in names:
                report((*path, "name"), f"permission set {name!r} is already defined at "
                       f"{SECTION}.permission_sets[{names[name][-1]}]")
            names.setdefault(name, path)
        duration = item.get("session_duration")
        if isinstance(duration, str):
            seconds = duration_seconds(duration)
            if seconds is not None and not MIN_SESSION_S <= seconds <= MAX_SESSION_S:
                report((*path, "session_duration"),
                       f"session_duration {duration!r} is {seconds / 3600:g} hours; Identity "
                       "Center allows PT1H to PT12H")
        if "inline_policy" in item:
            _, problem = decode_policy(item["inline_policy"])
            if problem:
                report((*path, "inline_policy"), problem)
    for path, item in _items(section.get("assignments"), (SECTION, "assignments")):
        has_group, has_users = "group" in item, "users" in item
        if has_group == has_users:
            report(path, "an assignment needs either group (a display name) or users "
                   + ("(not both)" if has_group else "(it has neither)"))
        permission_set = item.get("permission_set")
        if isinstance(permission_set, str) and permission_set not in names:
            close = difflib.get_close_matches(permission_set, list(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            report((*path, "permission_set"), f"unknown permission set {permission_set!r} "
                   f"(no such name under {SECTION}.permission_sets){hint}")
        check_account_names(item.get("accounts"), path, accounts, report, what="an assignment")


def _reference(value: Any) -> PolicyReference:
    if isinstance(value, str):
        return PolicyReference(value)
    return PolicyReference(value["name"], value.get("path", "/"))


def _boundary(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"managed_policy_arn": value}
    return {"name": value["name"], "path": value.get("path", "/")}


def build(data: dict[str, Any], *, active_members: list[str],
          position: Callable[[DocPath], Position]) -> IdentityCenterSpec | None:
    """The resolved section of a document that passed every check (``None``: no section)."""
    if SECTION not in data:
        return None
    section = data[SECTION] or {}
    sets: list[PermissionSetSpec] = []
    for index, raw in enumerate(section.get("permission_sets", [])):
        inline, _ = decode_policy(raw.get("inline_policy"))
        sets.append(PermissionSetSpec(
            name=raw["name"],
            declared=frozenset(k for k in PERMISSION_SET_ATTRIBUTES if k in raw),
            description=raw.get("description"),
            session_duration=canonical_duration(raw.get("session_duration")),
            managed_policies=tuple(sorted(set(raw.get("managed_policies", [])))),
            customer_managed_policies=tuple(sorted(
                {_reference(r) for r in raw.get("customer_managed_policies", [])},
                key=lambda r: (r.path, r.name))),
            inline_policy=inline,
            permissions_boundary=_boundary(raw.get("permissions_boundary")),
            relay_state=raw.get("relay_state"),
            position=position((SECTION, "permission_sets", index)),
        ))
    assignments: dict[str, AssignmentSpec] = {}
    for raw in section.get("assignments", []):
        wildcard = raw["accounts"] == ["*"]
        names = active_members if wildcard else raw["accounts"]
        principals: list[tuple[PrincipalType, str]] = [("GROUP", raw["group"])] \
            if "group" in raw else [("USER", user) for user in raw["users"]]
        for kind, who in principals:
            for account in names:
                spec = AssignmentSpec(account=account, permission_set=raw["permission_set"],
                                      principal_type=kind, principal=who, wildcard=wildcard)
                if spec.key not in assignments or not wildcard:  # a named account wins
                    assignments[spec.key] = spec
    return IdentityCenterSpec(
        instance_arn=section.get("instance_arn"),
        exclusive=bool(section.get("exclusive", False)),
        permission_sets=tuple(sorted(sets, key=lambda p: p.name)),
        assignments=tuple(assignments[k] for k in sorted(assignments)),
    )
