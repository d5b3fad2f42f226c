"""``JSON``: the type of a value as ``json.loads`` gives it (and as plans and policies hold it).

One name for what would otherwise be ``Any`` with a comment in every module; kept in a module of
its own at the bottom of the layers so that the model, the plan and the observed state can all
use it without importing each other.
"""

from __future__ import annotations

from typing import Any

JSON = Any
