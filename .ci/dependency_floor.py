"""The oldest botocore that has every operation and parameter orgsync calls.

pyproject.toml's ``boto3``/``botocore`` minimum must be a version orgsync really works with: an
older botocore lacks operations (``sts:AssumeRoot``, ``account:PutAccountName``, ...) or
parameters, and fails at run time with ``AttributeError`` or ``ParamValidationError``. This
script finds the floor from the code itself:

1. It reads every module of ``reconciler/`` (the sandbox excepted: it serves AWS, it does not call
   it) and collects each AWS call: a method named after an operation of a service orgsync makes
   clients for (``client.put_account_name(...)``), the operation named in
   ``paginate(client, "list_accounts", ...)``, ``pages(...)`` and ``get_paginator("...")``, with
   the keyword arguments passed (the parameters), and operations named in tables (strings equal
   to an operation's method name, called through ``getattr``).
2. For a botocore version, it downloads the wheel from PyPI (``pip download``, cached under
   ``--cache``) and checks that the version's service models have each operation, in each
   service that has it today, and each parameter in that operation's input shape.
3. ``--search`` bisects the released versions between ``--low`` and the installed one (operations
   and parameters are only ever added), printing each probe, and prints the floor.

    python .ci/dependency_floor.py --list                 # the calls found in the code
    python .ci/dependency_floor.py --check 1.38.0         # what a version lacks (exit 1 if any)
    python .ci/dependency_floor.py --search --low 1.35.0  # the oldest version with everything
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

import botocore
import botocore.session
from botocore import xform_name
from botocore.loaders import Loader

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("organizations", "iam", "sts", "account")  # the clients orgsync makes


def operations_by_method() -> dict[str, set[tuple[str, str]]]:
    """snake_case method -> {(service, OperationName)} for the services orgsync uses, today."""
    session = botocore.session.get_session()
    table: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for service in SERVICES:
        for operation in session.get_service_model(service).operation_names:
            table[xform_name(operation)].add((service, operation))
    return table


def calls_in_code() -> dict[tuple[str, str], set[str]]:
    """(service, Operation) -> parameter names orgsync passes (from the AST of reconciler/)."""
    methods = operations_by_method()
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in sorted((ROOT / "reconciler").rglob("*.py")):
        if "sandbox" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # an operation named in a table (getattr(client, name) dispatch)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value in methods:
                for key in methods[node.value]:
                    found.setdefault(key, set())
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            keywords = {k.arg for k in node.keywords if k.arg}
            method = None
            if name in methods:
                method = name
            elif name in ("paginate", "pages") and len(node.args) >= 2 and \
                    isinstance(node.args[1], ast.Constant) and node.args[1].value in methods:
                method = str(node.args[1].value)
            elif name == "get_paginator" and node.args and \
                    isinstance(node.args[0], ast.Constant) and node.args[0].value in methods:
                method, keywords = str(node.args[0].value), set()
            if method is None:
                continue
            # parameters are CamelCase; keyword arguments of orgsync's own helpers are not
            parameters = {k for k in keywords if k[:1].isupper()} - {"PaginationConfig"}
            # a method name several services share (create_policy: IAM and Organizations) is
            # the call of the services whose operation takes these parameters today
            fitting = [key for key in methods[method] if parameters <= _members(*key)]
            for key in fitting or methods[method]:
                found[key] |= parameters
    return dict(found)


def _members(service: str, operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    return set(shape.members) if shape is not None else set()


def missing_in(data_dir: Path, calls: dict[tuple[str, str], set[str]]) -> list[str]:
    """What the service models under ``data_dir`` (a botocore/data directory) lack."""
    loader = Loader(extra_search_paths=[str(data_dir)], include_default_search_paths=False)
    models: dict[str, dict | None] = {}
    problems = []
    for (service, operation), parameters in sorted(calls.items()):
        if service not in models:
            try:
                models[service] = loader.load_service_model(service, "service-2")
            except Exception:
                models[service] = None
        model = models[service]
        if model is None:
            problems.append(f"{service}: no such service")
            continue
        spec = model["operations"].get(operation)
        if spec is None:
            problems.append(f"{service}:{operation}: no such operation")
            continue
        shape = model["shapes"].get(spec.get("input", {}).get("shape", ""), {})
        members = set(shape.get("members", {}))
        for parameter in sorted(parameters - members):
            problems.append(f"{service}:{operation}: no parameter {parameter}")
    return problems


def botocore_data(version: str, cache: Path) -> Path:
    """botocore/data of ``version``, downloaded once (the four services' models only)."""
    target = cache / version
    if (target / "done").exists():
        return target / "botocore" / "data"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "-d", str(target), f"botocore=={version}"],
                   check=True)
    wheel = next(target.glob("botocore-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) > 3 and parts[:2] == ["botocore", "data"] and parts[2] in SERVICES:
                archive.extract(name, target)
    wheel.unlink()
    (target / "done").write_text("")
    return target / "botocore" / "data"


def released_versions(low: str, high: str) -> list[str]:
    """botocore releases from ``low`` to ``high``, oldest first (one PyPI index query)."""
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "botocore"],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("Available versions:"))
    key = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    versions = sorted((v.strip() for v in line.split(":", 1)[1].split(",")), key=key)
    return [v for v in versions if key(low) <= key(v) <= key(high)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the calls found")
    parser.add_argument("--check", metavar="VERSION", help="check one botocore version")
    parser.add_argument("--search", action="store_true", help="bisect for the floor")
    parser.add_argument("--low", default="1.35.0")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "orgsync-botocore-models")
    args = parser.parse_args()
    calls = calls_in_code()
    if args.list:
        print(json.dumps({f"{s}:{o}": sorted(p) for (s, o), p in sorted(calls.items())},
                         indent=1))
    if args.check:
        problems = missing_in(botocore_data(args.check, args.cache), calls)
        print(f"botocore {args.check}: " + ("has every operation and parameter orgsync "
                                            f"uses ({len(calls)} operations)" if not problems
                                            else f"{len(problems)} missing"))
        for problem in problems:
            print(f"  {problem}")
        return 1 if problems else 0
    if args.search:
        versions = released_versions(args.low, botocore.__version__)
        low, high = 0, len(versions) - 1  # invariant: versions[high] has everything
        while low < high:
            middle = (low + high) // 2
            problems = missing_in(botocore_data(versions[middle], args.cache), calls)
            print(f"botocore {versions[middle]}: "
                  + (f"lacks {problems[0]}" + (f" (+{len(problems) - 1})"
                                               if len(problems) > 1 else "")
                     if problems else "has everything"), flush=True)
            if problems:
                low = middle + 1
            else:
                high = middle
        print(f"floor: botocore {versions[low]} ({len(calls)} operations checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
