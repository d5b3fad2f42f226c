"""Loading accounts.yaml: YAML with positions, then the JSON Schema, then semantic checks.

This package is the only producer of ``reconciler.model.DesiredState``. It never touches AWS (an
import-linter contract forbids it), so ``orgsync validate`` works offline and starts fast.
"""

from reconciler.config.loader import load, load_source, load_text
from reconciler.config.schema import schema
from reconciler.config.source import Source, read_source, text_sha256

__all__ = ["Source", "load", "load_source", "load_text", "read_source", "schema", "text_sha256"]
