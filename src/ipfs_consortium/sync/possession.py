"""Possession checks: ask each member's node for blocks of this member's own content, and
check every answer against its CID (report/possession.py says what the results mean).

Each member's Kubo serves its blocks, and only the blocks it holds, through its loopback
gateway (Gateway.NoFetch), which every sync mounts on the libp2p protocol PROTOCOL
(``serve``: Kubo forgets the mount when it restarts). A check forwards a loopback port to
the member's peer ID over that protocol: libp2p authenticates the node at the other end,
so an answer can come from that node alone, which cannot fetch what it lacks. No port
opens to the network on either side.

The blocks are sampled at random, each as likely as any other, from this member's own
content: the CIDs its manifests list and every block below them, listed once for each
root of its manifests (StateDir.own_blocks) from this node's own copy, offline. A member
is asked only when its report says it holds this member's content in full: a partial copy
is already not counted. A check changes no pin, and never a sync's exit code.
"""

import logging
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import requests

from ..config import Config, Peer
from ..errors import KuboError, KuboRefused, KuboUnreachable
from ..ipfs.cid import CidKey, block_matches, checkable, key_of_canonical, key_text
from ..ipfs.kubo import KuboClient
from ..policy.schedule import jittered, latest
from ..report.copies import (
    THIS_MEMBER,
    Content,
    MemberReport,
    stored_report,
    view,
)
from ..report.exchange import own_content, read_reports
from ..report.figures import figures
from ..report.possession import FAILED, MemberCheck, member_checks
from ..state.store import Checks, PeerState, ReportsSeen, StateDir
from .read import Reading, read_peer

log = logging.getLogger(__name__)

PROTOCOL = "/x/ipfs-consortium/blocks/1.0"
# The states of a holder whose report says it holds this member's content in full.
_CLAIMS_FULL = ("full", "failed_check")
# The largest block Kubo's Bitswap moves: a longer answer is no block.
_MAX_BLOCK = 2 * 1024 * 1024
_REFS_BATCH = 100


def serve(client: KuboClient, config: Config) -> None:
    """Keep this node's gateway mounted for the others' checks (one call when it is)."""
    try:
        mounts = [
            stream
            for stream in client.streams()
            if stream.protocol == PROTOCOL and stream.listen.startswith("/p2p/")
        ]
        if any(stream.target == config.gateway for stream in mounts):
            return
        for stream in mounts:
            client.p2p_close(PROTOCOL, listen=stream.listen)
        client.p2p_listen(PROTOCOL, config.gateway)
    except KuboUnreachable:
        raise
    except (KuboError, KuboRefused) as exc:
        log.warning(
            "this node's blocks are not open to the others' possession checks (%s); Kubo "
            "needs Experimental.Libp2pStreamMounting and Gateway.NoFetch, as the kubo role "
            "sets them", exc,
        )  # fmt: skip
        return
    log.info("this node's gateway %s answers the others' possession checks", config.gateway)


def due(checks: Checks | None, config: Config, now: datetime) -> bool:
    interval = config.check_interval
    if interval is None:
        return False
    if checks is None:
        return True
    last = datetime.fromisoformat(checks.checked_at)
    return now >= min(datetime.fromisoformat(checks.next_at), latest(last, interval))


def verify_now(config: Config, state_dir: Path) -> Checks:
    """A check of every member now, by the reports read now; recorded like the sync's."""
    store = StateDir(state_dir)
    store.ensure()
    with store.lock():
        client = KuboClient.from_config(config)
        try:
            known = store.snapshot(config)
            now = datetime.now(UTC)
            mine = figures(config, known).configured
            reports = _reports(client, config, known.seen)
            own = view(config, own_content(client, config), mine, reports, now)
            checks = check_members(client, config, store, own.own, known.checks, now)
        finally:
            client.close()
        store.save_checks(checks)
    return checks


def _reports(client: KuboClient, config: Config, seen: ReportsSeen | None) -> list[MemberReport]:
    """Each member's report read now, or, when it cannot be, as the last heartbeat read
    it: a member that is down now is still asked, and found unreachable."""
    kept = {
        peer: stored_report(peer, entry, config)
        for peer, entry in (seen.members if seen else {}).items()
    }
    return [
        read if read.report is not None else kept.get(read.peer, read)
        for read in read_reports(client, config)
    ]


def check_members(
    client: KuboClient,
    config: Config,
    store: StateDir,
    own: Content,
    previous: Checks | None,
    now: datetime,
    rng: random.Random | None = None,
) -> Checks:
    """Check every member whose report claims ``own`` in full, side by side. Kubo
    unreachable or refusing a call raises: the others are not at fault."""
    rng = rng or random.Random()
    before = member_checks(previous)
    stamp = now.isoformat()
    sample: list[str] = []
    if own.ipns is None or own.root is None:
        reason = "this member's content is not published"
    else:
        sample = _sample(
            _own_blocks(client, config, store, own.ipns, own.root), config.check_blocks, rng
        )
        reason = "" if sample else "no block of this member's content is on its own node"
    claims = {holder.member: holder.state for holder in own.holders}
    nodes = {holder.member: holder.nodes for holder in own.holders}
    why_not = {
        peer.name: reason or _no_full_claim(claims.get(peer.name, "no_report"))
        for peer in config.peers
    }
    asked = [peer for peer in config.peers if not why_not[peer.name]]
    results = {
        peer.name: _not_checked(peer, before.get(peer.name), stamp, why_not[peer.name])
        for peer in config.peers
        if why_not[peer.name]
    }
    if asked:
        workers = max(1, min(config.concurrency, len(asked)))
        with ThreadPoolExecutor(workers, thread_name_prefix="check") as pool:
            checked = pool.map(
                lambda peer: _check(
                    client,
                    config,
                    peer,
                    nodes.get(peer.name, ()),
                    sample,
                    before.get(peer.name),
                    stamp,
                ),  # fmt: skip
                asked,
            )
            results.update((peer.name, check) for peer, check in zip(asked, checked, strict=True))
    members = {peer.name: results[peer.name].to_json() for peer in config.peers}
    return Checks(stamp, next_due(config, now, rng), own.root, members)


def _no_full_claim(state: str) -> str:
    if state in _CLAIMS_FULL:
        return ""
    return f"its report claims no full copy ({state.replace('_', ' ')})"


def _not_checked(peer: Peer, last: MemberCheck | None, stamp: str, why: str) -> MemberCheck:
    verified_at = last.verified_at if last else None
    return MemberCheck(peer.peer_id, checked_at=stamp, verified_at=verified_at, detail=why)


def next_due(config: Config, now: datetime, rng: random.Random | None = None) -> str:
    """When the check after one made ``now`` is due: check_interval, jittered."""
    return jittered(now, config.check_interval or 0.0, rng).isoformat()


def _own_blocks(
    client: KuboClient, config: Config, store: StateDir, name: str, root: str
) -> Iterator[str]:
    blocks = store.own_blocks(root)
    if blocks is None:
        started = time.monotonic()
        store.save_own_blocks(root, _list_blocks(client, config, name, root))
        log.info(
            "the blocks of this member's content (root %s) listed in %.2fs for the "
            "possession checks", root, time.monotonic() - started,
        )  # fmt: skip
        blocks = store.own_blocks(root)
    return blocks or iter(())


def _list_blocks(client: KuboClient, config: Config, name: str, root: str) -> Iterator[str]:
    """Every block of this member's content that its node holds, each once: its manifests
    read as a peer's are, then the blocks below each CID they list."""
    me = Peer(THIS_MEMBER, name, config.max_pins, None, None)
    reading = read_peer(
        client, Reading(me, f"/ipfs/{root}", root), config, PeerState(me.name, name), (), {}, None
    )
    for problem in reading.errors + reading.warnings:
        log.warning("%s", problem)
    listed = [key_text(key) for key in reading.wanted]
    seen: set[CidKey] = set()
    not_held = 0
    for start in range(0, len(listed), _REFS_BATCH):
        batch = listed[start : start + _REFS_BATCH]
        for block in chain(batch, client.refs(batch)):
            if isinstance(block, KuboError):
                not_held += 1
                continue
            key = key_of_canonical(block)
            if key not in seen and checkable(key):
                seen.add(key)
                yield block
    if not_held:
        log.warning(
            "%d CIDs of this member's own content are not whole on its own node: the "
            "possession checks sample none of their missing blocks", not_held,
        )  # fmt: skip


def _sample(blocks: Iterable[str], k: int, rng: random.Random) -> list[str]:
    """``k`` blocks at random, in one pass over however many there are."""
    chosen: list[str] = []
    for seen, block in enumerate(blocks):
        if seen < k:
            chosen.append(block)
        else:
            slot = rng.randrange(seen + 1)
            if slot < k:
                chosen[slot] = block
    return chosen


def _check(
    client: KuboClient,
    config: Config,
    peer: Peer,
    nodes: tuple[str, ...],
    blocks: list[str],
    last: MemberCheck | None,
    stamp: str,
) -> MemberCheck:
    """Ask the member's node for ``blocks``; a member whose report names several nodes
    (``nodes``, a cluster's) holds a block that one of them serves."""
    if peer.peer_id is None:
        why = "its node's peer ID is not known (peer_id in config.json)"
        return _not_checked(peer, last, stamp, why)
    counts: Counter[str] = Counter()
    size, detail, asking = 0, "", blocks
    started = time.monotonic()
    try:
        for node in dict.fromkeys([peer.peer_id, *nodes]):
            answers, got, cut, asking = _ask_node(client, node, asking, config)
            counts += answers
            size += got
            detail = detail or cut
            if not asking:
                break
    except KuboUnreachable:
        raise
    except KuboError as exc:
        return _not_checked(peer, last, stamp, str(exc))
    counts["missing"] += len(asking)
    seconds = round(time.monotonic() - started, 3)
    verified_at = last.verified_at if last else None
    if counts["verified"] == len(blocks):
        verified_at = stamp
    check = MemberCheck(
        peer.peer_id, len(blocks), counts["verified"], counts["missing"], counts["wrong"],
        counts["unreachable"], size, seconds, stamp, verified_at, detail,
    )  # fmt: skip
    failed = check.result == FAILED
    log.log(
        logging.WARNING if failed else logging.INFO,
        "possession check of %s: %s%s (%d bytes in %.2fs)",
        peer.name, check.summary(), f"; {detail}" if detail else "", size, seconds,
    )  # fmt: skip
    return check


def _ask_node(
    client: KuboClient, node: str, blocks: list[str], config: Config
) -> tuple[Counter[str], int, str, list[str]]:
    """``_ask`` of one node through a forward of its own; the blocks it lacked."""
    target = f"/p2p/{node}"
    # A forward that a killed run left would be found first.
    client.p2p_close(PROTOCOL, target=target)
    client.p2p_forward(PROTOCOL, "/ip4/127.0.0.1/tcp/0", node)
    try:
        return _ask(_forwarded(client, target), blocks, config)
    finally:
        client.p2p_close(PROTOCOL, target=target)


def _forwarded(client: KuboClient, target: str) -> str:
    """The local URL of the forward to ``target``."""
    for stream in client.streams():
        if stream.protocol == PROTOCOL and stream.target == target:
            host, port = stream.listen.split("/")[2::2]
            return f"http://{host}:{port}"
    raise KuboError(f"Kubo p2p/ls: no forward to {target} after p2p/forward made one")


def _ask(base: str, blocks: list[str], config: Config) -> tuple[Counter[str], int, str, list[str]]:
    """Each block's fate but missing, the bytes of the answers, what cut the check short,
    and the blocks the node answered it lacks."""
    counts: Counter[str] = Counter()
    size = 0
    lacking: list[str] = []
    with requests.Session() as session:
        session.trust_env = False
        for index, cid in enumerate(blocks):
            try:
                block = _get(session, f"{base}/ipfs/{cid}?format=raw", config)
            except requests.RequestException as exc:
                # Every later block would wait as long: a check costs one timeout at most.
                counts["unreachable"] += len(blocks) - index
                return counts, size, f"no answer from its node ({type(exc).__name__})", lacking
            if block is None:
                lacking.append(cid)
                continue
            size += len(block)
            counts["verified" if block_matches(key_of_canonical(cid), block) else "wrong"] += 1
    return counts, size, "", lacking


def _get(session: requests.Session, url: str, config: Config) -> bytes | None:
    """The block the member's node answered with; None when it answered without one."""
    headers = {"Accept": "application/vnd.ipld.raw"}
    timeout = (config.connect_timeout, config.request_timeout)
    with session.get(url, headers=headers, timeout=timeout, stream=True) as response:
        if response.status_code != 200:
            return None
        block = bytearray()
        for chunk in response.iter_content(65536):
            block += chunk
            if len(block) > _MAX_BLOCK:
                break
        return bytes(block)
