"""The ipfs_cluster role's view of the member's other nodes: the addresses it adds to the
cluster's peerstore (service.json peer_addresses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ipfs_cluster_peer_addresses(nodes: list[Mapping[str, Any]]) -> list[str]:
    """<address>/p2p/<cluster peer ID> for each address of each node (its hostvars, with
    the facts ipfs_cluster_peer_id and ipfs_cluster_peer_addresses); a node whose identity
    is not known yet (a check-mode run against a new node) has none."""
    return [
        f"{address}/p2p/{node['ipfs_cluster_peer_id']}"
        for node in nodes
        if node.get("ipfs_cluster_peer_id")
        for address in node.get("ipfs_cluster_peer_addresses", [])
    ]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"ipfs_cluster_peer_addresses": ipfs_cluster_peer_addresses}
