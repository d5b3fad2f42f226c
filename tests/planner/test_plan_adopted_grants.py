"""Grants in policies orgsync did not write (a group another tool built under orgsync's path):
a table of (file's grants, the group's policies) -> the planned change. Such policies are kept as
they are, never deleted; orgsync writes no policy of its own while they make every grant of the
file, and its own grant policy holds all the file's grants once it writes one."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.observed import ObservedGroup, ObservedManagedPolicy
from reconciler.planner import plan
from tests.planner import builders as b

PROD, STAGING, DEV = "210000000001", "210000000002", "210000000003"
ROLE = "OrganizationAccountAccessRole"
TF_ARN = "arn:aws:iam::123456789012:policy/assume-staging"


def _doc(*accounts: str, mfa: bool = False, extra: list[dict[str, Any]] | None = None
         ) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Resource": [f"arn:aws:iam::{a}:role/{ROLE}" for a in accounts]}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": [statement, *(extra or [])]}


OTHER_PERMISSION = {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"}

# (case, file's grants as (account, mfa), group's inline policies, managed policy document
#  attached (or None), expected action, expected inline policy names after, warning count)
CASES: list[tuple[str, list[tuple[str, bool]], dict[str, Any], dict[str, Any] | None,
                  str | None, list[str], int]] = [
    ("terraform's grants, exported: no change",
     [("prod", False), ("staging", False)], {"assume-prod": _doc(PROD)}, _doc(STAGING),
     None, ["assume-prod"], 0),
    ("one inline policy of another name, other statements too: no change",
     [("prod", False)], {"team-access": _doc(PROD, extra=[OTHER_PERMISSION])}, None,
     None, ["team-access"], 0),
    ("a new grant: orgsync writes all grants, keeps theirs",
     [("prod", False), ("staging", False), ("dev", False)], {"assume-prod": _doc(PROD)},
     _doc(STAGING), "update", ["assume-prod", "orgsync-assume"], 0),
    ("a grant removed from the file: kept and reported",
     [("prod", False)], {"assume-prod": _doc(PROD)}, _doc(STAGING),
     None, ["assume-prod"], 1),
    ("same account, other conditions: orgsync writes its own",
     [("prod", True)], {"assume-prod": _doc(PROD)}, None,
     "update", ["assume-prod", "orgsync-assume"], 1),
    ("no grants at all in the file: theirs stay, reported",
     [], {"assume-prod": _doc(PROD)}, None, None, ["assume-prod"], 1),
    ("a policy without grants is kept too",
     [("prod", False)], {"misc": {"Version": "2012-10-17", "Statement": [OTHER_PERMISSION]}},
     None, "update", ["misc", "orgsync-assume"], 0),
]


@pytest.mark.parametrize(("grants", "inline", "managed", "action", "inline_after", "warnings"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_grants_of_other_tools_are_adopted(grants: list[tuple[str, bool]],
                                           inline: dict[str, Any], managed: dict[str, Any] | None,
                                           action: str | None, inline_after: list[str],
                                           warnings: int) -> None:
    accounts = (("prod", PROD), ("staging", STAGING), ("dev", DEV))
    desired = b.desired(*(b.account(name) for name, _ in accounts), groups=(b.group(
        "platform", members=("alice",),
        grants=tuple(b.grant(name, require_mfa=mfa) for name, mfa in grants)),))
    policies = (ObservedManagedPolicy(arn=TF_ARN, name="assume-staging", path="/",
                                      document=managed),) if managed else ()
    group = ObservedGroup("platform", "/orgsync/", "arn:aws:iam::123456789012:group/platform",
                          members=("alice",), inline_policies=inline,
                          attached_policies=(TF_ARN,) if managed else ())
    observed = b.observed(*(b.member(name, id) for name, id in accounts), groups=(group,),
                          managed_policies=policies, existing_users=("alice",))
    result = plan(desired, observed)
    changes = [c for c in result.changes if c.kind == "group"]
    assert result.errors == ()
    group_warnings = [w for w in result.warnings if w.startswith("group platform:")]
    assert len(group_warnings) == warnings, group_warnings
    assert all("never edits policies it did not write" in w for w in group_warnings)
    if action is None:
        assert changes == []
        return
    (change,) = changes
    assert change.action.value == action
    after: Any = change.after
    assert sorted(after["inline_policies"]) == inline_after
    for name, document in inline.items():  # never changed, never deleted
        assert after["inline_policies"][name] == document
    assert after["managed_policies"] == []  # theirs stays attached: it is not orgsync's
    written = str(after["inline_policies"].get("orgsync-assume"))
    for name, _mfa in grants:
        assert dict(accounts)[name] in written  # orgsync's policy holds every grant


def test_adopted_group_converges_after_apply() -> None:
    """After orgsync wrote its policy next to theirs, the next plan is empty."""
    accounts = (("prod", PROD), ("staging", STAGING), ("dev", DEV))
    desired = b.desired(*(b.account(name) for name, _ in accounts), groups=(b.group(
        "platform", grants=tuple(b.grant(name) for name, _ in accounts)),))
    group = ObservedGroup("platform", "/orgsync/", "arn",
                          inline_policies={"assume-prod": _doc(PROD)})
    observed = b.observed(*(b.member(name, id) for name, id in accounts), groups=(group,))
    first = plan(desired, observed)
    (change,) = [c for c in first.changes if c.kind == "group"]
    after: Any = change.after
    applied = ObservedGroup("platform", "/orgsync/", "arn",
                            inline_policies=after["inline_policies"])
    second = plan(desired, b.observed(*(b.member(name, id) for name, id in accounts),
                                      groups=(applied,)))
    assert [c for c in second.changes if c.kind == "group"] == []
