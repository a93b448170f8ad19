"""Benchmark: the first sync of a member whose pins go to a 3-node IPFS Cluster, against
the same sync on a member of one Kubo node.

K publishers each add M small distinct files and publish one manifest listing them. Each
run syncs a fresh member once (the K*M CIDs and the K manifest directories, at the tool's
default settings), then once more (nothing new). The single-Kubo member's pins go to its
node; the cluster member's (config ``pinning``, replication 2/2) to a new cluster of three
Kubo nodes, so each pin is fetched and pinned twice, and its sync reads the manifests
through the first node's unix socket, as a cluster member's sync does. A cluster pin
counts once it is ``pinned`` on two nodes; the run then checks that the three nodes hold
each wanted CID twice. The cluster's floor, on a third fresh cluster: one plain
``POST /pins/<cid>`` per CID (replication 2/2, no name) from as many threads as the tool's
concurrency, then the pinset read until every CID is pinned on two nodes. Every node is
peered with every publisher and with the member's other nodes. The order of the three runs
rotates each repeat. Loopback Kubo daemons and cluster peers (the scripts/cluster-build
test build) in a private swarm.

    .venv/bin/python bench/cluster_bench.py --peers 5 --cids 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
# Measure the code of this checkout, whatever the virtualenv has installed.
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from harness.clusternet import Cluster, cluster_binaries  # noqa: E402
from harness.kubonet import KuboNode, Net, kubo_binary  # noqa: E402
from ipfs_consortium.config import Config, parse_config  # noqa: E402
from ipfs_consortium.sync.run import run_sync  # noqa: E402

CLUSTER_NODES = 3
REPLICATION = 2
KINDS = (
    "single Kubo node",
    f"{CLUSTER_NODES}-node cluster, replication {REPLICATION}/{REPLICATION}",
    "cluster floor: plain POST /pins, then wait",
)


@dataclass
class Runs:
    first: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)


def plain_cluster_pins(cluster: Cluster, cids: list[str]) -> float:
    """Pin ``cids`` on ``cluster`` as one plain ``POST /pins`` each from as many threads as
    the tool's concurrency, then read the pinset until each is pinned on REPLICATION
    nodes; the seconds taken."""
    workers = Config(peers=()).concurrency
    session = requests.Session()
    session.auth = cluster.auth
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))
    replication = {"replication-min": REPLICATION, "replication-max": REPLICATION}

    def pin(cid: str) -> None:
        response = session.post(f"{cluster.api}/pins/{cid}", params=replication, timeout=600)
        if response.status_code != 200:
            raise RuntimeError(f"POST /pins/{cid}: {response.status_code} {response.text[:200]}")

    def held() -> int:
        answer = session.get(f"{cluster.api}/pins", timeout=600)
        statuses = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
        return sum(
            sum(peer.get("status") == "pinned" for peer in status["peer_map"].values())
            >= REPLICATION
            for status in statuses
        )

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(pin, cids))
    while held() < len(cids):
        time.sleep(0.5)
    seconds = time.monotonic() - started
    session.close()
    return seconds


class Bench:
    def __init__(self, root: Path, peers: int, cids: int) -> None:
        self.root = root
        self.net = Net(kubo_binary(), root / "kubo")
        self.service = cluster_binaries()[0]
        self.peers = peers
        self.cids = cids
        self.publishers: list[KuboNode] = []
        self.wanted: list[str] = []
        self.members = 0

    def publish(self) -> None:
        for index in range(self.peers):
            node = self.net.node(name=f"publisher{index}")
            self.publishers.append(node)
            cids = node.add_many(f"peer{index}", self.cids)
            self.wanted += [node.publish_json_dir({"manifest.json": cids}), *cids]

    def sync(self, data: dict[str, Any], state: Path, runs: Runs) -> None:
        config = parse_config({"peers": [p.peer_id for p in self.publishers], **data}, "bench")
        started = time.monotonic()
        first = run_sync(config, state)
        seconds = time.monotonic() - started
        second = run_sync(config, state)
        pinned = sum(p.newly_pinned for p in first.peers)
        if first.exit_code or second.exit_code or pinned != len(self.wanted):
            raise RuntimeError(
                f"sync failed: exit codes {first.exit_code}, {second.exit_code}; "
                f"pinned {pinned} of {len(self.wanted)}"
            )
        runs.first.append(seconds)
        runs.calls.append(first.rpc_calls)
        runs.noop.append(second.seconds)

    def single(self, runs: Runs) -> None:
        self.members += 1
        node = self.net.node(name=f"member{self.members}")
        try:
            self.sync({"api": node.api}, node.repo / "consortium-state", runs)
        finally:
            node.discard(self.net.nodes)

    def cluster(self, runs: Runs) -> None:
        self.on_cluster(runs, plain=False)

    def floor(self, runs: Runs) -> None:
        self.on_cluster(runs, plain=True)

    def on_cluster(self, runs: Runs, plain: bool) -> None:
        self.members += 1
        name = f"member{self.members}"
        nodes = [
            self.net.node(name=f"{name}-node{i}", api_socket=True) for i in range(CLUSTER_NODES)
        ]
        cluster = Cluster(self.service, self.root / name, nodes, REPLICATION, REPLICATION)
        try:
            cluster.wait_ready()
            pinning = {
                "cluster_api": cluster.api,
                "auth_file": str(cluster.auth_file),
                "replication_min": REPLICATION,
                "replication_max": REPLICATION,
            }
            data = {"api": f"/unix{nodes[0].api_socket}", "pinning": pinning}
            if plain:
                runs.first.append(plain_cluster_pins(cluster, self.wanted))
            else:
                self.sync(data, self.root / name / "state", runs)
            # Of the wanted CIDs only: a node also pins the empty directory, and the first
            # node the member's own holdings report.
            wanted = set(self.wanted)
            held = sum(len(wanted & node.recursive_pins().keys()) for node in nodes)
            if held != REPLICATION * len(self.wanted):
                raise RuntimeError(
                    f"the cluster's nodes hold {held} pins, not {REPLICATION} x {len(self.wanted)}"
                )
        finally:
            cluster.close()
            for node in nodes:
                node.discard(self.net.nodes)

    def close(self) -> None:
        self.net.close()


def measure(bench: Bench, repeats: int) -> list[Runs]:
    results = [Runs(), Runs(), Runs()]
    bench.publish()
    run = (bench.single, bench.cluster, bench.floor)
    for repeat in range(repeats):
        for offset in range(len(run)):
            kind = (repeat + offset) % len(run)
            run[kind](results[kind])
            print(
                f"  repeat {repeat + 1}: {KINDS[kind]} {results[kind].first[-1]:.2f}s",
                file=sys.stderr,
                flush=True,
            )
    return results


def show(results: list[Runs], args: argparse.Namespace, pins: int) -> None:
    print(
        f"{args.peers} peers x {args.cids} CIDs: {pins} pins a run (the CIDs and the "
        f"{args.peers} manifest directories), {args.repeat} repeat(s), fresh member each run, "
        f"concurrency {Config(peers=()).concurrency} (default)"
    )
    print(f"{'first sync':44}{'median':>9}  runs")
    for kind, runs in zip(KINDS, results, strict=True):
        values = " ".join(f"{v:.2f}" for v in runs.first)
        calls = f"  ({median(runs.calls):.0f} Kubo RPC calls)" if runs.calls else ""
        print(f"{kind:44}{median(runs.first):8.2f}s  {values}{calls}")
    single, cluster, floor = (median(runs.first) for runs in results)
    print(
        f"cluster / single Kubo node: {cluster / single:.2f}x; "
        f"cluster / cluster floor: {cluster / floor:.2f}x"
    )
    noops = ", ".join(
        f"{kind} {median(runs.noop):.3f}s"
        for kind, runs in zip(KINDS[:2], results[:2], strict=True)
    )
    print(f"no-op second sync (median): {noops}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=5, help="publishers (default 5)")
    parser.add_argument("--cids", type=int, default=1000, help="CIDs per publisher (default 1000)")
    parser.add_argument("--repeat", type=int, default=1, help="repeats (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        bench = Bench(Path(tmp), args.peers, args.cids)
        try:
            results = measure(bench, args.repeat)
        finally:
            bench.close()
    show(results, args, len(bench.wanted))


if __name__ == "__main__":
    main()
