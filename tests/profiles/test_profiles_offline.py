"""Profile names, INI and link rendering, and the marked-block rewrite of an AWS config file.

All offline: a DesiredState built directly, and config files in a temp directory.
"""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from reconciler.errors import OrgsyncError
from reconciler.model import (
    AccessRoleSpec,
    AccountSpec,
    DesiredState,
    OrganizationSpec,
    RootCredentialsSpec,
)
from reconciler.profiles import (
    BLOCK_BEGIN,
    BLOCK_END,
    ConfigFileError,
    build_profiles,
    render,
    render_links,
    replace_block,
    slug,
    write_config_block,
)

MANAGEMENT = "123456789012"


def account(name: str, account_id: str | None, *, state: str = "active",
            role: str = "OrganizationAccountAccessRole") -> AccountSpec:
    return AccountSpec(
        name=name, email=f"aws+{slug(name) or 'x'}-{account_id}@example.com", source="created",
        id=account_id, ou="/", tags=None, state=state,  # type: ignore[arg-type]
        iam_user_access_to_billing=None, access_role=AccessRoleSpec(name=role),
        root_credentials="unmanaged", bootstrap_profile=None)


def desired(*accounts: AccountSpec) -> DesiredState:
    return DesiredState(organization=OrganizationSpec(MANAGEMENT),
                        root_credentials=RootCredentialsSpec(features=None),
                        accounts=tuple(accounts), groups=())


def test_names_are_slugs_and_skip_management_closed_and_unknown() -> None:
    state = desired(
        account("management", MANAGEMENT),
        account("Prod Payments!", "210987654321"),
        account("old", "310987654321", state="closed"),
        account("new", None),
        account("dev_team", None),
    )
    profiles = build_profiles(state, {"dev_team": "410987654321"}, prefix="Acme_")
    assert [(p.profile, p.account_id) for p in profiles] == [
        ("acme-prod-payments", "210987654321"),
        ("acme-dev-team", "410987654321"),
    ]


def test_collisions_get_account_id_suffix_independent_of_order() -> None:
    a = account("Prod", "210987654321")
    b = account("prod", "310987654321")
    c = account("staging", "410987654321")
    first = {p.account_name: p.profile for p in build_profiles(desired(a, b, c), {})}
    second = {p.account_name: p.profile for p in build_profiles(desired(c, b, a), {})}
    assert first == second == {"Prod": "prod-210987654321", "prod": "prod-310987654321",
                               "staging": "staging"}


def test_unresolvable_collision_is_an_error() -> None:
    a = account("prod", "210987654321")
    b = account("Prod", "310987654321")
    c = account("prod-210987654321", "410987654321")
    with pytest.raises(OrgsyncError, match="both get the profile name"):
        build_profiles(desired(a, b, c), {})


def test_ini_is_parseable_and_complete() -> None:
    state = desired(account("prod", "210987654321", role="Admin"), account("dev", "310987654321"))
    text = render(state, {}, source_profile="mgmt", region="eu-west-1",
                  mfa_serial="arn:aws:iam::123456789012:mfa/alice")
    assert text.startswith(f"{BLOCK_BEGIN} (organization {MANAGEMENT}; ")
    assert text.rstrip().endswith(f"{BLOCK_END} (organization {MANAGEMENT})")
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert parser.sections() == ["profile prod", "profile dev"]
    prod = parser["profile prod"]
    assert prod["role_arn"] == "arn:aws:iam::210987654321:role/Admin"
    assert prod["source_profile"] == "mgmt"
    assert prod["region"] == "eu-west-1"
    assert prod["role_session_name"] == "orgsync-prod"
    assert prod["mfa_serial"] == "arn:aws:iam::123456789012:mfa/alice"
    no_mfa = render(state, {}, source_profile="mgmt")
    assert "mfa_serial" not in no_mfa and "region = us-east-1" in no_mfa


def test_links_are_url_encoded_and_markdown_escapes() -> None:
    state = desired(account("R&D | lab", "210987654321", role="Admin+Ops"))
    profiles = build_profiles(state, {})
    link = render_links(profiles).strip()
    query = parse_qs(urlsplit(link).query)
    assert link.startswith("https://signin.aws.amazon.com/switchrole?")
    assert query == {"account": ["210987654321"], "roleName": ["Admin+Ops"],
                     "displayName": ["R&D | lab"]}
    assert "+" not in urlsplit(link).query.replace("%2B", "")
    table = render_links(profiles, markdown=True).splitlines()
    assert table[0] == "| Account | Account ID | Role | Switch role |"
    assert "R&D \\| lab" in table[2] and table[2].count(" | ") == 3


def _block(*names: str) -> str:
    state = desired(*(account(n, f"{i + 2}10987654321") for i, n in enumerate(names)))
    return render(state, {}, source_profile="default")


USER_CONFIG = """[default]
region = eu-central-1

[profile mine]
role_arn = arn:aws:iam::999999999999:role/Mine
source_profile = default
"""


def test_replace_block_appends_then_replaces_and_keeps_outside(tmp_path: Path) -> None:
    first = replace_block(USER_CONFIG, _block("prod", "dev"))
    assert first.startswith(USER_CONFIG)
    second = replace_block(first, _block("prod"))
    assert second.count(BLOCK_BEGIN) == 1 and second.count(BLOCK_END) == 1
    assert "[profile dev]" not in second and "[profile prod]" in second
    assert second.startswith(USER_CONFIG)
    assert replace_block(second, _block("prod")) == second
    trailing = second + "\n[profile after]\nregion = us-west-2\n"
    third = replace_block(trailing, _block("dev"))
    assert third.endswith("\n[profile after]\nregion = us-west-2\n")
    assert "[profile dev]" in third and "[profile prod]" not in third
    parser = configparser.RawConfigParser()
    parser.read_string(third)  # strict: duplicate sections would raise


def test_two_pasted_blocks_become_one() -> None:
    text = USER_CONFIG + "\n" + _block("a") + "\n[profile x]\nregion = us-east-2\n" + _block("b")
    result = replace_block(text, _block("c"))
    assert result.count(BLOCK_BEGIN) == 1
    assert result.index("[profile c]") < result.index("[profile x]")
    assert "[profile a]" not in result and "[profile b]" not in result


@pytest.mark.parametrize("broken", [
    USER_CONFIG + BLOCK_BEGIN + "\n[profile a]\n",
    USER_CONFIG + BLOCK_END + "\n",
    BLOCK_BEGIN + "\n" + BLOCK_BEGIN + "\n" + BLOCK_END + "\n",
])
def test_broken_markers_are_refused(broken: str) -> None:
    with pytest.raises(ConfigFileError, match="fix the file by hand"):
        replace_block(broken, _block("prod"))


def test_name_clash_with_profile_outside_block_is_refused() -> None:
    with pytest.raises(ConfigFileError, match="profile 'mine' exists outside"):
        replace_block(USER_CONFIG, _block("mine"))
    with pytest.raises(ConfigFileError, match="profile 'default' exists outside"):
        replace_block(USER_CONFIG, _block("default"))


def test_write_is_atomic_keeps_mode_and_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real-config"
    real.write_text(USER_CONFIG)
    os.chmod(real, 0o640)
    link = tmp_path / "config"
    link.symlink_to(real)
    write_config_block(link, _block("prod"))
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert "[profile prod]" in real.read_text()
    assert [p.name for p in tmp_path.iterdir() if "orgsync-tmp" in p.name] == []
    fresh = tmp_path / "sub" / "new-config"
    write_config_block(fresh, _block("dev"))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert fresh.read_text() == _block("dev")
