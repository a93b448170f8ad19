"""Benchmark: K publishers each listing M small CIDs, one member syncing them.

Prints, for a first sync and for a no-op second sync, the wall time and the RPC calls
made, beside the floor: the same pins done as one plain ``pin/add`` per CID on a fresh
node. Everything runs on loopback Kubo daemons in a private swarm.

    .venv/bin/python bench/sync_bench.py --peers 5 --cids 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipfs_consortium.config import parse_config  # noqa: E402
from ipfs_consortium.sync import run_sync  # noqa: E402
from tests.kubonet import KuboNode, kubo_binary, new_swarm_key  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=5)
    parser.add_argument("--cids", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    binary, key = kubo_binary(), new_swarm_key()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nodes: list[KuboNode] = []

        def node(name: str) -> KuboNode:
            new = KuboNode(binary, root / name, key)
            new.start()
            for other in nodes:
                new.connect(other)
            nodes.append(new)
            return new

        try:
            publishers = [node(f"publisher{i}") for i in range(args.peers)]
            wanted: list[str] = []
            for index, publisher in enumerate(publishers):
                cids = publisher.add_many(f"peer{index}", args.cids)
                wanted += cids
                publisher.publish_json_dir({"manifest.json": cids})
            member, floor_node = node("member"), node("floor")
            config = parse_config(
                {
                    "peers": [p.peer_id for p in publishers],
                    "api": member.api,
                    "concurrency": args.concurrency,
                },
                "bench",
            )
            state = root / "state"

            first = run_sync(config, state)
            second = run_sync(config, state)

            started = time.monotonic()
            for cid in wanted:
                floor_node.rpc("pin/add", cid)
            floor = time.monotonic() - started
        finally:
            for each in nodes:
                each.stop()

    total = args.peers * args.cids
    assert first.exit_code == 0 and second.exit_code == 0, json.dumps(first.to_json())[:2000]
    print(f"{args.peers} peers x {args.cids} CIDs = {total} pins, concurrency {args.concurrency}")
    print(f"floor (one plain pin/add per CID, fresh node): {floor:.2f}s, {total} RPC calls")
    print(
        f"first sync:  {first.seconds:.2f}s, {first.rpc_calls} RPC calls, "
        f"{first.seconds / floor:.2f}x the floor (target <= 1.2x)"
    )
    print(
        f"no-op sync:  {second.seconds:.3f}s, {second.rpc_calls} RPC calls "
        f"(target < 1s and <= {args.peers + 1} calls)"
    )


if __name__ == "__main__":
    main()
