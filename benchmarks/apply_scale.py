"""How close an apply that creates N accounts comes to AWS's own pace.

AWS lets about 5 CreateAccount requests be in flight per organization, and each takes its time
(minutes in AWS; ``--create-delay-s D`` in the sandbox). No tool can create N accounts faster than

    bound = ceil(N / 5) x D

so the figure that matters is the efficiency ``bound / wall``: 1.0 means every one of AWS's five
places was busy all the time. This benchmark starts the real ``orgsync sandbox`` in its own process
(its CPU must not share orgsync's GIL) with ``--create-delay-s D``, writes a file of N new accounts
(each in one of 5 OUs, tagged, with its access role, and a group granted ``"*"``), runs the real
``orgsync apply --auto-approve`` in a subprocess and prints its wall time, the bound, the
efficiency, the API calls per account by operation (the sandbox's counters, for the whole run: the
plan, the apply and the final re-plan), the most creations AWS saw in flight and refused, and the
peak memory (max RSS) of the apply process.

    python benchmarks/apply_scale.py [--accounts 50] [--create-delay-s 10] [--latency-ms 0]
        [--parallelism 10] [--json FILE]

Exits 1 when the apply fails or does not converge, so it doubles as an end-to-end check.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale_sandbox import sandbox_process  # noqa: E402 - the benchmarks folder is not a package

MAX_IN_FLIGHT = 5  # AWS's CreateAccount concurrency (Quotas for AWS Organizations)
OU_COUNT = 5


def write_file(path: Path, accounts: int) -> None:
    lines = ["version: 1", "organization:", '  management_account_id: "123456789012"',
             "accounts:"]
    for i in range(accounts):
        name = f"new-{i:04d}"
        lines += [f"  - name: {name}", f"    email: aws+{name}@example.com",
                  f"    ou: /Onboarding/Unit-{i % OU_COUNT}",
                  f"    tags: {{cost-center: cc-{i % 7}, wave: '1'}}"]
    lines += ["groups:", "  - name: platform-admins", "    members: [alice]", "    assume:",
              '      - accounts: ["*"]', "        require_mfa: true"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_apply(file: Path, env: dict[str, str], *, parallelism: int,
              log: Path) -> tuple[int, float, float]:
    """``orgsync apply --auto-approve``: exit code, wall seconds, peak RSS in MB."""
    with open(log, "wb") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "apply", "-f", str(file), "--auto-approve",
             "--parallelism", str(parallelism)], env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--create-delay-s", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    n, delay = args.accounts, args.create_delay_s
    with tempfile.TemporaryDirectory(prefix="orgsync-apply-scale-") as tmp:
        workdir = Path(tmp)
        with sandbox_process(workdir, "--create-delay-s", str(delay),
                             "--latency-ms", str(args.latency_ms)) as sb:
            sb.client("iam").create_user(UserName="alice")
            file = workdir / "accounts.yaml"
            write_file(file, n)
            sb.control("POST", "counters/reset", {})
            log = workdir / "apply.log"
            code, wall, rss_mb = run_apply(file, sb.env(), parallelism=args.parallelism, log=log)
            output = log.read_text(errors="replace")
            counters = sb.control("GET", "counters")
    converged = code == 0 and "\nconverged:" in output
    if not converged:
        print("\n".join(output.splitlines()[-30:]))
        print(f"benchmark: the apply failed or did not converge (exit {code})")
        return 1
    bound = math.ceil(n / MAX_IN_FLIGHT) * delay
    operations: dict[str, int] = counters["operations"]
    figures = {
        "accounts": n, "create_delay_s": delay, "latency_ms": args.latency_ms,
        "parallelism": args.parallelism, "wall_s": round(wall, 2), "bound_s": bound,
        "efficiency": round(bound / wall, 3) if wall else None,
        "peak_rss_mb": round(rss_mb, 1), "creations": counters.get("creations", {}),
        "calls_total": sum(operations.values()),
        "calls_per_account": {op: round(c / n, 2) for op, c in sorted(operations.items())},
        "load_average": os.getloadavg(),
    }
    print(f"apply creating {n} accounts, CreateAccount taking {delay:g} s, "
          f"latency {args.latency_ms:g} ms, --parallelism {args.parallelism}")
    print(f"  wall time        {wall:8.1f} s")
    print(f"  bound            {bound:8.1f} s   (ceil({n}/{MAX_IN_FLIGHT}) x {delay:g} s)")
    print(f"  efficiency       {bound / wall:8.2f}")
    print(f"  peak memory      {rss_mb:8.1f} MB (max RSS of the apply process)")
    creations = figures["creations"]
    print(f"  CreateAccount    {creations.get('peak_in_flight', '?')} in flight at most, "
          f"{creations.get('refused_rate_limit', '?')} refused for the rate limit")
    print(f"  API calls        {figures['calls_total']} in all "
          f"({figures['calls_total'] / n:.1f} per account); per account by operation:")
    for operation, per in figures["calls_per_account"].items():
        print(f"    {operation:48s} {per:7.2f}")
    load = figures["load_average"]
    print(f"  load average     {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (at the end)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
