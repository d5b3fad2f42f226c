"""The one AWS boundary: every boto3 call orgsync makes goes through ``Aws`` and its ``Client``s.

Sessions, retries (botocore's standard/adaptive modes, not hand-written backoff), assumed-role and
root-session credential caching, pagination and the translation of botocore errors into
``reconciler.errors`` live here, so that no other module needs to know botocore's exceptions.
"""

from reconciler.aws.calls import CallKey, CallLog
from reconciler.aws.client import Client, pages, paginate, translate
from reconciler.aws.session import Aws, MfaSessionError

__all__ = ["Aws", "CallKey", "CallLog", "Client", "MfaSessionError", "pages", "paginate",
           "translate"]
