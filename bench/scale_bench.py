"""Scale benchmark: wall time, RPC calls and peak RSS of one sync process.

(a) A no-op sync of 20 peers x 10,000 CIDs (200,000 pins), a heartbeat sync of the same
    (nothing changed, but the holdings report is due: it publishes this member's and reads
    the 20 peers'), then a forced full check (``sync --verify``) of the same.
(b) ``sync --dry-run`` of one peer listing 1,000,000 CIDs, on a fresh member, as an
    operator runs it (a sample of the changes, not all a million: no ``--json``).

Each sync runs as its own process, the tool's command line behind a two-line wrapper that
reports the process's VmHWM (peak RSS) as it exits. Not ru_maxrss: Linux carries that
over from the parent across fork and exec, so it would count this script's memory.

Seeding, straight through Kubo's RPC API: (a) the 200,000 small raw blocks are made in
Python and written to one CARv1 file with no roots, which ``dag/import`` (pin-roots
false) loads into the member; ``pin/add`` then pins them with the names the tool gives
them, many CIDs and one name per call. One publisher node holds a key per peer and
publishes each peer's manifest under it. A first sync, which finds every CID already
pinned, records the state directory; the no-op sync after it is the one measured.
(b) the 1,000,000 CIDs are computed in Python (a dry run needs no content) into manifests
of 100,000. The daemons' repos live on /dev/shm when it exists (see --workdir): on a disk
Kubo takes ~3.5 ms a pin against ~1 ms there, and seeding would take over ten minutes.

    .venv/bin/python bench/scale_bench.py --peers 20 --cids 10000 --big 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Measure the code of this checkout, whatever the virtualenv has installed.
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from harness.kubonet import KuboNode, Net, kubo_binary  # noqa: E402
from ipfs_consortium.config import Config  # noqa: E402
from ipfs_consortium.ipfs.cid import key_text  # noqa: E402
from ipfs_consortium.policy.pin_names import PinNames  # noqa: E402
from ipfs_consortium.report.holdings import REPORT_FILE, Holding, Holdings  # noqa: E402

CONSORTIUM = "default"
# Kubo's Go refuses a query of more than 10,000 parameters; stay well under.
PIN_ARGS_PER_CALL = 5_000
CIDS_PER_MANIFEST = 100_000
MiB = 1024 * 1024


# -- CIDs and CAR files ----------------------------------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def raw_cid(data: bytes) -> bytes:
    """Binary CIDv1 of a raw block: version 1, codec raw (0x55), sha2-256 multihash."""
    return b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()


def cid_text(binary: bytes) -> str:
    return key_text(int.from_bytes(binary, "big"))


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    raise ValueError(length)


def car_header(roots: list[bytes]) -> bytes:
    """dag-cbor {"roots": [...], "version": 1}, length-prefixed (keys in dag-cbor order)."""
    body = _cbor_head(5, 2) + _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        link = b"\x00" + root  # tag 42: a CID as bytes behind the identity multibase prefix
        body += b"\xd8\x2a" + _cbor_head(2, len(link)) + link
    body += _cbor_head(3, 7) + b"version" + b"\x01"
    return varint(len(body)) + body


def car_file(blocks: list[tuple[bytes, bytes]]) -> bytes:
    """A CARv1 with no roots holding ``blocks`` (binary CID, data)."""
    parts = [car_header([])]
    for cid, data in blocks:
        parts += [varint(len(cid) + len(data)), cid, data]
    return b"".join(parts)


def generated_cids(prefix: str, count: int) -> Iterator[tuple[bytes, bytes]]:
    for index in range(count):
        data = f"{prefix} {index}".encode()
        yield raw_cid(data), data


# -- running the tool ------------------------------------------------------------------


@dataclass
class Run:
    report: dict[str, Any]
    log: str
    seconds: float  # as the tool reports it
    wall: float  # of the whole process, Python's start included
    rpc_calls: int
    peak_rss_mib: float
    exit_code: int

    def figures(self) -> str:
        return (
            f"{self.seconds:.2f} s (process {self.wall:.2f} s), {self.rpc_calls} RPC calls, "
            f"peak RSS {self.peak_rss_mib:.1f} MiB"
        )


def tool_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}


# The tool's command line, then the peak RSS of this process since its exec.
WRAPPER = """import sys; from ipfs_consortium.cli import main; code = main(sys.argv[1:])
print(*(l for l in open('/proc/self/status') if l.startswith('VmHWM')), file=sys.stderr)
sys.exit(code)"""
# The tool's last log line: "done in 0.512s with 21 RPC calls (...)".
DONE = re.compile(r"done in ([0-9.]+)s with (\d+) RPC calls")


def sync(work: Path, name: str, config: dict[str, Any], *flags: str) -> Run:
    """Run one ``sync`` as its own process; its output goes to files, not pipes."""
    config_file = work / f"{name}.config.json"
    config_file.write_text(json.dumps(config))
    out, err = work / f"{name}.out", work / f"{name}.log"
    command = [
        sys.executable, "-c", WRAPPER, "sync", "--config", str(config_file),
        "--state-dir", str(work / f"{name}.state"), *flags,
    ]  # fmt: skip
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        code = subprocess.run(command, stdout=stdout, stderr=stderr, env=tool_env()).returncode
        wall = time.monotonic() - started
    log = err.read_text()
    done, peak = DONE.search(log), re.search(r"VmHWM:\s+(\d+) kB", log)
    if done is None or peak is None:
        raise RuntimeError(f"sync {' '.join(flags)} exited {code}: {log[-2000:]}")
    return Run(
        report=json.loads(out.read_bytes()) if "--json" in flags else {},
        log=log,
        seconds=float(done[1]),
        wall=wall,
        rpc_calls=int(done[2]),
        peak_rss_mib=int(peak[1]) / 1024,
        exit_code=code,
    )


def total(run: Run, field: str) -> int:
    return sum(int(peer[field]) for peer in run.report["peers"])


def check(run: Run, what: str, **expected: int) -> None:
    found = {field: total(run, field) for field in expected}
    if run.exit_code != 0 or found != expected:
        peers = json.dumps(run.report.get("peers"))[:1500]
        raise RuntimeError(f"{what}: exit code {run.exit_code}, {found} != {expected}: {peers}")


# -- Kubo ------------------------------------------------------------------------------


def cpu_seconds(node: KuboNode) -> float:
    assert node.process is not None
    fields = Path(f"/proc/{node.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(nodes: list[KuboNode], limit: float = 60) -> None:
    """Wait (at most ``limit`` seconds) until the daemons use under 5% of a core."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(n) for n in nodes)
        time.sleep(1)
        if sum(cpu_seconds(n) for n in nodes) - before < 0.05:
            return
    print(f"  (the Kubo daemons were still busy after {limit:.0f} s)", file=sys.stderr)


def pin_named(node: KuboNode, cids: list[str], name: str) -> int:
    """Pin ``cids`` recursively with one name, many per call; return the calls made."""
    chunks = [cids[i : i + PIN_ARGS_PER_CALL] for i in range(0, len(cids), PIN_ARGS_PER_CALL)]
    for chunk in chunks:
        answer = node.rpc("pin/add", *chunk, name=name, timeout=1200)
        if len(answer["Pins"]) != len(chunk):
            raise RuntimeError(f"pin/add pinned {len(answer['Pins'])} of {len(chunk)}")
    return len(chunks)


# -- the two scenarios -----------------------------------------------------------------


def peer_report(publisher: KuboNode, cids: int) -> bytes:
    """A holdings report of the publisher's, as a member holding one peer in full writes it."""
    made = datetime.now(UTC).isoformat(timespec="seconds")
    held = Holding(publisher.peer_id, None, None, cids + 1, cids + 1, 0, 0, 0, made, None)
    return Holdings(publisher.peer_id, CONSORTIUM, made, "bench", 0, 0, (held,)).encode()


def no_op(net: Net, publisher: KuboNode, peers: int, cids: int) -> None:
    member = net.node(name="member")
    seeding = time.monotonic()
    names = PinNames(CONSORTIUM)
    blocks: list[tuple[bytes, bytes]] = []
    listed: dict[str, list[str]] = {}
    reports: dict[str, str] = {}
    for index in range(peers):
        ipns = publisher.new_key(f"peer{index}")
        reports[ipns] = publisher.new_key(f"report{index}")
        mine = list(generated_cids(f"scale peer {index} block", cids))
        blocks += mine
        listed[ipns] = [cid_text(cid) for cid, _ in mine]
    car = car_file(blocks)
    del blocks
    made = time.monotonic() - seeding

    started = time.monotonic()
    answer = member.rpc(
        "dag/import", files={"file": ("blocks.car", car)}, pin_roots=False, stats=True,
        timeout=1200,
    )  # fmt: skip
    imported = time.monotonic() - started
    if answer["Stats"]["BlockCount"] != peers * cids:
        raise RuntimeError(f"dag/import: {answer}")

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        calls = sum(
            pool.map(lambda item: pin_named(member, item[1], names.name([item[0]])), listed.items())
        )
    pinned = time.monotonic() - started

    started = time.monotonic()
    for index, listing in enumerate(listed.values()):
        publisher.publish_json_dir({"manifest.json": listing}, key=f"peer{index}")
        publisher.publish_json_dir(
            {REPORT_FILE: peer_report(publisher, cids)}, key=f"report{index}"
        )
    published = time.monotonic() - started
    wait_idle([member, publisher])
    print(
        f"seeding (a): {time.monotonic() - seeding:.1f} s: {peers * cids} raw blocks made in "
        f"Python and written to a {len(car) / MiB:.1f} MiB CAR {made:.1f} s, dag/import "
        f"{imported:.1f} s, pin/add with the tool's names {pinned:.1f} s in {calls} calls, "
        f"{peers} manifests and holdings reports published {published:.1f} s",
        flush=True,
    )
    del car

    config = {
        # Every peer's key is on the one publisher: it is the node that answers for each.
        "peers": [
            {"ipns": ipns, "peer_id": publisher.peer_id, "report": reports[ipns]} for ipns in listed
        ],
        "api": member.api,
        "consortium": CONSORTIUM,
        "max_pins": max(cids, Config(peers=()).max_pins),
    }
    first = sync(net.root, "noop", config, "--json")
    # Every CID is pinned already; only the manifest directories are new.
    check(first, "first sync", newly_pinned=peers, already_pinned=peers * cids)
    print(f"first sync, recording the state (pins the {peers} directories): {first.figures()}")
    wait_idle([member, publisher])

    second = sync(net.root, "noop", config, "--json")
    check(second, "no-op sync", newly_pinned=0, already_pinned=peers * (cids + 1))
    print(f"no-op sync, {peers} peers x {cids} CIDs: {second.figures()} (goal < 1 s)", flush=True)

    # The heartbeat, due at once: the same no-op, plus one publish and the peers' reports.
    beat = sync(net.root, "noop", config | {"report_interval": 0.001}, "--json")
    check(beat, "heartbeat sync", newly_pinned=0, already_pinned=peers * (cids + 1))
    if beat.report["report_error"] or "holdings report published" not in beat.log:
        raise RuntimeError(f"heartbeat sync: no report published: {beat.log[-2000:]}")
    print(f"heartbeat sync (publish own report, read {peers} reports): {beat.figures()}")

    full = sync(net.root, "noop", config, "--json", "--verify")
    check(full, "sync --verify", newly_pinned=0)
    print(f"full check (sync --verify), {peers} peers x {cids} CIDs: {full.figures()}")
    member.discard(net.nodes)


def dry_run(net: Net, publisher: KuboNode, count: int) -> None:
    started = time.monotonic()
    ipns = publisher.new_key("big")
    files = math.ceil(count / CIDS_PER_MANIFEST)
    cids = [cid_text(cid) for cid, _ in generated_cids("big list entry", count)]
    manifests = {
        f"part{part:03}.json": cids[part * CIDS_PER_MANIFEST : (part + 1) * CIDS_PER_MANIFEST]
        for part in range(files)
    }
    largest = max(len(json.dumps(m)) for m in manifests.values())
    del cids
    publisher.publish_json_dir(manifests, key="big")
    del manifests
    member = net.node(name="big-member")
    wait_idle([member, publisher])
    print(
        f"seeding (b): {time.monotonic() - started:.1f} s: {count} CIDs computed in Python "
        f"into {files} manifests (largest {largest / MiB:.1f} MiB), published",
        flush=True,
    )
    config = {
        "peers": [{"ipns": ipns, "peer_id": publisher.peer_id, "max_pins": count}],
        "api": member.api,
        "consortium": CONSORTIUM,
    }
    run = sync(net.root, "dry", config, "--dry-run")
    if run.exit_code != 0 or f"would pin {count + 1} and rename 0 in all" not in run.log:
        raise RuntimeError(f"dry run: exit code {run.exit_code}: {run.log[-2000:]}")
    print(f"dry run, 1 peer x {count} CIDs: {run.figures()} (goal < 150 MiB)")
    member.discard(net.nodes)


def default_workdir() -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 << 30:
        return shm
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=20, help="(a): peers (default 20)")
    parser.add_argument("--cids", type=int, default=10_000, help="(a): CIDs a peer (10000)")
    parser.add_argument("--big", type=int, default=1_000_000, help="(b): CIDs (1000000)")
    parser.add_argument(
        "--workdir", type=Path, default=default_workdir(),
        help="where the Kubo repos and state go (default: /dev/shm if usable, else $TMPDIR)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scale-bench-", dir=args.workdir) as tmp:
        print(f"Kubo repos and state under {tmp}", flush=True)
        net = Net(kubo_binary(), Path(tmp))
        try:
            publisher = net.node(name="publisher")
            if args.peers and args.cids:
                no_op(net, publisher, args.peers, args.cids)
            if args.big:
                dry_run(net, publisher, args.big)
        finally:
            net.close()


if __name__ == "__main__":
    main()
