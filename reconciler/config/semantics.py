"""The rules of accounts.yaml that a JSON Schema cannot say, and the resolved ``DesiredState``.

The schema checks each value on its own; this module checks values against each other (unique
names, emails and ids; group references that resolve; what the management account may not have)
and against rules that need code (CIDRs, OU names, tag characters). The checks are defensive
because they also run on a document the schema rejected: the user gets every problem in one run.
``build`` then resolves every default, so that nothing after the loader needs to know them.
"""

from __future__ import annotations

import difflib
import ipaddress
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from reconciler.config import identity_center
from reconciler.config.account_names import check_account_names
from reconciler.config.yamldoc import DocPath, YamlDocument
from reconciler.errors import Diagnostic
from reconciler.model import (
    ADMINISTRATOR_ACCESS,
    CONTACT_TYPES,
    DEFAULT_ACCESS_ROLE,
    DEFAULT_GROUP_PATH,
    NO_ALIAS,
    ROOT_FEATURES,
    AccessRoleSpec,
    AccountSpec,
    ContactSpec,
    DesiredState,
    GrantTarget,
    GroupSpec,
    OrganizationSpec,
    Position,
    RootCredentialsSpec,
    frozen_mapping,
)
from reconciler.policy import MANAGED_PER_GROUP_QUOTA, managed_grant_policy_name

# A root policy is carried out through sts:AssumeRoot sessions (RootSessions) running the root
# credential tasks (RootCredentialsManagement): both features must be on.
_NEEDED = " and ".join(ROOT_FEATURES)
MANAGED_ROOT_POLICIES = ("absent", "password_recovery")
MAX_OU_NAME = 128
# IAM paths orgsync keeps for itself: the apply lock's policy lives at reconciler.lock.LOCK_PATH
# (config may not import the AWS-side modules; tests/config checks the two agree).
RESERVED_GROUP_PATHS = ("/orgsync-lock/",)
MAX_OU_DEPTH = 5  # OU levels under the root (an AWS Organizations quota)
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
# Account Management's PutAccountName takes names matching [ -;=?-~]+: printable ASCII without
# < and > (botocore's account model; CreateAccount allows them, but orgsync renames accounts
# with PutAccountName, which would then fail)
RENAME_REFUSED = frozenset("<>")
MAX_POLICY_NAME = 128  # IAM policy names (inline and managed): 1-128 characters


def _items(value: Any, path: DocPath) -> Iterator[tuple[DocPath, dict[str, Any]]]:
    """The mappings in list ``value`` with their paths (other items are the schema's concern)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, index), item


def _str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def ou_parts(ou: str) -> list[str]:
    """``"/A/B/"`` -> ``["A", "B"]``; ``"/"`` -> ``[]``; empty names stay (a check reports them)."""
    body = ou[1:] if ou.startswith("/") else ou
    if body.endswith("/"):
        body = body[:-1]
    return body.split("/") if body else []


def _tag_text_ok(text: str) -> bool:
    """AWS Organizations' tag pattern: letters, separators (spaces), numbers and _.:/=+-@."""
    return all(
        char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN" for char in text
    )


class _Checker:
    def __init__(self, doc: YamlDocument, filename: str) -> None:
        self.doc = doc
        self.filename = filename
        self.found: list[Diagnostic] = []

    def value(self, path: DocPath, message: str) -> None:
        self.found.append(self.doc.at_value(path, message, file=self.filename))

    def key(self, path: DocPath, message: str) -> None:
        self.found.append(self.doc.at_key(path, message, file=self.filename))

    def where(self, path: DocPath) -> str:
        spot = self.doc.spot(path)
        return f"line {spot.line}"

    def run(self) -> list[Diagnostic]:
        data = self.doc.data
        if not isinstance(data, dict):
            return self.found
        organization = data.get("organization")
        management = (
            _str(organization, "management_account_id") if isinstance(organization, dict) else None
        )
        credentials_allowed = self._root_credentials(data.get("root_credentials"))
        accounts = {}
        for path, account in _items(data.get("accounts"), ("accounts",)):
            accounts.update(self._account(path, account, management, credentials_allowed))
        self._unique(data.get("accounts"), "accounts", "name", "account name", fold=False)
        self._unique(data.get("accounts"), "accounts", "email", "email", fold=True)
        self._unique(data.get("accounts"), "accounts", "id", "account id", fold=False)
        # an IAM account alias is unique across AWS (IAM User Guide, "Using an alias for your AWS
        # account ID"): two accounts of one file can never both have it
        self._unique(data.get("accounts"), "accounts", "alias", "account alias", fold=False)
        self._unique(data.get("groups"), "groups", "name", "group name", fold=True)
        self._delegated_admin(data.get("root_credentials"), accounts, management)
        for path, group in _items(data.get("groups"), ("groups",)):
            self._group(path, group, accounts, management)
        identity_center.check(data, accounts, self.value)
        return self.found

    def _root_credentials(self, section: Any) -> bool:
        """Whether the file lets root policies other than ``unmanaged`` be used."""
        if not isinstance(section, dict):
            return True
        features = section.get("features")
        allowed = not isinstance(features, list) or all(f in features for f in ROOT_FEATURES)
        default = section.get("default")
        if not allowed and default in MANAGED_ROOT_POLICIES:
            self.value(("root_credentials", "default"),
                       f"{default!r} needs the features {_NEEDED}, which "
                       "root_credentials.features does not enable")
        return allowed

    def _delegated_admin(self, section: Any,
                         accounts: dict[str, tuple[dict[str, Any], DocPath]],
                         management: str | None) -> None:
        """``root_credentials.delegated_admin`` names an active member account of the file."""
        name = section.get("delegated_admin") if isinstance(section, dict) else None
        if not isinstance(name, str):
            return
        where = ("root_credentials", "delegated_admin")
        if name not in accounts:
            close = difflib.get_close_matches(name, list(accounts), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.value(where, f"unknown account {name!r} (no such name under accounts){hint}")
            return
        account, _ = accounts[name]
        if management is not None and account.get("id") == management:
            self.value(where, f"account {name!r} is the management account: IAM's delegated "
                       "administrator must be a member account")
        elif account.get("state") == "closed":
            self.value(where, f"account {name!r} is closed: it cannot be IAM's delegated "
                       "administrator")

    def _unique(self, items: Any, section: str, key: str, what: str, *, fold: bool) -> None:
        seen: dict[str, DocPath] = {}
        for path, item in _items(items, (section,)):
            value = _str(item, key)
            if value is None:
                continue
            folded = value.lower() if fold else value
            if folded in seen:
                first = seen[folded]
                same = " (case does not matter)" if fold and value != _str(
                    self._at(first), key) else ""
                self.value((*path, key), f"{what} {value!r} is already used by "
                           f"{section}[{first[-1]}] ({self.where(first)}){same}")
            else:
                seen[folded] = path

    def _at(self, path: DocPath) -> dict[str, Any]:
        node: Any = self.doc.data
        for part in path:
            node = node[part]
        return node if isinstance(node, dict) else {}

    def _account(
        self, path: DocPath, account: dict[str, Any], management: str | None,
        credentials_allowed: bool,
    ) -> dict[str, tuple[dict[str, Any], DocPath]]:
        name = _str(account, "name")
        source = account.get("source", "created")
        account_id = _str(account, "id")
        is_management = account_id is not None and account_id == management
        if name == "*":
            self.value((*path, "name"), "'*' cannot be an account name: in grants it means "
                       "every active member account")
        elif name is not None and RENAME_REFUSED & set(name):
            self.value((*path, "name"), f"account name {name!r} holds < or >, which AWS "
                       "refuses in account names (Account Management PutAccountName allows "
                       "printable ASCII except < and >)")
        if source == "invited" and "id" not in account:
            self.value((*path, "source"), "an invited account needs its 'id' (the 12-digit id "
                       "of the standalone account to invite)")
        if "bootstrap_profile" in account and source != "invited":
            self.key((*path, "bootstrap_profile"), "bootstrap_profile is only for invited "
                     "accounts (CreateAccount makes the access role of a created account)")
        if is_management:
            if "root_credentials" in account:
                self.key((*path, "root_credentials"), "root_credentials never applies to the "
                         "management account: remove it")
            if account.get("state") == "closed":
                self.value((*path, "state"), "the management account cannot be closed")
            if source == "invited":
                self.value((*path, "source"), "the management account cannot be invited")
        if account.get("state") == "closed":
            for key in ("alias", "contacts"):
                if key in account:
                    self.key((*path, key), f"{key} cannot be managed on a closed account "
                             "(AWS serves it for active accounts only): remove it")
        override = account.get("root_credentials")
        if override in MANAGED_ROOT_POLICIES and not credentials_allowed and not is_management:
            self.value((*path, "root_credentials"), f"{override!r} needs the features "
                       f"{_NEEDED}, which root_credentials.features does not enable")
        ou = _str(account, "ou")
        if ou is not None and ou.startswith("/"):
            if len(ou_parts(ou)) > MAX_OU_DEPTH:
                self.value((*path, "ou"), f"OU path {ou!r} is {len(ou_parts(ou))} levels deep; "
                           f"AWS Organizations allows {MAX_OU_DEPTH} levels under the root")
            for part in ou_parts(ou):
                if not part:
                    self.value((*path, "ou"), f"OU path {ou!r} has an empty OU name (//)")
                    break
                if len(part) > MAX_OU_NAME:
                    self.value((*path, "ou"), f"OU name {part[:20]!r}... is longer than "
                               f"{MAX_OU_NAME} characters")
                    break
        tags = account.get("tags")
        if isinstance(tags, dict):
            for key, value in tags.items():
                tag_path = (*path, "tags", key)
                if key.lower().startswith("aws:"):
                    self.key(tag_path, f"tag key {key!r}: the aws: prefix is reserved by AWS")
                elif not _tag_text_ok(key):
                    self.key(tag_path, f"tag key {key!r} may only hold letters, numbers, "
                             "spaces and _.:/=+-@")
                if isinstance(value, str) and not _tag_text_ok(value):
                    self.value(tag_path, f"tag value {value!r} may only hold letters, numbers, "
                               "spaces and _.:/=+-@")
        return {name: (account, path)} if name is not None else {}

    def _group(
        self, path: DocPath, group: dict[str, Any],
        accounts: dict[str, tuple[dict[str, Any], DocPath]], management: str | None,
    ) -> None:
        name = _str(group, "name")
        longest = managed_grant_policy_name(name or "", MANAGED_PER_GROUP_QUOTA)
        if name is not None and len(longest) > MAX_POLICY_NAME:
            most = len(name) - (len(longest) - MAX_POLICY_NAME)
            self.value((*path, "name"), f"group name {name[:20]!r}... is {len(name)} characters: "
                       f"its grant policy names ({longest[:28]}...) would pass IAM's "
                       f"{MAX_POLICY_NAME}-character limit for policy names; use at most "
                       f"{most} characters")
        if group.get("path") == "/":
            self.value((*path, "path"), "path '/' would make orgsync own (and delete) every "
                       "IAM group not in the file; use a path of its own such as /orgsync/")
        elif group.get("path") in RESERVED_GROUP_PATHS:
            self.value((*path, "path"), f"path {group['path']!r} is reserved for orgsync's apply "
                       "lock; use a path of its own such as /orgsync/")
        members = group.get("members")
        if isinstance(members, list):
            seen: dict[str, str] = {}
            for index, member in enumerate(members):
                if not isinstance(member, str):
                    continue
                first = seen.get(member.lower())
                if first is not None and first != member:
                    self.value((*path, "members", index), f"{member!r} and {first!r} are the "
                               "same IAM user (IAM user names ignore case)")
                seen.setdefault(member.lower(), member)
        for grant_path, grant in _items(group.get("assume"), (*path, "assume")):
            self._grant(grant_path, grant, accounts, management)

    def _grant(
        self, path: DocPath, grant: dict[str, Any],
        accounts: dict[str, tuple[dict[str, Any], DocPath]], management: str | None,
    ) -> None:
        check_account_names(grant.get("accounts"), path, accounts, self.value, what="a grant",
                            management=management)
        ips = grant.get("source_ips")
        if isinstance(ips, list):
            for index, text in enumerate(ips):
                if isinstance(text, str):
                    problem = cidr_problem(text)
                    if problem:
                        self.value((*path, "source_ips", index), problem)


def cidr_problem(text: str) -> str | None:
    """Why ``text`` is not an IP address or CIDR range for aws:SourceIp (``None``: it is)."""
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"{text!r} is not an IPv4 or IPv6 address or CIDR range"
        return f"{text!r} has host bits set; did you mean {str(network)!r}?"
    return None


def semantic_diagnostics(doc: YamlDocument, *, filename: str) -> list[Diagnostic]:
    """Every cross-field problem in ``doc`` (also on documents the schema rejected)."""
    return _Checker(doc, filename).run()


def normalize_ou(ou: str) -> str:
    parts = ou_parts(ou)
    return "/" + "/".join(parts) if parts else "/"


def _contacts(raw: dict[str, Any]) -> Mapping[str, ContactSpec | None]:
    """``accounts[].contacts`` as declared: listed types only, ``null`` kept as None."""
    return MappingProxyType({
        kind: None if raw[kind] is None else ContactSpec(
            name=raw[kind]["name"], title=raw[kind]["title"], email=raw[kind]["email"],
            phone=raw[kind]["phone"])
        for kind in CONTACT_TYPES if kind in raw})


def build(doc: YamlDocument, *, filename: str, sha256: str) -> DesiredState:
    """The ``DesiredState`` of a document that passed every check, defaults resolved."""
    data: dict[str, Any] = doc.data
    org = data["organization"]
    organization = OrganizationSpec(
        management_account_id=org["management_account_id"],
        access_role=org.get("access_role", DEFAULT_ACCESS_ROLE),
        invited_bootstrap=org.get("invited_bootstrap", "manual"),
    )
    section = data.get("root_credentials") or {}
    features = section.get("features")
    root = RootCredentialsSpec(
        features=None if features is None else tuple(features),
        default=section.get("default", "unmanaged"),
        delegated_admin=section.get("delegated_admin"),
        managed="root_credentials" in data,
    )

    def position(path: DocPath) -> Position:
        spot = doc.spot(path)
        return Position(filename, spot.line, spot.column)

    accounts: list[AccountSpec] = []
    for index, raw in enumerate(data.get("accounts", [])):
        role = raw.get("access_role", {})
        account_id = raw.get("id")
        is_management = account_id == organization.management_account_id
        tags = raw.get("tags")
        accounts.append(AccountSpec(
            name=raw["name"],
            email=raw["email"],
            source=raw.get("source", "created"),
            id=account_id,
            ou=normalize_ou(raw.get("ou", "/")),
            tags=frozen_mapping(tags),
            state=raw.get("state", "active"),
            iam_user_access_to_billing=raw.get("iam_user_access_to_billing"),
            access_role=AccessRoleSpec(
                name=role.get("name", organization.access_role),
                require_mfa=role.get("require_mfa", False),
                policies=tuple(role.get("policies", [ADMINISTRATOR_ACCESS])),
            ),
            root_credentials="unmanaged" if is_management or raw.get("state") == "closed"
            else raw.get("root_credentials", root.default),
            bootstrap_profile=raw.get("bootstrap_profile"),
            position=position(("accounts", index)),
            alias=(raw["alias"] or NO_ALIAS) if "alias" in raw else None,
            contacts=_contacts(raw["contacts"]) if "contacts" in raw else None,
        ))
    by_name = {account.name: account for account in accounts}
    active_members = [
        a.name for a in accounts
        if a.state == "active" and a.id != organization.management_account_id
    ]

    groups: list[GroupSpec] = []
    for index, raw in enumerate(data.get("groups", [])):
        targets: dict[GrantTarget, GrantTarget] = {}
        for grant in raw.get("assume", []):
            wildcard = grant["accounts"] == ["*"]
            names = active_members if wildcard else grant["accounts"]
            ips = tuple(sorted(set(grant.get("source_ips", []))))
            for name in names:
                target = GrantTarget(
                    account=name,
                    role=grant.get("role", by_name[name].access_role.name),
                    require_mfa=grant.get("require_mfa", False),
                    source_ips=ips,
                    wildcard=wildcard,
                )
                if target not in targets or not wildcard:  # a named account wins over "*"
                    targets[target] = target
        groups.append(GroupSpec(
            name=raw["name"],
            path=raw.get("path", DEFAULT_GROUP_PATH),
            members=tuple(sorted(set(raw.get("members", [])))),
            grants=tuple(sorted(targets.values(), key=lambda t: (
                t.account, t.role, t.require_mfa, t.source_ips))),
            position=position(("groups", index)),
        ))
    return DesiredState(
        organization=organization,
        root_credentials=root,
        accounts=tuple(accounts),
        groups=tuple(groups),
        identity_center=identity_center.build(data, active_members=active_members,
                                              position=position),
        source_file=filename,
        source_sha256=sha256,
    )
