"""Operator helpers for consortium members on EC2 (the ``consortium-ec2`` command).

The Ansible role ``ec2_member`` creates a member's machine; these helpers find it again by
the same tags (see :mod:`ipfs_consortium.ec2.members`) to list, start, stop, terminate,
snapshot and resize it.
"""
