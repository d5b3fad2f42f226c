"""IAM policy documents: what orgsync wants them to say, and whether AWS already says it.

IAM rewrites what it stores: an account id principal comes back as ``arn:aws:iam::ID:root``, a
one-item list as a scalar, statements in another order, ``Sid``/``Version`` added or dropped, action
names in another case. Comparing raw documents would make every plan show changes that are not
changes (the classic bug of older tools), so the planner compares ``normalize``d documents only.

This module also builds the documents orgsync writes: the access role's trust policy and a group's
grant policies, packed within IAM's size quotas (IAM counts the minified JSON without whitespace).
It is pure: no AWS calls, no boto3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from deepdiff import DeepDiff

from reconciler.jsontypes import JSON
from reconciler.model import ADMINISTRATOR_ACCESS
from reconciler.plan import ACCOUNT_ID_PLACEHOLDER, AttributeDiff, plain_json

POLICY_VERSION = "2012-10-17"
DEFAULT_PARTITION = "aws"  # where the partition is unknown: the commercial one
INLINE_GRANT_POLICY = "orgsync-assume"
INLINE_GROUP_QUOTA = 5_120  # all inline policies of a group, together
MANAGED_POLICY_QUOTA = 6_144  # one managed policy
MANAGED_PER_GROUP_QUOTA = 10  # managed policies attached to one group
# Buckets (same role name and conditions) with more accounts than this name the accounts in an
# ``aws:ResourceAccount`` condition instead of one role ARN each: still specific accounts, 15
# characters per account instead of ~45, which is what lets a group reach ~1,000 accounts.
EXPLICIT_ARN_LIMIT = 10

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PLACEHOLDER_SIZE = "000000000000"  # a placeholder stands for 12 digits once the account exists


# --------------------------------------------------------------------------------------------
# Normalization


def normalize(document: Mapping[str, JSON] | None, *,
              fold_case: bool = True) -> dict[str, JSON] | None:
    """A canonical form of a policy document: equivalent documents give equal results.

    Dropped: ``Version``, ``Id``, ``Sid``. Canonicalized: scalar vs list, order of statements,
    actions, resources and condition values, case of action names and condition keys, account-id
    principals vs their root ARN, ``"*"`` vs ``{"AWS": "*"}``, boolean and number condition values
    vs their strings. Duplicate statements collapse. ``fold_case=False`` keeps the case of action
    names and condition keys (for showing a difference to a person, not for comparing).
    """
    if document is None:
        return None
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else list(raw)
    normalized = [_normalize_statement(s, fold_case=fold_case)
                  for s in statements if isinstance(s, Mapping)]
    unique = {_canonical_json(s): s for s in normalized}
    return {"Statement": [unique[k] for k in sorted(unique)]}


def canonical(document: Mapping[str, JSON] | None) -> dict[str, JSON] | None:
    """The form to compare documents in: ``normalize``, then every statement split into one
    statement per (action, resource, principal), duplicates removed.

    Statements that differ only in their actions, resources or principals are then equal to their
    union (``{A, R1} + {A, R2}`` is ``{A, [R1, R2]}``), which IAM treats the same. ``NotAction``,
    ``NotResource`` and ``NotPrincipal`` are not split (their lists are one negated set).
    """
    normalized = normalize(document)
    if normalized is None:
        return None
    atoms: dict[str, dict[str, JSON]] = {}
    for statement in normalized["Statement"]:
        for atom in _atoms(statement):
            atoms.setdefault(_canonical_json(atom), atom)
    return {"Statement": [atoms[k] for k in sorted(atoms)]}


def _atoms(statement: Mapping[str, JSON]) -> list[dict[str, JSON]]:
    actions = statement.get("Action")
    resources = statement.get("Resource")
    principal = statement.get("Principal")
    action_options: list[JSON] = [[a] for a in actions] if isinstance(actions, list) and actions \
        else [actions]
    resource_options: list[JSON] = [[r] for r in resources] \
        if isinstance(resources, list) and resources else [resources]
    if isinstance(principal, Mapping) and principal:
        principal_options: list[JSON] = [
            {kind: [value]} for kind, values in principal.items() for value in _as_list(values)]
    else:
        principal_options = [principal]
    result: list[dict[str, JSON]] = []
    for action in action_options:
        for resource in resource_options:
            for who in principal_options:
                atom = dict(statement)
                for key, value in (("Action", action), ("Resource", resource),
                                   ("Principal", who)):
                    if key in statement:
                        atom[key] = value
                result.append(atom)
    return result


def equivalent(a: Mapping[str, JSON] | None, b: Mapping[str, JSON] | None) -> bool:
    """True when two policy documents mean the same thing (compared in ``canonical`` form)."""
    return canonical(a) == canonical(b)


def _as_list(value: JSON) -> list[JSON]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _scalar_text(value: JSON) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principal_value(kind: str, value: str) -> str:
    if kind == "AWS" and _ACCOUNT_ID.match(value):
        return f"arn:aws:iam::{value}:root"
    return value


def _normalize_principal(principal: JSON) -> JSON:
    if principal == "*":
        return {"AWS": ["*"]}
    if not isinstance(principal, Mapping):
        return principal
    return {
        str(kind): sorted({_principal_value(str(kind), _scalar_text(v)) for v in _as_list(values)})
        for kind, values in sorted(principal.items())
    }


def _normalize_condition(condition: JSON, *, fold_case: bool) -> JSON:
    if not isinstance(condition, Mapping):
        return condition
    result: dict[str, JSON] = {}
    for operator, clauses in sorted(condition.items()):
        if not isinstance(clauses, Mapping):
            result[str(operator)] = clauses
            continue
        merged: dict[str, set[str]] = {}
        for key, values in clauses.items():
            name = str(key).lower() if fold_case else str(key)
            merged.setdefault(name, set()).update(
                _scalar_text(v) for v in _as_list(values))
        result[str(operator)] = {k: sorted(v) for k, v in sorted(merged.items())}
    return result


def _normalize_statement(statement: Mapping[str, JSON], *, fold_case: bool) -> dict[str, JSON]:
    result: dict[str, JSON] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Action", "NotAction"):
            actions = (_scalar_text(a) for a in _as_list(value))
            result[key] = sorted({a.lower() if fold_case else a for a in actions})
        elif key in ("Resource", "NotResource"):
            result[key] = sorted({_scalar_text(r) for r in _as_list(value)})
        elif key in ("Principal", "NotPrincipal"):
            result[key] = _normalize_principal(value)
        elif key == "Condition":
            normalized = _normalize_condition(value, fold_case=fold_case)
            if normalized:
                result[key] = normalized
        elif key == "Effect":
            result[key] = _scalar_text(value).capitalize()
        else:
            result[key] = value
    return dict(sorted(result.items()))


def _canonical_json(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def is_administrator_document(document: Mapping[str, JSON] | None) -> bool:
    """True for an allow-``*``-on-``*`` document without conditions (what CreateAccount gives the
    role inline); orgsync counts such an inline policy as ``AdministratorAccess``."""
    normalized = normalize(document)
    if not normalized or not normalized["Statement"]:
        return False
    return all(
        s == {"Action": ["*"], "Effect": "Allow", "Resource": ["*"]}
        for s in normalized["Statement"]
    )


def effective_role_policies(
    attached: Iterable[str], inline: Mapping[str, Mapping[str, JSON]], *,
    partition: str = DEFAULT_PARTITION,
) -> tuple[tuple[str, ...], dict[str, Mapping[str, JSON]]]:
    """(managed policy ARNs the role effectively has, inline policies that are drift).

    An inline administrator document counts as ``AdministratorAccess`` (of ``partition``) and is
    not drift.
    """
    policies = set(attached)
    drift: dict[str, Mapping[str, JSON]] = {}
    for name, document in sorted(inline.items()):
        if is_administrator_document(document):
            policies.add(aws_managed_policy_in(ADMINISTRATOR_ACCESS, partition=partition))
        else:
            drift[name] = document
    return tuple(sorted(policies)), drift


# --------------------------------------------------------------------------------------------
# Attribute-level differences


def _format_path(prefix: str, parts: Sequence[JSON]) -> str:
    text = prefix
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def document_diffs(before: Mapping[str, JSON] | None, after: Mapping[str, JSON] | None, *,
                   prefix: str) -> tuple[AttributeDiff, ...]:
    """Differences between two policy documents as a person should read them: both sides
    normalized (order, scalars, Sid) but with their own spelling of action names and keys."""
    return attribute_diffs(normalize(before, fold_case=False), normalize(after, fold_case=False),
                           prefix=prefix)


def attribute_diffs(before: JSON, after: JSON, *, prefix: str = "") -> tuple[AttributeDiff, ...]:
    """Readable attribute-level differences between two JSON values (deepdiff, tree view).

    Paths look like ``trust_policy.Statement[0].Condition``; list items that appear or disappear
    are reported at their index with ``None`` on the other side.
    """
    if before == after:
        return ()
    if not isinstance(before, (Mapping, list)) or not isinstance(after, (Mapping, list)):
        return (AttributeDiff(prefix, before, after),)
    tree = DeepDiff(plain_json(before), plain_json(after), view="tree", verbose_level=2)
    diffs: dict[str, AttributeDiff] = {}
    for report_type in sorted(tree.keys()):
        for level in tree[report_type]:
            path = _format_path(prefix, level.path(output_format="list"))
            old = None if _missing(level.t1) else level.t1
            new = None if _missing(level.t2) else level.t2
            diffs[path] = AttributeDiff(path, old, new)
    return tuple(diffs[p] for p in sorted(diffs))


def _missing(value: JSON) -> bool:
    return type(value).__name__ == "NotPresent"


# --------------------------------------------------------------------------------------------
# Builders


def partition_of(arn: str | None) -> str:
    """The partition an ARN is in (``arn:PARTITION:service:...``), ``aws`` when it is not an ARN.

    The planner reads it from the organization's ARN: an organization in ``aws-cn`` or
    ``aws-us-gov`` needs ``arn:aws-cn:...``/``arn:aws-us-gov:...`` in every document it writes.
    """
    parts = (arn or "").split(":", 2)
    if len(parts) == 3 and parts[0] == "arn" and parts[1]:
        return parts[1]
    return DEFAULT_PARTITION


def root_arn(account_id: str, *, partition: str = DEFAULT_PARTITION) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def role_arn(account_id: str, role_name: str, *, partition: str = DEFAULT_PARTITION) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def aws_managed_policy_in(arn: str, *, partition: str) -> str:
    """An AWS managed policy ARN written for the commercial partition (``arn:aws:iam::aws:...``,
    e.g. the default ``AdministratorAccess``) as it is named in ``partition``; other ARNs as
    they are (an ``arn:aws:`` ARN can never exist in another partition)."""
    prefix = f"arn:{DEFAULT_PARTITION}:iam::aws:policy/"
    if partition != DEFAULT_PARTITION and arn.startswith(prefix):
        return f"arn:{partition}:iam::aws:policy/{arn[len(prefix):]}"
    return arn


def trust_policy(management_account_id: str, *, require_mfa: bool,
                 partition: str = DEFAULT_PARTITION) -> dict[str, JSON]:
    """The access role's trust policy: the management account may assume it (MFA if asked)."""
    statement: dict[str, JSON] = {
        "Effect": "Allow",
        "Principal": {"AWS": root_arn(management_account_id, partition=partition)},
        "Action": "sts:AssumeRole",
    }
    if require_mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def grant_conditions(*, require_mfa: bool, source_ips: Sequence[str]) -> dict[str, JSON]:
    condition: dict[str, JSON] = {}
    if require_mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    if source_ips:
        condition["IpAddress"] = {"aws:SourceIp": sorted(source_ips)}
    return condition


def minified_size(document: Mapping[str, JSON]) -> int:
    """The size IAM counts: minified JSON; a placeholder counts as the 12 digits it becomes."""
    text = json.dumps(document, separators=(",", ":"))
    return len(ACCOUNT_ID_PLACEHOLDER.sub(_PLACEHOLDER_SIZE, text))


@dataclass(frozen=True)
class Grant:
    """One account a group may assume a role in: ``account_name`` for stable ordering,
    ``account_id`` (an id or an ``unknown_account_id`` placeholder) for the document."""

    account_name: str
    account_id: str
    role: str
    require_mfa: bool = False
    source_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManagedGrantPolicy:
    name: str
    path: str
    document: Mapping[str, JSON]


@dataclass(frozen=True)
class PackedGrants:
    """A group's grant documents, or why they do not fit (``error``; ``fit`` accounts would)."""

    inline_policies: Mapping[str, Mapping[str, JSON]] = field(default_factory=dict)
    managed_policies: tuple[ManagedGrantPolicy, ...] = ()
    error: str | None = None
    fit: int = 0


def managed_grant_policy_name(group: str, number: int) -> str:
    return f"orgsync-{group}-assume-{number}"


def is_managed_grant_policy_name(group: str, name: str) -> bool:
    return re.fullmatch(re.escape(f"orgsync-{group}-assume-") + r"\d+", name) is not None


@dataclass
class _Container:
    limit: int
    statements: list[dict[str, JSON]] = field(default_factory=list)

    def document(self) -> dict[str, JSON]:
        return {"Version": POLICY_VERSION, "Statement": self.statements}

    def size(self) -> int:
        return minified_size(self.document())


def _bucket_statement(role: str, conditions: Mapping[str, JSON], ids: list[str],
                      *, explicit: bool, partition: str) -> dict[str, JSON]:
    statement: dict[str, JSON] = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    condition = {k: dict(v) for k, v in conditions.items()}
    if explicit:
        statement["Resource"] = [role_arn(i, role, partition=partition) for i in ids]
    else:
        statement["Resource"] = f"arn:{partition}:iam::*:role/{role}"
        condition["StringEquals"] = {"aws:ResourceAccount": list(ids)}
    if condition:
        statement["Condition"] = dict(sorted(condition.items()))
    return statement


def pack_grants(group: str, path: str, grants: Sequence[Grant], *,
                foreign_managed: int = 0, partition: str = DEFAULT_PARTITION) -> PackedGrants:
    """Pack a group's grants into the inline policy ``orgsync-assume``, then managed policies
    ``orgsync-<group>-assume-N`` (at most 10 attached per group, ``foreign_managed`` of them taken
    by policies orgsync does not own).

    Grants with identical conditions and role name share a statement. Each statement names
    specific accounts: role ARNs, or for large buckets ``arn:aws:iam::*:role/NAME`` restricted by
    ``StringEquals aws:ResourceAccount`` to the listed account ids (never any other account).
    Deterministic: ordering is by conditions, role and account *name* (not id), so a placeholder
    turning into an id after apply never moves an account to another policy. ARNs are written in
    ``partition`` (the organization's).
    """
    buckets: dict[tuple[bool, tuple[str, ...], str], list[Grant]] = {}
    for grant in grants:
        key = (grant.require_mfa, tuple(sorted(grant.source_ips)), grant.role)
        buckets.setdefault(key, []).append(grant)
    containers = [_Container(INLINE_GROUP_QUOTA)]
    managed_slots = max(0, MANAGED_PER_GROUP_QUOTA - foreign_managed)
    placed = 0
    total = len(grants)
    for key in sorted(buckets):
        require_mfa, source_ips, role = key
        members = sorted(buckets[key], key=lambda g: g.account_name)
        conditions = grant_conditions(require_mfa=require_mfa, source_ips=source_ips)
        explicit = len(members) <= EXPLICIT_ARN_LIMIT
        index = 0
        while index < len(members):
            container = containers[-1]
            taken = _fill(container, role, conditions, members[index:], explicit=explicit,
                          partition=partition)
            if taken == 0:
                if not container.statements or len(containers) - 1 >= managed_slots:
                    return PackedGrants(error=_quota_error(group, total, placed, foreign_managed),
                                        fit=placed)
                containers.append(_Container(MANAGED_POLICY_QUOTA))
                continue
            index += taken
            placed += taken
    inline = containers[0]
    inline_policies = {INLINE_GRANT_POLICY: inline.document()} if inline.statements else {}
    managed = tuple(
        ManagedGrantPolicy(managed_grant_policy_name(group, n), path, c.document())
        for n, c in enumerate(containers[1:], start=1)
    )
    return PackedGrants(inline_policies=inline_policies, managed_policies=managed, fit=placed)


def _fill(container: _Container, role: str, conditions: Mapping[str, JSON],
          members: Sequence[Grant], *, explicit: bool, partition: str) -> int:
    """Add a statement to ``container`` with as many of ``members`` as fit; how many it took."""
    base = container.size()
    separator = 1 if container.statements else 0
    first = _bucket_statement(role, conditions, [members[0].account_id], explicit=explicit,
                              partition=partition)
    first_size = minified_size(first) + separator
    if base + first_size > container.limit:
        return 0
    used = base + first_size
    ids = [members[0].account_id]
    for grant in members[1:]:
        item = (role_arn(grant.account_id, role, partition=partition) if explicit
                else grant.account_id)
        extra = minified_size({"x": item}) - len('{"x":}') + 1  # the quoted item and a comma
        if used + extra > container.limit:
            break
        used += extra
        ids.append(grant.account_id)
    container.statements.append(_bucket_statement(role, conditions, ids, explicit=explicit,
                                                  partition=partition))
    return len(ids)


def _quota_error(group: str, total: int, fit: int, foreign: int) -> str:
    foreign_note = (f", {foreign} of them taken by policies orgsync does not manage"
                    if foreign else "")
    return (f"group {group}: grants into {total} accounts exceed IAM's quotas (inline policies "
            f"{INLINE_GROUP_QUOTA:,} characters, {MANAGED_PER_GROUP_QUOTA} managed policies of "
            f"{MANAGED_POLICY_QUOTA:,} characters per group{foreign_note}); at most {fit} fit: "
            "split the grants over several groups")


# --- reading grants back (export, and grants in policies orgsync did not write) -------------

_MFA_CONDITION = {"Bool": {"aws:multifactorauthpresent": ["true"]}}
_GRANT_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}|\*):role/([\w+=,.@-]+)$")
# (account id, role name, require_mfa, sorted source IPs): one account reachable in one way
GrantAtom = tuple[str, str, bool, tuple[str, ...]]


def grant_statement(
    statement: Mapping[str, JSON],
) -> tuple[list[tuple[str, str]], bool, tuple[str, ...]] | None:
    """((account id, role name) pairs, require_mfa, source_ips) of a normalized grant statement,
    or None when it is not the kind of statement orgsync writes."""
    if set(statement) - {"Effect", "Action", "Resource", "Condition"}:
        return None
    if statement.get("Effect") != "Allow" or statement.get("Action") != ["sts:assumerole"]:
        return None
    condition = dict(statement.get("Condition") or {})
    require_mfa = False
    if condition.get("Bool") == _MFA_CONDITION["Bool"]:
        require_mfa = True
        condition.pop("Bool")
    source_ips: tuple[str, ...] = ()
    ip = condition.pop("IpAddress", None)
    if ip is not None:
        if set(ip) != {"aws:sourceip"}:
            return None
        source_ips = tuple(sorted(ip["aws:sourceip"]))
    resource_accounts: list[str] | None = None
    equals = condition.pop("StringEquals", None)
    if equals is not None:
        if set(equals) != {"aws:resourceaccount"}:
            return None
        resource_accounts = list(equals["aws:resourceaccount"])
    if condition:
        return None
    pairs: list[tuple[str, str]] = []
    for resource in statement.get("Resource", []):
        match = _GRANT_ROLE_ARN.match(str(resource))
        if match is None:
            return None
        account, role = match.groups()
        if account == "*":
            if resource_accounts is None:
                return None  # a wildcard account: never something orgsync grants
            pairs.extend((a, role) for a in resource_accounts)
        elif resource_accounts is not None:
            return None
        else:
            pairs.append((account, role))
    return pairs, require_mfa, source_ips


def grant_atoms(document: Mapping[str, JSON] | None) -> tuple[set[GrantAtom], int]:
    """The grants a policy document makes in the form orgsync writes them (any policy name: a
    group built by another tool grants the same way), and how many statements are something
    else (left as they are)."""
    atoms: set[GrantAtom] = set()
    other = 0
    normalized = normalize(document)
    for statement in (normalized or {}).get("Statement") or ():
        parsed = grant_statement(statement)
        if parsed is None:
            other += 1
            continue
        pairs, require_mfa, source_ips = parsed
        atoms.update((account, role, require_mfa, source_ips) for account, role in pairs)
    return atoms, other


def is_grant_policy_name(group: str, name: str) -> bool:
    """An inline (``orgsync-assume``, ``orgsync-assume-N``) or managed grant policy of orgsync's."""
    return name == INLINE_GRANT_POLICY or name.startswith(INLINE_GRANT_POLICY + "-") or \
        is_managed_grant_policy_name(group, name)
