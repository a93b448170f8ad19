"""The consortium role's peers from the inventory: config.json's entries for the other
members, named after their inventory host, with the peer ID the kubo role knows for them."""

from __future__ import annotations

from typing import Any


def consortium_member_peers(hosts: list[str], identities: dict[str, Any]) -> list[dict[str, str]]:
    """config.json peers ({name, ipns}) for ``hosts``, from their identities ({peer_id})."""
    return [{"name": host, "ipns": identities[host]["peer_id"]} for host in hosts]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"consortium_member_peers": consortium_member_peers}
