"""Reading orgsync's stack set: CloudFormation's trusted access, the stack set, its instances.

Read only when the file asks for ``organization.invited_bootstrap: stackset`` (an organization
that does not use it pays no CloudFormation calls). Every call goes to the management account in
the run's region, which is the stack set's region.
"""

from __future__ import annotations

from reconciler.aws import Client, paginate
from reconciler.errors import NotFound
from reconciler.observed import ObservedStackInstance, ObservedStackSet
from reconciler.stackset import STACK_SET_NAME

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "management": (
        "cloudformation:DescribeOrganizationsAccess",
        "cloudformation:DescribeStackSet",
        "cloudformation:ListStackInstances",
        "cloudformation:DescribeStackInstance",
        "cloudformation:ListStackSetOperations",
    ),
}

ACTIVE_OPERATION = ("RUNNING", "QUEUED", "STOPPING")


def read_trusted_access(cfn: Client) -> bool:
    """Whether trusted access for StackSets with Organizations is active (the status
    DescribeOrganizationsAccess reports, CloudFormation API reference)."""
    return str(cfn.describe_organizations_access().get("Status")) == "ACTIVE"


def running_operation(cfn: Client, *, name: str = STACK_SET_NAME) -> str | None:
    """The id of an operation of the stack set that has not finished (there is at most one)."""
    for summary in paginate(cfn, "list_stack_set_operations", "Summaries", StackSetName=name):
        if summary.get("Status") in ACTIVE_OPERATION:
            return str(summary["OperationId"])
    return None


def instance_mode(cfn: Client, *, name: str, account_id: str, region: str) -> str:
    """The instance's ``Mode`` override (DescribeStackInstance: ListStackInstances does not
    return parameters). ``adopt`` means a takeover was not finished."""
    described = cfn.describe_stack_instance(StackSetName=name, StackInstanceAccount=account_id,
                                            StackInstanceRegion=region)["StackInstance"]
    for parameter in described.get("ParameterOverrides") or ():
        if parameter.get("ParameterKey") == "Mode":
            return str(parameter.get("ParameterValue"))
    return "create"


def read_instances(cfn: Client, *, name: str = STACK_SET_NAME
                   ) -> tuple[ObservedStackInstance, ...]:
    found = [
        ObservedStackInstance(
            account_id=str(item["Account"]), region=str(item["Region"]),
            status=str(item.get("Status", "")),
            detailed_status=str((item.get("StackInstanceStatus") or {}).get("DetailedStatus", "")),
            status_reason=item.get("StatusReason"),
            mode=instance_mode(cfn, name=name, account_id=str(item["Account"]),
                               region=str(item["Region"])))
        for item in paginate(cfn, "list_stack_instances", "Summaries", StackSetName=name)
    ]
    return tuple(sorted(found, key=lambda i: (i.account_id, i.region)))


def read_stack_set(cfn: Client, *, region: str) -> ObservedStackSet:
    trusted = read_trusted_access(cfn)
    try:
        cfn.describe_stack_set(StackSetName=STACK_SET_NAME)
    except NotFound:
        return ObservedStackSet(name=STACK_SET_NAME, region=region, trusted_access=trusted)
    return ObservedStackSet(
        name=STACK_SET_NAME, region=region, trusted_access=trusted, exists=True,
        instances=read_instances(cfn), running_operation=running_operation(cfn))
