"""Which EC2 instance types are Graviton (arm64): the ec2_member role picks its Debian
image's architecture from the instance type alone, before any AWS call."""

from __future__ import annotations

import re
from typing import Any

# A Graviton family has a "g" among the letters after its generation digit (t4g, m7gd,
# c6gn, is4gen), or is a1; every other family is x86_64 (g4dn, g6e: the g comes first).
_GRAVITON = re.compile(r"(a1|[a-z]+[0-9]+[a-z]*g[a-z]*)[.]")


def ec2_member_arm64(instance_type: str) -> bool:
    """Whether ``instance_type`` (such as t4g.small) is a Graviton (arm64) instance type."""
    return _GRAVITON.match(instance_type) is not None


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"ec2_member_arm64": ec2_member_arm64}
