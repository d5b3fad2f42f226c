"""The opening lines the tests' desired-state files share, so that each test's file shows only
what the test is about: the sandbox's organization (its management account is 123456789012, as
``reconciler.sandbox`` seeds it), root credentials managed and absent, and an account list that
opens with the management account itself.

Use: ``FILE = HEADER + ROOT_ABSENT + \"\"\"accounts: ...\"\"\"``."""

from __future__ import annotations

HEADER = """\
version: 1
organization:
  management_account_id: "123456789012"
"""

ROOT_ABSENT = """\
root_credentials:
  features: [RootCredentialsManagement, RootSessions]
  default: absent
"""

MANAGEMENT_ACCOUNT = """\
accounts:
  - name: management
    email: aws+management@example.com
    id: "123456789012"
"""
