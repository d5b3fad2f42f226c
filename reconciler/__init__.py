"""orgsync: manage access to the member accounts of an AWS Organization as code.

The import package is ``reconciler``; the distribution and the command are ``orgsync``.
"""

__version__ = "0.1.0"
