"""Privileged root tasks on member accounts, outside plan and apply: ``orgsync root ...``.

Centralized root access lets the management account (or IAM's delegated administrator) start a
short ``sts:AssumeRoot`` session in a member account, limited by one AWS managed task policy.
Besides the credential tasks that ``root_credentials`` drives through plan and apply, two
break-glass tasks remove a resource policy that locks everyone out (``S3UnlockBucketPolicy``,
``SQSUnlockQueuePolicy``), and an audit session reads what root credentials an account has. These
are reviewed, one-off commands rather than desired state, so they live here; each module declares
the IAM actions it calls (``PERMISSIONS``), which ``orgsync permissions --for root`` turns into a
policy.
"""
