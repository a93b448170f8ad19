"""A member of three IPFS Cluster nodes (each with its own Kubo, replication 2) follows two
plain members, with real daemons on loopback: every CID on exactly two of its nodes,
named as in Kubo; a node killed mid-sync loses nothing, and the next sync says where its
pins went."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clusternet import Cluster
from harness.kubonet import KuboNode
from ipfs_consortium.ipfs.cid import parse_cid
from ipfs_consortium.sync.possession import PROTOCOL
from tests.conftest import Member, Net, Run, party_of
from tests.test_sync import PIN_PREFIX, content


@pytest.fixture
def trio(
    net: Net, cluster_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Member, Cluster]]:
    """The member: three Kubo nodes under one cluster (replication 2/2); the first node
    runs the sync."""
    nodes = [net.node(api_socket=True, name=f"m{i}") for i in range(3)]
    cluster = Cluster(cluster_bin, tmp_path / "cluster", nodes, 2, 2)
    try:
        cluster.wait_ready()
        member = Member(nodes[0], tmp_path / "config.json", tmp_path / "state", capsys, cluster)
        yield member, cluster
    finally:
        cluster.close()


def publisher(net: Net, name: str, count: int) -> tuple[KuboNode, list[str]]:
    node = net.node(name=name)
    cids = content(node, *(f"{name} {i}" for i in range(count)))
    root = parse_cid(node.publish_json_dir({f"{name}.json": cids}))
    return node, [*cids, root]


def holders(cluster: Cluster, cids: list[str]) -> dict[str, set[str]]:
    return {cid: cluster.allocations(cid) for cid in cids}


def test_a_cluster_member_follows_two_plain_members(net: Net, trio: tuple[Member, Cluster]) -> None:
    member, cluster = trio
    alice, a_cids = publisher(net, "alice", 5)
    bob, b_cids = publisher(net, "bob", 5)
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}, {"name": "bob", "ipns": bob.peer_id}]
    )

    run = member.sync()

    assert run.code == 0, run.err
    pins = member.pins()
    assert {cid: pins[cid] for cid in a_cids} == dict.fromkeys(a_cids, f"{PIN_PREFIX}alice")
    assert {cid: pins[cid] for cid in b_cids} == dict.fromkeys(b_cids, f"{PIN_PREFIX}bob")
    found = holders(cluster, a_cids + b_cids)
    assert {cid: len(nodes) for cid, nodes in found.items()} == dict.fromkeys(found, 2)
    # Kubo's own pins carry no name: the cluster's pinset is where the names are.
    assert {name for p in cluster.peers for name in _kubo_names(p.kubo, a_cids)} == {""}
    nodes = run.json["cluster"]
    assert set(nodes) == {p.name for p in cluster.peers}
    assert sum(n["pinned"] for n in nodes.values()) == 2 * len(a_cids + b_cids)
    status = member.cli("status", "--config", str(member.config_path))
    assert "cluster nodes at the last full check" in status.out
    assert "peer0 (" in status.out and " pinned," in status.out
    held = member.cli("status", "--config", str(member.config_path), "--json").json["cluster"]
    assert set(held["nodes"]) == set(nodes)
    # A second run finds everything held: nothing to pin.
    again = member.sync("--verify")
    assert again.code == 0 and again.json["to_pin"] == 0


def _kubo_names(node: KuboNode, cids: list[str]) -> set[str]:
    pins = node.recursive_pins()
    return {pins[cid] for cid in cids if cid in pins}


def test_a_node_killed_mid_sync_loses_nothing_and_the_next_sync_says_where_its_pins_went(
    net: Net, trio: tuple[Member, Cluster]
) -> None:
    member, cluster = trio
    alice, first = publisher(net, "alice", 4)
    member.configure([{"name": "alice", "ipns": alice.peer_id}], stall_timeout=20)
    assert member.sync().code == 0
    victim = next(p for p in cluster.peers[1:] if p.kubo.peer_id in cluster.allocations(first[0]))
    more = content(alice, *(f"more {i}" for i in range(20)))
    root = parse_cid(alice.publish_json_dir({"alice.json": first[:-1] + more}))
    listed = first + more + [root]

    # The sync pins through the cluster in another thread; the node dies once some of the
    # new pins are in the cluster's pinset.
    done: list[Run] = []
    syncing = threading.Thread(target=lambda: done.append(member.sync()))
    syncing.start()
    deadline = time.monotonic() + 60
    while not set(more) & set(member.pins()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.kill()
    syncing.join(120)
    assert done, "the sync ended"

    # Nothing of what was held left the cluster's pinset, whatever the run's result.
    assert set(first) <= set(member.pins())
    # The cluster moves the dead node's pins to the two left; the next syncs follow the
    # pins that were not held in time until every one is on both live nodes.
    deadline = time.monotonic() + 120
    while (run := member.sync("--verify")).code != 0 and time.monotonic() < deadline:
        done.append(run)
        time.sleep(2)
    done.append(run)
    assert run.code == 0, run.err
    live = {p.kubo.peer_id for p in cluster.peers if p is not victim}
    assert holders(cluster, listed) == dict.fromkeys(listed, live)
    assert set(listed) <= set(member.pins())
    assert run.json["cluster"].get(victim.name, {}).get("pinned", 0) == 0
    said = [line for r in done for line in r.err.splitlines() if "cluster node" in line]
    assert any(
        f"cluster node {victim.name} holds 0 pins" in line and "moved off" in line for line in said
    ), said
    assert any(" added " in line for line in said), said


def test_a_cluster_that_refuses_the_credentials_is_a_setting_to_fix(
    net: Net, trio: tuple[Member, Cluster]
) -> None:
    member, cluster = trio
    alice, cids = publisher(net, "alice", 2)
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    cluster.auth_file.write_text("consortium:wrong\n")

    run = member.sync()

    assert run.code == 2
    assert "IPFS Cluster at" in run.err and "refused the credentials in" in run.err
    assert "Traceback" not in run.err
    assert not set(cids) & set(member.pins())


def test_a_pin_the_cluster_cannot_make_yet_stays_in_its_pinset_and_is_followed_up(
    net: Net, trio: tuple[Member, Cluster]
) -> None:
    member, cluster = trio
    alice = net.node()
    later = b"content nobody has yet"
    absent = str(alice.rpc("add", files={"file": ("f", later)}, only_hash=True, cid_version=1)[
        "Hash"
    ])  # fmt: skip
    present = content(alice, "here")
    alice.publish_json_dir({"m.json": [*present, absent]})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], stall_timeout=3)

    run = member.sync()

    assert run.code == 1
    assert f"pin {absent} is pinned on 0 of the 2 cluster nodes it needs after 3s" in run.err
    assert "it stays in the cluster's pinset and the next run follows it up" in run.err
    assert absent in member.pins() and set(present) <= set(member.pins())
    assert sum(node["pinning"] for node in run.json["cluster"].values()) == 2
    # Not held yet: the next run asks again, and says so again.
    again = member.sync()
    assert again.code == 1 and f"pin {absent} is pinned on 0 of the 2" in again.err

    alice.add(later)
    run = member.sync()

    assert run.code == 0, run.err
    assert len(cluster.allocations(absent)) == 2


def test_a_cluster_member_passes_a_possession_check_with_blocks_on_any_of_its_nodes(
    net: Net, cluster_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = party_of(net, "alice", tmp_path, capsys)
    alice.cids += content(alice.node, *(f"alice {i}" for i in range(12)))
    alice.node.publish_json_dir({"files.json": alice.cids})
    carol = party_of(net, "carol", tmp_path, capsys, api_socket=True)
    nodes = [carol.node, *(net.node(api_socket=True, name=f"carol{i}") for i in (1, 2))]
    cluster = Cluster(cluster_bin, tmp_path / "cluster", nodes, 2, 2)
    try:
        cluster.wait_ready()
        settings: dict[str, object] = {"check_blocks": 1000, "report_stale_after": 3600}
        for party, other in ((alice, carol), (carol, alice)):
            party.home.mkdir()
            party.configure([other], **settings)
        carol.configure([alice], pinning=cluster.pinning(), **settings)
        for party in (alice, carol, alice, carol):
            assert party.sync().code == 0
        # The kubo role mounts every node's gateway as the sync mounts its own.
        for node in nodes[1:]:
            port = node.gateway.rsplit(":", 1)[1]
            node.rpc("p2p/listen", PROTOCOL, f"/ip4/127.0.0.1/tcp/{port}")
        lacking = [cid for cid in alice.cids if carol.node.peer_id not in cluster.allocations(cid)]
        assert lacking, "the sync node holds only some of alice's content"

        run = alice.verify()

        check = run.json["members"]["carol"]
        assert (run.code, check["result"], check["missing"]) == (0, "verified", 0), check
    finally:
        cluster.close()
