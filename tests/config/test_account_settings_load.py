"""accounts[].alias and accounts[].contacts as the loader resolves them: an absent key is "not
managed" (None), ``null`` is "none" (NO_ALIAS, a contact type mapped to None), and a value is kept
exactly; the alias pattern is IAM's own (botocore's ``accountAliasType``)."""

from __future__ import annotations

import re

import pytest

from reconciler.config import load_text, schema
from reconciler.errors import ConfigError
from reconciler.model import NO_ALIAS, ContactSpec

HEAD = """version: 1
organization: {management_account_id: "123456789012"}
accounts:
"""


def test_absent_null_and_values() -> None:
    desired = load_text(HEAD + """\
  - name: prod
    email: aws+prod@example.com
    alias: acme-prod
    contacts:
      security: {name: Sec Team, title: SecOps, email: sec@example.com, phone: "+1 555 0100"}
      billing: null
  - name: dev
    email: aws+dev@example.com
    alias: null
  - name: root
    email: aws+root@example.com
    id: "123456789012"
    alias: acme-root
    contacts: {}
""", filename="accounts.yaml")
    prod, dev, root = desired.accounts
    assert prod.alias == "acme-prod"
    assert prod.contacts is not None and dict(prod.contacts) == {
        "security": ContactSpec("Sec Team", "SecOps", "sec@example.com", "+1 555 0100"),
        "billing": None}
    assert dev.alias == NO_ALIAS and dev.contacts is None
    assert root.alias == "acme-root" and root.contacts is not None and not root.contacts


def test_file_without_the_keys_manages_neither() -> None:
    desired = load_text(HEAD + "  - {name: prod, email: aws+prod@example.com}\n",
                        filename="accounts.yaml")
    assert desired.accounts[0].alias is None and desired.accounts[0].contacts is None


def test_schema_alias_pattern_is_iams() -> None:
    # botocore iam model, accountAliasType (IAM API Reference, CreateAccountAlias)
    assert schema()["$defs"]["accountAlias"]["pattern"] == \
        "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"


@pytest.mark.parametrize(("alias", "ok"), [
    ("abc", True), ("a-b-c", True), ("123456789012", True), ("a" * 63, True),
    ("ab", False), ("a" * 64, False), ("-abc", False), ("abc-", False), ("a--b", False),
    ("Abc", False), ("a_b", False), ("a.b", False),
])
def test_alias_values(alias: str, ok: bool) -> None:
    text = HEAD + f"  - {{name: prod, email: aws+prod@example.com, alias: '{alias}'}}\n"
    if ok:
        assert load_text(text, filename="a.yaml").accounts[0].alias == alias
    else:
        with pytest.raises(ConfigError) as caught:
            load_text(text, filename="a.yaml")
        assert re.search(r"a\.yaml:4:\d+: accounts\[0\]\.alias: ", str(caught.value))


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("name", "x" * 64, True), ("name", "x" * 65, False), ("title", "t" * 50, True),
    ("title", "t" * 51, False), ("email", "a.b+c@mail.example.co", True),
    ("email", "a@b", False), ("email", "a" * 250 + "@b.io", False), ("phone", "(555) 010-0", True),
    ("phone", "+" * 3, False), ("phone", "1" * 26, False),
])
def test_contact_field_limits(field: str, value: str, ok: bool) -> None:
    contact = {"name": "N", "title": "T", "email": "n@example.com", "phone": "1"}
    contact[field] = value
    inline = ", ".join(f"{k}: '{v}'" for k, v in contact.items())
    text = HEAD + ("  - name: prod\n    email: aws+prod@example.com\n"
                   f"    contacts:\n      security: {{{inline}}}\n")
    if ok:
        spec = load_text(text, filename="a.yaml").accounts[0].contacts
        assert spec is not None and getattr(spec["security"], field) == value
    else:
        with pytest.raises(ConfigError) as caught:
            load_text(text, filename="a.yaml")
        assert f"accounts[0].contacts.security.{field}: " in str(caught.value)
