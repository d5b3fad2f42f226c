"""A saved plan made stale by an Identity Center change names what changed, by the plan's
addresses: a permission set's attribute, an assignment that appeared or went away."""

from __future__ import annotations

from dataclasses import replace

from reconciler.observed import ObservedAssignment, ObservedIdentityCenter, ObservedPermissionSet
from reconciler.staleness import observed_differences
from tests.planner import builders as b

ARN = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"
PROD = b.member("prod", "210000000001")


def _state(*, description: str, assigned: bool) -> dict:
    center = ObservedIdentityCenter(
        instance_arn="arn:aws:sso:::instance/ssoins-0123456789abcdef", identity_store_id="d-1",
        permission_sets=(ObservedPermissionSet(arn=ARN, name="Admin", description=description),),
        assignments=(ObservedAssignment(PROD.id, ARN, "GROUP", "g-1"),) if assigned else ())
    return replace(b.observed(PROD), identity_center=center).to_dict()


def test_differences_name_the_permission_set_and_the_assignment() -> None:
    found = observed_differences(_state(description="old", assigned=True),
                                 _state(description="new", assigned=False),
                                 names={PROD.id: "prod"})
    assert {(d["address"], d["attribute"], d["before"], d["after"]) for d in found} == {
        ("permission_set.Admin", "description", "old", "new"),
        ("assignment.prod/Admin/group:g-1", "(exists)", True, False),
    }
