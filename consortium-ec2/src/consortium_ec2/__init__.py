"""Operator helpers for consortium members on EC2 (the ``consortium-ec2`` command).

The Ansible role ``ec2_member`` creates a member's machine; these helpers find it again by
the same tags (see :mod:`consortium_ec2.members`) to list, start, stop, terminate,
snapshot and resize it.

A distribution of its own (``consortium-ec2``, this directory's pyproject.toml), apart from
the sync tool's wheel that members install: it needs boto3, which members do not have.
"""

PROG = "consortium-ec2"
