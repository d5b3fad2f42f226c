"""A group of the file whose name IAM already has outside orgsync's paths is a plan error (group
names are unique per account whatever the path), not a create that apply would have to refuse."""

from __future__ import annotations

from reconciler.observed import ObservedGroup
from reconciler.plan import Plan
from reconciler.planner import plan

from . import builders as b


def _codes(result: Plan) -> list[tuple[str, str]]:
    return [(c.address, c.action.value) for c in result.changes]


def test_same_name_at_root_is_an_error_and_no_create() -> None:
    desired = b.desired(groups=(b.group("ops", members=("alice",)), b.group("dev")))
    observed = b.observed(existing_users=("alice",), foreign_groups=(("ops", "/"),))
    result = plan(desired, observed)
    assert [str(e) for e in result.errors] == [
        "group ops: an IAM group of that name already exists at path / (not orgsync's); "
        "rename it in the file, or move that group and set its path"]
    assert _codes(result) == [("group.dev", "create")]  # the other group is still planned


def test_same_name_at_another_path_says_how_to_adopt() -> None:
    desired = b.desired(groups=(b.group("dev"),))
    result = plan(desired, b.observed(foreign_groups=(("dev", "/team/"),)))
    assert [str(e) for e in result.errors] == [
        "group dev: an IAM group of that name already exists at path /team/ (not orgsync's); "
        "rename it in the file, or adopt it: set path: /team/ for it in the file"]
    assert _codes(result) == []


def test_adopted_path_is_no_clash() -> None:
    """Once the file sets the group's path, observe sees it as orgsync's: an update, no error."""
    desired = b.desired(groups=(b.group("dev", path="/team/", members=("alice",)),))
    owned = ObservedGroup(name="dev", path="/team/", arn=f"arn:aws:iam::{b.MGMT}:group/team/dev")
    result = plan(desired, b.observed(existing_users=("alice",), groups=(owned,)))
    assert list(result.errors) == []
    assert _codes(result) == [("group.dev", "update")]


def test_fingerprint_unchanged_without_foreign_groups() -> None:
    state = b.observed()
    data = state.to_dict()
    assert "foreign_groups" not in data
    clashing = b.observed(foreign_groups=(("ops", "/"),))
    assert clashing.fingerprint() != state.fingerprint()
