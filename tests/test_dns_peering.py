"""A member the others know by a DNS name is found again after its address changes.

Kubo's Peering redials a lost peer with the multiaddrs it was configured with, and libp2p
resolves a /dns4 one at every dial: so a member that moves (a new IP address, its name
updated) is found again with nothing re-run, while one known by its old /ip4 address is not,
unless it dials out itself.

The members listen on distinct loopback addresses (127.0.0.2 and 127.0.0.3 route to lo like
127.0.0.1) and resolve names only through a DNS-over-HTTP server on loopback, so no query
leaves the machine. Only ``a`` peers with ``b``: ``b`` never dials, so what finds ``b`` again
is ``a``'s Peering alone.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.kubonet import KuboNode, _set_dotted, new_swarm_key
from harness.loopback_dns import Zone, serving

NAME = "b.consortium.test"
OLD, NEW = "127.0.0.2", "127.0.0.3"
# Kubo's Peering first redials 7.5 to 12.5 s after a disconnection, then waits 1.5 to 2.5
# times longer before each next attempt (up to 10 min): 120 s covers the second and third.
RECONNECT_BOUND = 120.0


def free_port(*hosts: str) -> int:
    """A TCP port free on every one of ``hosts`` (the first host's kernel pick)."""
    with socket.socket() as probe:
        probe.bind((hosts[0], 0))
        port: int = probe.getsockname()[1]
    for host in hosts[1:]:
        with socket.socket() as probe:
            probe.bind((host, port))
    return port


def configure(node: KuboNode, settings: dict[str, Any]) -> None:
    """Change a stopped node's config file (dotted key -> value)."""
    config_file = node.repo / "config"
    config = json.loads(config_file.read_text())
    for key, value in settings.items():
        _set_dotted(config, key, value)
    config_file.write_text(json.dumps(config, indent=2))


def links(node: KuboNode) -> dict[str, str]:
    """Peer ID -> the remote address of each connection ``node`` holds."""
    return {p["Peer"]: p["Addr"] for p in node.rpc("swarm/peers")["Peers"] or []}


def reconnect_attempts(node: KuboNode) -> int:
    """How many of Peering's redials failed so far (logged at debug level)."""
    return (node.repo / "daemon.log").read_text().count("failed to reconnect")


def wait_for(what: str, check: Any, bound: float) -> float:
    """Poll ``check`` until it holds; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < bound:
        if check():
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {bound:.0f} s")


@pytest.fixture
def zone() -> Iterator[tuple[Zone, str]]:
    records = Zone()
    with serving(records) as url:
        yield records, url


@pytest.mark.parametrize("kind", ["dns4", "ip4"])
def test_moved_member_is_found_again_by_name_only(
    kind: str, kubo_bin: Path, tmp_path: Path, zone: tuple[Zone, str]
) -> None:
    records, doh = zone
    records.set(NAME, OLD)
    key = new_swarm_key()
    port = free_port(OLD, NEW)

    b = KuboNode(kubo_bin, tmp_path / "b", key)
    configure(b, {
        "DNS.Resolvers": {".": doh},
        # Fixed, so that kubonet keeps them as they are (it pins only ports left at 0).
        "Addresses.API": f"/ip4/127.0.0.1/tcp/{free_port('127.0.0.1')}",
        "Addresses.Swarm": [f"/ip4/{OLD}/tcp/{port}"],
    })  # fmt: skip
    a = KuboNode(kubo_bin, tmp_path / "a", key)
    host = f"/dns4/{NAME}" if kind == "dns4" else f"/ip4/{OLD}"
    configure(a, {
        "DNS.Resolvers": {".": doh},
        "Peering.Peers": [{"ID": b.peer_id, "Addrs": [f"{host}/tcp/{port}"]}],
    })  # fmt: skip
    a.env["GOLOG_LOG_LEVEL"] = "error,peering=debug"
    try:
        b.start()
        a.start()
        wait_for("a peers with b", lambda: OLD in links(a).get(b.peer_id, ""), 60)

        moved = time.monotonic()
        b.stop()
        configure(b, {"Addresses.Swarm": [f"/ip4/{NEW}/tcp/{port}"]})
        b.start()
        attempts = reconnect_attempts(a)
        # a's next redial goes to the old address: as configured, or by a name not updated yet.
        wait_for(
            "a redials b once b is up at its new address",
            lambda: reconnect_attempts(a) > attempts or b.peer_id in links(a),
            RECONNECT_BOUND,
        )
        assert b.peer_id not in links(a)
        assert a.peer_id not in links(b)
        if kind == "ip4":
            assert records.asked() == []
            return

        records.set(NAME, NEW)
        took = wait_for(
            "a finds b again at its new address",
            lambda: NEW in links(a).get(b.peer_id, ""),
            RECONNECT_BOUND,
        )
        print(
            f"a found b again {took:.1f} s after its name moved"
            f" ({time.monotonic() - moved:.1f} s after b stopped)"
        )
        assert any(q.name == NAME and q.answer == NEW for q in records.asked())
        assert {q.name for q in records.asked()} == {NAME}
    finally:
        a.stop()
        b.stop()
