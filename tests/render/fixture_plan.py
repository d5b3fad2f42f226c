"""Builds the plan document the golden files render (kept frozen in golden/plan.json).

Run ``python -m tests.render.fixture_plan`` from the repository root to rebuild it after a
deliberate change of the planner's output; the golden tests read only the JSON file, so a planner
change never silently changes what the renderers are tested against.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.observed import (
    CreateAccountRequest,
    Handshake,
    ObservedGroup,
    ObservedRole,
    ObservedRootCredentials,
)
from reconciler.planner import plan
from tests.planner import builders as b

GOLDEN = Path(__file__).parent / "golden"


def document() -> dict[str, Any]:
    prod = b.member("prod", "210000000001")
    old = b.member("old-sandbox", "210000000009")
    legacy = b.member("legacy", "310000000001", joined="INVITED")
    desired = b.desired(
        b.account("prod", ou="/Workloads/Prod", tags={"team": "payments"}, require_mfa=True,
                  root="absent"),
        b.account("staging", ou="/Workloads", root="absent"),
        b.account("legacy", source="invited", id="310000000001"),
        b.account("partner", source="invited", id="410000000001"),
        b.account("old-sandbox", state="closed"),
        groups=(b.group("prod-admins", members=("alice", "bob"), grants=(
            b.grant("prod", require_mfa=True, source_ips=("203.0.113.0/24",)),
            b.grant("staging"))),),
        features=("RootCredentialsManagement", "RootSessions"))
    observed = b.observed(
        replace(prod, tags={"team": "billing"}), old, legacy, b.member("unlisted", "510000000001"),
        roles=(b.role_ok(prod.id),
               ObservedRole(legacy.id, "OrganizationAccountAccessRole", "not_assumable",
                            error="AccessDenied"),
               b.role_ok(old.id)),
        ous=(b.ou("/Sandbox"),),
        groups=(ObservedGroup("retired", "/orgsync/",
                              "arn:aws:iam::123456789012:group/orgsync/retired",
                              members=("carol",)),),
        existing_users=("alice", "bob"),
        root_credentials={prod.id: ObservedRootCredentials(prod.id, password=True,
                                                           access_keys=True)},
        handshakes=(Handshake("h-0example", "OPEN", "ACCOUNT", "410000000001",
                              expires_at="2026-12-07T10:00:00Z"),),
        create_requests=(CreateAccountRequest("car-0failed", "staging", "FAILED",
                                              failure_reason="EMAIL_ALREADY_EXISTS"),))
    return plan(desired, observed).to_document()


if __name__ == "__main__":
    (GOLDEN / "plan.json").write_text(json.dumps(document(), indent=2, sort_keys=True) + "\n")
