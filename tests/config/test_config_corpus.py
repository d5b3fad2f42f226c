"""One broken file per class of mistake: each must fail with exactly its one diagnostic, at the
right line and column, through load() and (for a sample) through the real ``orgsync`` command.

The table is the specification: (file in corpus/ without .yaml, line, column, path, message start).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load
from reconciler.config.source import MAX_BYTES, TIMEOUT_ENV
from reconciler.errors import ConfigError

CORPUS = Path(__file__).parent / "corpus"

EXPECTED: list[tuple[str, int, int, str, str]] = [
    ("alias_double_hyphen", 7, 12, "accounts[0].alias",
     "'acme--prod' is not a valid account alias (3-63 lowercase letters, digits and hyphens; no "
     "hyphen first, last or twice in a row)"),
    ("alias_duplicate", 10, 12, "accounts[1].alias",
     "account alias 'acme-prod' is already used by accounts[0] (line 5)"),
    ("alias_on_closed_account", 8, 5, "accounts[0].alias",
     "alias cannot be managed on a closed account"),
    ("contact_bad_email", 8, 51, "accounts[0].contacts.security.email",
     "'sec at example.com' is not a valid contact email address"),
    ("contact_phone_not_quoted", 8, 73, "accounts[0].contacts.billing.phone",
     'expected a string, got the number 5550100 (put it in quotes: "5550100")'),
    ("contact_bad_phone", 8, 74, "accounts[0].contacts.operations.phone",
     "'call me' is not a valid phone number"),
    ("contact_missing_title", 8, 17, "accounts[0].contacts.security",
     "missing required key 'title'"),
    ("contact_unknown_type", 8, 7, "accounts[0].contacts.legal",
     "unknown key 'legal' (allowed: billing, operations, security)"),
    ("account_name_not_ascii", 5, 11, "accounts[0].name",
     "'prød' is not a valid account name (1-50 printab"),
    ("account_name_angle_bracket", 5, 11, "accounts[0].name",
     "account name '<prod>' holds < or >, which AWS refuses in account names (Account "
     "Management PutAccountName allows printable ASCII except < and >)"),
    ("account_name_star", 5, 11, "accounts[0].name",
     "'*' cannot be an account name: in grants it mean"),
    ("account_name_too_long", 5, 11, "accounts[0].name",
     "is not a valid account name (1-50 printable ASCI"),
    ("bad_account_id", 7, 9, "accounts[0].id",
     "'21098765432' is not a 12-digit AWS account id ("),
    ("bad_email", 6, 12, "accounts[0].email",
     "'bob@' is not a valid email address (6-64 ASCII"),
    ("bad_management_id", 3, 26, "organization.management_account_id",
     "'12345678901x' is not a 12-digit AWS account id"),
    ("bad_policy_arn", 8, 18, "accounts[0].access_role.policies[0]",
     "'arn:aws:iam::aws:AdministratorAccess' is not a"),
    ("bad_role_name", 8, 13, "accounts[0].access_role.name",
     "'Admin Role' is not a valid IAM role name (1-64"),
    ("bad_source", 7, 13, "accounts[0].source",
     "'imported' is not one of: created, invited"),
    ("bad_state", 7, 12, "accounts[0].state",
     "'suspended' is not one of: active, closed"),
    ("bootstrap_profile_on_created", 7, 5, "accounts[0].bootstrap_profile",
     "bootstrap_profile is only for invited accounts ("),
    ("close_management_account", 10, 12, "accounts[1].state",
     "the management account cannot be closed"),
    ("duplicate_account_id", 10, 9, "accounts[1].id",
     "account id '210987654321' is already used by acc"),
    ("duplicate_account_name", 7, 11, "accounts[1].name",
     "account name 'prod' is already used by accounts["),
    ("duplicate_email_case", 8, 12, "accounts[1].email",
     "email 'AWS+Prod@Example.com' is already used by"),
    ("duplicate_key_nested", 7, 5, "accounts[0].email",
     "duplicate key 'email': first at line 6, column 5"),
    ("duplicate_key_top", 7, 1, "version",
     "duplicate key 'version': first at line 1, column"),
    ("email_too_long", 6, 12, "accounts[0].email",
     "is not a valid email address (6-64 ASCII charact"),
    ("empty_file", 1, 1, "",
     "the file is empty"),
    ("grant_accounts_not_list", 10, 19, "groups[0].assume[0].accounts",
     "expected a list, got the string 'prod'"),
    ("grant_bad_cidr", 11, 22, "groups[0].assume[0].source_ips[0]",
     "'203.0.113.0/33' is not an IPv4 or IPv6 address"),
    ("grant_bad_role", 11, 15, "groups[0].assume[0].role",
     "'arn:aws:iam::1:role/x' is not a valid IAM role"),
    ("grant_cidr_host_bits", 11, 22, "groups[0].assume[0].source_ips[0]",
     "'203.0.113.7/24' has host bits set; did you mean"),
    ("grant_closed_account", 11, 20, "groups[0].assume[0].accounts[0]",
     "account 'prod' is closed: a grant cannot name a"),
    ("grant_management_account", 13, 20, "groups[0].assume[0].accounts[0]",
     "account 'management' is the management account:"),
    ("grant_missing_accounts", 10, 9, "groups[0].assume[0]",
     "missing required key 'accounts'"),
    ("grant_no_accounts", 10, 19, "groups[0].assume[0].accounts",
     "needs at least 1 item"),
    ("grant_unknown_account", 10, 26, "groups[0].assume[0].accounts[1]",
     "unknown account 'prdo' (no such name under accounts); did you mean 'prod'?"),
    ("grant_unknown_key", 11, 9, "groups[0].assume[0].mfa",
     "unknown key 'mfa' (allowed: accounts, require_mf"),
    ("grant_wildcard_mixed", 10, 26, "groups[0].assume[0].accounts[1]",
     "'*' already means every active member account: l"),
    ("group_bad_member", 9, 22, "groups[0].members[1]",
     "'bob smith' is not a valid IAM user name (1-64 l"),
    ("group_bad_name", 8, 11, "groups[0].name",
     "'prod admins' is not a valid IAM group name (1-1"),
    ("group_name_policy_too_long", 8, 11, "groups[0].name",
     "group name 'platform-aaaaaaaaaaa'... is 111 characters: its grant policy names "
     "(orgsync-platform-aaaaaaaaaaa...) would pass IAM's 128-character limit for policy names; "
     "use at most 110 characters"),
    ("group_bad_path", 9, 11, "groups[0].path",
     "'orgsync' is not a valid IAM path (starts and en"),
    ("group_duplicate_name_case", 9, 11, "groups[1].name",
     "group name 'Admins' is already used by groups[0]"),
    ("group_member_case", 9, 22, "groups[0].members[1]",
     "'Alice' and 'alice' are the same IAM user (IAM u"),
    ("group_member_duplicate", 9, 27, "groups[0].members[2]",
     "'alice' is listed more than once"),
    ("group_path_lock", 9, 11, "groups[0].path",
     "path '/orgsync-lock/' is reserved for orgsync's"),
    ("group_path_root", 9, 11, "groups[0].path",
     "path '/' would make orgsync own (and delete) eve"),
    ("invited_without_id", 7, 13, "accounts[0].source",
     "an invited account needs its 'id' (the 12-digit"),
    ("missing_email", 5, 5, "accounts[0]",
     "missing required key 'email'"),
    ("not_a_mapping", 1, 1, "",
     "expected a mapping (key: value), got a list"),
    ("ou_empty_segment", 7, 9, "accounts[0].ou",
     "OU path '/Workloads//Prod' has an empty OU name"),
    ("ou_name_too_long", 7, 9, "accounts[0].ou",
     "OU name 'WWWWWWWWWWWWWWWWWWWW'... is longer than"),
    ("ou_too_deep", 7, 9, "accounts[0].ou",
     "OU path '/A/B/C/D/E/F' is 6 levels deep; AWS Organizations allows 5 levels"),
    ("ou_no_leading_slash", 7, 9, "accounts[0].ou",
     "'Workloads/Prod' is not an OU path: it starts wi"),
    ("root_credentials_on_management", 10, 5, "accounts[1].root_credentials",
     "root_credentials never applies to the management"),
    ("root_default_bad", 5, 12, "root_credentials.default",
     "'deleted' is not one of: absent, password_recove"),
    ("root_default_without_feature", 6, 12, "root_credentials.default",
     "'password_recovery' needs the features RootCredentialsManagement and RootSessions"),
    ("root_features_duplicate", 5, 28, "root_credentials.features[1]",
     "'RootSessions' is listed more than once"),
    ("root_features_unknown", 5, 41, "root_credentials.features[1]",
     "'RootPasswords' is not one of: RootCredentialsMa"),
    ("delegated_admin_unknown_account", 5, 20, "root_credentials.delegated_admin",
     "unknown account 'secrity' (no such name under accounts); did you mean 'security'?"),
    ("delegated_admin_management", 5, 20, "root_credentials.delegated_admin",
     "account 'management' is the management account: IAM's delegated administrator"),
    ("root_override_without_feature", 9, 23, "accounts[0].root_credentials",
     "'absent' needs the features RootCredentialsManagement and RootSessions"),
    ("tag_key_aws_prefix", 7, 12, 'accounts[0].tags["aws:team"]',
     "tag key 'aws:team': the aws: prefix is reserved"),
    ("tag_key_bad_characters", 7, 12, 'accounts[0].tags["team<1>"]',
     "tag key 'team<1>' may only hold letters, numbers, spaces and _.:/=+-@"),
    ("tag_value_too_long", 7, 18, "accounts[0].tags.team",
     "must be at most 256 characters long"),
    ("tag_value_bad_characters", 7, 18, "accounts[0].tags.team",
     "tag value 'pay#ments' may only hold letters, num"),
    ("unknown_account_key", 7, 5, "accounts[0].emial",
     "unknown key 'emial'; did you mean 'email'?"),
    ("unknown_top_key", 4, 1, "acounts",
     "unknown key 'acounts'; did you mean 'accounts'?"),
    ("unquoted_account_id", 7, 9, "accounts[0].id",
     "expected a string, got the number 210987654321 ("),
    ("version_missing", 1, 1, "",
     "missing required key 'version'"),
    ("version_wrong", 1, 10, "version",
     "unsupported format version 2: this orgsync reads"),
    ("wrong_type_bool", 8, 20, "accounts[0].access_role.require_mfa",
     "expected true or false, got the string 'yes plea"),
    ("wrong_type_tag_value_number", 7, 25, "accounts[0].tags.cost-center",
     "expected a string, got the number 4711 (put it i"),
    ("wrong_type_tags_list", 7, 11, "accounts[0].tags",
     "expected a mapping (key: value), got a list"),
    # encodings, escapes (issue 19): one decoding for every command, every echo escaped
    ("crlf_bom_bad_email", 6, 12, "accounts[0].email",
     "'bob@' is not a valid email address (6-64 ASCII"),
    ("encoding_latin1", 7, 22, "",
     "the file is not UTF-8 text"),
    ("encoding_utf16", 1, 1, "",
     "the file is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8"),
    ("escape_in_tag_key", 7, 12, 'accounts[0].tags["\\x1b]0;pwned\\x07\\x1b[2J"]',
     "tag key '\\x1b]0;pwned\\x07\\x1b[2J' may only hold letters"),
    ("line_separator_in_tag_value", 7, 18, "accounts[0].tags.team",
     "tag value 'pay\\u2028ments\\x85and\\u2029more' may only hold"),
    ("yaml_alias_bomb", 1, 1, "",
     "aliases expand the document beyond 1,000,000 nod"),
    ("yaml_multiple_documents", 7, 1, "",
     "YAML syntax error: expected a single document in"),
    ("yaml_recursive_alias", 1, 1, "",
     "an alias refers to a node that contains it (recu"),
    ("yaml_syntax_bad_indent", 7, 4, "",
     "YAML syntax error: did not find expected '-' ind"),
    ("yaml_syntax_missing_colon", 5, 9, "",
     "YAML syntax error: could not find expected ':' ("),
    ("yaml_syntax_unclosed_quote", 7, 1, "",
     "YAML syntax error: found unexpected end of strea"),
    ("yaml_unsupported_tag", 7, 18, "accounts[0].tags.team",
     "unsupported YAML tag !secret"),
]


def test_every_corpus_file_has_an_expectation() -> None:
    on_disk = {path.stem for path in CORPUS.glob("*.yaml")}
    assert on_disk == {row[0] for row in EXPECTED}
    assert len(on_disk) >= 30


@pytest.mark.parametrize(("name", "line", "column", "path", "start"), EXPECTED,
                         ids=[row[0] for row in EXPECTED])
def test_broken_file_gives_its_diagnostic(
    name: str, line: int, column: int, path: str, start: str
) -> None:
    file = CORPUS / f"{name}.yaml"
    with pytest.raises(ConfigError) as caught:
        load(file)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == (str(file), line, column)
    where = f"{path}: " if path else ""
    shown = str(diagnostic)
    assert shown.startswith(f"{file}:{line}:{column}: {where}")
    assert start in shown
    # one line, and nothing a terminal would act on
    assert shown.isprintable(), repr(shown)


@pytest.mark.parametrize("name", ["yaml_syntax_missing_colon", "duplicate_key_nested",
                                  "unknown_account_key", "grant_unknown_account",
                                  "root_override_without_feature"])
def test_cli_prints_the_diagnostic_and_exits_1(name: str) -> None:
    row = next(row for row in EXPECTED if row[0] == name)
    file = CORPUS / f"{name}.yaml"
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "validate", "-f", str(file)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"{file}:{row[1]}:{row[2]}: ")
    assert row[4] in line
    assert "Traceback" not in done.stderr


def test_reserved_group_paths_include_the_apply_lock_path() -> None:
    from reconciler.config.semantics import RESERVED_GROUP_PATHS
    from reconciler.lock import LOCK_PATH

    assert LOCK_PATH in RESERVED_GROUP_PATHS


# Special files and sizes cannot live in corpus/: each test makes its own, then expects exactly
# one line through the real CLI, quickly (the read bound is lowered for the FIFO).
def _fifo_without_writer(tmp_path: Path) -> str:
    path = tmp_path / "accounts.yaml"
    os.mkfifo(path)
    return str(path)


def _too_large(tmp_path: Path) -> str:
    path = tmp_path / "accounts.yaml"
    with open(path, "wb") as stream:  # sparse: no 16 MiB of test data on disk
        stream.truncate(MAX_BYTES + 1)
    return str(path)


def _directory(tmp_path: Path) -> str:
    (tmp_path / "accounts.yaml").mkdir()
    return str(tmp_path / "accounts.yaml")


SPECIAL: list[tuple[str, Any, str]] = [
    ("dev_zero", lambda _tmp: "/dev/zero",
     "/dev/zero:1:1: the file is larger than 16 MiB (16,777,216 bytes), the limit for a "
     "desired-state file"),
    ("dev_null", lambda _tmp: "/dev/null", "/dev/null:1:1: the file is empty"),
    ("fifo_without_writer", _fifo_without_writer,
     "{path}:1:1: no end of the data within 1 s (a pipe, FIFO or terminal that nobody finishes "
     "writing to?); nothing was read"),
    ("too_large", _too_large,
     "{path}:1:1: the file is larger than 16 MiB (16,777,216 bytes), the limit for a "
     "desired-state file"),
    ("missing", lambda tmp: str(tmp / "nope.yaml"),
     "{path}:1:1: cannot read the file: No such file or directory"),
]


@pytest.mark.parametrize(("name", "make", "expected"), SPECIAL, ids=[r[0] for r in SPECIAL])
def test_special_file_gives_one_line(tmp_path: Path, name: str, make: Any,
                                     expected: str) -> None:
    path = make(tmp_path)
    env = {**os.environ, TIMEOUT_ENV: "1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "validate", "-f", path],
                          capture_output=True, text=True, check=False, env=env, timeout=60)
    assert time.monotonic() - started < 50
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [expected.format(path=path)]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    path = _directory(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:1:1: cannot read the file: it is a directory"
