"""How the scale benchmark starts its sandbox: the real ``orgsync sandbox``, in its own process.

The benchmark needs the sandbox in a separate process (its CPU must not share the GIL of the
orgsync being measured) and changes latency and throttling after seeding thousands of accounts;
``orgsync sandbox`` serves both through its control API (``POST /_orgsync/options``,
``GET /_orgsync/cost``). The shortcuts this script used to patch into moto (an access-key index,
shared AWS managed policies) now live in ``reconciler.sandbox`` itself.

    python benchmarks/scale_sandbox.py --info-file PATH
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def command(info_file: Path) -> list[str]:
    """The command line of the benchmark's sandbox."""
    return [sys.executable, "-m", "reconciler.cli", "sandbox", "--port", "0", "--no-color",
            "--info-file", str(info_file)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--info-file", required=True, type=Path)
    args = parser.parse_args(argv)
    argv_ = command(args.info_file)
    os.execv(argv_[0], argv_)
    return 1  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
