"""Profiles and switch-role links in the partition of the region: aws-cn and aws-us-gov roles
have their own ARNs and their own console sign-in hosts."""

from __future__ import annotations

import configparser

import pytest

from reconciler.profiles import partition_for_region, render

from .test_profiles_offline import account, desired

STATE = desired(account("prod", "210987654321"))


@pytest.mark.parametrize(("region", "partition"), [
    ("us-east-1", "aws"), ("eu-west-1", "aws"), ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("", "aws"),
])
def test_partition_for_region(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition


@pytest.mark.parametrize(("region", "arn", "link"), [
    ("us-east-1", "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole",
     "https://signin.aws.amazon.com/switchrole?"),
    ("cn-north-1", "arn:aws-cn:iam::210987654321:role/OrganizationAccountAccessRole",
     "https://signin.amazonaws.cn/switchrole?"),
    ("us-gov-east-1", "arn:aws-us-gov:iam::210987654321:role/OrganizationAccountAccessRole",
     "https://signin.amazonaws-us-gov.com/switchrole?"),
])
def test_role_arns_and_links_follow_the_region(region: str, arn: str, link: str) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(render(STATE, {}, source_profile="mgmt", region=region))
    assert parser["profile prod"]["role_arn"] == arn
    assert parser["profile prod"]["region"] == region
    links = render(STATE, {}, fmt="links", region=region)
    assert links.startswith(link) and "account=210987654321" in links
