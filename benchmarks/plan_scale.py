"""How close a no-op ``orgsync plan`` of a large organization comes to the API-latency bound.

Every plan reads every member account, so at scale the cost is API calls and waiting on AWS
latency and throttling, not CPU. This benchmark seeds a sandbox (in its own process, so that its
CPU does not share orgsync's GIL) with N member accounts, applies a file describing them with the
real ``orgsync apply --auto-approve`` (access roles, OUs, tags on every 5th account, a group
granted ``"*"`` and one granted three accounts, root credentials ``absent``), then injects latency
and times a no-op plan in a fresh process, with the root policy managed and without. It prints
API calls per member account by operation, the Organizations calls, wall time, the bound

    bound = parallel calls x latency / parallelism + serial Organizations calls x latency

the efficiency (bound / wall), peak memory, and the CPU time orgsync and the sandbox spent per
call (so the sandbox's time can be told from orgsync's). Then a throttle storm (Organizations at
``--throttle-rps``: the plan must finish without error), and the peak memory of a plan of
``--memory-accounts`` accounts (no latency).

    python benchmarks/plan_scale.py [--accounts 100,1000] [--latency-ms 50] [--parallelism 16]
        [--throttle-rps 2] [--memory-accounts 5000] [--quick] [--json FILE]

``--quick`` is 100 accounts and a 500-account memory run. The script exits 1 when a plan fails
or is not a no-op, so it doubles as an end-to-end check.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale_sandbox import SandboxProcess, sandbox_process  # noqa: E402 - not a package

ROLE = "OrganizationAccountAccessRole"
OU_UNITS = 10
TAG_EVERY = 5
FEATURES = ("RootCredentialsManagement", "RootSessions")
# Calls made for one member account, whatever the scope they were made in.
ROOT_CALLS = ("sts:AssumeRoot", "iam:GetAccountSummary")
TAG_READ = "organizations:ListTagsForResource"
# Made by the management account in the parallel phase, not per account.
PARALLEL_MANAGEMENT = ("iam:GetAccountAuthorizationDetails",)


def account_name(i: int) -> str:
    return f"acct-{i:05d}"


def account_email(i: int) -> str:
    return f"aws+{account_name(i)}@example.com"


# --- seeding ------------------------------------------------------------------------------------

def prepare_organization(sb: SandboxProcess) -> None:
    """Centralized root access on before any account exists (so new accounts have no root
    password), and the IAM users the groups name."""
    org, iam = sb.client("organizations"), sb.client("iam")
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)


def seed_accounts(sb: SandboxProcess, *, start: int, stop: int) -> float:
    """CreateAccount for accounts ``start``..``stop-1`` (4 at a time; AWS allows ~5 in flight),
    then wait until no request is in progress (ListCreateAccountStatus: listing thousands of
    accounts to check would cost more than creating them). Returns the seconds it took."""
    began = time.perf_counter()
    org = sb.client("organizations")

    def create(i: int) -> None:
        while True:
            try:
                org.create_account(AccountName=account_name(i), Email=account_email(i),
                                   RoleName=ROLE)
                return
            except org.exceptions.ConstraintViolationException:
                time.sleep(0.02)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, range(start, stop)))
    statuses = org.get_paginator("list_create_account_status")
    while True:
        pending = [s for page in statuses.paginate(States=["IN_PROGRESS"])
                   for s in page["CreateAccountStatuses"]]
        if not pending:
            break
        time.sleep(0.1)
    failed = [s for page in statuses.paginate(States=["FAILED"])
              for s in page["CreateAccountStatuses"]]
    if failed:
        raise SystemExit(f"benchmark: CreateAccount failed: {failed[:3]}")
    return time.perf_counter() - began


def write_file(path: Path, *, accounts: int, root: str, star_group: bool = True,
               placed: int | None = None) -> Path:
    """The desired-state file for the first ``accounts`` accounts. Accounts from ``placed`` on
    are described where seeding left them (the root, no tags): the memory run plans those
    without an apply, and ``placed=0`` keeps an apply to the groups alone."""
    placed = accounts if placed is None else placed
    lines = [
        "version: 1",
        "organization:",
        '  management_account_id: "123456789012"',
        f"  access_role: {ROLE}",
        "root_credentials:",
        f"  features: [{', '.join(FEATURES)}]",
        f"  default: {root}",
        "accounts:",
    ]
    for i in range(accounts):
        lines += [f"  - name: {account_name(i)}", f"    email: {account_email(i)}"]
        if i < placed:
            lines.append(f"    ou: /Workloads/Unit-{i % OU_UNITS:02d}")
            if i % TAG_EVERY == 0:
                lines.append(f"    tags: {{team: team-{i % OU_UNITS:02d}, cost-center: cc-1}}")
    lines.append("groups:")
    if star_group:
        lines += ["  - name: platform-admins", "    members: [alice]", "    assume:",
                  '      - accounts: ["*"]', "        require_mfa: true"]
    else:  # the accounts applied so far; "*" cannot fit IAM's quotas beyond ~4,000 accounts
        names = ", ".join(account_name(i) for i in range(placed))
        lines += ["  - name: platform-admins", "    members: [alice]", "    assume:",
                  f"      - accounts: [{names}]", "        require_mfa: true"]
    lines += ["  - name: team-red", "    members: [bob]", "    assume:",
              f"      - accounts: [{', '.join(account_name(i) for i in range(min(3, accounts)))}]",
              "        source_ips: [203.0.113.0/24]"]
    path.write_text("\n".join(lines) + "\n")
    return path


def apply_file(sb: SandboxProcess, path: Path, *, parallelism: int) -> float:
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "apply", "-f", str(path), "--auto-approve",
         "--parallelism", str(parallelism)],
        env=sb.env(), capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise SystemExit(f"benchmark: orgsync apply -f {path} failed "
                         f"(exit {result.returncode}):\n{tail}")
    return time.perf_counter() - began


# --- one measured plan (in a fresh process) -----------------------------------------------------

def measure_plan(file: str, *, parallelism: int, trace_memory: bool) -> dict[str, Any]:
    """Runs in the measuring subprocess: the same ``build_plan`` the CLI's plan uses."""
    import tracemalloc

    import reconciler.aws
    import reconciler.observe
    import reconciler.planner  # noqa: F401 - imported here so that the timing leaves them out
    from reconciler.options import GlobalOptions
    from reconciler.pipeline import build_plan

    opts = GlobalOptions(endpoint_url=os.environ["AWS_ENDPOINT_URL"], color=False)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace_memory:
        tracemalloc.start()
    cpu0, began = time.process_time(), time.perf_counter()
    error = None
    try:
        run = build_plan(opts, file=file, parallelism=parallelism, progress=False)
    except Exception as exc:  # reported, never hidden: the parent fails the benchmark
        error = f"{type(exc).__name__}: {exc}"
        run = None
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu0
    traced = tracemalloc.get_traced_memory()[1] if trace_memory else None
    result: dict[str, Any] = {
        "wall_s": wall, "cpu_s": cpu, "error": error,
        "rss_before_mb": rss_before / 1024,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "traced_peak_mb": traced / 2**20 if traced is not None else None,
    }
    if run is not None:
        result["changes"] = [c.address for c in run.plan.changes]
        result["plan_errors"] = [str(e) for e in run.plan.errors]
        result["calls"] = [[k.scope, k.account_id, k.operation, n]
                           for k, n in run.aws.calls.entries().items()]
        result["attempts"] = run.aws.calls.total_attempts
        result["management_account_id"] = run.observed.organization.management_account_id
    return result


def run_measured_plan(sb: SandboxProcess, file: Path, *, parallelism: int,
                      trace_memory: bool = False) -> dict[str, Any]:
    cpu0 = sb.cpu_seconds()
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", str(file),
               "--parallelism", str(parallelism)]
    if trace_memory:
        command.append("--trace-memory")
    result = subprocess.run(command, env=sb.env(), capture_output=True, text=True,
                            timeout=1800, check=False)
    sandbox_cpu = sb.cpu_seconds() - cpu0
    if result.returncode != 0:
        raise SystemExit(f"benchmark: the measured plan crashed:\n{result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["sandbox_cpu_s"] = sandbox_cpu
    return figures


# --- figures ------------------------------------------------------------------------------------

@dataclass
class Figures:
    accounts: int
    per_account: dict[str, float]  # operation -> calls per member account (tag reads excluded)
    max_per_account: int
    tag_reads: int
    tagged_accounts: int
    serial: dict[str, int]  # organization-level calls made before the parallel phase
    parallel_management: int
    total: int
    attempts: int
    wall_s: float
    bound_s: float
    efficiency: float

    @property
    def serial_total(self) -> int:
        return sum(self.serial.values())


def analyse(result: dict[str, Any], *, accounts: int, tagged: int, latency_s: float,
            parallelism: int) -> Figures:
    management = result["management_account_id"]
    per_account: dict[str, Counter[str]] = {}
    serial: Counter[str] = Counter()
    tag_reads = parallel_management = 0
    for _scope, account_id, operation, n in result["calls"]:
        if operation == TAG_READ:  # whether or not the call log names the account
            tag_reads += n
        elif account_id and account_id != management:
            per_account.setdefault(account_id, Counter())[operation] += n
        elif operation in PARALLEL_MANAGEMENT:
            parallel_management += n
        else:
            serial[operation] += n
    ops: Counter[str] = Counter()
    for counts in per_account.values():
        ops.update(counts)
    member_calls = sum(ops.values())
    total = member_calls + tag_reads + parallel_management + sum(serial.values())
    parallel = member_calls + tag_reads + parallel_management
    bound = parallel * latency_s / parallelism + sum(serial.values()) * latency_s
    wall = float(result["wall_s"])
    return Figures(
        accounts=accounts,
        per_account={op: n / accounts for op, n in sorted(ops.items())},
        max_per_account=max((sum(c.values()) for c in per_account.values()), default=0),
        tag_reads=tag_reads, tagged_accounts=tagged, serial=dict(sorted(serial.items())),
        parallel_management=parallel_management, total=total, attempts=int(result["attempts"]),
        wall_s=wall, bound_s=bound, efficiency=bound / wall if wall else 0.0)


def check_plan(result: dict[str, Any], *, what: str, noop: bool = True) -> None:
    if result.get("error"):
        raise SystemExit(f"benchmark: {what}: the plan failed: {result['error']}")
    if result.get("plan_errors"):
        raise SystemExit(f"benchmark: {what}: plan errors: {result['plan_errors'][:3]}")
    if noop and result.get("changes"):
        raise SystemExit(f"benchmark: {what}: expected a no-op plan, got "
                         f"{len(result['changes'])} changes: {result['changes'][:5]}")


def report(title: str, figures: Figures, result: dict[str, Any], *, latency_ms: float,
           parallelism: int) -> None:
    calls = max(figures.attempts, 1)
    per = ", ".join(f"{op} {n:.2f}" for op, n in figures.per_account.items())
    print(f"  {title}")
    print(f"    calls per member account: {per} (max {figures.max_per_account} for one account)")
    print(f"    tag reads ({TAG_READ}): {figures.tag_reads} for {figures.tagged_accounts} "
          "accounts whose tags the file manages")
    serial = ", ".join(f"{op.split(':')[1]} {n}" for op, n in figures.serial.items())
    print(f"    organization calls (serial): {figures.serial_total} ({serial}); management "
          f"IAM in parallel: {figures.parallel_management}")
    print(f"    total calls {figures.total} (HTTP attempts {figures.attempts})")
    print(f"    wall {figures.wall_s:.2f} s; bound {figures.bound_s:.2f} s "
          f"(parallel calls x {latency_ms:g} ms / {parallelism} + serial calls x "
          f"{latency_ms:g} ms); efficiency {figures.efficiency:.2f}")
    print(f"    peak RSS {result['rss_peak_mb']:.0f} MB (after imports "
          f"{result['rss_before_mb']:.0f} MB); CPU orgsync {result['cpu_s']:.1f} s "
          f"({1000 * result['cpu_s'] / calls:.2f} ms/call), sandbox "
          f"{result['sandbox_cpu_s']:.1f} s ({1000 * result['sandbox_cpu_s'] / calls:.2f} "
          "ms/call)", flush=True)
    # The sandbox serves every call from one Python process: when its CPU time approaches the
    # bound, it (not orgsync) is what the plan waits on, and the efficiency says little.
    busy = result["sandbox_cpu_s"] / figures.bound_s if figures.bound_s else 0.0
    if busy >= 0.6:
        print(f"    note: the sandbox's CPU time is {busy:.0%} of the bound: at this latency the "
              "one-process sandbox, not orgsync, limits the wall time (see the run at "
              "--check-latency-ms)", flush=True)


def sandbox_ceiling(sb: SandboxProcess, *, latency_ms: float, parallelism: int) -> float:
    """How close to the latency any client can get on this sandbox: plain boto3 from
    ``parallelism`` threads making its cheapest call (sts:GetCallerIdentity). Returns the
    milliseconds one call takes; latency / that is the efficiency ceiling the sandbox sets."""
    sts = sb.client("sts")
    sts.get_caller_identity()
    calls = 50 * parallelism
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        list(pool.map(lambda _: sts.get_caller_identity(), range(calls)))
    per_call = 1000 * (time.perf_counter() - began) * parallelism / calls
    print(f"-- the sandbox alone: {calls} sts:GetCallerIdentity calls from {parallelism} threads "
          f"with plain boto3 take {per_call:.1f} ms each at {latency_ms:g} ms latency: "
          f"efficiency ceiling {latency_ms / per_call:.2f}", flush=True)
    return per_call


def throttle_storm(sb: SandboxProcess, file: Path, *, accounts: int, rps: float,
                   latency_ms: float, parallelism: int) -> dict[str, Any]:
    """A no-op plan while Organizations answers only ``rps`` requests a second (the rest get
    TooManyRequestsException): botocore's retries must carry it through without an error."""
    print(f"-- throttle storm: {accounts} accounts, Organizations at {rps:g} requests/s, "
          f"latency {latency_ms:g} ms", flush=True)
    sb.set_options(latency_ms=latency_ms, throttle={"organizations": rps})
    try:
        result = run_measured_plan(sb, file, parallelism=parallelism)
    finally:
        sb.set_options(latency_ms=0)
    check_plan(result, what="throttle storm")
    figures = analyse(result, accounts=accounts, tagged=len(range(0, accounts, TAG_EVERY)),
                      latency_s=latency_ms / 1000.0, parallelism=parallelism)
    print(f"    completed with no error and no change in {figures.wall_s:.1f} s: "
          f"{figures.total} calls, {figures.attempts} HTTP attempts "
          f"({figures.attempts - figures.total} throttled and retried)", flush=True)
    return {"accounts": accounts, "rps": rps, "wall_s": figures.wall_s, "calls": figures.total,
            "attempts": figures.attempts}


# --- the benchmark ------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time a no-op orgsync plan of a large sandbox organization.")
    parser.add_argument("--accounts", default="100,1000",
                        help="comma-separated member account counts (default 100,1000)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--check-latency-ms", type=float, default=150.0,
                        help="one more root-managed plan of the largest size at this latency, "
                             "high enough that the sandbox is not the bottleneck (0: skip it)")
    parser.add_argument("--throttle-rps", type=float, default=2.0,
                        help="Organizations rate in the throttle storm (0: skip it)")
    parser.add_argument("--memory-accounts", type=int, default=5000,
                        help="accounts in the peak-memory run (0: skip it)")
    parser.add_argument("--quick", action="store_true",
                        help="100 accounts, a 500-account memory run")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.memory_accounts = "100", min(args.memory_accounts, 500)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure_plan(args.measure, parallelism=args.parallelism,
                                      trace_memory=args.trace_memory)))
        return 0
    sizes = sorted({int(n) for n in args.accounts.split(",") if n.strip()})
    latency_s, p = args.latency_ms / 1000.0, args.parallelism
    everything: dict[str, Any] = {"latency_ms": args.latency_ms, "parallelism": p, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="orgsync-scale-") as tmp, \
            sandbox_process(Path(tmp)) as sb:
        workdir = Path(tmp)
        prepare_organization(sb)
        seeded = 0
        for n in sizes:
            seconds = seed_accounts(sb, start=seeded, stop=n)
            seeded = n
            managed = write_file(workdir / f"managed-{n}.yaml", accounts=n, root="absent")
            unmanaged = write_file(workdir / f"unmanaged-{n}.yaml", accounts=n, root="unmanaged")
            sb.set_options(latency_ms=0)
            applied = apply_file(sb, managed, parallelism=p)
            warm = run_measured_plan(sb, managed, parallelism=p)
            check_plan(warm, what=f"{n} accounts, no latency")
            tagged = len(range(0, n, TAG_EVERY))
            print(f"== {n} member accounts: seeded in {seconds:.0f} s, applied in {applied:.0f} s; "
                  f"no latency: plan {warm['wall_s']:.2f} s ==", flush=True)
            print(f"-- latency {args.latency_ms:g} ms, parallelism {p}", flush=True)
            sb.set_options(latency_ms=args.latency_ms)
            if n == sizes[0]:
                everything["sandbox_ceiling_ms_per_call"] = sandbox_ceiling(
                    sb, latency_ms=args.latency_ms, parallelism=p)
            entry: dict[str, Any] = {"seed_s": seconds, "apply_s": applied,
                                     "plan_no_latency_s": warm["wall_s"]}
            for label, file in (("root policy managed", managed),
                                ("root policy unmanaged", unmanaged)):
                result = run_measured_plan(sb, file, parallelism=p)
                check_plan(result, what=f"{n} accounts, {label}")
                figures = analyse(result, accounts=n, tagged=tagged, latency_s=latency_s,
                                  parallelism=p)
                report(label, figures, result, latency_ms=args.latency_ms, parallelism=p)
                entry[label] = {**figures.__dict__, "rss_peak_mb": result["rss_peak_mb"],
                                "cpu_s": result["cpu_s"],
                                "sandbox_cpu_s": result["sandbox_cpu_s"]}
            if n == sizes[-1] and args.check_latency_ms > 0:
                print(f"-- latency {args.check_latency_ms:g} ms, where the sandbox is not "
                      "saturated", flush=True)
                sb.set_options(latency_ms=args.check_latency_ms)
                result = run_measured_plan(sb, managed, parallelism=p)
                check_plan(result, what=f"{n} accounts at {args.check_latency_ms:g} ms")
                figures = analyse(result, accounts=n, tagged=tagged,
                                  latency_s=args.check_latency_ms / 1000.0, parallelism=p)
                report("root policy managed", figures, result,
                       latency_ms=args.check_latency_ms, parallelism=p)
                entry[f"root policy managed at {args.check_latency_ms:g} ms"] = {
                    **figures.__dict__, "rss_peak_mb": result["rss_peak_mb"],
                    "cpu_s": result["cpu_s"], "sandbox_cpu_s": result["sandbox_cpu_s"]}
            everything["sizes"][str(n)] = entry
            if n == sizes[0] and args.throttle_rps > 0:  # while the smallest file is applied
                everything["throttle_storm"] = throttle_storm(
                    sb, managed, accounts=n, rps=args.throttle_rps, latency_ms=args.latency_ms,
                    parallelism=p)
        if args.memory_accounts > 0:
            m = args.memory_accounts
            seconds = seed_accounts(sb, start=seeded, stop=max(m, seeded))
            placed = sizes[-1] if sizes else 0
            file = write_file(workdir / f"memory-{m}.yaml", accounts=m, root="absent",
                              star_group=False, placed=min(placed, m))
            sb.set_options(latency_ms=0)
            result = run_measured_plan(sb, file, parallelism=p)
            check_plan(result, what=f"memory run with {m} accounts")
            print(f"-- memory: a no-op plan of {m} member accounts (seeded in {seconds:.0f} s): "
                  f"peak RSS {result['rss_peak_mb']:.0f} MB (after imports "
                  f"{result['rss_before_mb']:.0f} MB), {result['wall_s']:.1f} s without "
                  "latency", flush=True)
            everything["memory"] = {"accounts": m, "rss_peak_mb": result["rss_peak_mb"],
                                    "rss_before_mb": result["rss_before_mb"],
                                    "wall_s": result["wall_s"]}
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
