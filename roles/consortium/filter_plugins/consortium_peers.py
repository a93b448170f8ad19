"""The consortium role's peers from the inventory: config.json's entries for the other
members, named after their inventory host, with the peer ID the kubo role knows for them
and, once it knows it, the IPNS name of their holdings report."""

from __future__ import annotations

from typing import Any


def consortium_member_peers(
    hosts: list[str],
    identities: dict[str, Any],
    report_key: str | None = None,
    members: dict[str, list[str]] | None = None,
) -> list[dict[str, str]]:
    """config.json peers ({name, ipns, report}) for ``hosts``, each the host that publishes
    for its member, from their identities ({peer_id, keys: {key name: IPNS name}}), named
    after the member whose first host it is in ``members`` (kubo_member_hosts), else after
    the host. A member whose ``report_key`` is not known yet (its sync has not made the key,
    or its record predates keys) gets no ``report``: the tool shows it as "no report" until
    a later run records the key."""
    names = {member_hosts[0]: member for member, member_hosts in (members or {}).items()}
    peers = []
    for host in hosts:
        peer = {"name": names.get(host, host), "ipns": identities[host]["peer_id"]}
        report = identities[host].get("keys", {}).get(report_key) if report_key else None
        peers.append(peer | ({"report": report} if report else {}))
    return peers


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"consortium_member_peers": consortium_member_peers}
