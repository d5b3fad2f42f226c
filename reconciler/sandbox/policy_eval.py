"""IAM policy evaluation as AWS documents it, for every permission check the sandbox makes.

moto evaluates policies only when its ``INITIAL_NO_AUTH_ACTION_COUNT`` switch is on, and then
ignores Resource and most of Condition. AWS decides every request from the principal's identity
policies, the resource's policy (for ``sts:AssumeRole``: the role's trust policy) and the
request context, with an explicit Deny in any of them winning. The sandbox's checks (AssumeRole
today; other engineers' S3/SQS resource policies, Organizations calls, ...) call this module so
that they all agree with AWS and with each other.

Sources (IAM User Guide): "Policy evaluation logic" and "How AWS enforcement code logic evaluates
requests to allow or deny access" (explicit deny > allow > implicit deny),
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html;
"Cross-account policy evaluation logic" (both the identity policy and the resource policy must
allow), reference_policies_evaluation-logic-cross-account.html; "Policy evaluation for requests
within a single account" (either one suffices, except for role trust policies, which must always
allow, and which need the caller's identity policy too unless they name the caller itself rather
than its account); "IAM JSON policy elements: Condition operators" (a missing key makes a
condition false, except for negated operators, ``...IfExists`` and ``Null``),
reference_policies_elements_condition_operators.html; "Action", "NotAction", "Resource",
"NotResource", "Principal", "NotPrincipal" element references (``*`` and ``?`` wildcards; actions
are case-insensitive, resource ARNs case-sensitive).

API (all pure functions; no sandbox state is touched):

    evaluate(policies, *, action, resource, context=None) -> Decision
        identity policies (documents, as dicts or JSON/URL-encoded strings, without Principal):
        ``Decision.DENY`` if a statement explicitly denies, ``ALLOW`` if one allows,
        ``Decision.NONE`` (implicit deny) otherwise.
    evaluate_resource_policy(document, *, principal, action, resource, context=None)
        -> ResourceDecision(decision, names_principal)
        a resource-based policy (a role's trust policy, a bucket policy) for ``principal``;
        ``names_principal`` is True when an allowing statement named the principal itself (its
        user, role or session ARN) rather than its account or ``*``: within one account such an
        allow needs no identity policy.
    authorize(*, principal, identity_policies, resource_policy, resource_account, action,
              resource, context=None, resource_policy_required=False) -> Decision
        AWS's whole decision: explicit deny anywhere wins; cross-account both must allow;
        same-account either suffices, unless ``resource_policy_required`` (role trust policies):
        then the resource policy must allow, and the identity policy must allow too unless the
        resource policy named the principal itself.
    condition_keys(policies, *, action, resource) -> set[str]
        the condition keys (lower case) that the statements applying to ``action`` on
        ``resource`` test: what a simulation must be given (IAM's MissingContextValues).
    Principal(account_id, arn, role_arn=None): who is asking (``role_arn`` for role sessions,
        which a policy may name by role ARN or by session ARN).

``context`` maps condition keys (any case: ``aws:SourceIp``, ``aws:MultiFactorAuthPresent``,
``aws:ResourceAccount``, ``aws:PrincipalArn``, ...) to a string or a list of strings. Policy
variables (``${aws:username}``) in Resource and condition values are replaced from it.
Supported operators: String*, Numeric*, Date*, Bool, IpAddress/NotIpAddress, Arn*, Null, each
with ``IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes. A statement using an
operator the module does not know does not apply (its Allow does not allow, its Deny does not deny).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

__all__ = ["Decision", "Principal", "ResourceDecision", "authorize", "condition_keys",
           "evaluate", "evaluate_resource_policy", "parse_document"]

Context = Mapping[str, "str | list[str]"]


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny
    NONE = "none"  # no statement applies: implicit deny

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


@dataclass(frozen=True)
class Principal:
    """The identity making a request: an IAM user (``arn`` its user ARN), a role session
    (``arn`` the ``sts::...:assumed-role/ROLE/SESSION`` ARN and ``role_arn`` the role's), or an
    account's root user (``arn:aws:iam::ID:root``)."""

    account_id: str
    arn: str
    role_arn: str | None = None


@dataclass(frozen=True)
class ResourceDecision:
    decision: Decision
    names_principal: bool = False  # an Allow named the principal itself, not its account


def parse_document(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a dict: IAM hands documents around URL-encoded or as JSON text."""
    if isinstance(document, Mapping):
        return dict(document)
    try:
        parsed = json.loads(document)
    except ValueError:
        parsed = json.loads(unquote(document))
    if not isinstance(parsed, dict):
        raise ValueError("a policy document is a JSON object")
    return parsed


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character; nothing else special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, context: Mapping[str, Any]) -> str:
    """Policy variables: ``${aws:username}`` from the context; ``${*}``, ``${?}``, ``${$}`` are
    the literal characters (IAM User Guide, "IAM policy elements: Variables and tags")."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        key, _, default = name.partition(",")
        value = context.get(key.strip().lower())
        if value is None:
            return default.strip().strip("'") if default else match.group(0)
        return str(value[0] if isinstance(value, list) and value else value)

    return _VARIABLE.sub(replace, text)


def _lower_keys(context: Context | None) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in (context or {}).items()}


# --- condition operators ---------------------------------------------------------------------

def _ip_in(value: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str) -> datetime | None:
    try:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        return None


_ORDER = {"Equals": lambda a, b: a == b, "NotEquals": lambda a, b: a != b,
          "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
          "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b}


def _one_value_matches(base: str, actual: str, expected: list[str]) -> bool | None:
    """Whether one context value matches the policy's values for a positive operator; for a
    negated operator (StringNotEquals, ...) the caller negates. None: unknown operator."""
    if base in ("StringEquals", "StringNotEquals"):
        return actual in expected
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() in [e.lower() for e in expected]
    if base in ("StringLike", "StringNotLike"):
        return any(_like(e, actual) for e in expected)
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return any(_arn_like(e, actual) for e in expected)
    if base == "Bool":
        return actual.lower() in [e.lower() for e in expected]
    if base in ("IpAddress", "NotIpAddress"):
        return _ip_in(actual, expected)
    for prefix, convert in (("Numeric", _number), ("Date", _date)):
        if base.startswith(prefix) and base[len(prefix):] in _ORDER:
            compare = _ORDER[base[len(prefix):]]
            left = convert(actual)
            if left is None:
                return False
            for e in expected:
                right = convert(e)
                if right is not None and compare(left, right):
                    return True
            return False
    if base == "BinaryEquals":
        return actual in expected
    return None


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike", "NotIpAddress"}


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-separated parts matches with wildcards."""
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return False
    return all(_like(p, v) for p, v in zip(parts, values, strict=True))


def condition_holds(condition: Mapping[str, Any], context: Context | None) -> bool | None:
    """True when every operator block holds (AND across operators and keys, OR across a key's
    values); None when the block uses an operator this module does not know."""
    values_by_key = _lower_keys(context)
    for raw_operator, block in condition.items():
        operator = str(raw_operator)
        qualifier = ""
        if ":" in operator:
            qualifier, operator = operator.split(":", 1)
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if not isinstance(block, Mapping):
            return None
        for raw_key, raw_expected in block.items():
            actual = values_by_key.get(str(raw_key).lower())
            expected = [_substitute(str(v), values_by_key) for v in _as_list(raw_expected)]
            if base == "Null":
                wanted = [e.lower() for e in expected]
                if ("true" if actual is None else "false") not in wanted:
                    return False
                continue
            if actual is None or actual == []:
                if if_exists or base in _NEGATED or qualifier == "ForAllValues":
                    continue
                return False
            actuals = [str(a) for a in _as_list(actual)]
            results = [_one_value_matches(base, a, expected) for a in actuals]
            if any(r is None for r in results):
                return None
            negated = base in _NEGATED
            if qualifier == "ForAllValues":
                held = all(r != negated for r in results)
            elif qualifier == "ForAnyValue" or not negated:
                held = any(r != negated for r in results)
            else:  # a negated operator on a multi-valued key: no value may match
                held = not any(results)
            if not held:
                return False
    return True


# --- statements -----------------------------------------------------------------------------

def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_like(str(a), action, ignore_case=True)
                       for a in _as_list(statement["NotAction"]))
    return any(_like(str(a), action, ignore_case=True) for a in _as_list(statement.get("Action")))


def _resource_matches(statement: Mapping[str, Any], resource: str,
                      context: Mapping[str, Any]) -> bool:
    if "NotResource" in statement:
        return not any(_like(_substitute(str(r), context), resource)
                       for r in _as_list(statement["NotResource"]))
    if "Resource" not in statement:  # resource policies may omit it: the resource itself
        return True
    return any(_like(_substitute(str(r), context), resource)
               for r in _as_list(statement["Resource"]))


def _principal_match(principal: Any, who: Principal) -> str | None:
    """How ``principal`` (a Principal element) names ``who``: "self" (its own ARN), "account"
    (its account, or ``*``), or None."""
    if principal == "*":
        return "account"
    if not isinstance(principal, Mapping):
        return None
    found: str | None = None
    partition = who.arn.split(":", 2)[1] if who.arn.startswith("arn:") else "aws"
    for value in _as_list(principal.get("AWS")):
        text = str(value)
        if text in (who.arn, who.role_arn):
            return "self"
        if text in ("*", who.account_id, f"arn:{partition}:iam::{who.account_id}:root"):
            found = "account"
    return found


def _statement_applies(statement: Mapping[str, Any], *, action: str, resource: str,
                       context: Mapping[str, Any]) -> bool:
    if not _action_matches(statement, action):
        return False
    if not _resource_matches(statement, resource, context):
        return False
    held = condition_holds(statement.get("Condition") or {}, context)
    return held is True


def evaluate(policies: Iterable[str | Mapping[str, Any]], *, action: str, resource: str,
             context: Context | None = None) -> Decision:
    """The decision of a principal's identity policies alone (see the module docstring)."""
    values = _lower_keys(context)
    allowed = False
    for document in policies:
        for statement in _as_list(parse_document(document).get("Statement")):
            if not isinstance(statement, Mapping):
                continue
            if not _statement_applies(statement, action=action, resource=resource,
                                      context=values):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.DENY
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision.ALLOW if allowed else Decision.NONE


def condition_keys(policies: Iterable[str | Mapping[str, Any]], *, action: str,
                   resource: str) -> set[str]:
    """The condition keys the statements for ``action`` on ``resource`` test (lower case)."""
    keys: set[str] = set()
    for document in policies:
        for statement in _as_list(parse_document(document).get("Statement")):
            if not isinstance(statement, Mapping) or not _action_matches(statement, action) \
                    or not _resource_matches(statement, resource, {}):
                continue
            for block in (statement.get("Condition") or {}).values():
                if isinstance(block, Mapping):
                    keys.update(str(k).lower() for k in block)
    return keys


def evaluate_resource_policy(document: str | Mapping[str, Any], *, principal: Principal,
                             action: str, resource: str,
                             context: Context | None = None) -> ResourceDecision:
    """The decision of a resource-based policy for ``principal`` (see the module docstring)."""
    values = _lower_keys(context)
    allowed = False
    names_principal = False
    for statement in _as_list(parse_document(document).get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        if "NotPrincipal" in statement:
            matched = None if _principal_match(statement["NotPrincipal"], principal) else "account"
        else:
            matched = _principal_match(statement.get("Principal"), principal)
        if matched is None:
            continue
        if not _statement_applies(statement, action=action, resource=resource, context=values):
            continue
        if statement.get("Effect") == "Deny":
            return ResourceDecision(Decision.DENY)
        if statement.get("Effect") == "Allow":
            allowed = True
            names_principal = names_principal or matched == "self"
    return ResourceDecision(Decision.ALLOW if allowed else Decision.NONE, names_principal)


def authorize(*, principal: Principal, identity_policies: Iterable[str | Mapping[str, Any]],
              resource_policy: str | Mapping[str, Any] | None, resource_account: str,
              action: str, resource: str, context: Context | None = None,
              resource_policy_required: bool = False) -> Decision:
    """AWS's decision for one request (see the module docstring)."""
    identity = evaluate(identity_policies, action=action, resource=resource, context=context)
    if identity is Decision.DENY:
        return Decision.DENY
    on_resource = ResourceDecision(Decision.NONE)
    if resource_policy is not None:
        on_resource = evaluate_resource_policy(resource_policy, principal=principal,
                                               action=action, resource=resource,
                                               context=context)
    if on_resource.decision is Decision.DENY:
        return Decision.DENY
    same_account = principal.account_id == resource_account
    if resource_policy_required:
        if not on_resource.decision.allowed:
            return Decision.NONE
        if same_account and on_resource.names_principal:
            return Decision.ALLOW
        return identity
    if same_account:
        if identity.allowed or on_resource.decision.allowed:
            return Decision.ALLOW
        return Decision.NONE
    if identity.allowed and on_resource.decision.allowed:
        return Decision.ALLOW
    return Decision.NONE
