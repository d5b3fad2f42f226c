"""Checking recorded AWS calls (ORGSYNC_CALL_LOG lines) against ``orgsync permissions``.

A call made by ``orgsync plan`` must be allowed by the plan policy, every call by the apply policy:
management-scope calls by the policy's actions, root-session calls by the task policies its
``sts:AssumeRoot`` statement allows, member-scope calls of ``plan`` by the member-reads policy (and
of any command by some module's member declaration), bootstrap (profile) calls by a ``bootstrap``
declaration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reconciler.permissions import (
    ROOT_TASKS,
    actions,
    allowed_root_tasks,
    covers,
    declarations,
    policy,
)

PLAN_TIME_COMMANDS = frozenset({"plan"})
ROOT_COMMANDS = frozenset({"root"})


@dataclass(frozen=True)
class Call:
    operation: str  # "service:Operation"
    scope: str  # management | member | root | profile
    command: str  # the orgsync subcommand, "" in-process


def read_calls(paths: Iterable[Path]) -> list[Call]:
    calls: list[Call] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if line.strip():
                data = json.loads(line)
                calls.append(Call(data["operation"], data["scope"], data.get("command", "")))
    return calls


def uncovered(calls: Iterable[Call]) -> list[str]:
    """One line per distinct call that the generated policies do not allow."""
    decls = declarations()
    plan_policy, apply_policy, member_policy = policy("plan"), policy("apply"), policy("member")
    member_declared = actions(decls, stage="apply", scope="member")
    bootstrap_declared = actions(decls, stage="apply", scope="bootstrap")
    root_policy = policy("root")
    plan_tasks = frozenset().union(*(ROOT_TASKS[t] for t in allowed_root_tasks(plan_policy)))
    apply_tasks = frozenset().union(*(ROOT_TASKS[t] for t in allowed_root_tasks(apply_policy)))
    root_tasks = frozenset().union(*(ROOT_TASKS[t] for t in allowed_root_tasks(root_policy)))
    problems: set[str] = set()
    for call in set(calls):
        plan_time = call.command in PLAN_TIME_COMMANDS
        where = f"{call.operation} ({call.scope} scope, command {call.command or 'in-process'})"
        if call.command in ROOT_COMMANDS:
            # `orgsync root ...` runs with its own break-glass role (`permissions --for root`)
            if call.scope == "management" and not covers(root_policy, call.operation):
                problems.add(f"{where}: not in `orgsync permissions --for root`")
            elif call.scope == "root" and call.operation not in root_tasks:
                problems.add(f"{where}: no root task policy of `--for root` permits it")
            elif call.scope not in ("management", "root"):
                problems.add(f"{where}: unexpected scope for a root command")
            continue
        if call.scope == "management":
            if plan_time and not covers(plan_policy, call.operation):
                problems.add(f"{where}: not in `orgsync permissions --for plan`")
            if not covers(apply_policy, call.operation):
                problems.add(f"{where}: not in `orgsync permissions --for apply`")
        elif call.scope == "root":
            if call.operation not in (plan_tasks if plan_time else apply_tasks):
                problems.add(f"{where}: no allowed root task policy permits it")
        elif call.scope == "member":
            if plan_time and not covers(member_policy, call.operation):
                problems.add(f"{where}: not in `orgsync permissions --for member`")
            if call.operation not in member_declared:
                problems.add(f"{where}: no module declares it in scope member")
        elif call.scope == "profile":
            if call.operation not in bootstrap_declared | {"sts:GetCallerIdentity"}:
                problems.add(f"{where}: no module declares it in scope bootstrap")
        else:
            problems.add(f"{where}: unknown scope")
    return sorted(problems)
