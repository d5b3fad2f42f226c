"""Reading orgsync's IAM groups, their policies and members in the management account.

GetAccountAuthorizationDetails filtered to groups, local managed policies and users returns, in
as few pages as IAM allows, every group with its inline and attached policies, every customer
managed policy with its versions, and every user with the groups it belongs to (that is where
membership comes from; ListGroupsForUser/GetGroup per group would cost a call each). Only what
lies at exactly one of the managed paths is kept, plus the name and path of any group elsewhere
that is named like a group of the file (the planner reports the clash instead of planning a create
that apply would have to refuse), and the documents of customer managed policies attached to
orgsync's groups wherever they live (grants another tool wrote there are adopted, not deleted).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.aws import Client, pages
from reconciler.model import DesiredState
from reconciler.observed import ObservedGroup, ObservedManagedPolicy

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": ("iam:GetAccountAuthorizationDetails",),
}

PAGE_SIZE = 1000


@dataclass(frozen=True)
class ManagementIam:
    groups: tuple[ObservedGroup, ...]
    managed_policies: tuple[ObservedManagedPolicy, ...]
    existing_users: tuple[str, ...]
    # (name, path), sorted: groups outside the managed paths that have the name of a group of
    # the file (IAM group names are unique per account whatever the path: the file's cannot be made)
    foreign_groups: tuple[tuple[str, str], ...] = ()
    # (member of the file that is not an IAM user, IAM users with a close name), sorted
    similar_users: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _similar(missing: set[str], users: set[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """For each referenced user that does not exist, the IAM users with a close name (difflib's
    ratio, the same measure Python's own "did you mean" uses), best first; only those are kept,
    not every user of the account."""
    found = []
    for name in sorted(missing):
        close = difflib.get_close_matches(name, sorted(users), n=3, cutoff=0.6)
        if close:
            found.append((name, tuple(close)))
    return tuple(found)


def _owned(path: str, managed_paths: Iterable[str]) -> bool:
    """Exact paths: ``/orgsync/`` does not own ``/orgsync/other-team/`` (another team's groups)."""
    return path in managed_paths


def read_management_iam(iam: Client, *, desired: DesiredState) -> ManagementIam:
    """Groups and customer managed policies at the managed paths, and which of the IAM users
    the file references exist."""
    managed_paths = desired.managed_group_paths
    referenced = {m for g in desired.groups for m in g.members}
    wanted = {g.name for g in desired.groups}
    foreign: set[tuple[str, str]] = set()
    raw_groups: list[dict[str, Any]] = []
    raw_policies: list[dict[str, Any]] = []
    members: dict[str, set[str]] = {}
    users: set[str] = set()
    for page in pages(iam, "get_account_authorization_details",
                      Filter=["Group", "LocalManagedPolicy", "User"],
                      PaginationConfig={"PageSize": PAGE_SIZE}):
        for group in page.get("GroupDetailList") or ():
            path = str(group.get("Path", "/"))
            if _owned(path, managed_paths):
                raw_groups.append(group)
            elif str(group["GroupName"]) in wanted:
                foreign.add((str(group["GroupName"]), path))
        for policy in page.get("Policies") or ():
            raw_policies.append(policy)
        for user in page.get("UserDetailList") or ():
            name = str(user["UserName"])
            users.add(name)
            for group_name in user.get("GroupList") or ():
                members.setdefault(str(group_name), set()).add(name)
    # orgsync's policies (under its paths), and any customer managed policy attached to one of
    # its groups: another tool's grants live there, and are adopted rather than deleted
    attached = {str(p["PolicyArn"]) for g in raw_groups
                for p in g.get("AttachedManagedPolicies") or ()}
    raw_policies = [p for p in raw_policies if _owned(str(p.get("Path", "/")), managed_paths)
                    or str(p.get("Arn")) in attached]
    groups = tuple(sorted(
        (ObservedGroup(
            name=str(g["GroupName"]),
            path=str(g.get("Path", "/")),
            arn=str(g.get("Arn", "")),
            members=tuple(sorted(members.get(str(g["GroupName"]), ()))),
            inline_policies={str(p["PolicyName"]): dict(p.get("PolicyDocument") or {})
                             for p in sorted(g.get("GroupPolicyList") or (),
                                             key=lambda p: str(p["PolicyName"]))},
            attached_policies=tuple(sorted(str(p["PolicyArn"])
                                           for p in g.get("AttachedManagedPolicies") or ())),
        ) for g in raw_groups), key=lambda g: (g.path, g.name)))
    return ManagementIam(
        groups=groups,
        managed_policies=tuple(sorted((_policy(p) for p in raw_policies), key=lambda p: p.arn)),
        existing_users=tuple(sorted(referenced & users)),
        foreign_groups=tuple(sorted(foreign)),
        similar_users=_similar(referenced - users, users),
    )


def _policy(raw: dict[str, Any]) -> ObservedManagedPolicy:
    default_id = str(raw.get("DefaultVersionId", "v1"))
    document: dict[str, Any] = {}
    for version in raw.get("PolicyVersionList") or ():
        if version.get("IsDefaultVersion") or str(version.get("VersionId")) == default_id:
            document = dict(version.get("Document") or {})
            break
    return ObservedManagedPolicy(
        arn=str(raw["Arn"]),
        # moto's GetAccountAuthorizationDetails leaves PolicyName out; the ARN ends with it
        name=str(raw.get("PolicyName") or str(raw["Arn"]).rsplit("/", 1)[-1]),
        path=str(raw.get("Path", "/")),
        document=document, default_version_id=default_id)
