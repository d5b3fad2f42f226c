"""The Identity Center part of the access report as a table of (file, what AWS has) -> rows with
statuses, offline: the pure ``reconciler.access.access_report`` on a loaded file and an observed
instance built by hand. A file without ``identity_center:`` gives no such part."""

from __future__ import annotations

import json

import pytest

from reconciler.access import ObservedAccess, access_report, render_markdown, render_text
from reconciler.config import load_text
from reconciler.observed import (
    ObservedAssignment,
    ObservedIdentityCenter,
    ObservedPermissionSet,
    ObservedPrincipal,
)
from tests.desired_files import HEADER

FILE = HEADER + """\
accounts:
  - name: prod
    email: aws+prod@example.com
    id: "210987654321"
  - name: dev
    email: aws+dev@example.com
    id: "310987654321"
  - name: new
    email: aws+new@example.com
identity_center:
  permission_sets:
    - name: Admin
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: [prod, dev]
    - users: [linus]
      permission_set: Admin
      accounts: [prod]
"""
PROD, DEV, ELSEWHERE = "210987654321", "310987654321", "999999999999"
INSTANCE = "arn:aws:sso:::instance/ssoins-1"
ADMIN = ObservedPermissionSet(arn=f"{INSTANCE}/ps-admin", name="Admin")
OTHER = ObservedPermissionSet(arn=f"{INSTANCE}/ps-other", name="Other")
PRINCIPALS = (ObservedPrincipal("GROUP", "g-admins", "platform-admins"),
              ObservedPrincipal("GROUP", "g-dev", "developers"),
              ObservedPrincipal("USER", "u-linus", "linus"))
MEMBERS = {"g-admins": ("ada", "grace"), "g-dev": ("grace", "linus")}


def assigned(account: str, principal: str, permission_set: ObservedPermissionSet = ADMIN
             ) -> ObservedAssignment:
    kind = "USER" if principal.startswith("u-") else "GROUP"
    return ObservedAssignment(account, permission_set.arn, kind, principal)


def observed(*assignments: ObservedAssignment, principals: tuple[ObservedPrincipal, ...] =
             PRINCIPALS, instance: str | None = INSTANCE) -> ObservedAccess:
    center = ObservedIdentityCenter(
        instance_arn=instance, identity_store_id="d-1" if instance else None,
        permission_sets=(ADMIN, OTHER) if instance else (), assignments=assignments,
        principals=principals if instance else (),
        error=None if instance else "no IAM Identity Center instance is enabled")
    return ObservedAccess(groups=(), managed_policies=(), existing_users=(),
                          account_names={ELSEWHERE: "elsewhere"},
                          identity_center=center, identity_center_members=MEMBERS)


ALL = (assigned(PROD, "g-admins"), assigned(DEV, "g-admins"), assigned(PROD, "u-linus"))
FILE_NEW = FILE.replace("accounts: [prod, dev]", "accounts: [prod, dev, new]")
Row = tuple[str, str, str, str]
# (case, file, observed) -> [(principal, account, permission set, status)]
CASES: list[tuple[str, str, ObservedAccess, list[Row]]] = [
    ("every declared assignment exists", FILE, observed(*ALL),
     [("platform-admins", "dev", "Admin", "granted"),
      ("platform-admins", "prod", "Admin", "granted"), ("linus", "prod", "Admin", "granted")]),
    ("nothing applied yet", FILE, observed(),
     [("platform-admins", "dev", "Admin", "missing_in_aws"),
      ("platform-admins", "prod", "Admin", "missing_in_aws"),
      ("linus", "prod", "Admin", "missing_in_aws")]),
    ("one assignment removed out of band", FILE, observed(*ALL[1:]),
     [("platform-admins", "dev", "Admin", "granted"),
      ("platform-admins", "prod", "Admin", "missing_in_aws"),
      ("linus", "prod", "Admin", "granted")]),
    ("the permission set does not exist yet", FILE,
     observed(),  # no assignment can exist without the set
     [("platform-admins", "dev", "Admin", "missing_in_aws"),
      ("platform-admins", "prod", "Admin", "missing_in_aws"),
      ("linus", "prod", "Admin", "missing_in_aws")]),
    ("a user not in the identity store", FILE, observed(*ALL[:2], principals=PRINCIPALS[:2]),
     [("platform-admins", "dev", "Admin", "granted"),
      ("platform-admins", "prod", "Admin", "granted"),
      ("linus", "prod", "Admin", "principal_missing_in_identity_store")]),
    ("an account not created yet", FILE_NEW, observed(*ALL),
     [("platform-admins", "dev", "Admin", "granted"),
      ("platform-admins", "new", "Admin", "account_not_in_organization"),
      ("platform-admins", "prod", "Admin", "granted"), ("linus", "prod", "Admin", "granted")]),
    ("AWS assigns more: a managed set elsewhere, another set in a file account", FILE,
     observed(*ALL, assigned(ELSEWHERE, "g-dev"), assigned(DEV, "g-dev", OTHER),
              assigned(ELSEWHERE, "g-dev", OTHER)),
     [("platform-admins", "dev", "Admin", "granted"),
      ("platform-admins", "prod", "Admin", "granted"), ("linus", "prod", "Admin", "granted"),
      ("developers", "dev", "Other", "not_in_file"),
      ("developers", "elsewhere", "Admin", "not_in_file")]),
    ("no instance", FILE, observed(instance=None),
     [("platform-admins", "dev", "Admin", "missing_in_aws"),
      ("platform-admins", "prod", "Admin", "missing_in_aws"),
      ("linus", "prod", "Admin", "missing_in_aws")]),
]


@pytest.mark.parametrize(("text", "seen", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rows(text: str, seen: ObservedAccess, expected: list[Row]) -> None:
    document = access_report(load_text(text, filename="accounts.yaml"), seen)
    rows = document["identity_center"]["assignments"]
    assert [(r["principal"], r["account"], r["permission_set"], r["status"])
            for r in rows] == expected
    json.dumps(document)  # the JSON format is this document
    text_out, markdown = render_text(document), render_markdown(document)
    assert "IAM Identity Center (" in text_out and "#### IAM Identity Center (" in markdown
    for row in rows:
        assert row["permission_set"] in text_out and row["account"] in markdown


def test_members_and_renderings() -> None:
    document = access_report(load_text(FILE, filename="accounts.yaml"),
                             observed(*ALL[1:], assigned(DEV, "g-dev", OTHER)))
    part = document["identity_center"]
    by_key = {(r["principal"], r["account"]): r for r in part["assignments"]}
    assert by_key[("platform-admins", "prod")]["members"] == ["ada", "grace"]
    assert by_key[("linus", "prod")]["members"] is None  # a user: no members
    assert by_key[("developers", "dev")]["apply_removes"] is False
    assert part["summary"] == {"granted": 2, "missing_in_aws": 1, "not_in_file": 1}
    assert part["instance_arn"] == INSTANCE
    text = render_text(document)
    assert "group platform-admins\n  members: ada, grace\n" in text
    assert "MISSING IN AWS: the file grants it, AWS does not" in text
    assert "NOT IN THE FILE: AWS grants it, the file does not (unmanaged: apply keeps it)" in text
    assert "4 Identity Center assignment(s): 2 as the file says, 2 marked." in text
    markdown = render_markdown(document)
    assert "| Principal | Members | Account | Permission set | Status |" in markdown
    assert "| group platform-admins | ada, grace | prod (210987654321) | Admin | " \
        "**MISSING IN AWS: the file grants it, AWS does not** |" in markdown
    exclusive = FILE.replace("identity_center:\n", "identity_center:\n  exclusive: true\n")
    removed = access_report(load_text(exclusive, filename="accounts.yaml"),
                            observed(*ALL, assigned(DEV, "g-dev", OTHER)))
    assert "(identity_center.exclusive: apply removes it)" in render_text(removed)


def test_no_section_no_part() -> None:
    without = FILE[:FILE.index("identity_center:")]
    document = access_report(load_text(without, filename="accounts.yaml"), observed(*ALL))
    assert "identity_center" not in document
    assert "Identity Center" not in render_text(document) + render_markdown(document)


def test_the_plan_runners_policy_covers_the_identity_center_reads() -> None:
    from reconciler.observe.identity_center import PERMISSIONS
    from reconciler.permissions import covers, policy

    plan_policy = policy("plan")
    for action in PERMISSIONS["management"]:
        assert covers(plan_policy, action), action
