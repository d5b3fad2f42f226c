"""IAM account aliases and Account Management alternate contacts, with AWS's rules.

moto keeps one alias list per IAM backend and lets any number of accounts hold the same alias;
its Account Management backend knows only the caller's own account. AWS's rules, served here:

- **Aliases** (IAM User Guide, "Using an alias for your AWS account ID",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/console-account-alias.html): one alias per
  account, and CreateAccountAlias replaces it ("the new alias overwrites the previous alias");
  an alias is unique across AWS within a partition: another account's alias answers
  ``EntityAlreadyExists`` (409, IAM API Reference, CreateAccountAlias: "attempted to create a
  resource that already exists"). DeleteAccountAlias names the alias; an alias the account does
  not have answers ``NoSuchEntity``. The pattern and length are checked from botocore's model
  (``constraints.py``) before these handlers run.
- **Alternate contacts** (Account Management API Reference, Put/Get/DeleteAlternateContact):
  ``AccountId`` only from the organization's management account, for a member account, with
  trusted access for ``account.amazonaws.com`` (else ``AccessDeniedException``); the management
  account's own id as ``AccountId`` is refused ("The management account can't specify its own
  AccountId"); a type that is not set answers ``ResourceNotFoundException``. Contacts are served
  for ACTIVE accounts only: a suspended or closing member answers ``AccessDeniedException`` (AWS
  documents no code for it; organizations that manage contacts filter on ACTIVE, e.g.
  ministryofjustice/aws-root-account#345).

Calls are counted like every other (``/_orgsync/counters``).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.iam.responses import IamResponse

from reconciler.sandbox.common import aws_error, current_state
from reconciler.sandbox.protocol import Response, error_response, json_response
from reconciler.sandbox.state import SandboxState

CONTACT_OPERATIONS = ("PutAlternateContact", "GetAlternateContact", "DeleteAlternateContact")
_CONTACT_FIELDS = ("Name", "Title", "EmailAddress", "PhoneNumber")


def _list_account_aliases(self: IamResponse) -> ActionResult:
    state = current_state()
    with state.lock:
        alias = state.account_aliases.get(self.current_account)
    return ActionResult({"AccountAliases": [alias] if alias else [], "IsTruncated": False})


def _create_account_alias(self: IamResponse) -> EmptyResult:
    state = current_state()
    alias = str(self._get_param("AccountAlias"))
    with state.lock:
        holder = next((account for account, held in state.account_aliases.items()
                       if held == alias), None)
        if holder is not None and holder != self.current_account:
            raise aws_error("EntityAlreadyExists",
                            f"The account alias {alias} already exists.")
        state.account_aliases[self.current_account] = alias
    return EmptyResult()


def _delete_account_alias(self: IamResponse) -> EmptyResult:
    state = current_state()
    alias = str(self._get_param("AccountAlias"))
    with state.lock:
        if state.account_aliases.get(self.current_account) != alias:
            raise aws_error("NoSuchEntity", f"The account alias {alias} cannot be found.")
        del state.account_aliases[self.current_account]
    return EmptyResult()


def install() -> None:
    """Patch moto's IAM alias handlers (idempotent)."""
    setattr(IamResponse, "list_account_aliases", _list_account_aliases)  # noqa: B010
    setattr(IamResponse, "create_account_alias", _create_account_alias)  # noqa: B010
    setattr(IamResponse, "delete_account_alias", _delete_account_alias)  # noqa: B010


def alternate_contact(state: SandboxState, *, target: str, account: Any, operation: str,
                      params: dict[str, Any]) -> Response:
    """Put/Get/DeleteAlternateContact on ``target`` (the caller's right to it already checked;
    ``account``: the organization's account object, None for a standalone account)."""
    if account is not None:
        current = str(getattr(account, "state", None) or getattr(account, "status", "ACTIVE"))
        if current != "ACTIVE":
            return error_response("account", "AccessDeniedException",
                                  f"Account {target} is {current}: alternate contacts can be "
                                  "managed for ACTIVE accounts only.")
    kind = str(params.get("AlternateContactType") or "")
    key = (target, kind)
    with state.lock:
        if operation == "PutAlternateContact":
            contact = {name: str(params.get(name) or "") for name in _CONTACT_FIELDS}
            state.alternate_contacts[key] = {**contact, "AlternateContactType": kind}
            return 200, [("Content-Type", "application/json")], b""
        found = state.alternate_contacts.get(key)
        if found is None:
            return error_response("account", "ResourceNotFoundException",
                                  "No contact of the inputted alternate contact type found.")
        if operation == "GetAlternateContact":
            return json_response({"AlternateContact": dict(found)})
        del state.alternate_contacts[key]
        return 200, [("Content-Type", "application/json")], b""

