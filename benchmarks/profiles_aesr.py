"""How big the aws-extend-switch-roles configuration of a large organization gets, and how long
``orgsync profiles`` takes to build it (offline: every account has an id).

The extension keeps its configuration LZ-string compressed in the browser's sync storage, at most
21,600 compressed characters (``reconciler.aesr``); this prints where an organization's size
crosses that, so docs/profiles.md can say it with figures.

    python benchmarks/profiles_aesr.py [--accounts N ...] [--roles R ...]
"""

from __future__ import annotations

import argparse
import time

from reconciler.aesr import SYNC_LIMIT, compressed_size
from reconciler.config import load_text
from reconciler.profiles import build_profiles, render


def generate(accounts: int, roles: int) -> str:
    """``accounts`` accounts in 40 OUs, and one group granting ``roles`` roles in every one."""
    lines = ["version: 1", "organization:", '  management_account_id: "123456789012"',
             "accounts:"]
    for i in range(accounts):
        lines += [f"  - name: team-{i:04d}-workload", f"    email: aws+t{i}@example.com",
                  f'    id: "{200000000000 + i * 7919:012d}"', f"    ou: /Teams/T{i % 40}"]
    if roles:
        lines += ["groups:", "  - name: everyone", "    members: [alice]", "    assume:"]
        lines += [f'      - accounts: ["*"]\n        role: Role{r}' for r in range(roles)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--roles", type=int, nargs="+", default=[0, 5])
    args = parser.parse_args()
    print(f"{'accounts':>8} {'roles':>5} {'entries':>7} {'text chars':>10} "
          f"{'compressed':>10} {'fits sync':>9} {'render s':>8} {'size s':>6}")
    for accounts in args.accounts:
        for roles in args.roles:
            desired = load_text(generate(accounts, roles), filename="accounts.yaml")
            started = time.perf_counter()
            text = render(desired, {}, fmt="aesr")
            rendered = time.perf_counter()
            size = compressed_size(text)
            sized = time.perf_counter()
            entries = len(build_profiles(desired, {}))
            print(f"{accounts:>8} {roles:>5} {entries:>7} {len(text):>10} {size:>10} "
                  f"{'yes' if size <= SYNC_LIMIT else 'no':>9} {rendered - started:>8.2f} "
                  f"{sized - rendered:>6.2f}")


if __name__ == "__main__":
    main()
