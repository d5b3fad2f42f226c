"""Planner tables for left-over managed grant policies (``orgsync-<group>-assume-N``).

A grant policy that no observed group has attached is *loose*: a crash between CreatePolicy and
AttachGroupPolicy, a group deleted by hand, a detached policy of a group whose grants shrank. One
its group still wants is attached again; any other is deleted, in its group's create/update when
the group is in the file, else in a destructive ``group.<name>`` delete. A tidy state plans
nothing. Every case is re-planned after a model apply (``converge``) and must then be empty.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.model import DesiredState
from reconciler.observed import ObservedGroup, ObservedManagedPolicy, ObservedState
from reconciler.planner import plan

from . import builders as b

PROD = b.member("prod", "210000000001")
ROLE_PROD = "arn:aws:iam::210000000001:role/OrganizationAccountAccessRole"
GRANT_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [ROLE_PROD]}]}

# Forty accounts, each granted with its own source range: too much for the inline budget, so the
# group "big" needs managed grant policies.
MANY = tuple(b.member(f"acct{i:02d}", f"2200000000{i:02d}") for i in range(40))
BIG = b.group("big", grants=tuple(b.grant(a.name, source_ips=(f"10.0.{i}.0/24",))
                                  for i, a in enumerate(MANY)))


def _arn(name: str, path: str = "/orgsync/") -> str:
    return f"arn:aws:iam::{b.MGMT}:policy{path}{name}"


def _policy(name: str, *, path: str = "/orgsync/",
            document: dict[str, Any] | None = None) -> ObservedManagedPolicy:
    return ObservedManagedPolicy(arn=_arn(name, path), name=name, path=path,
                                 document=document or GRANT_DOC)


def _group(name: str, *, path: str = "/orgsync/", attached: tuple[str, ...] = (),
           inline: dict[str, Any] | None = None) -> ObservedGroup:
    return ObservedGroup(name=name, path=path, arn=f"arn:aws:iam::{b.MGMT}:group{path}{name}",
                         inline_policies={"orgsync-assume": GRANT_DOC} if inline is None
                         else inline, attached_policies=tuple(sorted(attached)))


ADMINS = b.desired(b.account("prod"), groups=(b.group("admins", grants=(b.grant("prod"),)),))
NO_GROUPS = b.desired(b.account("prod"))


def _big_desired() -> DesiredState:
    return b.desired(*(b.account(a.name) for a in MANY), groups=(BIG,))


def _big_tidy() -> ObservedState:
    """The observed state right after a correct apply of ``BIG``: policies attached."""
    empty = b.observed(*MANY)
    return b.converge(plan(_big_desired(), empty), empty)


def _big_detached(name: str) -> ObservedState:
    """``_big_tidy`` with one of big's managed policies detached (a crash before attaching)."""
    tidy = _big_tidy()
    group = next(g for g in tidy.groups if g.name == "big")
    detached = dataclasses.replace(
        group, attached_policies=tuple(a for a in group.attached_policies if a != _arn(name)))
    return dataclasses.replace(tidy, groups=(detached,))


@dataclass
class Case(b.Case):
    # (address, names of the policies shown loose in before, names in after or None)
    policies: tuple[str, list[str], list[str] | None] | None = None
    reason: str = ""


CASES = [
    Case("tidy-inline-only", ADMINS,
         b.observed(PROD, groups=(_group("admins"),)), []),
    Case("tidy-with-managed", lambda: _big_desired(), lambda: _big_tidy(), []),
    Case("orphan-of-group-in-file", ADMINS,
         b.observed(PROD, groups=(_group("admins"),),
                    managed_policies=(_policy("orgsync-admins-assume-2"),)),
         [("group.admins", "update")],
         policies=("group.admins", ["orgsync-admins-assume-2"], []),
         reason="deletes left-over grant policies /orgsync/orgsync-admins-assume-2"),
    Case("orphan-of-group-in-file-not-in-iam", ADMINS,
         b.observed(PROD, managed_policies=(_policy("orgsync-admins-assume-1"),)),
         [("group.admins", "create")],
         policies=("group.admins", ["orgsync-admins-assume-1"], []),
         reason="deletes left-over grant policies /orgsync/orgsync-admins-assume-1"),
    Case("orphan-of-group-not-in-file-or-iam", NO_GROUPS,
         b.observed(PROD, managed_policies=(_policy("orgsync-old-assume-1"),
                                            _policy("orgsync-old-assume-2"))),
         [("group.old", "delete")], destructive=["group.old"],
         policies=("group.old", ["orgsync-old-assume-1", "orgsync-old-assume-2"], None),
         reason="no group of that name at orgsync's paths"),
    Case("orphan-of-deleted-group-joins-its-delete", NO_GROUPS,
         b.observed(PROD, groups=(_group("old", attached=(_arn("orgsync-old-assume-1"),)),),
                    managed_policies=(_policy("orgsync-old-assume-1"),
                                      _policy("orgsync-old-assume-2"))),
         [("group.old", "delete")], destructive=["group.old"],
         policies=("group.old", ["orgsync-old-assume-2"], None),
         reason="no longer in the file"),
    Case("orphan-of-group-outside-managed-path", NO_GROUPS,
         b.observed(PROD, groups=(_group("old", path="/orgsync/team/"),),
                    managed_policies=(_policy("orgsync-old-assume-1"),)),
         [("group.old", "delete")], destructive=["group.old"],
         policies=("group.old", ["orgsync-old-assume-1"], None),
         reason="not orgsync's: it is kept"),
    Case("group-name-containing-assume", NO_GROUPS,
         b.observed(PROD, managed_policies=(_policy("orgsync-x-assume-1-assume-3"),)),
         [("group.x-assume-1", "delete")], destructive=["group.x-assume-1"],
         policies=("group.x-assume-1", ["orgsync-x-assume-1-assume-3"], None)),
    Case("grant-policy-attached-to-another-group-left-alone", ADMINS,
         b.observed(PROD, groups=(_group("admins",
                                         attached=(_arn("orgsync-other-assume-1"),)),),
                    managed_policies=(_policy("orgsync-other-assume-1"),)), []),
    Case("not-a-grant-policy-left-alone", NO_GROUPS,
         b.observed(PROD, managed_policies=(_policy("orgsync-old-assume-x"),
                                            _policy("team-old-assume-1"))), []),
    Case("wanted-but-detached-gets-attached", lambda: _big_desired(),
         lambda: _big_detached("orgsync-big-assume-1"), [("group.big", "update")],
         policies=("group.big", ["orgsync-big-assume-1"], ["orgsync-big-assume-1"]),
         reason="attaches detached grant policies /orgsync/orgsync-big-assume-1"),
]


def _value(thing: Any) -> Any:
    return thing() if callable(thing) else thing


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_left_over_grant_policies(case: Case) -> None:
    desired, observed = _value(case.desired), _value(case.observed)
    result = plan(desired, observed)
    assert not result.errors, result.errors
    assert [(c.address, c.action.value) for c in result.changes] == case.changes
    assert [c.address for c in result.destructive_changes] == case.destructive
    assert plan(desired, observed) == result
    if case.policies is not None:
        address, loose, after_names = case.policies
        change = next(c for c in result.changes if c.address == address)
        assert change.before is not None
        shown = [p["name"] for p in change.before["managed_policies"]
                 if p.get("attached") is False]
        assert shown == loose
        if after_names is None:
            assert change.after is None
        else:
            assert change.after is not None
            names = [p["name"] for p in change.after["managed_policies"]]
            assert all(n in names for n in after_names)
            assert not any(n in names for n in set(loose) - set(after_names))
    if case.reason:
        assert any(case.reason in c.reason for c in result.changes), \
            [c.reason for c in result.changes]
    again = plan(desired, b.converge(result, observed))
    assert [(c.address, c.action.value, c.diff) for c in again.changes] == []


def test_big_group_really_uses_managed_policies() -> None:
    tidy = _big_tidy()
    assert [p.name for p in tidy.managed_policies][:1] == ["orgsync-big-assume-1"]


def test_orphan_shows_as_removed_in_the_diff() -> None:
    result = plan(ADMINS, b.observed(PROD, groups=(_group("admins"),),
                                     managed_policies=(_policy("orgsync-admins-assume-2"),)))
    (change,) = result.changes
    paths = {d.path: (d.before, d.after) for d in change.diff}
    assert list(paths) == ["managed_policies.orgsync-admins-assume-2"]
    before, after = paths["managed_policies.orgsync-admins-assume-2"]
    assert before["attached"] is False and after is None


def test_detached_wanted_policy_shows_as_attach() -> None:
    result = plan(_big_desired(), _big_detached("orgsync-big-assume-1"))
    (change,) = result.changes
    assert [(d.path, d.before, d.after) for d in change.diff] == [
        ("managed_policies.orgsync-big-assume-1.attached", False, True)]


def test_policy_of_group_over_quota_is_not_deleted() -> None:
    # ten foreign policies take every managed slot: big's grants cannot fit (a plan error), so
    # what it wants is unknown and its loose policies are left alone
    foreign = tuple(f"arn:aws:iam::aws:policy/Foreign{i}" for i in range(10))
    observed = b.observed(*MANY, groups=(_group("big", attached=foreign, inline={}),),
                          managed_policies=(_policy("orgsync-big-assume-1"),))
    result = plan(_big_desired(), observed)
    assert len(result.errors) == 1
    assert "big" in result.errors[0]
    assert result.changes == ()
