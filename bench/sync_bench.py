"""Benchmark: the tool's first sync against the floor of plain ``pin/add``.

K publishers each add M small distinct files and publish one manifest listing them. Every
run pins the same K*M CIDs plus the K manifest directories on a fresh node: as one plain
``pin/add`` per CID (no progress, no name) from a pool of 1, 4, 16 and 32 threads (and of
the tool's concurrency, if that is none of these), and as the tool's first sync at its
default settings, followed by a no-op second sync. The floor is the best of the plain
medians. The order of the runs rotates each repeat, and one unmeasured plain run warms the
publishers up first. Loopback Kubo daemons in a private swarm.

    .venv/bin/python bench/sync_bench.py --peers 5 --cids 200 --repeat 3
"""

from __future__ import annotations

import argparse
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

from harness.kubonet import KuboNode, kubo_binary, new_swarm_key  # noqa: E402
from ipfs_consortium.config import Config, parse_config  # noqa: E402
from ipfs_consortium.sync.run import run_sync  # noqa: E402

FLOOR_CONCURRENCY = (1, 4, 16, 32)


def plain_pin_add(api: str, cids: list[str], workers: int) -> float:
    """Pin ``cids`` as one plain ``pin/add`` each from ``workers`` threads; the seconds taken."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))

    def pin(cid: str) -> None:
        response = session.post(f"{api}/api/v0/pin/add", params={"arg": cid}, timeout=600)
        if response.status_code != 200 or '"Pins"' not in response.text:
            raise RuntimeError(f"pin/add {cid}: {response.status_code} {response.text[:200]}")

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(pin, cids))
    seconds = time.monotonic() - started
    session.close()
    return seconds


class Bench:
    def __init__(self, root: Path, peers: int, cids: int, concurrency: int | None) -> None:
        self.root = root
        self.binary = kubo_binary()
        self.key = new_swarm_key()
        self.publishers: list[KuboNode] = []
        self.wanted: list[str] = []  # every CID the tool pins, in the order it pins them
        self.fresh_count = 0
        self.peers = peers
        self.cids = cids
        self.concurrency = concurrency

    def publish(self) -> None:
        for index in range(self.peers):
            node = KuboNode(self.binary, self.root / f"publisher{index}", self.key)
            node.start()
            for other in self.publishers:
                node.connect(other)
            self.publishers.append(node)
            cids = node.add_many(f"peer{index}", self.cids)
            directory = node.publish_json_dir({"manifest.json": cids})
            self.wanted += [directory, *cids]

    def fresh(self) -> KuboNode:
        """A new node connected to every publisher, with nothing in its repo."""
        self.fresh_count += 1
        node = KuboNode(self.binary, self.root / f"fresh{self.fresh_count}", self.key)
        node.start()
        for publisher in self.publishers:
            node.connect(publisher)
        return node

    def plain(self, workers: int) -> float:
        node = self.fresh()
        try:
            return plain_pin_add(node.api, self.wanted, workers)
        finally:
            node.discard(self.publishers)

    def tool(self) -> tuple[float, int, float, int]:
        """First sync seconds and RPC calls, then the no-op second sync's."""
        node = self.fresh()
        try:
            data: dict[str, Any] = {"peers": [p.peer_id for p in self.publishers], "api": node.api}
            if self.concurrency is not None:
                data["concurrency"] = self.concurrency
            config = parse_config(data, "bench")
            state = node.repo / "consortium-state"
            started = time.monotonic()
            first = run_sync(config, state)
            first_seconds = time.monotonic() - started
            second = run_sync(config, state)
        finally:
            node.discard(self.publishers)
        pinned = sum(p.newly_pinned for p in first.peers)
        if first.exit_code or second.exit_code or pinned != len(self.wanted):
            raise RuntimeError(
                f"sync failed: exit codes {first.exit_code}, {second.exit_code}; "
                f"pinned {pinned} of {len(self.wanted)}"
            )
        return first_seconds, first.rpc_calls, second.seconds, second.rpc_calls

    def stop(self) -> None:
        for node in self.publishers:
            node.stop()


@dataclass
class Results:
    plain: dict[int, list[float]]  # threads -> seconds of each run
    first: list[float] = field(default_factory=list)
    first_calls: list[int] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)
    noop_calls: list[int] = field(default_factory=list)


def measure(bench: Bench, levels: list[int], repeats: int) -> Results:
    results = Results({c: [] for c in levels})
    bench.publish()
    bench.plain(max(levels))  # warm-up, not measured
    runs: list[int | None] = [None, *levels]  # None: the tool
    for repeat in range(repeats):
        shift = repeat % len(runs)
        for run in runs[shift:] + runs[:shift]:
            if run is None:
                seconds, calls, noop_seconds, noop_calls = bench.tool()
                results.first.append(seconds)
                results.first_calls.append(calls)
                results.noop.append(noop_seconds)
                results.noop_calls.append(noop_calls)
                label = f"tool first sync {seconds:.2f}s"
            else:
                results.plain[run].append(bench.plain(run))
                label = f"plain pin/add, {run} threads {results.plain[run][-1]:.2f}s"
            print(f"  repeat {repeat + 1}: {label}", file=sys.stderr, flush=True)
    return results


def show(results: Results, args: argparse.Namespace, tool_c: int, pins: int) -> None:
    print(
        f"{args.peers} peers x {args.cids} CIDs: {pins} pins a run (the CIDs and the "
        f"{args.peers} manifest directories), {args.repeat} repeats, fresh node each run"
    )
    print(f"{'':44}{'median':>9}  runs")

    def row(name: str, values: list[float], extra: str = "") -> None:
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:44}{median(values):8.2f}s  {runs}{extra}")

    plain = results.plain
    for c in plain:
        row(f"plain pin/add, {c} thread{'s' if c > 1 else ''}", plain[c])
    best = min(plain, key=lambda c: median(plain[c]))
    floor = median(plain[best])
    print(f"{f'best floor (plain, {best} threads)':44}{floor:8.2f}s")
    default = "" if args.concurrency else " (default)"
    calls = f"  ({median(results.first_calls):.0f} RPC calls)"
    row(f"tool first sync, concurrency {tool_c}{default}", results.first, calls)
    tool = median(results.first)
    print(
        f"first sync / best floor: {tool / floor:.2f}x; "
        f"first sync / plain at {tool_c} threads: {tool / median(plain[tool_c]):.2f}x"
    )
    runs = " ".join(f"{v:.3f}" for v in results.noop)
    # id, swarm/peers, a resolve for each peer, and p2p/ls (the blocks kept open to the
    # others' possession checks).
    target = args.peers + 3
    print(
        f"no-op sync: median {median(results.noop):.3f}s ({runs}), "
        f"{median(results.noop_calls):.0f} RPC calls (target < 1s and <= {target} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=5, help="publishers (default 5)")
    parser.add_argument("--cids", type=int, default=200, help="CIDs per publisher (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats (default 3)")
    parser.add_argument(
        "--concurrency", type=int, help="give the tool this concurrency (default: its own)"
    )
    args = parser.parse_args()
    tool_c = args.concurrency or Config(peers=()).concurrency
    levels = sorted({*FLOOR_CONCURRENCY, tool_c})
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        bench = Bench(Path(tmp), args.peers, args.cids, args.concurrency)
        try:
            results = measure(bench, levels, args.repeat)
        finally:
            bench.stop()
    show(results, args, tool_c, len(bench.wanted))


if __name__ == "__main__":
    main()
