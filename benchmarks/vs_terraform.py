"""orgsync next to Terraform's AWS provider: a no-op refresh and plan of the same organization.

One sandbox (the real ``orgsync sandbox``, in its own process) holds an organization of N member
accounts, each in one of 5 OUs, tagged, with its access role, and a group in the management account
whose grant policy names every account's role. orgsync describes it in one ``accounts.yaml``;
Terraform in one configuration with the resources a Terraform user writes for it:
``aws_organizations_organizational_unit``, ``aws_organizations_account`` (OU placement and tags),
one ``provider "aws"`` alias per member account assuming its access role, and in each an
``aws_iam_role`` and ``aws_iam_role_policy_attachment``; ``aws_iam_group``,
``aws_iam_group_policy`` (or ``aws_iam_policy`` + attachment when orgsync packed the grants into
managed policies) and ``aws_iam_user_group_membership``. orgsync creates the organization;
Terraform adopts it with ``import`` blocks; both must then plan no changes.

Then latency is added to every call (the same for both) and, per tool, one no-op plan is timed in
a fresh process: ``terraform plan -refresh=true -detailed-exitcode`` and ``orgsync plan
--detailed-exitcode``, both at the same parallelism. Printed per tool: wall time, API calls by
operation (counted by the sandbox, the one endpoint both tools talk to: its counters are reset
before each run), peak memory of the whole process tree (Terraform runs one provider process per
provider configuration; sampled from /proc every 50 ms), and the ratios.

    python benchmarks/vs_terraform.py [--accounts 20,50] [--latency-ms 20] [--parallelism 10]
        [--json FILE]

Skips (exit 0, with the reason) where terraform or the provider mirror is missing; see
``benchmarks/terraform_harness.py`` (ORGSYNC_TERRAFORM, ORGSYNC_TF_MIRROR).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import apply_scale  # noqa: E402 - the benchmarks folder is not a package

try:  # the offline Terraform harness (issue 12c); skip cleanly where it is not there yet
    import terraform_harness
except ImportError:  # pragma: no cover - depends on the checkout
    terraform_harness = None

ROLE = "OrganizationAccountAccessRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
GROUP = "bench-admins"
OU_COUNT = 5
MANAGEMENT = "123456789012"


# --- the organization, described twice --------------------------------------------------------

def account_name(i: int) -> str:
    return f"bench-{i:03d}"


def orgsync_file(path: Path, accounts: int) -> None:
    lines = ["version: 1", "organization:", f'  management_account_id: "{MANAGEMENT}"',
             "accounts:"]
    for i in range(accounts):
        lines += [f"  - name: {account_name(i)}", f"    email: aws+{account_name(i)}@example.com",
                  f"    ou: /Bench/Unit-{i % OU_COUNT}", f"    tags: {{team: team-{i % OU_COUNT}}}"]
    lines += ["groups:", f"  - name: {GROUP}", "    members: [alice]", "    assume:",
              '      - accounts: ["*"]']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_organization(sb: dict[str, Any]) -> dict[str, Any]:
    """What orgsync made, as Terraform needs it for ``import`` blocks (ids, documents)."""
    orgs, iam = client(sb, "organizations"), client(sb, "iam")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ous: dict[str, str] = {}
    for page in orgs.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=root):
        for ou in page["OrganizationalUnits"]:
            ous["/" + ou["Name"]] = ou["Id"]
    for page in orgs.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=ous["/Bench"]):
        for ou in page["OrganizationalUnits"]:
            ous["/Bench/" + ou["Name"]] = ou["Id"]
    accounts = {a["Name"]: a for page in orgs.get_paginator("list_accounts").paginate()
                for a in page["Accounts"]}
    group = iam.get_group(GroupName=GROUP)["Group"]
    inline = {name: iam.get_group_policy(GroupName=GROUP, PolicyName=name)["PolicyDocument"]
              for name in iam.list_group_policies(GroupName=GROUP)["PolicyNames"]}
    managed = []
    for attached in iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        document = iam.get_policy_version(PolicyArn=policy["Arn"],
                                          VersionId=policy["DefaultVersionId"])
        managed.append({"arn": policy["Arn"], "name": policy["PolicyName"],
                        "path": policy["Path"],
                        "document": document["PolicyVersion"]["Document"]})
    return {"root": root, "ous": ous, "accounts": accounts, "group_path": group["Path"],
            "inline": inline, "managed": managed}


def terraform_config(tf: Any, org: dict[str, Any], accounts: int) -> str:
    q = json.dumps
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
        "Action": "sts:AssumeRole"}]}
    parts = [tf.provider_block()]
    parts.append(f'resource "aws_organizations_organizational_unit" "bench" {{\n'
                 f'  name = "Bench"\n  parent_id = {q(org["root"])}\n}}\n'
                 f'import {{\n  to = aws_organizations_organizational_unit.bench\n'
                 f'  id = {q(org["ous"]["/Bench"])}\n}}\n')
    for k in range(min(OU_COUNT, accounts)):
        parts.append(f'resource "aws_organizations_organizational_unit" "unit_{k}" {{\n'
                     f'  name = "Unit-{k}"\n'
                     f'  parent_id = aws_organizations_organizational_unit.bench.id\n}}\n'
                     f'import {{\n  to = aws_organizations_organizational_unit.unit_{k}\n'
                     f'  id = {q(org["ous"][f"/Bench/Unit-{k}"])}\n}}\n')
    for i in range(accounts):
        name = account_name(i)
        account_id = org["accounts"][name]["Id"]
        parts.append(tf.provider_block(alias=f"a{i}",
                                       assume_role_arn=f"arn:aws:iam::{account_id}:role/{ROLE}"))
        parts.append(
            f'resource "aws_organizations_account" "a{i}" {{\n'
            f'  name = {q(name)}\n  email = {q(f"aws+{name}@example.com")}\n'
            f'  parent_id = aws_organizations_organizational_unit.unit_{i % OU_COUNT}.id\n'
            f'  tags = {{ team = "team-{i % OU_COUNT}" }}\n'
            '  lifecycle {\n    ignore_changes = [role_name, iam_user_access_to_billing, '
            'close_on_deletion, create_govcloud]\n  }\n}\n'
            f'import {{\n  to = aws_organizations_account.a{i}\n  id = {q(account_id)}\n}}\n'
            f'resource "aws_iam_role" "role_a{i}" {{\n  provider = aws.a{i}\n'
            f'  name = {q(ROLE)}\n  assume_role_policy = {q(json.dumps(trust))}\n}}\n'
            f'import {{\n  provider = aws.a{i}\n  to = aws_iam_role.role_a{i}\n'
            f'  id = {q(ROLE)}\n}}\n'
            f'resource "aws_iam_role_policy_attachment" "admin_a{i}" {{\n  provider = aws.a{i}\n'
            f'  role = aws_iam_role.role_a{i}.name\n  policy_arn = {q(ADMIN)}\n}}\n'
            f'import {{\n  provider = aws.a{i}\n  to = aws_iam_role_policy_attachment.admin_a{i}\n'
            f'  id = {q(f"{ROLE}/{ADMIN}")}\n}}\n')
    parts.append(f'resource "aws_iam_group" "group" {{\n  name = {q(GROUP)}\n'
                 f'  path = {q(org["group_path"])}\n}}\n'
                 f'import {{\n  to = aws_iam_group.group\n  id = {q(GROUP)}\n}}\n'
                 f'resource "aws_iam_user_group_membership" "alice" {{\n  user = "alice"\n'
                 f'  groups = [aws_iam_group.group.name]\n}}\n'
                 f'import {{\n  to = aws_iam_user_group_membership.alice\n'
                 f'  id = {q(f"alice/{GROUP}")}\n}}\n')
    for n, (name, document) in enumerate(sorted(org["inline"].items())):
        parts.append(f'resource "aws_iam_group_policy" "inline_{n}" {{\n  name = {q(name)}\n'
                     f'  group = aws_iam_group.group.name\n'
                     f'  policy = {q(json.dumps(document, sort_keys=True))}\n}}\n'
                     f'import {{\n  to = aws_iam_group_policy.inline_{n}\n'
                     f'  id = {q(f"{GROUP}:{name}")}\n}}\n')
    for n, policy in enumerate(org["managed"]):
        parts.append(f'resource "aws_iam_policy" "grant_{n}" {{\n  name = {q(policy["name"])}\n'
                     f'  path = {q(policy["path"])}\n'
                     f'  policy = {q(json.dumps(policy["document"], sort_keys=True))}\n}}\n'
                     f'import {{\n  to = aws_iam_policy.grant_{n}\n  id = {q(policy["arn"])}\n}}\n'
                     f'resource "aws_iam_group_policy_attachment" "grant_{n}" {{\n'
                     f'  group = aws_iam_group.group.name\n'
                     f'  policy_arn = aws_iam_policy.grant_{n}.arn\n}}\n'
                     f'import {{\n  to = aws_iam_group_policy_attachment.grant_{n}\n'
                     f'  id = {q(GROUP + "/" + policy["arn"])}\n}}\n')
    return "\n".join(parts)


# --- measuring ---------------------------------------------------------------------------------

def client(sb: dict[str, Any], service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=sb["endpoint_url"], region_name=sb["region"],
                        aws_access_key_id=sb["access_key_id"],
                        aws_secret_access_key=sb["secret_access_key"])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stream:
                stat = stream.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(stat[1]), []).append(int(entry))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> float:
    """The resident memory of ``root`` and all its descendants now, in MB."""
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_kb(pid)
        stack.extend(tree.get(pid, ()))
    return total / 1024


def timed(command: list[str], *, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run ``command``; its exit code, wall time, peak process-tree memory and output."""
    peak = 0.0
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - began
    done.set()
    sampler.join()
    return {"code": process.returncode, "wall_s": wall, "peak_mb": peak, "output": output}


def measure(sb: dict[str, Any], command: list[str], *, env: dict[str, str],
            cwd: Path) -> dict[str, Any]:
    apply_scale.control(sb, "POST", "counters/reset")
    result = timed(command, env=env, cwd=cwd)
    counters = apply_scale.control(sb, "GET", "counters")["operations"]
    result["calls"] = dict(sorted(counters.items()))
    result["calls_total"] = sum(counters.values())
    return result


def set_latency(sb: dict[str, Any], latency_ms: float) -> None:
    import urllib.request

    request = urllib.request.Request(f"{sb['endpoint_url']}/_orgsync/options", method="POST",
                                     data=json.dumps({"latency_ms": latency_ms}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30):
        pass


def run_one(accounts: int, *, latency_ms: float, parallelism: int,
            timeout_s: float = 1800.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="orgsync-vs-terraform-") as tmp:
        workdir = Path(tmp)
        with apply_scale.sandbox(workdir, create_delay_s=0, latency_ms=0) as sb:
            env = apply_scale.environment(sb, workdir)
            client(sb, "iam").create_user(UserName="alice")
            file = workdir / "accounts.yaml"
            orgsync_file(file, accounts)
            orgsync = [sys.executable, "-m", "reconciler.cli"]
            made = subprocess.run([*orgsync, "apply", "-f", str(file), "--auto-approve"],
                                  env=env, capture_output=True, text=True, check=False)
            if made.returncode != 0:
                raise SystemExit(f"benchmark: orgsync apply failed:\n{made.stdout[-3000:]}"
                                 f"{made.stderr[-2000:]}")
            tf = terraform_harness.Terraform.for_sandbox(
                workdir / "terraform", endpoint_url=sb["endpoint_url"],
                access_key_id=sb["access_key_id"], secret_access_key=sb["secret_access_key"],
                region=sb["region"])
            tf.timeout_s = timeout_s
            tf.write("main.tf", terraform_config(tf, read_organization(sb), accounts))
            tf.init()
            tf.apply(parallelism=parallelism)  # adopts what orgsync made (import blocks)
            if tf.plan_exitcode() != 0:
                raise SystemExit("benchmark: terraform still plans changes after the import")
            set_latency(sb, latency_ms)
            tf_command = [tf.binary, f"-chdir={tf.workdir}", "plan", "-no-color",
                          "-input=false", "-refresh=true", "-detailed-exitcode",
                          f"-parallelism={parallelism}"]
            terraform = measure(sb, tf_command, env=tf.env(), cwd=workdir)
            ours = measure(sb, [*orgsync, "plan", "-f", str(file), "--detailed-exitcode",
                                "--parallelism", str(parallelism)], env=env, cwd=workdir)
    for name, result in (("terraform", terraform), ("orgsync", ours)):
        if result["code"] != 0:
            tail = "\n".join(result["output"].splitlines()[-20:])
            raise SystemExit(f"benchmark: the {name} plan was not a no-op "
                             f"(exit {result['code']}):\n{tail}")
        del result["output"]
    return {"accounts": accounts, "latency_ms": latency_ms, "parallelism": parallelism,
            "terraform": terraform, "orgsync": ours,
            "ratio": {"wall": terraform["wall_s"] / ours["wall_s"],
                      "calls": terraform["calls_total"] / max(1, ours["calls_total"]),
                      "memory": terraform["peak_mb"] / max(1.0, ours["peak_mb"])},
            "load_average": os.getloadavg()}


def report(result: dict[str, Any]) -> None:
    n = result["accounts"]
    print(f"\n{n} member accounts, {result['latency_ms']:g} ms added to every call, "
          f"parallelism {result['parallelism']} (load average at the end "
          f"{result['load_average'][0]:.2f})")
    print(f"  {'':28s} {'terraform':>12s} {'orgsync':>12s} {'ratio':>8s}")
    tf, us, ratio = result["terraform"], result["orgsync"], result["ratio"]
    print(f"  {'wall time (s)':28s} {tf['wall_s']:12.1f} {us['wall_s']:12.1f} "
          f"{ratio['wall']:8.1f}")
    print(f"  {'API calls':28s} {tf['calls_total']:12d} {us['calls_total']:12d} "
          f"{ratio['calls']:8.1f}")
    print(f"  {'peak memory, tree (MB)':28s} {tf['peak_mb']:12.0f} {us['peak_mb']:12.0f} "
          f"{ratio['memory']:8.1f}")
    print("  calls by operation:")
    operations: Counter[str] = Counter()
    operations.update(tf["calls"].keys())
    operations.update(us["calls"].keys())
    for operation in sorted(operations):
        print(f"    {operation:46s} {tf['calls'].get(operation, 0):8d} "
              f"{us['calls'].get(operation, 0):8d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="20,50",
                        help="comma-separated organization sizes (default 20,50)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=10,
                        help="both tools' parallelism (Terraform's default is 10)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--timeout-s", type=float, default=1800.0,
                        help="limit for each terraform command (init, import apply, plans); "
                             "a loaded machine needs more than the default harness's 600 s")
    args = parser.parse_args(argv)
    if terraform_harness is None:
        print("benchmark skipped: benchmarks/terraform_harness.py (the offline Terraform "
              "harness) is not in this checkout")
        return 0
    why = terraform_harness.missing()
    if why is not None:
        print(f"benchmark skipped: {why}")
        return 0
    results = []
    for accounts in (int(n) for n in args.accounts.split(",") if n.strip()):
        result = run_one(accounts, latency_ms=args.latency_ms, parallelism=args.parallelism,
                         timeout_s=args.timeout_s)
        report(result)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
