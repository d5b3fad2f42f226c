"""A member account for the sandbox's conformance tests, made and entered through the ``call``
fixture (every response checked against botocore's model), so the set-up calls are checked too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.sandbox import Sandbox

ROLE = "OrganizationAccountAccessRole"


def new_member(sandbox: Sandbox, call: Callable[..., dict[str, Any]],
               name: str = "member") -> str:
    """CreateAccount ``name`` (aws+<name>@example.com) and its id (the sandbox's default create
    delay is none: the first DescribeCreateAccountStatus answers SUCCEEDED)."""
    org = sandbox.client("organizations")
    status = call(org, "CreateAccount", AccountName=name,
                  Email=f"aws+{name}@example.com")["CreateAccountStatus"]
    done = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])
    return str(done["CreateAccountStatus"]["AccountId"])


def admin_client(sandbox: Sandbox, call: Callable[..., dict[str, Any]],
                 as_session: Callable[[str, dict[str, Any]], Any], account_id: str,
                 service: str) -> Any:
    """A ``service`` client in ``account_id`` as the management admin's session of its access
    role (AssumeRole checked)."""
    creds = call(sandbox.client("sts"), "AssumeRole", RoleSessionName="admin",
                 RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}")["Credentials"]
    return as_session(service, creds)
