"""``orgsync profiles --format sso``: AWS CLI profiles that sign in through IAM Identity Center.

One ``[sso-session NAME]`` section and one profile per (account, permission set) a user can reach
(their own assignments and those of the groups they are in), or every pair that any assignment
gives when no user is named. The AWS CLI's format (AWS CLI User Guide, "Configuring IAM Identity
Center authentication with the AWS CLI": ``sso_session``, ``sso_account_id``, ``sso_role_name``
in the profile; ``sso_start_url``, ``sso_region``, ``sso_registration_scopes`` in the
``sso-session`` section). The default start URL is the identity store's AWS access portal,
``https://<identity store id>.awsapps.com/start`` (IAM Identity Center User Guide, "Customizing
the AWS access portal URL"); ``--sso-start-url`` names another.

Pure: the command reads AWS and hands the pairs here; the text goes in orgsync's managed block of
the config file like the other profile formats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.profiles import block_markers, slug

SSO_SESSION = "orgsync"
SCOPES = "sso:account:access"
IDENTITY_CENTER_KEY = "identity-center"  # the block's key after the management account id


@dataclass(frozen=True)
class SsoProfile:
    profile: str
    account_name: str
    account_id: str
    permission_set: str


def start_url(identity_store_id: str) -> str:
    return f"https://{identity_store_id}.awsapps.com/start"


def build_sso_profiles(pairs: Iterable[tuple[str, str, str]], *,
                       prefix: str = "") -> list[SsoProfile]:
    """One profile per (account name, account id, permission set), named
    ``[prefix]ACCOUNT-PERMISSIONSET`` (slugged), sorted by name."""
    profiles = {}
    for account_name, account_id, permission_set in pairs:
        name = slug(f"{prefix}{account_name}-{permission_set}")
        profiles[name] = SsoProfile(name, account_name, account_id, permission_set)
    return [profiles[k] for k in sorted(profiles)]


def render_sso(profiles: Iterable[SsoProfile], *, sso_start_url: str, sso_region: str,
               region: str, session: str = SSO_SESSION, source_file: str = "accounts.yaml",
               user: str | None = None, organization: str | None = None) -> str:
    """The managed block (its own, beside the access-role profiles' block of the same
    organization): the ``sso-session`` section (``orgsync-<management account id>``: one per
    organization), then one profile per pair."""
    if organization and session == SSO_SESSION:
        session = f"{SSO_SESSION}-{organization}"
    who = f" for {user}" if user else ""
    begin, end = block_markers(f"{organization} {IDENTITY_CENTER_KEY}" if organization else None)
    keyed = "; " if organization else " ("
    lines = [f"{begin}{keyed}from {source_file}{who}; orgsync rewrites this block)",
             f"[sso-session {session}]",
             f"sso_start_url = {sso_start_url}",
             f"sso_region = {sso_region}",
             f"sso_registration_scopes = {SCOPES}",
             ""]
    for profile in profiles:
        lines += [f"[profile {profile.profile}]",
                  f"# account {profile.account_name} ({profile.account_id}), permission set "
                  f"{profile.permission_set}",
                  f"sso_session = {session}",
                  f"sso_account_id = {profile.account_id}",
                  f"sso_role_name = {profile.permission_set}",
                  f"region = {region}",
                  ""]
    lines.append(end)
    return "\n".join(lines) + "\n"
