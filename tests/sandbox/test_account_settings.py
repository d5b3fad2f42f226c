"""IAM account aliases and Account Management alternate contacts in the sandbox, with AWS's rules:
one alias per account (CreateAccountAlias replaces it), unique across accounts
(EntityAlreadyExists), DeleteAccountAlias of an alias the account does not have (NoSuchEntity);
contacts with AccountId only from the management account, for members, with trusted access, never
the management account's own id, ACTIVE accounts only; every response and error checked against
botocore's models, every call counted."""

from __future__ import annotations

from reconciler.sandbox import Sandbox
from tests.sandbox.member_accounts import admin_client, new_member

MANAGEMENT = "123456789012"
CONTACT = {"Name": "Sec Team", "Title": "SecOps", "EmailAddress": "sec@example.com",
           "PhoneNumber": "+1 555 0100"}


def _aliases(call, iam) -> list[str]:
    return list(call(iam, "ListAccountAliases")["AccountAliases"])


def test_alias_is_one_per_account_and_unique_across_accounts(
        sandbox: Sandbox, call, error, as_session) -> None:
    one = admin_client(sandbox, call, as_session, new_member(sandbox, call, "one"), "iam")
    two = admin_client(sandbox, call, as_session, new_member(sandbox, call, "two"), "iam")
    management = sandbox.client("iam")
    assert _aliases(call, one) == []
    call(one, "CreateAccountAlias", AccountAlias="acme-one")
    call(one, "CreateAccountAlias", AccountAlias="acme-one")  # its own alias again: no error
    assert _aliases(call, one) == ["acme-one"]
    error(two, "CreateAccountAlias", "EntityAlreadyExists", AccountAlias="acme-one")
    error(management, "CreateAccountAlias", "EntityAlreadyExists", AccountAlias="acme-one")
    # a new alias replaces the old one, which anyone may then take
    call(one, "CreateAccountAlias", AccountAlias="acme-first")
    assert _aliases(call, one) == ["acme-first"]
    call(two, "CreateAccountAlias", AccountAlias="acme-one")
    assert _aliases(call, two) == ["acme-one"]
    assert _aliases(call, management) == []
    error(one, "DeleteAccountAlias", "NoSuchEntity", AccountAlias="acme-one")
    call(one, "DeleteAccountAlias", AccountAlias="acme-first")
    assert _aliases(call, one) == []
    error(one, "DeleteAccountAlias", "NoSuchEntity", AccountAlias="acme-first")
    counters = sandbox.control.counters()
    assert counters["iam.CreateAccountAlias"] >= 6 and counters["iam.DeleteAccountAlias"] == 3


def test_alias_pattern_is_the_models(sandbox: Sandbox, call, error) -> None:
    iam = sandbox.client("iam")
    for bad in ("acme--prod", "-acme", "acme-", "Acme"):
        caught = error(iam, "CreateAccountAlias", None, AccountAlias=bad)
        assert caught.response["Error"]["Code"] in ("ValidationError", "InvalidInput")
    call(iam, "CreateAccountAlias", AccountAlias="acme-root")
    assert _aliases(call, iam) == ["acme-root"]


def test_alias_is_reset_with_the_sandbox(sandbox: Sandbox, call) -> None:
    iam = sandbox.client("iam")
    assert _aliases(call, iam) == []


def test_contacts_from_the_management_account(sandbox: Sandbox, call, error) -> None:
    member = new_member(sandbox, call, "prod")
    account = sandbox.client("account")
    error(account, "GetAlternateContact", "ResourceNotFoundException",
          AccountId=member, AlternateContactType="SECURITY")
    call(account, "PutAlternateContact", AccountId=member, AlternateContactType="SECURITY",
         **CONTACT)
    got = call(account, "GetAlternateContact", AccountId=member,
               AlternateContactType="SECURITY")["AlternateContact"]
    assert got == {**CONTACT, "AlternateContactType": "SECURITY"}
    # the management account's own contacts: without AccountId, never with its own id
    error(account, "GetAlternateContact", "ResourceNotFoundException",
          AlternateContactType="SECURITY")
    error(account, "PutAlternateContact", "ValidationException", AccountId=MANAGEMENT,
          AlternateContactType="BILLING", **CONTACT)
    call(account, "PutAlternateContact", AlternateContactType="BILLING", **CONTACT)
    assert call(account, "GetAlternateContact",
                AlternateContactType="BILLING")["AlternateContact"]["Name"] == "Sec Team"
    error(account, "GetAlternateContact", "ResourceNotFoundException", AccountId=member,
          AlternateContactType="BILLING")
    call(account, "DeleteAlternateContact", AccountId=member, AlternateContactType="SECURITY")
    error(account, "DeleteAlternateContact", "ResourceNotFoundException", AccountId=member,
          AlternateContactType="SECURITY")
    counters = sandbox.control.counters()
    assert counters["account.PutAlternateContact"] == 3
    assert counters["account.GetAlternateContact"] == 5


def test_contacts_need_trusted_access_and_the_management_account(
        sandbox: Sandbox, call, error, as_session) -> None:
    member, other = new_member(sandbox, call, "prod"), new_member(sandbox, call, "dev")
    # a member may manage its own contacts (no AccountId), not another account's
    inside = admin_client(sandbox, call, as_session, member, "account")
    call(inside, "PutAlternateContact", AlternateContactType="OPERATIONS", **CONTACT)
    error(inside, "PutAlternateContact", "AccessDeniedException", AccountId=other,
          AlternateContactType="OPERATIONS", **CONTACT)
    account = sandbox.client("account")
    assert call(account, "GetAlternateContact", AccountId=member,
                AlternateContactType="OPERATIONS")["AlternateContact"]["Title"] == "SecOps"
    call(sandbox.client("organizations"), "DisableAWSServiceAccess",
         ServicePrincipal="account.amazonaws.com")
    caught = error(account, "GetAlternateContact", "AccessDeniedException", AccountId=member,
                   AlternateContactType="OPERATIONS")
    assert "trusted access" in caught.response["Error"]["Message"]
    # the management account's own contacts need no trusted access
    call(account, "PutAlternateContact", AlternateContactType="SECURITY", **CONTACT)


def test_contacts_only_for_active_accounts(sandbox: Sandbox, call, error) -> None:
    member = new_member(sandbox, call, "leaving")
    account = sandbox.client("account")
    call(account, "PutAlternateContact", AccountId=member, AlternateContactType="SECURITY",
         **CONTACT)
    call(sandbox.client("organizations"), "CloseAccount", AccountId=member)
    caught = error(account, "PutAlternateContact", "AccessDeniedException", AccountId=member,
                   AlternateContactType="SECURITY", **CONTACT)
    assert "ACTIVE" in caught.response["Error"]["Message"]
    error(account, "GetAlternateContact", "AccessDeniedException", AccountId=member,
          AlternateContactType="SECURITY")


def test_contact_fields_are_checked_against_the_model(sandbox: Sandbox, error) -> None:
    account = sandbox.client("account")
    for field, bad in (("PhoneNumber", "call me"), ("EmailAddress", "no-at-sign"),
                       ("Title", "t" * 51), ("Name", "n" * 65)):
        error(account, "PutAlternateContact", "ValidationException",
              AlternateContactType="SECURITY", **{**CONTACT, field: bad})
