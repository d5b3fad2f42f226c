"""The text plan's compact policy documents: one line per statement by default, in full with
``verbose``; the JSON plan always carries the full documents.

Tables of (statement -> the line a reviewer reads), then whole changes through ``render``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.render import render
from reconciler.render.common import statement_summary

MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


@pytest.mark.parametrize("statement,line", [
    ({"Effect": "Allow", "Action": "sts:AssumeRole",
      "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
     "Allow sts:AssumeRole by AWS arn:aws:iam::123456789012:root"),
    ({"Effect": "Allow", "Action": "sts:AssumeRole",
      "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Condition": MFA},
     "Allow sts:AssumeRole by AWS arn:aws:iam::123456789012:root "
     "if Bool aws:MultiFactorAuthPresent=true"),
    ({"Effect": "Allow", "Action": ["sts:AssumeRole"],
      "Resource": ["arn:aws:iam::${account.prod.id}:role/Admin"],
      "Condition": {**MFA, "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}},
     "Allow sts:AssumeRole on arn:aws:iam::(known after apply: prod):role/Admin "
     "if Bool aws:MultiFactorAuthPresent=true; IpAddress aws:SourceIp in "
     "[203.0.113.0/24, 2001:db8::/32]"),
    # more than three resources: the first two and a count (the JSON plan lists them all)
    ({"Effect": "Allow", "Action": "sts:AssumeRole",
      "Resource": [f"arn:aws:iam::21000000000{i}:role/R" for i in range(5)]},
     "Allow sts:AssumeRole on arn:aws:iam::210000000000:role/R, "
     "arn:aws:iam::210000000001:role/R and 3 more"),
    ({"Sid": "NoLeaving", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"],
      "NotResource": "arn:aws:s3:::logs/*", "Principal": "*"},
     "[NoLeaving] Deny all actions except iam:*, sts:* on all resources except "
     "arn:aws:s3:::logs/* by *"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
      "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}},
     "Allow s3:GetObject on * if NumericLessThan aws:MultiFactorAuthAge=3600"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "Allow * on *"),
    ("not a statement", '"not a statement"'),
])
def test_statement_summary(statement: Any, line: str) -> None:
    assert statement_summary(statement) == line


TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
     "Action": "sts:AssumeRole", "Condition": MFA}]}
GRANTS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole",
     "Resource": ["arn:aws:iam::210000000001:role/Admin"]},
    {"Effect": "Allow", "Action": "sts:AssumeRole",
     "Resource": ["arn:aws:iam::210000000002:role/Admin"], "Condition": MFA}]}


def _document(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": "1", "management_account_id": "123456789012",
            "changes": list(changes), "deferred": [], "unmanaged": [],
            "summary": {"create": 1, "update": 1, "delete": 1, "invite": 0, "close": 0}}


CHANGES = (
    {"address": "access_role.prod", "kind": "access_role", "key": "prod", "action": "create",
     "before": None, "reason": "new account", "destructive": False,
     "after": {"account_id": "${account.prod.id}", "name": "Admin", "trust_policy": TRUST,
               "policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]}},
    {"address": "group.ops", "kind": "group", "key": "ops", "action": "update",
     "before": {"inline_policies": {"orgsync-assume": TRUST}}, "reason": "grants differ",
     "destructive": False, "after": {"inline_policies": {"orgsync-assume": GRANTS}},
     "diff": [{"path": "inline_policies.orgsync-assume", "before": TRUST, "after": GRANTS}]},
    {"address": "group.old", "kind": "group", "key": "old", "action": "delete",
     "before": {"name": "old", "inline_policies": {"orgsync-assume": GRANTS}}, "after": None,
     "reason": "no longer in the file", "destructive": True},
)


def test_text_shows_policies_one_line_per_statement() -> None:
    text = render(_document(*CHANGES), "text")
    assert "Statement" not in text and '"Version"' not in text  # no JSON document left
    assert ("      + trust_policy = Allow sts:AssumeRole by AWS arn:aws:iam::123456789012:root "
            "if Bool aws:MultiFactorAuthPresent=true\n") in text
    assert "+ account_id = (known after apply)  name = \"Admin\"" in text
    # a replaced document: the old statements with -, the new ones with +
    assert ("      ~ inline_policies.orgsync-assume:\n"
            "        - inline_policies.orgsync-assume = Allow sts:AssumeRole by AWS "
            "arn:aws:iam::123456789012:root if Bool aws:MultiFactorAuthPresent=true\n"
            "        + inline_policies.orgsync-assume = 2 statements:\n"
            "            Allow sts:AssumeRole on arn:aws:iam::210000000001:role/Admin\n"
            "            Allow sts:AssumeRole on arn:aws:iam::210000000002:role/Admin if Bool "
            "aws:MultiFactorAuthPresent=true\n") in text
    # a deletion stays destructive at a glance, its policy removed statement by statement
    assert "  - group.old (delete)  # no longer in the file\n      !! DESTRUCTIVE\n" in text
    assert "      - inline_policies.orgsync-assume = 2 statements:\n" in text
    assert "!! DESTRUCTIVE: 1 change destroys something: group.old (delete)" in text


def test_verbose_text_and_json_keep_the_full_documents() -> None:
    document = _document(*CHANGES)
    verbose = render(document, "text", verbose=True)
    assert '"aws:MultiFactorAuthPresent": "true"' in verbose
    assert verbose.count('"Statement": [') == 4  # the role's, the update's two, the deletion's
    assert json.loads(render(document, "json")) == document
    assert render(document, "json") == render(document, "json", verbose=True)
    assert render(document, "markdown") == render(document, "markdown", verbose=True)
