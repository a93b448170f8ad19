"""Benchmark: the cost of one possession check, against the floor of plain Bitswap.

Alice adds content of mixed sizes (many files of one block, a few larger than Kubo's
256 KiB chunks, so that their DAGs have inner nodes) and publishes a manifest listing it
with ``ipfs-consortium publish``; Bob syncs it (his sync also mounts his node's gateway on
libp2p, and publishes his holdings report, which claims Alice's content in full: Alice
asks only a member whose report does, and knows his report's name). Then Alice runs
``ipfs-consortium verify --json`` with check_blocks 16, and again with 64, each as its own
process: first with an empty state directory, so that the verify also lists Alice's
blocks, then ``--repeat`` times more with the list kept. Each run's process wall time and,
from its JSON, the bytes and seconds of the check of Bob.

The floor: as many blocks, drawn at random from the same content, fetched with
``block/get`` by a fresh Kubo node peered only with Bob (Alice stopped by then), from a
pool of 1, 4, 16 and k threads, a fresh node and a new sample each run; the best of the
medians. A check asks its blocks one after another, so the 1-thread floor is its like;
the best floor is what concurrency would give. Loopback Kubo daemons in a private swarm.

    .venv/bin/python bench/check_bench.py --files 1800 --large 20 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.kubonet import KuboNode, kubo_binary, new_swarm_key  # noqa: E402

# The tool of this checkout, whatever the virtualenv has installed.
CLI = [sys.executable, "-m", "ipfs_consortium"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
KS = (16, 64)
FLOOR_THREADS = (1, 4, 16)
KiB = 1024
MiB = 1024 * KiB
SMALL = (512, 64 * KiB)  # one block each
LARGE = (300 * KiB, 3 * MiB)  # 2 to 12 leaves under a root
SEED = 26
REPORT_KEY = "ipfs-consortium-report"
# The verify's log line when it lists this member's blocks (the first check of a root).
LISTED = re.compile(r"listed in ([0-9.]+)s for the possession checks")


@dataclass
class Member:
    name: str
    node: KuboNode
    home: Path
    report: str | None = None  # its holdings report's IPNS name

    def config(self, other: Member, state: str = "state", **settings: Any) -> Path:
        path = self.home / f"{state}.config.json"
        path.write_text(
            json.dumps(
                {
                    "peers": [
                        {"name": other.name, "ipns": other.node.peer_id, "report": other.report}
                    ],
                    "api": self.node.api,
                    "gateway": self.node.gateway,
                    "state_dir": str(self.home / state),
                    **settings,
                }
            )
        )
        return path


@dataclass
class Verify:
    wall: float
    check: dict[str, Any]  # the JSON's object for the member checked
    listed: float | None  # seconds to list Alice's blocks, when this verify did


def cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    run = subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True)
    return time.monotonic() - started, run


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    run = cli(*args)[1]
    if run.returncode != 0:
        raise RuntimeError(f"ipfs-consortium {' '.join(args)}: exit {run.returncode}\n{run.stderr}")
    return run


def add_content(node: KuboNode, files: int, large: int) -> list[str]:
    """Add ``files`` small files and ``large`` larger ones, pinned; their CIDs."""
    rng = random.Random(SEED)
    sizes = [rng.randint(*SMALL) for _ in range(files)]
    sizes += [rng.randint(*LARGE) for _ in range(large)]
    parts = [("file", (f"{i}", rng.randbytes(size))) for i, size in enumerate(sizes)]
    entries = node.rpc("add", files=parts, pin=True, cid_version=1, raw_leaves=True, timeout=600)
    return [e["Hash"] for e in entries]


def blocks_of(node: KuboNode, cids: list[str]) -> tuple[list[str], float]:
    """Every block of ``cids``' DAGs (one ``refs -r --unique`` call), and its seconds."""
    started = time.monotonic()
    refs = node.rpc("refs", *cids, recursive=True, unique=True, timeout=600)
    seconds = time.monotonic() - started
    return list(dict.fromkeys([*cids, *(r["Ref"] for r in refs)])), seconds


def repo_bytes(node: KuboNode) -> int:
    return int(node.rpc("repo/stat")["RepoSize"])


def verify(alice: Member, bob: Member, k: int, state: str) -> Verify:
    config = alice.config(bob, state, check_blocks=k)
    started = time.monotonic()
    run = tool("verify", "--config", str(config), "--json")
    wall = time.monotonic() - started
    check = json.loads(run.stdout)["members"][bob.name]
    if check["result"] != "verified" or check["verified"] != k:
        raise RuntimeError(f"verify with k={k}: {check}\n{run.stderr}")
    listed = LISTED.search(run.stderr)
    return Verify(wall, check, float(listed[1]) if listed else None)


def fetch(api: str, cids: list[str], workers: int) -> tuple[float, int]:
    """``block/get`` each CID from ``workers`` threads; the seconds taken and the bytes."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=workers))

    def get(cid: str) -> int:
        response = session.post(f"{api}/api/v0/block/get", params={"arg": cid}, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"block/get {cid}: {response.status_code} {response.text[:200]}")
        return len(response.content)

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        fetched = sum(pool.map(get, cids))
    seconds = time.monotonic() - started
    session.close()
    return seconds, fetched


def floor(
    binary: Path, key: str, root: Path, bob: KuboNode, blocks: list[str], k: int, repeat: int
) -> dict[int, list[tuple[float, int]]]:
    """threads -> (seconds, bytes) of each run, on a fresh node peered only with Bob."""
    rng = random.Random(SEED + k)
    runs: dict[int, list[tuple[float, int]]] = {t: [] for t in sorted({*FLOOR_THREADS, k})}
    for number in range(repeat):
        for threads in runs:
            node = KuboNode(binary, root / f"fresh-{k}-{threads}-{number}", key)
            node.start()
            try:
                node.connect(bob)
                runs[threads].append(fetch(node.api, rng.sample(blocks, k), threads))
            finally:
                node.discard([bob])
            seconds = runs[threads][-1][0]
            print(f"  floor k={k}, {threads} threads: {seconds:.3f} s", file=sys.stderr)
    return runs


def show_verify(label: str, runs: list[Verify]) -> float:
    wall = median(r.wall for r in runs)
    seconds = median(r.check["seconds"] for r in runs)
    size = median(r.check["bytes"] for r in runs)
    asked = f"{runs[0].check['verified']}/{runs[0].check['asked']}"
    print(f"{label:34}{wall:7.2f} s  {asked:>6}  {size / KiB:9.1f} KiB  {seconds:7.3f} s")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1800, help="one-block files (default 1800)")
    parser.add_argument("--large", type=int, default=20, help="larger files (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats (default 3)")
    args = parser.parse_args()
    binary, key = kubo_binary(), new_swarm_key()
    with tempfile.TemporaryDirectory(prefix="check-bench-") as tmp:
        root = Path(tmp)
        alice = Member("alice", KuboNode(binary, root / "alice", key), root / "alice-home")
        bob = Member("bob", KuboNode(binary, root / "bob", key), root / "bob-home")
        try:
            for member in (alice, bob):
                member.home.mkdir()
                member.node.start()
            alice.node.connect(bob.node)
            # As the kubo role makes it for a new member, so that Alice knows its name.
            bob.report = bob.node.new_key(REPORT_KEY)
            content = add_content(alice.node, args.files, args.large)
            blocks, refs_seconds = blocks_of(alice.node, content)
            size = repo_bytes(alice.node)
            manifests = alice.home / "manifests"
            manifests.mkdir()
            (manifests / "content.json").write_text(json.dumps(content))
            tool("publish", str(manifests), "--config", str(alice.config(bob)))
            sync_seconds, sync = cli("sync", "--config", str(bob.config(alice)))
            held = bob.node.rpc("pin/ls", type="recursive")["Keys"]
            if sync.returncode != 0 or not set(content) <= set(held):
                raise RuntimeError(f"Bob's sync: exit {sync.returncode}\n{sync.stderr}")
            start_seconds = median(
                cli("check-config", str(alice.config(bob)))[0] for _ in range(args.repeat)
            )
            verifies: dict[int, tuple[Verify, list[Verify]]] = {}
            for k in KS:
                first = verify(alice, bob, k, f"state-k{k}")
                later = [verify(alice, bob, k, f"state-k{k}") for _ in range(args.repeat)]
                verifies[k] = (first, later)
                print(f"  verify k={k}: first {first.wall:.2f} s", file=sys.stderr)
            alice.node.stop()
            floors = {k: floor(binary, key, root, bob.node, blocks, k, args.repeat) for k in KS}
        finally:
            for member in (alice, bob):
                member.node.stop()

    print(
        f"Alice's content: {len(content)} files ({args.files} of {SMALL[0]} B-"
        f"{SMALL[1] // KiB} KiB, {args.large} of {LARGE[0] // KiB} KiB-{LARGE[1] // MiB} MiB), "
        f"{len(blocks)} blocks, repo {size / MiB:.1f} MiB; Bob's sync of it {sync_seconds:.1f} s"
    )
    print(f"refs -r --unique of Alice's {len(content)} CIDs, one call: {refs_seconds:.2f} s")
    print(f"process start and config load (check-config), median: {start_seconds:.2f} s")
    print(f"{'verify --json on Alice':34}{'wall':>9}  {'bob':>6}  {'bytes':>13}  {'seconds':>9}")
    for k, (first, later) in verifies.items():
        show_verify(f"k={k}, first (builds block list)", [first])
        again = show_verify(f"k={k}, later (median of {len(later)})", later)
        listed = "not logged" if first.listed is None else f"{first.listed:.2f} s"
        print(
            f"{'':34}block list: listed in {listed} by the first verify, which took "
            f"{first.wall - again:+.2f} s over the later ones"
        )
    print(
        "floor: block/get of k random blocks of the same content, fresh node peered only "
        f"with Bob, median of {args.repeat}"
    )
    for k, runs in floors.items():
        cells = [f"{t} threads {median(s for s, _ in r):.3f} s" for t, r in runs.items()]
        best = min(runs, key=lambda t: median(s for s, _ in runs[t]))
        best_seconds = median(s for s, _ in runs[best])
        check = median(v.check["seconds"] for v in verifies[k][1])
        one = median(s for s, _ in runs[1])
        print(
            f"k={k}: {', '.join(cells)}; best {best_seconds:.3f} s "
            f"({median(b for _, b in runs[best]) / KiB:.1f} KiB); check of bob (later "
            f"verifies) / best floor {check / best_seconds:.1f}x, / 1 thread {check / one:.2f}x"
        )


if __name__ == "__main__":
    main()
