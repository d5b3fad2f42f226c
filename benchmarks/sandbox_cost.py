"""How much time the sandbox itself spends per AWS call.

Benchmarks of orgsync run against the sandbox, so their figures mix orgsync's time with the
emulator's (moto's dispatch, the sandbox's middleware, HTTP on loopback). This prints the cost per
call of a few representative operations (Identity Center's too, with one assignment in each
member account), measured with a warm boto3 client (keep-alive, no
retries), so that a benchmark can subtract it, in an organization of ``--accounts`` member accounts
(the sandbox's cost per call must not grow with the organization), and the time and memory that
creating them took.

    python benchmarks/sandbox_cost.py [--calls 200] [--accounts 10]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from reconciler.sandbox import Sandbox, SandboxOptions

CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


def measure(call: Callable[[], Any], *, calls: int) -> tuple[float, float]:
    """(median, mean) milliseconds per call, after 10 warm-up calls."""
    for _ in range(10):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.fmean(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=10, help="member accounts (default 10)")
    args = parser.parse_args()
    started = time.perf_counter()
    with Sandbox(SandboxOptions()) as sb:
        start_ms = (time.perf_counter() - started) * 1000
        org = sb.client("organizations", config=CONFIG)
        iam = sb.client("iam", config=CONFIG)
        sts = sb.client("sts", config=CONFIG)
        rss0, seeding = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
        account_ids = []
        for i in range(max(1, args.accounts)):
            status = org.create_account(AccountName=f"bench-{i}",
                                        Email=f"bench-{i}@example.com")["CreateAccountStatus"]
            account_id = org.describe_create_account_status(
                CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
            account_ids.append(account_id)
        seed_ms = (time.perf_counter() - seeding) * 1000 / max(1, args.accounts)
        rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        print(f"{args.accounts} member accounts: {seed_ms:.1f} ms each to create (CreateAccount "
              f"+ DescribeCreateAccountStatus), peak RSS +{rss_mb:.0f} MB")
        role_arn = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="bench")["Credentials"]
        member_iam = boto3.client(
            "iam", endpoint_url=sb.info.endpoint_url, region_name=sb.info.region, config=CONFIG,
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"])
        sso, ids, ps_arn, instance, store, assign_ms = _identity_center(sb, account_ids)
        print(f"Identity Center: {len(account_ids)} assignments (one in each member account), "
              f"{assign_ms:.1f} ms each to create and follow to SUCCEEDED")
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("sts.GetCallerIdentity", sts.get_caller_identity),
            ("organizations.DescribeOrganization", org.describe_organization),
            ("organizations.ListAccounts (first page)", org.list_accounts),
            ("organizations.DescribeAccount", lambda: org.describe_account(AccountId=account_id)),
            ("iam.ListUsers", iam.list_users),
            ("iam.GetRole (member, assumed role)",
             lambda: member_iam.get_role(RoleName="OrganizationAccountAccessRole")),
            ("sts.AssumeRole (trust evaluated)",
             lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="bench")),
            ("sso-admin.ListInstances", sso.list_instances),
            ("sso-admin.DescribePermissionSet",
             lambda: sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=ps_arn)),
            ("sso-admin.ListAccountAssignments",
             lambda: sso.list_account_assignments(InstanceArn=instance, AccountId=account_id,
                                                  PermissionSetArn=ps_arn)),
            ("identitystore.ListGroups", lambda: ids.list_groups(IdentityStoreId=store)),
        ]
        print(f"{'operation':45} {'median ms':>10} {'mean ms':>10}")
        for name, call in cases:
            median, mean = measure(call, calls=args.calls)
            print(f"{name:45} {median:10.2f} {mean:10.2f}")
        reset_ms = measure(sb.reset, calls=5)[0]
        print(f"sandbox start: {start_ms:.0f} ms; reset to the seed: {reset_ms:.0f} ms")


def _identity_center(sb: Sandbox, account_ids: list[str]) -> tuple[Any, Any, str, str, str,
                                                                    float]:
    """A permission set assigned to the group ``developers`` in every account, each assignment
    followed to SUCCEEDED: (sso-admin client, identitystore client, permission set, instance,
    identity store, milliseconds per assignment)."""
    sso = sb.client("sso-admin", config=CONFIG)
    ids = sb.client("identitystore", config=CONFIG)
    found = sso.list_instances()["Instances"][0]
    instance, store = found["InstanceArn"], found["IdentityStoreId"]
    group = ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {
        "AttributePath": "displayName", "AttributeValue": "developers"}})["GroupId"]
    ps_arn = sso.create_permission_set(InstanceArn=instance, Name="Bench")["PermissionSet"][
        "PermissionSetArn"]
    started = time.perf_counter()
    for account_id in account_ids:
        request = sso.create_account_assignment(
            InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps_arn, PrincipalType="GROUP", PrincipalId=group)[
            "AccountAssignmentCreationStatus"]["RequestId"]
        while sso.describe_account_assignment_creation_status(
                InstanceArn=instance, AccountAssignmentCreationRequestId=request)[
                "AccountAssignmentCreationStatus"]["Status"] == "IN_PROGRESS":
            time.sleep(0.01)
    assign_ms = (time.perf_counter() - started) * 1000 / max(1, len(account_ids))
    return sso, ids, ps_arn, instance, store, assign_ms


if __name__ == "__main__":
    main()
