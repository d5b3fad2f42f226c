"""Organizational units in the sandbox follow AWS's rules: an OU holding accounts (closed ones
included) or child OUs cannot be deleted; names are unique among siblings only; five levels at
most. Driven with boto3 over HTTP."""

from __future__ import annotations

from reconciler.sandbox import Sandbox


def _root(sandbox: Sandbox) -> str:
    return str(sandbox.client("organizations").list_roots()["Roots"][0]["Id"])


def _ou(sandbox: Sandbox, parent: str, name: str) -> str:
    org = sandbox.client("organizations")
    return str(org.create_organizational_unit(ParentId=parent, Name=name)[
        "OrganizationalUnit"]["Id"])


def _account_in(sandbox: Sandbox, ou_id: str) -> str:
    org = sandbox.client("organizations")
    request = org.create_account(AccountName="dev", Email="aws+dev@example.com")
    account_id = str(org.describe_create_account_status(
        CreateAccountRequestId=request["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"]["AccountId"])
    org.move_account(AccountId=account_id, SourceParentId=_root(sandbox),
                     DestinationParentId=ou_id)
    return account_id


def test_ou_with_child_ou_not_deleted(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    parent = _ou(sandbox, _root(sandbox), "Workloads")
    child = _ou(sandbox, parent, "Prod")
    error(org, "DeleteOrganizationalUnit", "OrganizationalUnitNotEmptyException",
          OrganizationalUnitId=parent)
    call(org, "DeleteOrganizationalUnit", OrganizationalUnitId=child)
    call(org, "DeleteOrganizationalUnit", OrganizationalUnitId=parent)
    assert org.list_organizational_units_for_parent(ParentId=_root(sandbox))[
        "OrganizationalUnits"] == []


def test_ou_with_closed_account_not_deleted(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    ou_id = _ou(sandbox, _root(sandbox), "Retired")
    account_id = _account_in(sandbox, ou_id)
    error(org, "DeleteOrganizationalUnit", "OrganizationalUnitNotEmptyException",
          OrganizationalUnitId=ou_id)
    call(org, "CloseAccount", AccountId=account_id)
    sandbox.control.advance_clock(1)
    assert org.describe_account(AccountId=account_id)["Account"]["State"] == "CLOSED"
    error(org, "DeleteOrganizationalUnit", "OrganizationalUnitNotEmptyException",
          OrganizationalUnitId=ou_id)
    # the account still has a parent: AWS never shows an account without one
    assert org.list_parents(ChildId=account_id)["Parents"] == [
        {"Id": ou_id, "Type": "ORGANIZATIONAL_UNIT"}]
    call(org, "MoveAccount", AccountId=account_id, SourceParentId=ou_id,
         DestinationParentId=_root(sandbox))
    call(org, "DeleteOrganizationalUnit", OrganizationalUnitId=ou_id)
    error(org, "DescribeOrganizationalUnit", "OrganizationalUnitNotFoundException",
          OrganizationalUnitId=ou_id)


def test_ou_names_unique_among_siblings_only(sandbox: Sandbox, call, error) -> None:
    org = sandbox.client("organizations")
    root = _root(sandbox)
    a = _ou(sandbox, root, "A")
    b = _ou(sandbox, root, "B")
    error(org, "CreateOrganizationalUnit", "DuplicateOrganizationalUnitException",
          ParentId=root, Name="A")
    _ou(sandbox, a, "Prod")
    _ou(sandbox, b, "Prod")  # same name, other parent: allowed in AWS
    error(org, "UpdateOrganizationalUnit", "DuplicateOrganizationalUnitException",
          OrganizationalUnitId=b, Name="A")
    renamed = call(org, "UpdateOrganizationalUnit", OrganizationalUnitId=b,
                   Name="Prod")["OrganizationalUnit"]
    assert renamed["Name"] == "Prod"
    call(org, "UpdateOrganizationalUnit", OrganizationalUnitId=a, Name="A")


def test_ou_nesting_limit_five(sandbox: Sandbox, error) -> None:
    org = sandbox.client("organizations")
    parent = _root(sandbox)
    for level in range(1, 6):
        parent = _ou(sandbox, parent, f"L{level}")
    caught = error(org, "CreateOrganizationalUnit", "ConstraintViolationException",
                   ParentId=parent, Name="L6")
    assert caught.response["Reason"] == "OU_DEPTH_LIMIT_EXCEEDED"


def test_move_account_checks_its_source_and_destination(sandbox: Sandbox, call, error) -> None:
    """MoveAccount names the parent the account is in: a stale source (someone moved it),
    a move to where it already is (a retry whose reply was lost) and an unknown destination
    are AWS's modelled errors, never a silent success."""
    org = sandbox.client("organizations")
    root = _root(sandbox)
    first = _ou(sandbox, root, "First")
    second = _ou(sandbox, root, "Second")
    account_id = _account_in(sandbox, first)
    error(org, "MoveAccount", "DuplicateAccountException", AccountId=account_id,
          SourceParentId=first, DestinationParentId=first)
    error(org, "MoveAccount", "SourceParentNotFoundException", AccountId=account_id,
          SourceParentId=root, DestinationParentId=second)
    error(org, "MoveAccount", "DestinationParentNotFoundException", AccountId=account_id,
          SourceParentId=first, DestinationParentId="ou-abcd-zzzzzzzz")
    error(org, "MoveAccount", "AccountNotFoundException", AccountId="999999999999",
          SourceParentId=first, DestinationParentId=second)
    call(org, "MoveAccount", AccountId=account_id, SourceParentId=first,
         DestinationParentId=second)
    assert org.list_parents(ChildId=account_id)["Parents"] == [
        {"Id": second, "Type": "ORGANIZATIONAL_UNIT"}]
