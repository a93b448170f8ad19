"""A member cut off from the others, against real Kubo daemons on loopback: it is found
again when it comes back at another address, and while it is isolated every sync says so,
confirms nothing and exits non-zero, without losing a pin.

The members here find each other only through Kubo's Peering.Peers, as the kubo role
configures them: the tests never connect nodes themselves once they run.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.kubonet import ROOT, KuboNode, _set_dotted, new_swarm_key
from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net, mirrored
from tests.test_freshness import metrics_path, status
from tests.test_monitoring import samples
from tests.test_sync import content


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.5)


def connected(node: KuboNode) -> dict[str, str]:
    """The peers ``node`` has a connection to, with the address of each."""
    return {p["Peer"]: p["Addr"] for p in node.rpc("swarm/peers").get("Peers") or []}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def set_config(node: KuboNode, key: str, value: object) -> None:
    """Change one dotted setting in a stopped node's config file."""
    config_file = node.repo / "config"
    config = json.loads(config_file.read_text())
    _set_dotted(config, key, value)
    config_file.write_text(json.dumps(config, indent=2))


# What the kubo role sets Ipns.RepublishPeriod to.
REPUBLISH_PERIOD = yaml.safe_load((ROOT / "roles/kubo/defaults/main.yml").read_text())[
    "kubo_ipns_republish_period"
]


def peered(
    binary: Path, root: Path, count: int, settings: dict[str, object] | None = None
) -> list[KuboNode]:
    """``count`` running nodes, each with every other in its Peering.Peers, and
    ``settings`` (dotted key -> value) in its config."""
    key = new_swarm_key()
    nodes = [KuboNode(binary, root / f"m{i}", key) for i in range(count)]
    for node in nodes:
        node.start()  # once, so that it keeps the ports the kernel gave it
    addresses = {node.peer_id: node.swarm_addr().split("/p2p/")[0] for node in nodes}
    for node in nodes:
        node.stop()
        others = [{"ID": i, "Addrs": [a]} for i, a in addresses.items() if i != node.peer_id]
        set_config(node, "Peering.Peers", others)
        for key, value in (settings or {}).items():
            set_config(node, key, value)
    for node in nodes:
        node.start()
    for node in nodes:
        wait_for("every member connected", lambda n=node: len(connected(n)) == count - 1)
    return nodes


def synced(
    node: KuboNode, peers: dict[str, KuboNode], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Member:
    """``node``'s member after its first sync of ``peers`` (name -> node), connected to
    each, which has published a manifest."""
    member = Member(node, tmp_path / "config.json", tmp_path / "state", capsys)
    member.configure(
        [{"name": name, "ipns": peer.peer_id} for name, peer in peers.items()], resolve_timeout=10
    )
    for name, peer in peers.items():
        peer.publish_json_dir({"a.json": content(peer, f"{name}'s first")})
    first = member.sync()
    assert first.code == 0, first.err
    assert first.json["reach"]["connected"] == list(peers)
    return member


def test_a_member_back_at_a_new_port_is_found_again_and_its_new_content_pinned(
    kubo_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = peered(kubo_bin, tmp_path / "kubo", 3)
    try:
        syncing, bob, carol = nodes
        member = synced(syncing, {"bob": bob, "carol": carol}, tmp_path, capsys)

        old_address = bob.swarm_addr().split("/p2p/")[0]
        bob.stop()
        new_port = free_port()
        set_config(bob, "Addresses.Swarm", [f"/ip4/127.0.0.1/tcp/{new_port}"])
        bob.start()
        moved = bob.swarm_addr().split("/p2p/")[0]
        assert moved != old_address
        # Nothing tells the others where bob went: their Peering.Peers still hold his old
        # address. His own peering dials them, and they see him at the new one.
        peering = json.loads((syncing.repo / "config").read_text())["Peering"]["Peers"]
        assert {"ID": bob.peer_id, "Addrs": [old_address]} in peering
        wait_for("the member connected to bob again", lambda: bob.peer_id in connected(syncing))
        assert connected(syncing)[bob.peer_id].endswith(f"/tcp/{new_port}")

        wanted = set(content(bob, "after the move"))
        bob.publish_json_dir({"a.json": sorted(wanted)})

        def pinned() -> bool:
            run = member.sync()
            return run.code == 0 and wanted <= set(map(parse_cid, syncing.recursive_pins()))

        wait_for("bob's new content pinned", pinned)
        assert "Kubo was connected to 2 of 2 members" in status(member)
    finally:
        for node in nodes:
            node.stop()


def test_a_member_down_while_another_published_catches_up_within_two_sync_intervals(
    kubo_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Back and connected, the member's Kubo answers alice's name from the record it stored
    # before it went down until a put of the new one reaches it: alice's republishing, at
    # the role's period, is what brings it (at Kubo's default, 4h, it stays behind). Kubo
    # also republishes once a minute after it starts: the member stays down past that.
    settings: dict[str, object] = {"Ipns.RepublishPeriod": REPUBLISH_PERIOD}
    nodes = peered(kubo_bin, tmp_path / "kubo", 3, settings)
    first_republish = time.monotonic() + 65
    try:
        alice, syncing, carol = nodes
        member = synced(syncing, {"alice": alice, "carol": carol}, tmp_path, capsys)

        syncing.stop()
        wanted = set(content(alice, "published while the member was down"))
        alice.publish_json_dir({"a.json": sorted(wanted)})
        time.sleep(max(0.0, first_republish - time.monotonic()))
        syncing.start()

        def pinned() -> bool:
            run = member.sync()
            return run.code == 0 and wanted <= set(map(parse_cid, syncing.recursive_pins()))

        wait_for("alice's new content pinned", pinned, timeout=120)
    finally:
        for node in nodes:
            node.stop()


def test_an_isolated_member_says_so_confirms_nothing_keeps_its_pins_and_exits_non_zero(
    net: Net, member: Member
) -> None:
    bob, carol = net.node(), net.node()
    member.configure(
        [{"name": "bob", "ipns": bob.peer_id}, {"name": "carol", "ipns": carol.peer_id}],
        metrics_file=str(metrics_path(member)),
        resolve_timeout=5,
        request_timeout=3,
        stall_timeout=3,
    )
    bob.publish_json_dir({"a.json": content(bob, "bob's")})
    carol_root = parse_cid(carol.publish_json_dir({"a.json": content(carol, "carol's")}))
    first = member.sync()
    assert first.code == 0, first.err
    assert "Kubo was connected to 2 of 2 members" in status(member)
    held = mirrored(member.node)

    # Bob publishes a root nobody can fetch (its blocks were never stored), which the
    # member's node stores as a DHT record; then bob and carol go away.
    unfetchable = bob.rpc(
        "add", files={"file": ("never-stored", b"no block of this is kept")}, only_hash=True
    )["Hash"]
    bob.rpc("name/publish", f"/ipfs/{unfetchable}", allow_offline=True, resolve=False)
    wait_for(
        "the member's node holds bob's new record",
        lambda: (
            unfetchable
            in member.node.rpc("name/resolve", f"/ipns/{bob.peer_id}", nocache=True)["Path"]
        ),
    )
    bob.stop()
    carol.stop()
    wait_for("the member isolated", lambda: not connected(member.node))

    run = member.sync()
    assert run.code == 1, run.err
    report = run.json
    assert report["reach"]["members"] == ["bob", "carol"] and report["reach"]["connected"] == []
    assert "Kubo is connected to 0 of 2 members" in run.err
    outcomes = {p["peer"]: p for p in report["peers"]}
    assert all(not p["ok"] and p["connected"] is False for p in outcomes.values())
    # Carol's node answered her name at once, from its own record: not taken as current.
    assert outcomes["carol"]["root"] == carol_root and not outcomes["carol"]["confirmed"]
    assert any("not confirmed" in e for e in outcomes["carol"]["errors"])
    # Bob's new directory timed out: said as such, never "not a directory".
    assert any(
        "could not fetch its manifest directory" in e
        and "within 3s (connected to 0 of 2 members)" in e
        for e in outcomes["bob"]["errors"]
    ), outcomes["bob"]["errors"]
    assert not any("not a directory" in e for e in outcomes["bob"]["errors"])
    # As is the pin of that directory, which fetched nothing.
    assert any(
        f"pin {unfetchable} made no progress for 3s (connected to 0 of 2 members)" in e
        for e in outcomes["bob"]["errors"]
    ), outcomes["bob"]["errors"]
    assert mirrored(member.node) == held

    shown = status(member)
    assert "ISOLATED since" in shown and "Kubo was connected to 0 of 2 members" in shown
    assert "carol: NOT CONFIRMED since" in shown and "carol: last success" not in shown
    figures = samples(metrics_path(member).read_text())
    assert figures["ipfs_consortium_members"] == 2
    assert figures["ipfs_consortium_members_connected"] == 0
    assert figures["ipfs_consortium_isolated_since_timestamp_seconds"] > 0
    assert figures['ipfs_consortium_peer_connected{peer="carol"}'] == 0
    assert figures['ipfs_consortium_peer_ok{peer="carol"}'] == 0
