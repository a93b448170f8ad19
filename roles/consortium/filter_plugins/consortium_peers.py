"""The consortium role's peers from the inventory: config.json's entries for the other
members, named after their inventory host, with the peer ID the kubo role knows for them,
once it knows it the IPNS name of their holdings report, and the addresses at which the
other members dial them (carried into the consortium directory, for a newcomer)."""

from __future__ import annotations

from typing import Any


def consortium_member_peers(
    hosts: list[str],
    identities: dict[str, Any],
    report_key: str | None = None,
    members: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """config.json peers ({name, ipns, report, addrs}) for ``hosts``, each the host that publishes
    for its member, from their identities ({peer_id, addresses, keys: {key name: IPNS name}}), named
    after the member whose first host it is in ``members`` (kubo_member_hosts), else after
    the host. A member whose ``report_key`` is not known yet (its sync has not made the key,
    or its record predates keys) gets no ``report``: the tool shows it as "no report" until
    a later run records the key; one without addresses gets no ``addrs``."""
    names = {member_hosts[0]: member for member, member_hosts in (members or {}).items()}
    peers = []
    for host in hosts:
        peer: dict[str, Any] = {"name": names.get(host, host), "ipns": identities[host]["peer_id"]}
        report = identities[host].get("keys", {}).get(report_key) if report_key else None
        addrs = identities[host].get("addresses")
        peer |= {"report": report} if report else {}
        peers.append(peer | ({"addrs": addrs} if addrs else {}))
    return peers


def consortium_new_peers(peers: list[Any], listed: list[Any]) -> list[Any]:
    """The entries of ``peers`` (consortium_joined_peers, which playbooks/join.yml wrote
    from a directory) that name neither a name nor an IPNS name of ``listed`` (the peers
    config.json has already: the inventory's members, consortium_peers), nor of one before
    them: config.json names each peer once, and the operator's own line wins."""
    seen: set[str] = set()
    for peer in listed:
        seen |= _labels(peer)
    new = []
    for peer in peers:
        if not _labels(peer) & seen:
            new.append(peer)
        seen |= _labels(peer)
    return new


def _labels(peer: Any) -> set[str]:
    """A config.json peer's name and IPNS name (without /ipns/); a bare name is both."""
    if isinstance(peer, dict):
        ipns = str(peer["ipns"]).removeprefix("/ipns/")
        return {ipns, str(peer.get("name", ipns))}
    return {str(peer).removeprefix("/ipns/")}


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "consortium_member_peers": consortium_member_peers,
            "consortium_new_peers": consortium_new_peers,
        }
