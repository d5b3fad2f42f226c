"""The plan as JSON (CONTRACT.md section 4): the canonical document, pretty-printed with sorted
keys so that two renderings of the same plan are byte-identical."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
