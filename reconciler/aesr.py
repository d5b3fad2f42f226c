"""The aws-extend-switch-roles (AESR) browser extension's configuration for the member accounts.

People switch roles in the console all day; the extension lists every role from a pasted INI
text, which orgsync can generate from the file instead of people keeping it by hand (the
extension's issue #204 asks for exactly that). Its dialect (the extension's ``aesr-config``
parser, ``src/ini-parser.ts`` and ``src/config-loader.ts``, github.com/tilfinltd/aesr-config):

- a ``[name]`` header (``profile `` is stripped) starts a profile; ``;`` or ``#`` starts a
  comment *anywhere* in a line, so no value or name may contain them; a key may appear once;
- a profile with ``aws_account_id`` and no ``role_name`` is a *base account*: the account the
  user signs in to (here the management account, where the groups' IAM users live); its
  ``target_role_name`` is the role of every target that gives none; targets name the base in
  ``source_profile`` and are shown only when the user is signed in to that base account;
- a target has ``aws_account_id``, ``role_name`` (or the base's ``target_role_name``) and an
  optional ``color`` (six hex digits, no ``#``).

Size: the extension stores the text LZ-string compressed (``compressToUTF16``) in the browser's
*sync* storage by default, split into at most 8 items of 2,700 characters (the extension's
``src/js/lib/compressed_text_splitter.js``; Chrome's ``storage.sync`` allows 8,192 bytes per item).
Past 21,600 compressed characters it refuses to save ("Configuration is too large to save"),
unless the user switches its "Configuration storage" setting (``configStorageArea``) to *local*.
``compressed_size`` computes that length exactly, so the command can warn before the paste fails.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.model import DesiredState
    from reconciler.profiles import AccountProfile

# compressed_text_splitter.js: sync storage holds 8 items of 2,700 UTF-16 characters.
SYNC_ITEM_CHARS = 2700
SYNC_MAX_ITEMS = 8
SYNC_LIMIT = SYNC_ITEM_CHARS * SYNC_MAX_ITEMS


def base_profile_name(management_account_id: str) -> str:
    return f"organization-{management_account_id}"


def color_for(key: str) -> str:
    """A stable colour for an OU path or tag value: the hue comes from the key's digest, so
    an account keeps its colour when other OUs come and go (hex without ``#``, as AESR wants)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.45, 0.65)
    return "".join(f"{round(c * 255):02x}" for c in (red, green, blue))


def check_color_by(color_by: str) -> None:
    from reconciler.errors import OrgsyncError

    if color_by == "ou" or (color_by.startswith("tag:") and len(color_by) > 4):
        return
    raise OrgsyncError(f"--color-by {color_by!r}: use ou or tag:KEY (a tag key of the accounts)")


def _color(profile: AccountProfile, color_by: str) -> str | None:
    if color_by == "ou":
        return color_for("ou:" + profile.ou)
    value = (profile.tags or {}).get(color_by[4:])
    return None if value is None else color_for(f"tag:{color_by[4:]}={value}")


def _clean(text: str) -> str:
    """A name or value the extension's parser reads back as written: no comment characters,
    brackets or line breaks."""
    cleaned = "".join(" " if c in ";#[]=" or not c.isprintable() else c for c in text)
    return " ".join(cleaned.split())


def render_aesr(profiles: Iterable[AccountProfile], *, desired: DesiredState,
                color_by: str = "ou") -> str:
    """The configuration to paste into the extension: one base account section for the
    management account, then one compact section per account and role (the access role's
    ``role_name`` is left to the base's ``target_role_name`` where it is the organization's)."""
    check_color_by(color_by)
    management = desired.organization.management_account_id
    base = base_profile_name(management)
    default_role = desired.organization.access_role
    lines = [f"; orgsync: aws-extend-switch-roles configuration, organization {management}, "
             f"from {_clean(desired.source_file)}",
             f"[{base}]", f"aws_account_id = {management}"]
    # The extension matches the base account by id or by the alias the console shows for it
    # (its README: an aliased base account is known by its alias; aesr-config's
    # ``aws_account_alias``).
    alias = next((a.alias for a in desired.accounts if a.id == management and a.alias), None)
    if alias:
        lines.append(f"aws_account_alias = {alias}")
    lines.append(f"target_role_name = {default_role}")
    for profile in profiles:
        lines.append(f"[{_clean(profile.display_name)}]")
        lines.append(f"aws_account_id = {profile.account_id}")
        if profile.role_name != default_role:
            lines.append(f"role_name = {profile.role_name}")
        lines.append(f"source_profile = {base}")
        color = _color(profile, color_by)
        if color:
            lines.append(f"color = {color}")
    return "\n".join(lines) + "\n"


def compressed_size(text: str) -> int:
    """The length of LZ-string's ``compressToUTF16(text)``: what the extension stores.

    A re-implementation of lz-string 1.5's ``_compress`` (15 bits per output character, plus
    the one-space terminator ``compressToUTF16`` appends) that counts the output instead of
    building it. It walks UTF-16 code units, as JavaScript strings do.
    """
    units = text.encode("utf-16-le")
    chars = [chr(int.from_bytes(units[i:i + 2], "little")) for i in range(0, len(units), 2)]
    bits = 0  # the output's length depends only on how many bits are written
    dictionary: dict[str, int] = {}
    to_create: set[str] = set()
    dict_size, num_bits, enlarge_in = 3, 2, 2
    w = ""

    def emit_w() -> None:
        nonlocal bits, enlarge_in, num_bits
        if w in to_create:
            bits += num_bits + (8 if ord(w[0]) < 256 else 16)
            enlarge_in -= 1
            if enlarge_in == 0:
                enlarge_in, num_bits = 2 ** num_bits, num_bits + 1
            to_create.discard(w)
        else:
            bits += num_bits
        enlarge_in -= 1
        if enlarge_in == 0:
            enlarge_in, num_bits = 2 ** num_bits, num_bits + 1

    for c in chars:
        if c not in dictionary:
            dictionary[c] = dict_size
            dict_size += 1
            to_create.add(c)
        wc = w + c
        if wc in dictionary:
            w = wc
            continue
        emit_w()
        dictionary[wc] = dict_size
        dict_size += 1
        w = c
    if w:
        emit_w()
    bits += num_bits  # the end-of-stream marker
    # 15 bits per character; the last, partial character is flushed; then the " " terminator.
    return bits // 15 + 1 + 1
