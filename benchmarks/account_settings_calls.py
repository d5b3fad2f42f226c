"""What managing account aliases and alternate contacts costs a no-op ``orgsync plan``.

Seeds a sandbox with N member accounts through the real ``orgsync apply --auto-approve`` of a file
that gives every account an alias and all three alternate contacts, then times a no-op plan of
that file and of the same file without ``alias``/``contacts`` (fresh processes, the sandbox's
``--latency-ms`` added to every call), and prints the API calls of each plan by operation (from
the sandbox's counters) and per member account.

    python benchmarks/account_settings_calls.py [--accounts 20] [--latency-ms 20] [--parallelism 10]

Exits 1 when a plan fails or is not a no-op.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reconciler.sandbox import Sandbox, SandboxOptions

CONTACT = "{{name: {n}, title: {t}, email: {e}@example.com, phone: \"+1 555 0100\"}}"


def accounts_file(count: int, *, settings: bool) -> str:
    lines = ["version: 1", 'organization: {management_account_id: "123456789012"}', "accounts:"]
    for i in range(count):
        lines += [f"  - name: acct-{i:04d}", f"    email: aws+acct-{i:04d}@example.com"]
        if settings:
            lines.append(f"    alias: bench-acct-{i:04d}")
            lines.append("    contacts:")
            for kind in ("security", "operations", "billing"):
                lines.append(f"      {kind}: " + CONTACT.format(n=f"{kind} team", t=kind,
                                                              e=f"{kind}-{i}"))
    return "\n".join(lines) + "\n"


def orgsync(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env,
                          capture_output=True, text=True, timeout=3600, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="orgsync-bench-settings-"))
    with Sandbox(SandboxOptions(port=0)) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(sandbox.env())
        (work / "config").write_text("")
        env.update({"AWS_CONFIG_FILE": str(work / "config"),
                    "AWS_SHARED_CREDENTIALS_FILE": str(work / "config"), "NO_COLOR": "1"})
        managed = work / "managed.yaml"
        managed.write_text(accounts_file(args.accounts, settings=True))
        plain = work / "plain.yaml"
        plain.write_text(accounts_file(args.accounts, settings=False))
        started = time.monotonic()
        applied = orgsync(env, "apply", "-f", str(managed), "--auto-approve")
        if applied.returncode != 0:
            print(applied.stdout, applied.stderr, file=sys.stderr)
            return 1
        print(f"apply of {args.accounts} accounts with alias and 3 contacts each: "
              f"{time.monotonic() - started:.1f} s (no added latency)")
        sandbox.set_options(latency_ms=args.latency_ms)
        results = {}
        for label, path in (("with alias+contacts", managed), ("without", plain)):
            sandbox.control.reset_counters()
            started = time.monotonic()
            planned = orgsync(env, "plan", "-f", str(path), "--format", "json",
                              "--detailed-exitcode", "--parallelism", str(args.parallelism))
            wall = time.monotonic() - started
            if planned.returncode != 0 or json.loads(planned.stdout)["changes"]:
                print(f"plan {label} is not a no-op (exit {planned.returncode}): "
                      f"{planned.stderr}", file=sys.stderr)
                return 1
            counters = sandbox.control.counters()
            results[label] = (wall, counters)
        print(f"no-op plan, {args.accounts} member accounts, latency {args.latency_ms} ms, "
              f"parallelism {args.parallelism}:")
        operations = sorted({op for _, c in results.values() for op in c})
        print(f"  {'operation':45} " + " ".join(f"{label:>20}" for label in results))
        for op in operations:
            print(f"  {op:45} " + " ".join(f"{c.get(op, 0):>20}" for _, c in results.values()))
        for label, (wall, counters) in results.items():
            total = sum(counters.values())
            print(f"  {label}: {total} calls ({total / args.accounts:.1f} per account), "
                  f"{wall:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
