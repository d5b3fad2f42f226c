"""The pipeline the AWS-facing commands run: load -> observe -> plan, and apply -> re-plan.

``orgsync plan``, ``apply``, ``export`` and the demo go through these functions, so that apply
without a saved plan takes exactly the steps of the plan a reviewer would have seen, so that
"converged" means the same everywhere, and so that a saved plan is applied only while the world
is still what it was planned against (``check_saved_plan``). Nothing here prints: the commands
print around it (``reconciler.commands``), and a library user can drive orgsync without the CLI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reconciler.jsontypes import JSON
from reconciler.options import GlobalOptions
from reconciler.plan import Action, Change, Plan

if TYPE_CHECKING:
    from reconciler.access import ObservedAccess
    from reconciler.apply import ApplyRun, Reporter
    from reconciler.aws import Aws
    from reconciler.model import AccountSpec, DesiredState
    from reconciler.observed import ObservedState
    from reconciler.planfile import SavedPlan


@dataclass(frozen=True)
class PlanRun:
    """One load + observe + plan: everything apply or a saved plan needs."""

    desired: DesiredState
    desired_text: str  # the file's text, exactly as loaded (a saved plan carries it)
    observed: ObservedState
    plan: Plan
    aws: Aws  # its ``calls`` hold the counts of every AWS call made so far


def make_aws(opts: GlobalOptions, *, parallelism: int) -> Aws:
    """The AWS boundary for these options (profile, region, endpoint, retries sized to
    ``parallelism``, and the MFA device whose session enters member accounts)."""
    from reconciler.aws import Aws

    return Aws(profile=opts.profile, region=opts.region, endpoint_url=opts.endpoint_url,
               parallelism=parallelism, mfa_serial=opts.mfa_serial, mfa_token=opts.mfa_token)


def read_desired(file: str) -> tuple[DesiredState, str]:
    """The validated desired state and the canonical text it was read from (read once:
    ``-`` is standard input)."""
    from reconciler.config import load_source, read_source

    source = read_source(file)
    return load_source(source), source.text


def observe_and_plan(desired: DesiredState, aws: Aws, *, parallelism: int,
                     progress: bool = False) -> tuple[ObservedState, Plan]:
    """Read AWS (every registered kind's reads) and plan against it."""
    from reconciler.kinds import observe
    from reconciler.planner import plan as make_plan

    observed = observe(desired, aws, parallelism=parallelism, progress=progress)
    return observed, make_plan(desired, observed)


def build_plan(opts: GlobalOptions, *, file: str, parallelism: int = 10,
               aws: Aws | None = None, progress: bool | None = None,
               loaded: tuple[DesiredState, str] | None = None) -> PlanRun:
    """Load ``file``, observe AWS (``parallelism`` member accounts at once) and plan.

    Raises ``ConfigError`` for an invalid file, ``Refusal`` for the wrong organization and
    ``AwsError`` when AWS cannot be read. Plan errors are in ``PlanRun.plan.errors``, not raised.
    ``progress`` (a bar on stderr while member accounts are read) defaults to "stderr is a
    terminal". ``loaded``: the file as ``read_desired`` already gave it (standard input can be
    read only once)."""
    desired, text = loaded if loaded is not None else read_desired(file)
    aws = aws if aws is not None else make_aws(opts, parallelism=parallelism)
    show_progress = sys.stderr.isatty() if progress is None else progress
    observed, plan = observe_and_plan(desired, aws, parallelism=parallelism,
                                      progress=show_progress)
    return PlanRun(desired=desired, desired_text=text, observed=observed, plan=plan, aws=aws)


@dataclass(frozen=True)
class ApplyOutcome:
    """A whole apply and the plan made after it.

    ``remaining``: the final plan's changes that are not waiting for a person (a ``bootstrap``
    step, or a change that depends on one); ``needs_person``: the bootstrap steps."""

    run: ApplyRun
    final: Plan
    remaining: tuple[Change, ...]
    needs_person: tuple[Change, ...]

    @property
    def converged(self) -> bool:
        """Nothing but deferred items and work for a person remains, and the plan is valid."""
        return not self.remaining and not self.final.errors

    @property
    def ok(self) -> bool:
        """No step failed and the result converged (apply's exit code 0)."""
        return self.converged and not self.run.failed


def apply_rounds(approved: PlanRun, *, reporter: Reporter, parallelism: int,
                 on_follow_up: Callable[[Plan], None] | None = None) -> ApplyRun:
    """Apply ``approved.plan``, with follow-up rounds for the deferred items it lists that
    became possible during the run (``reconciler.apply.apply_approved``)."""
    from reconciler.apply import ApplyOptions, apply_approved

    desired = approved.desired

    def replan() -> tuple[ObservedState, Plan]:
        return observe_and_plan(desired, approved.aws, parallelism=parallelism)

    return apply_approved(approved.plan, desired=desired, observed=approved.observed,
                          aws=approved.aws, reporter=reporter, replan=replan,
                          options=ApplyOptions(parallelism=max(1, parallelism)),
                          on_follow_up=on_follow_up)


def check_converged(approved: PlanRun, run: ApplyRun, *, parallelism: int) -> ApplyOutcome:
    """Re-observe and re-plan after ``run`` (unless its last round already did, after the last
    write) and say what remains."""
    final = run.final if run.final is not None else observe_and_plan(
        approved.desired, approved.aws, parallelism=parallelism)[1]
    return converge_check(run, final)


def converge_check(run: ApplyRun, final: Plan) -> ApplyOutcome:
    """What remains of ``final`` once work waiting for a person is set apart."""
    human = tuple(c for c in final.changes if c.action is Action.BOOTSTRAP)
    waits = {c.address for c in human}
    remaining = tuple(c for c in final.changes
                      if c.address not in waits and not waits & set(c.depends_on))
    return ApplyOutcome(run=run, final=final, remaining=remaining, needs_person=human)


# What made a saved plan stale: the desired-state file changed, something observed in the
# organization changed, or the world looks the same but planning again gives other changes.
StaleReason = Literal["file", "organization", "plan"]


@dataclass(frozen=True)
class SavedPlanCheck:
    """A saved plan checked against the world now (``check_saved_plan``); nothing was changed.

    ``run`` when it still holds: its plan is the saved plan made again, from the saved file's
    text and a fresh read (apply that). Otherwise ``stale`` says why not and ``differences`` what
    differs (``{"address", "attribute", "before", "after"}``, ``reconciler.staleness``); or
    ``missing_file`` is the file ``-f`` named, which does not exist (nothing was compared)."""

    run: PlanRun | None = None
    stale: StaleReason | None = None
    differences: tuple[dict[str, JSON], ...] = ()
    compared_file: str | None = None  # the desired-state file compared with the saved text
    missing_file: str | None = None


def check_saved_plan(saved: SavedPlan, aws: Aws, *, file: str | None,
                     parallelism: int) -> SavedPlanCheck:
    """Whether the world is still what ``saved`` was planned against (in this order, the first
    difference decides): the desired-state file, everything observed (the fingerprint; the
    snapshot, when the plan file has one, for the list of differences), then the plan made again
    (changes and deferred items: a follow-up round may run those that carry an action).

    The file compared is the one the plan was made from, or ``file`` when ``-f`` names one (a
    pipeline that applies in another checkout); a file that is no longer there is not compared,
    one that ``-f`` names must exist."""
    from reconciler.config import load_text, read_source, text_sha256
    from reconciler.staleness import (
        account_names,
        change_differences,
        file_differences,
        observed_differences,
    )

    desired = load_text(saved.desired_text, filename=saved.desired_file)
    if file is not None and file != "-" and not os.path.exists(file):
        return SavedPlanCheck(missing_file=file)
    current_file = file if file is not None else (
        saved.desired_file if saved.desired_file and os.path.exists(saved.desired_file)
        else None)
    # read and digested exactly as plan read it (config.source: BOM and line ends)
    if current_file is not None:
        on_disk = read_source(current_file)
        if on_disk.sha256 != text_sha256(saved.desired_text):
            return SavedPlanCheck(
                stale="file", compared_file=current_file, differences=tuple(
                    file_differences(saved.desired_text, on_disk.text, name=current_file)))
    observed, plan = observe_and_plan(desired, aws, parallelism=parallelism)
    if observed.fingerprint() != saved.observed_fingerprint:
        differences: list[dict[str, JSON]] = []
        if saved.observed is not None:
            now = json.loads(json.dumps(observed.to_dict(), default=str))
            differences = observed_differences(
                saved.observed, now, names=account_names(desired, saved.observed, now))
        return SavedPlanCheck(stale="organization", compared_file=current_file,
                              differences=tuple(differences))
    fresh, approved = plan.to_document(), saved.plan.to_document()
    if fresh["changes"] != approved["changes"] or fresh["deferred"] != approved["deferred"]:
        return SavedPlanCheck(
            stale="plan", compared_file=current_file, differences=tuple(
                change_differences(approved["changes"], fresh["changes"])
                + change_differences(_deferred_as_changes(approved["deferred"]),
                                     _deferred_as_changes(fresh["deferred"]))))
    return SavedPlanCheck(
        run=PlanRun(desired=desired, desired_text=saved.desired_text, observed=observed,
                    plan=plan, aws=aws),
        compared_file=current_file)


def _deferred_as_changes(items: list[dict[str, JSON]]) -> list[Mapping[str, JSON]]:
    """Deferred items compared as changes (an item without an action is "deferred")."""
    return [{**item, "action": item.get("action") or "deferred"} for item in items]


def account_ids_from_aws(aws: Aws, accounts: Sequence[AccountSpec]) -> dict[str, str]:
    """Ids of ``accounts`` (matched by email, as the organization knows them), by account name:
    for the accounts the file gives no id. One ListAccounts, whose pages stop as soon as every
    account asked for is found."""
    from reconciler.aws import paginate

    wanted = {a.email.lower() for a in accounts}
    by_email: dict[str, str] = {}
    for item in paginate(aws.client("organizations"), "list_accounts", "Accounts"):
        by_email[str(item["Email"]).lower()] = str(item["Id"])
        if wanted and wanted <= by_email.keys():
            break
    return _matched_by_email(by_email, accounts)


def _ids_by_email(listed: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Account ids of a ListAccounts answer, by lower-cased email."""
    return {str(a["Email"]).lower(): str(a["Id"]) for a in listed}


def _matched_by_email(by_email: Mapping[str, str],
                      accounts: Iterable[AccountSpec]) -> dict[str, str]:
    """The ids of ``accounts`` found by email, by account name."""
    return {a.name: by_email[a.email.lower()] for a in accounts if a.email.lower() in by_email}


def read_access(desired: DesiredState, aws: Aws) -> ObservedAccess:
    """What ``orgsync access`` reports on, read from the management account (read-only; the
    calls are declared in ``reconciler.commands.access.PERMISSIONS``): the caller and the
    organization (another organization is refused), ListAccounts (ids of the file's accounts
    without one, names of accounts only AWS grants), the groups with their members and grant
    policies (the observe layer's one GetAccountAuthorizationDetails read) and, when the file has
    an ``identity_center:`` section, the instance with its permission sets and assignments and
    the members of the assigned groups (``reconciler.observe.identity_center``)."""
    from reconciler.access import ObservedAccess
    from reconciler.aws import paginate
    from reconciler.observe.group import read_management_iam
    from reconciler.observe.organization import read_caller, read_organization

    read_caller(aws)
    org = aws.client("organizations")
    read_organization(org, expected_management_account_id=(
        desired.organization.management_account_id))
    listed = list(paginate(org, "list_accounts", "Accounts"))
    account_ids = _matched_by_email(_ids_by_email(listed),
                                    (a for a in desired.accounts if a.id is None))
    iam = read_management_iam(aws.client("iam"), desired=desired)
    center, members = None, {}
    if desired.identity_center is not None:
        from reconciler.observe.identity_center import read_group_members, read_identity_center

        center = read_identity_center(desired, aws, parallelism=4)
        if center is not None and center.identity_store_id is not None:
            assigned = {a.principal for a in desired.identity_center.assignments
                        if a.principal_type == "GROUP"}
            group_ids = [p.id for p in center.principals if p.type == "GROUP"
                         and (p.name in assigned or any(
                             a.principal_type == "GROUP" and a.principal_id == p.id
                             for a in center.assignments))]
            members = read_group_members(aws.client("identitystore"),
                                         identity_store_id=center.identity_store_id,
                                         group_ids=group_ids)
    return ObservedAccess(
        groups=iam.groups, managed_policies=iam.managed_policies,
        existing_users=iam.existing_users, account_ids=account_ids,
        account_names={str(a["Id"]): str(a.get("Name", a["Id"])) for a in listed},
        identity_center=center, identity_center_members=members)


@dataclass(frozen=True)
class SsoAssignments:
    """The account assignments ``orgsync profiles --format sso`` writes profiles for.

    ``store`` None: no usable Identity Center instance (``error`` says why); ``unknown_user``:
    the user asked for is not in the identity store. ``pairs``: (account name, account id,
    permission set name) of every assignment (of the user, directly or through a group)."""

    store: str | None = None
    error: str | None = None
    unknown_user: bool = False
    pairs: tuple[tuple[str, str, str], ...] = ()


def read_sso_assignments(desired: DesiredState, aws: Aws, *,
                         user: str | None) -> SsoAssignments:
    """Read the Identity Center instance (the file's, when it pins one), its assignments
    (``user``'s only, directly or through the groups it is a member of, when given) and the
    names of their accounts (the file's names first, then the organization's)."""
    from dataclasses import replace

    from reconciler.aws import paginate
    from reconciler.model import IdentityCenterSpec
    from reconciler.observe.identity_center import read_identity_center, user_id

    pinned = desired.identity_center.instance_arn if desired.identity_center else None
    center = read_identity_center(
        replace(desired, identity_center=IdentityCenterSpec(instance_arn=pinned)), aws)
    if center is None or center.instance_arn is None or center.identity_store_id is None:
        return SsoAssignments(error=center.error if center else "no instance")
    store = center.identity_store_id
    wanted: set[tuple[str, str]] | None = None
    if user is not None:
        identity = aws.client("identitystore")
        found = user_id(identity, identity_store_id=store, user_name=user)
        if found is None:
            return SsoAssignments(store=store, unknown_user=True)
        wanted = {("USER", found)} | {
            ("GROUP", str(m["GroupId"])) for m in paginate(
                identity, "list_group_memberships_for_member", "GroupMemberships",
                IdentityStoreId=store, MemberId={"UserId": found})}
    # one ListAccounts serves both: the ids of the file's accounts without one (by email) and
    # the names of the accounts only AWS knows
    listed = list(paginate(aws.client("organizations"), "list_accounts", "Accounts"))
    names = {a.id: a.name for a in desired.accounts if a.id}
    names.update({account_id: name for name, account_id in _matched_by_email(
        _ids_by_email(listed), (a for a in desired.accounts if a.id is None)).items()})
    aws_names = {str(a["Id"]): str(a["Name"]) for a in listed}
    sets = {p.arn: p.name for p in center.permission_sets}
    return SsoAssignments(store=store, pairs=tuple(
        (names.get(a.account_id) or aws_names.get(a.account_id, a.account_id), a.account_id,
         sets[a.permission_set_arn])
        for a in center.assignments if a.permission_set_arn in sets
        and (wanted is None or (a.principal_type, a.principal_id) in wanted)))
