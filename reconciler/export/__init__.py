"""``orgsync export``: the live organization as an accounts.yaml that plans to no changes.

``render`` turns an observed state into commented YAML (pure, no AWS); ``read`` gathers that
observed state through ``reconciler.observe`` (imported only by the command, so that importing
the renderer never loads boto3).
"""

from reconciler.export.render import ExportError, check_round_trip, render_export

__all__ = ["ExportError", "check_round_trip", "render_export"]
