"""An independent client against the sandbox: Terraform's AWS provider, offline.

orgsync and the sandbox were written together; the Terraform AWS provider was not. One cycle
drives it through creating OUs, an account, an IAM group with a policy and a member, then
updating them (OU rename, account tags and move, policy change), importing an OU and a group
made outside Terraform, creating a role in the new member account through its
OrganizationAccountAccessRole, checking that a second plan is empty (the sandbox returns what was
written), and destroying everything. Any error is a sandbox gap (the provider works against AWS).

The destroy follows AWS's rules too: a closed account stays in its parent for 90 days and an OU
holding one cannot be deleted (OrganizationalUnitNotEmptyException), so the update step moves the
account to the root before the destroy closes it, as teams do with a "closed accounts" OU.
Skipped, with the reason, when terraform or the provider mirror is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import terraform_harness  # noqa: E402

pytestmark = pytest.mark.skipif(terraform_harness.missing() is not None,
                                reason=str(terraform_harness.missing()))

ROLE = "OrganizationAccountAccessRole"

ORGANIZATION = """
data "aws_organizations_organization" "org" {}

locals { root_id = data.aws_organizations_organization.org.roots[0].id }
"""

# Both stages: the IAM user, the group and its membership, and the group's policy up to its
# statement (which the update changes).
IAM_GROUP = """\
resource "aws_iam_user" "alice" {
  name = "alice"
}

resource "aws_iam_group" "admins" {
  name = "tf-admins"
  path = "/orgsync/"
}

resource "aws_iam_group_membership" "admins" {
  name  = "tf-admins-members"
  group = aws_iam_group.admins.name
  users = [aws_iam_user.alice.name]
}

resource "aws_iam_group_policy" "assume" {
  name  = "orgsync-assume"
  group = aws_iam_group.admins.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
"""

STAGE_CREATE = """
resource "aws_organizations_organizational_unit" "workloads" {
  name      = "Workloads"
  parent_id = local.root_id
}

resource "aws_organizations_organizational_unit" "dev" {
  name      = "Dev"
  parent_id = aws_organizations_organizational_unit.workloads.id
  tags      = { tier = "dev" }
}

resource "aws_organizations_account" "dev" {
  name              = "tf-dev"
  email             = "aws+tf-dev@example.com"
  parent_id         = aws_organizations_organizational_unit.dev.id
  close_on_deletion = true
  tags              = { team = "platform", "cost:center" = "42" }
}

""" + IAM_GROUP + """\
      Effect   = "Allow"
      Action   = "sts:AssumeRole"
      Resource = "arn:aws:iam::${aws_organizations_account.dev.id}:role/__ROLE__"
    }]
  })
}

output "dev_id" { value = aws_organizations_account.dev.id }
output "dev_ou" { value = aws_organizations_organizational_unit.dev.id }
"""

# the update: rename an OU, retag and move the account (to the root: see the module docstring),
# change the group policy, import what another tool made, add a role in the member account
STAGE_UPDATE = """
variable "dev_id" { type = string }

resource "aws_organizations_organizational_unit" "workloads" {
  name      = "Workloads-renamed"
  parent_id = local.root_id
}

resource "aws_organizations_organizational_unit" "dev" {
  name      = "Dev"
  parent_id = aws_organizations_organizational_unit.workloads.id
  tags      = { tier = "development" }
}

resource "aws_organizations_account" "dev" {
  name              = "tf-dev"
  email             = "aws+tf-dev@example.com"
  parent_id         = local.root_id
  close_on_deletion = true
  tags              = { team = "platform-2" }
}

""" + IAM_GROUP + """\
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Resource  = "arn:aws:iam::${var.dev_id}:role/__ROLE__"
      Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } }
    }]
  })
}

import {
  to = aws_organizations_organizational_unit.imported
  id = "__IMPORTED_OU__"
}

resource "aws_organizations_organizational_unit" "imported" {
  name      = "Imported"
  parent_id = local.root_id
}

import {
  to = aws_iam_group.imported
  id = "imported-group"
}

resource "aws_iam_group" "imported" {
  name = "imported-group"
  path = "/orgsync/"
}

resource "aws_iam_role" "access" {
  provider           = aws.member
  name               = "orgsync-access"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::__MANAGEMENT__:root" }
      Action    = "sts:AssumeRole"
    }]
  })
  max_session_duration = 7200
}

resource "aws_iam_role_policy_attachment" "access" {
  provider   = aws.member
  role       = aws_iam_role.access.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}
"""


def _fill(text: str, **values: str) -> str:
    """HCL uses ${...} and braces: placeholders are __NAME__."""
    for name, value in values.items():
        text = text.replace(f"__{name}__", value)
    assert "__" not in text, text
    return text


@pytest.mark.slow
@pytest.mark.timeout(2400)  # ~4 minutes on an idle machine; far more when 2 cores are shared
def test_terraform_creates_updates_imports_and_destroys(sandbox: Sandbox,
                                                        tmp_path: Path) -> None:
    info = sandbox.info
    tf = terraform_harness.Terraform.for_sandbox(
        tmp_path / "tf", endpoint_url=info.endpoint_url, access_key_id=info.access_key_id,
        secret_access_key=info.secret_access_key, region=info.region)
    org = sandbox.client("organizations")
    iam = sandbox.client("iam")

    tf.write("main.tf", tf.provider_block() + ORGANIZATION + _fill(STAGE_CREATE, ROLE=ROLE))
    tf.init()
    tf.apply()
    outputs = tf.output()
    dev_id, dev_ou = outputs["dev_id"], outputs["dev_ou"]
    account = org.describe_account(AccountId=dev_id)["Account"]
    assert (account["Name"], account["State"]) == ("tf-dev", "ACTIVE")
    assert org.list_parents(ChildId=dev_id)["Parents"][0]["Id"] == dev_ou
    tags = org.list_tags_for_resource(ResourceId=dev_id)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "platform", "cost:center": "42"}
    assert [u["UserName"] for u in iam.get_group(GroupName="tf-admins")["Users"]] == ["alice"]

    # made by another tool, imported below
    root_id = org.list_roots()["Roots"][0]["Id"]
    imported_ou = org.create_organizational_unit(
        ParentId=root_id, Name="Imported")["OrganizationalUnit"]["Id"]
    iam.create_group(GroupName="imported-group", Path="/orgsync/")

    member_provider = tf.provider_block(
        alias="member", assume_role_arn=f"arn:aws:iam::{dev_id}:role/{ROLE}")
    tf.write("main.tf", tf.provider_block() + member_provider + ORGANIZATION + _fill(
        STAGE_UPDATE, ROLE=ROLE, IMPORTED_OU=imported_ou, MANAGEMENT=info.management_account_id))
    variables = {"dev_id": dev_id}
    tf.apply(variables)
    assert tf.plan_exitcode(variables) == 0, "a second plan after apply must be empty"
    assert org.list_parents(ChildId=dev_id)["Parents"][0]["Id"] == root_id
    tags = org.list_tags_for_resource(ResourceId=dev_id)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "platform-2"}
    names = {ou["Name"] for ou in org.list_organizational_units_for_parent(
        ParentId=root_id)["OrganizationalUnits"]}
    assert names == {"Workloads-renamed", "Imported"}
    assert "aws_iam_group.imported" in tf.state_list()

    tf.destroy(variables)
    assert tf.state_list() == []
    assert org.describe_account(AccountId=dev_id)["Account"]["State"] in (
        "PENDING_CLOSURE", "CLOSED")
    assert org.list_organizational_units_for_parent(ParentId=root_id)[
        "OrganizationalUnits"] == []
    groups = [g["GroupName"] for g in iam.list_groups()["Groups"]]
    assert "tf-admins" not in groups and "imported-group" not in groups
