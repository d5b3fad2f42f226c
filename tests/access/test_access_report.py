"""The access report as a table of (file, what AWS has) -> rows with statuses, offline: the
pure ``reconciler.access.access_report`` on a loaded file and observed groups built by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.access import (
    ObservedAccess,
    access_report,
    reachable,
    render_markdown,
    render_text,
)
from reconciler.config import load_text
from reconciler.observed import ObservedGroup, ObservedManagedPolicy
from tests.desired_files import HEADER

FILE = HEADER + """\
accounts:
  - name: prod | eu
    email: aws+prod@example.com
    id: "210987654321"
    access_role: {require_mfa: true}
  - name: dev
    email: aws+dev@example.com
groups:
  - name: ops
    members: [alice, bob]
    assume:
      - accounts: ["prod | eu"]
        role: ReadOnly
        require_mfa: true
        source_ips: [203.0.113.0/24]
"""
PROD, DEV = "210987654321", "310987654321"
ROLE = "OrganizationAccountAccessRole"


def statement(account: str, role: str, *, mfa: bool = False,
              ips: tuple[str, ...] = ()) -> dict[str, Any]:
    result: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole",
                              "Resource": f"arn:aws:iam::{account}:role/{role}"}
    condition: dict[str, Any] = {}
    if mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    if ips:
        condition["IpAddress"] = {"aws:SourceIp": list(ips)}
    if condition:
        result["Condition"] = condition
    return result


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


IPS = ("203.0.113.0/24",)
GRANTED = statement(PROD, "ReadOnly", mfa=True, ips=IPS)


def group(*, inline: dict[str, Any] | None = None, attached: tuple[str, ...] = (),
          members: tuple[str, ...] = ("alice", "bob"), name: str = "ops") -> ObservedGroup:
    return ObservedGroup(name=name, path="/orgsync/", arn=f"arn:aws:iam::123456789012:group/"
                         f"orgsync/{name}", members=members, inline_policies=inline or {},
                         attached_policies=attached)


def observed(*groups: ObservedGroup, policies: tuple[ObservedManagedPolicy, ...] = (),
             ids: dict[str, str] | None = None) -> ObservedAccess:
    return ObservedAccess(groups=groups, managed_policies=policies,
                          existing_users=("alice", "bob"), account_ids=ids or {},
                          account_names={DEV: "dev", "999999999999": "elsewhere"})


MANAGED = ObservedManagedPolicy(arn="arn:aws:iam::123456789012:policy/orgsync/other-tool",
                                name="other-tool", path="/orgsync/",
                                document=doc(GRANTED), default_version_id="v1")
FILE_DEV = FILE.replace('accounts: ["prod | eu"]', 'accounts: ["prod | eu", dev]')

# (case, file, observed) -> [(account, role, status, extra checks)]
CASES: list[tuple[str, str, ObservedAccess, list[tuple[str, str, str]]]] = [
    ("granted by orgsync's inline policy", FILE,
     observed(group(inline={"orgsync-assume": doc(GRANTED)})),
     [("prod | eu", "ReadOnly", "granted")]),
    ("granted by an attached policy of another tool", FILE,
     observed(group(attached=(MANAGED.arn,)), policies=(MANAGED,)),
     [("prod | eu", "ReadOnly", "granted")]),
    ("the group exists without the grant", FILE, observed(group()),
     [("prod | eu", "ReadOnly", "missing_in_aws")]),
    ("granted without MFA and source IPs", FILE,
     observed(group(inline={"orgsync-assume": doc(statement(PROD, "ReadOnly"))})),
     [("prod | eu", "ReadOnly", "conditions_differ")]),
    ("no group in AWS", FILE, observed(), [("prod | eu", "ReadOnly", "group_missing_in_aws")]),
    ("an account not created yet", FILE_DEV, observed(group(inline={"orgsync-assume":
                                                                    doc(GRANTED)})),
     [("dev", "ReadOnly", "account_not_in_organization"), ("prod | eu", "ReadOnly", "granted")]),
    ("an account found by email", FILE_DEV,
     observed(group(inline={"orgsync-assume": doc(GRANTED)}), ids={"dev": DEV}),
     [("dev", "ReadOnly", "missing_in_aws"), ("prod | eu", "ReadOnly", "granted")]),
    ("AWS grants more than the file", FILE,
     observed(group(inline={"orgsync-assume": doc(GRANTED, statement(DEV, ROLE)),
                            "legacy": doc(statement("999999999999", "Admin"))})),
     [("prod | eu", "ReadOnly", "granted"), ("dev", ROLE, "not_in_file"),
      ("elsewhere", "Admin", "not_in_file")]),
    ("a group of the managed path the file does not have", FILE,
     observed(group(inline={"orgsync-assume": doc(GRANTED)}),
              group(name="old", members=("carol",),
                    inline={"orgsync-assume": doc(statement(PROD, ROLE))})),
     [("prod | eu", "ReadOnly", "granted"), ("prod | eu", ROLE, "not_in_file")]),
]


@pytest.mark.parametrize(("text", "seen", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rows(text: str, seen: ObservedAccess, expected: list[tuple[str, str, str]]) -> None:
    document = access_report(load_text(text, filename="accounts.yaml"), seen)
    assert [(r["account"], r["role"], r["status"]) for r in document["grants"]] == expected
    json.dumps(document)  # the JSON format is this document
    text_out, markdown = render_text(document), render_markdown(document)
    for row in document["grants"]:
        assert row["role"] in text_out and row["role"] in markdown


def test_details_of_marked_rows() -> None:
    desired = load_text(FILE, filename="accounts.yaml")
    differs = access_report(desired, observed(group(inline={"orgsync-assume": doc(
        statement(PROD, "ReadOnly"))})))["grants"][0]
    assert differs["aws_conditions"] == [{"require_mfa": False, "source_ips": []}]
    assert "DIFFERS IN AWS: granted under other conditions (AWS: none)" in render_text(
        {**access_report(desired, observed(group(inline={"orgsync-assume": doc(
            statement(PROD, "ReadOnly"))}))), "source_file": "accounts.yaml"})
    extra = access_report(desired, observed(group(inline={
        "orgsync-assume": doc(GRANTED, statement(DEV, ROLE)),
        "legacy": doc(statement("999999999999", "Admin"))})))
    by_role = {r["role"]: r for r in extra["grants"]}
    assert by_role[ROLE]["apply_removes"] and by_role[ROLE]["granted_by"] == \
        "inline policy orgsync-assume"
    assert not by_role["Admin"]["apply_removes"]
    assert "(inline policy legacy, not orgsync's: apply keeps it)" in render_text(extra)


def test_members_and_reachable() -> None:
    desired = load_text(FILE.replace("[alice, bob]", "[alice, bob, dave]"),
                        filename="accounts.yaml")
    seen = observed(group(inline={"orgsync-assume": doc(GRANTED)},
                          members=("bob", "mallory")))
    document = access_report(desired, seen)
    assert document["groups"][0]["members"] == [
        {"name": "alice", "status": "not_in_aws_group"}, {"name": "bob", "status": "member"},
        {"name": "dave", "status": "no_such_user"}, {"name": "mallory", "status": "not_in_file"}]
    # who AWS lets through: the AWS group's members, whatever the file says
    assert reachable(document) == {("bob", PROD, "ReadOnly"), ("mallory", PROD, "ReadOnly")}
    assert "members: alice (not in the AWS group), bob, dave (no such IAM user), mallory (in " \
        "AWS, not in the file)" in render_text(document)


def test_access_role_trust_mfa_and_markdown_escaping() -> None:
    desired = load_text(FILE.replace("        role: ReadOnly\n        require_mfa: true\n", ""),
                        filename="accounts.yaml")
    seen = observed(group(inline={"orgsync-assume": doc(statement(PROD, ROLE, ips=IPS))}))
    document = access_report(desired, seen)
    (row,) = document["grants"]
    assert (row["role"], row["status"], row["require_mfa"], row["trust_requires_mfa"]) == \
        (ROLE, "granted", True, True)
    markdown = render_markdown(document)
    assert "| ops | prod \\| eu (210987654321) | OrganizationAccountAccessRole | " \
        "MFA (role trust); from 203.0.113.0/24 | ok |" in markdown
    assert "| Group | Members |\n|---|---|\n| ops | alice, bob |\n" in markdown
    assert "| Group | Account | Role | Conditions | Status |" in markdown


def test_markdown_stays_under_the_comment_limit() -> None:
    accounts = "".join(f"  - name: team-{i:04d}\n    email: aws+t{i}@example.com\n"
                       f'    id: "{200000000000 + i:012d}"\n' for i in range(1500))
    text = ("version: 1\norganization:\n  management_account_id: \"123456789012\"\n"
            f"accounts:\n{accounts}groups:\n  - name: ops\n    members: [alice]\n"
            "    assume:\n      - accounts: [\"*\"]\n        role: ReadOnly\n")
    desired = load_text(text, filename="accounts.yaml")
    granted = doc(*(statement(f"{200000000000 + i:012d}", "ReadOnly") for i in range(1, 1500)))
    document = access_report(desired, observed(group(inline={"orgsync-assume": granted})))
    markdown = render_markdown(document)
    assert len(markdown) < 65_536
    shown = markdown.count("\n| ops | team-")
    assert 0 < shown < 1500
    assert f"> {1500 - shown} of 1500 grants (as the file says, marked ones first) are not " \
        "shown here" in markdown
    # the one marked row (team-0000 is missing in AWS) comes first
    assert "\n| ops | team-0000 (200000000000) | ReadOnly | none | **MISSING IN AWS" in markdown


def test_the_plan_runners_policy_covers_the_access_reads() -> None:
    from reconciler.commands.access import PERMISSIONS
    from reconciler.permissions import covers, policy

    plan_policy = policy("plan")
    for action in PERMISSIONS["management"]:
        assert covers(plan_policy, action), action
    assert not covers(plan_policy, "iam:PutGroupPolicy")  # the reads only
