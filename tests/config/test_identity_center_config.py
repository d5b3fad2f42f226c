"""The ``identity_center:`` section: what it resolves to (defaults, canonical session lengths,
inline policies from YAML or a JSON string, expanded assignments) and each mistake reported once,
with its position."""

from __future__ import annotations

import pytest

from reconciler.config import load_text
from reconciler.errors import ConfigError
from reconciler.model import PolicyReference
from tests.desired_files import HEADER

HEAD = HEADER + """accounts:
  - name: prod
    email: aws+prod@example.com
  - name: dev
    email: aws+dev@example.com
  - name: old
    email: aws+old@example.com
    state: closed
  - name: management
    email: aws+management@example.com
    id: "123456789012"
"""

VALID = HEAD + """identity_center:
  permission_sets:
    - name: Admin
      session_duration: PT240M
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
    - name: ReadOnly
      description: Read only
      customer_managed_policies: [platform-read, {name: audit, path: /sec/}]
      inline_policy: '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*",
        "Resource": "*"}}'
      permissions_boundary: arn:aws:iam::aws:policy/ReadOnlyAccess
      relay_state: https://console.aws.amazon.com/s3/home
    - name: Yaml
      inline_policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: "ec2:Describe*", Resource: "*"}
      permissions_boundary: {name: boundary}
  assignments:
    - group: platform-admins
      permission_set: Admin
      accounts: ["*"]
    - users: [alice, bob]
      permission_set: ReadOnly
      accounts: [prod, management]
"""


def diagnostics(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(text, filename="f.yaml")
    return [str(d) for d in caught.value.diagnostics]


def test_section_resolves() -> None:
    center = load_text(VALID, filename="f.yaml").identity_center
    assert center is not None and center.instance_arn is None and center.exclusive is False
    admin, read, yaml_set = center.permission_sets
    assert admin.session_duration == "PT4H"
    assert admin.declared == {"session_duration", "managed_policies"}
    assert read.customer_managed_policies == (PolicyReference("platform-read", "/"),
                                              PolicyReference("audit", "/sec/"))
    assert read.inline_policy == {"Version": "2012-10-17", "Statement": {
        "Effect": "Deny", "Action": "s3:*", "Resource": "*"}}
    assert read.permissions_boundary == {
        "managed_policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    assert yaml_set.inline_policy is not None and yaml_set.inline_policy["Version"] == "2012-10-17"
    assert yaml_set.permissions_boundary == {"name": "boundary", "path": "/"}
    # "*": active members only (not the closed account, not the management account); users and
    # named accounts (the management account may be named) expand one assignment each
    assert [a.key for a in center.assignments] == [
        "dev/Admin/group:platform-admins", "management/ReadOnly/user:alice",
        "management/ReadOnly/user:bob", "prod/Admin/group:platform-admins",
        "prod/ReadOnly/user:alice", "prod/ReadOnly/user:bob"]


def test_no_section_is_none() -> None:
    assert load_text(HEAD, filename="f.yaml").identity_center is None


def test_inline_policy_null_is_declared() -> None:
    text = HEAD + "identity_center:\n  permission_sets:\n    - name: A\n      inline_policy: null\n"
    (spec,) = load_text(text, filename="f.yaml").identity_center.permission_sets  # type: ignore
    assert "inline_policy" in spec.declared and spec.inline_policy is None


BAD = [
    ("  permission_sets:\n    - name: A\n      session_duration: PT13H\n",
     "f.yaml:18:25: identity_center.permission_sets[0].session_duration: session_duration "
     "'PT13H' is 13 hours; Identity Center allows PT1H to PT12H"),
    ("  permission_sets:\n    - name: A\n      session_duration: P1D\n",
     "f.yaml:18:25: identity_center.permission_sets[0].session_duration: 'P1D' is not an ISO "
     "8601 duration"),
    ("  permission_sets:\n    - name: A\n      session_duration: PT30M\n",
     "is 0.5 hours; Identity Center allows PT1H to PT12H"),
    ("  permission_sets:\n    - name: A\n      inline_policy: '{\"Statement\": '\n",
     "f.yaml:18:22: identity_center.permission_sets[0].inline_policy: inline_policy is not valid "
     "JSON"),
    ("  permission_sets:\n    - name: A\n      inline_policy: {Version: '2012-10-17'}\n",
     "inline_policy has no Statement"),
    ("  permission_sets:\n    - name: A\n      inline_policy: {Statement: [{Effect: Allow, "
     "Action: '*', Resource: '*'}]}\n", 'inline_policy needs Version: "2012-10-17"'),
    ("  permission_sets:\n    - name: A\n    - name: A\n",
     "f.yaml:18:13: identity_center.permission_sets[1].name: permission set 'A' is already "
     "defined"),
    ("  permission_sets:\n    - name: 'has space'\n",
     "is not a valid permission set name"),
    ("  permission_sets:\n    - name: A\n      colour: red\n", "colour"),
    ("  permission_sets:\n    - name: A\n  assignments:\n    - group: g\n      users: [u]\n"
     "      permission_set: A\n      accounts: [prod]\n",
     "f.yaml:19:7: identity_center.assignments[0]: an assignment needs either group (a display "
     "name) or users (not both)"),
    ("  permission_sets:\n    - name: Admin\n  assignments:\n    - group: g\n"
     "      permission_set: Admn\n      accounts: [prod]\n",
     "unknown permission set 'Admn' (no such name under identity_center.permission_sets); did "
     "you mean 'Admin'?"),
    ("  permission_sets:\n    - name: A\n  assignments:\n    - group: g\n"
     "      permission_set: A\n      accounts: [prd]\n",
     "f.yaml:21:18: identity_center.assignments[0].accounts[0]: unknown account 'prd' (no such "
     "name under accounts); did you mean 'prod'?"),
    ("  permission_sets:\n    - name: A\n  assignments:\n    - group: g\n"
     "      permission_set: A\n      accounts: [old]\n",
     "account 'old' is closed: an assignment cannot name a closed account"),
    ("  permission_sets:\n    - name: A\n  assignments:\n    - group: g\n"
     "      permission_set: A\n      accounts: [prod, '*']\n",
     "'*' already means every active member account"),
    ("  instance_arn: arn:aws:sso:::instance/nope\n",
     "is not an Identity Center instance ARN"),
    ("  exclusive: yes please\n", "exclusive"),
]


@pytest.mark.parametrize(("section", "expected"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_mistakes_are_reported_with_their_position(section: str, expected: str) -> None:
    found = diagnostics(HEAD + "identity_center:\n" + section)
    assert len(found) == 1, found
    assert expected in found[0] or found[0].startswith(expected), found
