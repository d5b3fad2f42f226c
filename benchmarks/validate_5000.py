"""How long validating a large organization takes: a generated 5,000-account file.

Large organizations are where a slow validate hurts (pre-commit hooks, CI on every push), and the
loader does real work per account (positions, schema, cross-checks, grant expansion). Target: under
one second for ``load()`` and for ``orgsync validate`` end to end, without importing boto3.

    python benchmarks/validate_5000.py [--accounts N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reconciler.config import load


def generate(accounts: int) -> str:
    """An accounts.yaml with ``accounts`` accounts in 3-level OUs, tags, overrides, groups and
    grants (one ``"*"``), shaped like a real large organization."""
    lines = [
        "version: 1",
        "organization:",
        '  management_account_id: "123456789012"',
        "root_credentials:",
        "  features: [RootCredentialsManagement, RootSessions]",
        "  default: absent",
        "accounts:",
    ]
    for i in range(accounts):
        lines += [
            f"  - name: account-{i:05d}",
            f"    email: aws+account-{i:05d}@example.com",
            f"    ou: /Workloads/Unit-{i % 20:02d}/Team-{i % 200:03d}",
            f"    tags: {{team: team-{i % 200:03d}, cost-center: 'cc-{i % 50:02d}'}}",
        ]
        if i % 10 == 0:
            lines += [f'    id: "{100000000000 + i:012d}"', "    source: invited",
                      "    bootstrap_profile: bootstrap"]
        if i % 7 == 0:
            lines += ["    access_role:", "      require_mfa: true", "      policies:",
                      "        - arn:aws:iam::aws:policy/ReadOnlyAccess"]
        if i % 13 == 0:
            lines.append("    root_credentials: password_recovery")
    lines.append("groups:")
    lines += ["  - name: platform-admins", "    members: [alice, bob]", "    assume:",
              '      - accounts: ["*"]', "        require_mfa: true",
              "        source_ips: [203.0.113.0/24, '2001:db8::/32']"]
    for team in range(200):
        names = ", ".join(f"account-{i:05d}" for i in range(team, accounts, 200))
        lines += [f"  - name: team-{team:03d}", f"    members: [user-{team:03d}]", "    assume:",
                  f"      - accounts: [{names}]"]
    return "\n".join(lines) + "\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.yaml"
        path.write_text(generate(args.accounts), encoding="utf-8")
        size_kib = path.stat().st_size / 1024

        load_times, load_cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            desired = load(path)
            load_times.append(time.perf_counter() - start)
            load_cpu.append(time.process_time() - start_cpu)
        grants = sum(len(g.grants) for g in desired.groups)

        cli_times, cli_cpu = [], []
        env = {**os.environ, "NO_COLOR": "1"}
        probe = ("import sys, runpy; sys.argv = ['orgsync', 'validate', '-f', sys.argv[1]]\n"
                 "from reconciler.cli import main\n"
                 "try:\n    main()\nfinally:\n"
                 "    print('boto3 imported' if 'boto3' in sys.modules else 'boto3 not imported',"
                 " file=sys.stderr)\n")
        for _ in range(args.repeat):
            start, before = time.perf_counter(), _children_cpu()
            done = subprocess.run([sys.executable, "-c", probe, str(path)], env=env,
                                  capture_output=True, text=True, check=False)
            cli_times.append(time.perf_counter() - start)
            cli_cpu.append(_children_cpu() - before)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                return 1
    print(f"file: {args.accounts} accounts, {len(desired.ou_paths)} OUs, "
          f"{len(desired.groups)} groups, {grants} grants, {size_kib:.0f} KiB")
    print(f"load():           wall median {statistics.median(load_times):.3f} s "
          f"(min {min(load_times):.3f}), CPU median {statistics.median(load_cpu):.3f} s "
          f"over {args.repeat} runs")
    print(f"orgsync validate: wall median {statistics.median(cli_times):.3f} s "
          f"(min {min(cli_times):.3f}), CPU median {statistics.median(cli_cpu):.3f} s "
          "(new process, end to end)")
    print(f"stdout: {done.stdout.strip()}")
    print(f"{done.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
