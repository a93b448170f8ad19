"""The kubo role's peering: a member's default peering address (its DNS name where the
inventory knows one, since a name still leads to the member after its IP address changes),
and the other members and the consortium's peers with addresses as Peering.Peers entries."""

from __future__ import annotations

import re
from typing import Any

# A DNS label (RFC 1123): letters, digits and inner hyphens, at most 63 characters.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _is_dns_name(name: str) -> bool:
    """Whether ``name`` is a fully qualified DNS name: dotted, with letters in its last
    label, so neither an IPv4 nor an IPv6 address. A bare name (a container's, a short
    host name) is not one: it resolves, if at all, only where a search domain or the
    container network's own resolver helps, which a member's Kubo cannot count on."""
    labels = name.split(".")
    return (
        len(labels) > 1
        and all(_LABEL.fullmatch(label) for label in labels)
        and re.search("[A-Za-z]", labels[-1]) is not None
    )


def kubo_peering_address(names: list[str], ipv4: str, port: int = 4001) -> str:
    """/dns4/<the first of ``names`` that is a DNS name>/tcp/<port>, else the member's
    IPv4 address, /ip4/<ipv4>/tcp/<port>."""
    name = next((name for name in names if _is_dns_name(name)), None)
    return f"/dns4/{name}/tcp/{port}" if name else f"/ip4/{ipv4}/tcp/{port}"


def kubo_peering_entries(hosts: list[str], identities: dict[str, Any]) -> list[dict[str, Any]]:
    """Peering.Peers entries ({ID, Addrs}) for ``hosts`` from their identities
    ({peer_id, addresses}), one per peer ID."""
    addresses = {identities[host]["peer_id"]: identities[host]["addresses"] for host in hosts}
    return [{"ID": peer_id, "Addrs": addrs} for peer_id, addrs in addresses.items()]


def kubo_peering_with_peers(
    entries: list[dict[str, Any]], peers: list[Any]
) -> list[dict[str, Any]]:
    """``entries`` and a Peering.Peers entry for each of ``peers`` (the consortium role's
    config.json peer entries) that is an object with ``addrs``: ID its ``peer_id``, else its
    ``ipns`` name without /ipns/ (a member's peer ID, as the directory gives it), so that
    one inventory line takes in a newcomer. A peer ID already among ``entries`` keeps its
    entry: Kubo takes each peer once."""
    merged = list(entries)
    listed = {entry["ID"] for entry in entries}
    for peer in peers:
        if not isinstance(peer, dict) or not peer.get("addrs"):
            continue
        peer_id = peer.get("peer_id") or str(peer["ipns"]).removeprefix("/ipns/")
        if peer_id not in listed:
            listed.add(peer_id)
            merged.append({"ID": peer_id, "Addrs": list(peer["addrs"])})
    return merged


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "kubo_peering_address": kubo_peering_address,
            "kubo_peering_entries": kubo_peering_entries,
            "kubo_peering_with_peers": kubo_peering_with_peers,
        }
