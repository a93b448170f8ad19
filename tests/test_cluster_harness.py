"""The IPFS Cluster harness: three real cluster peers beside three real Kubo nodes, on
loopback only, holding a pin on two of them and moving it when one of them dies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from harness.clusternet import Cluster, cluster_binaries
from harness.kubonet import Net


@pytest.fixture
def cluster(net: Net, tmp_path: Path) -> Iterator[Cluster]:
    kubos = [net.node(api_socket=True) for _ in range(3)]
    service, _ctl = cluster_binaries()
    running = Cluster(service, tmp_path / "cluster", kubos, 2, 2)
    yield running
    running.close()


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def test_a_pin_is_held_on_two_nodes_and_moves_when_one_dies(net: Net, cluster: Cluster) -> None:
    cluster.wait_ready()
    cid = net.nodes[0].add(b"held by the cluster")

    refused = requests.post(f"{cluster.api}/pins/{cid}", timeout=10)
    pinned = requests.post(
        f"{cluster.api}/pins/{cid}",
        params={"name": "x", "replication-min": 2, "replication-max": 2},
        auth=cluster.auth,
        timeout=30,
    )

    assert refused.status_code == 401
    assert pinned.status_code == 200, pinned.text
    wait_for("pinned on two nodes", lambda: len(cluster.allocations(cid)) == 2, 60)
    holders = cluster.allocations(cid)
    assert holders <= {peer.kubo.peer_id for peer in cluster.peers}
    assert cluster.outside_sockets() == []

    dead = next(peer for peer in cluster.peers if peer.kubo.peer_id in holders)
    dead.kill()

    spare = next(p.kubo.peer_id for p in cluster.peers if p.kubo.peer_id not in holders)
    wait_for("re-allocated to the spare node", lambda: spare in cluster.allocations(cid), 60)
    assert cluster.allocations(cid) == holders - {dead.kubo.peer_id} | {spare}
    assert cluster.outside_sockets() == []
