"""Names that outlive their publisher: each member keeps the other members' signed IPNS
records and puts them back on the DHT, which forgets a record nobody put within 48 hours.

A record is signed by its publisher's key, so a member can only hand on what the
publisher signed, never change it: the newest valid record seen for a peer's name is kept
(state/store.py's KeptRecords), and put back every record_put_interval, jittered, for as
long as the record itself is valid (record_lifetime on the publisher's side). A record
that is expired, not signed by the peer's key, or older than one seen is never put. A
peer whose name does not resolve keeps its pins as any failing peer does; its kept record
only says, in the log and ``status``, what it last listed, and is never a reason to
release anything.

Nothing here changes a pin or the exit code: a record that cannot be fetched (the name
may be gone) is a line at info, a put that fails a warning, tried again at the next put.
A sync whose peers resolve as before and whose puts are not due makes no call here.
"""

import base64
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from ..config import Config, Peer, node_of
from ..errors import KuboError, KuboRefused, KuboUnreachable
from ..ipfs.kubo import KuboClient, RecordInfo
from ..policy.schedule import jittered, latest
from ..report.status import span
from ..state.store import KeptRecord, KeptRecords, Snapshot, StateDir

log = logging.getLogger(__name__)

# Failures of this node, not of a peer: the step stops there.
_NODE_FAULTS = (KuboUnreachable, KuboRefused)


def keep_alive(
    client: KuboClient,
    config: Config,
    store: StateDir,
    known: Snapshot,
    resolved: dict[str, str],
    now: datetime,
) -> None:
    """Keep, put back and fall back on each peer's record; ``resolved``: the path each
    peer's name resolved to in this run, by peer name (absent: not resolved). Peers are
    taken side by side: a fetch or a put on the public DHT may take most of a minute."""
    before = known.kept.peers if known.kept else {}

    def step(peer: Peer) -> KeptRecord | None:
        entry = before.get(peer.name)
        if entry is not None and not entry.of(peer.ipns):
            entry = None  # the record of the name the peer had before
        # A DNSLink name has no record of its own to keep.
        if node_of(peer.ipns) is None:
            return entry
        return _Keeper(client, config, peer, now).run(
            entry and replace(entry), resolved.get(peer.name)
        )

    workers = max(1, min(config.concurrency, len(config.peers)))
    with ThreadPoolExecutor(workers, thread_name_prefix="records") as pool:
        steps = {peer.name: pool.submit(step, peer) for peer in config.peers}
    kept: dict[str, KeptRecord] = {}
    fault: Exception | None = None
    for name, done in steps.items():
        try:
            entry = done.result()
        except _NODE_FAULTS as exc:
            # This node failed, not the peer: its entry stays as it was.
            fault, entry = fault or exc, before.get(name)
        if entry is not None:
            kept[name] = entry
    if fault is not None:
        log.warning("the other members' IPNS records were not kept or put back (%s)", fault)
    if kept != before:
        known.kept = KeptRecords(kept)
        store.save_kept(known.kept)


def due(entry: KeptRecord, config: Config, now: datetime) -> bool:
    """Whether the record is to be put back now."""
    interval = config.record_put_interval
    if interval is None:
        return False
    if entry.next_put_at is None:
        return True
    next_at = datetime.fromisoformat(entry.next_put_at)
    # A put scheduled further off than the interval allows: the config shortened it.
    return now >= next_at or next_at > latest(now, interval)


class _Keeper:
    """One peer's record through one run's keep, fallback and put."""

    def __init__(self, client: KuboClient, config: Config, peer: Peer, now: datetime) -> None:
        self.client = client
        self.config = config
        self.peer = peer
        self.now = now

    def run(self, entry: KeptRecord | None, path: str | None) -> KeptRecord | None:
        config = self.config
        put_due = entry is not None and due(entry, config, self.now)
        if (path is not None and (entry is None or entry.value != path)) or put_due:
            entry = self._keep(entry)
        if entry is None:
            return None
        if path is None and self.now < _moment(entry.expires):
            log.warning(
                "peer %s: name did not resolve; its kept record (sequence %d, valid until "
                "%s) points to %s; keeping what it last listed",
                self.peer.name, entry.sequence, _day(entry.expires), entry.value,
            )  # fmt: skip
        if due(entry, config, self.now):
            return self._put(entry)
        return entry

    def _keep(self, entry: KeptRecord | None) -> KeptRecord | None:
        """The newest valid record of the peer's name: the one the network has now when
        it is not older than ``entry``, else ``entry``."""
        peer, now = self.peer, self.now
        try:
            record = self.client.name_get(peer.ipns, self.config.resolve_timeout)
            info = self.client.name_inspect(record, peer.ipns)
        except _NODE_FAULTS:
            raise
        except KuboError as exc:
            log.info("peer %s: its IPNS record was not fetched (%s)", peer.name, exc)
            return entry
        problem = _refusal(info, now)
        if problem:
            log.warning(
                "peer %s: the IPNS record found for its name was not kept (%s)", peer.name, problem
            )
            return entry
        if entry is not None:
            entry.highest_sequence = max(entry.highest_sequence, info.sequence)
            if info.sequence < entry.highest_sequence:
                log.info(
                    "peer %s: its IPNS record has sequence %d, lower than %d seen before; "
                    "not kept", peer.name, info.sequence, entry.highest_sequence,
                )  # fmt: skip
                return entry
            if (info.sequence, info.expires) <= (entry.sequence, _moment(entry.expires)):
                return entry
        interval = self.config.record_put_interval
        kept = KeptRecord(
            record=base64.b64encode(record).decode(),
            value=info.value,
            sequence=info.sequence,
            expires=info.expires.isoformat(),
            kept_at=now.isoformat(),
            highest_sequence=info.sequence,
            ipns=peer.ipns,
        )
        if entry is None:
            # Kept for the first time: the first put is an interval off (0: at once).
            kept.next_put_at = None if interval is None else jittered(now, interval).isoformat()
        else:
            kept.put_at, kept.next_put_at, kept.error = entry.put_at, entry.next_put_at, entry.error
        log.info(
            "peer %s: its IPNS record (sequence %d, valid until %s) kept",
            peer.name, kept.sequence, _day(kept.expires),
        )  # fmt: skip
        return kept

    def _put(self, entry: KeptRecord) -> KeptRecord | None:
        """Put the kept record back on the network, checked once more; None when it is
        not the peer's at all."""
        peer, now, interval = self.peer, self.now, self.config.record_put_interval or 0
        entry.next_put_at = jittered(now, interval).isoformat()
        try:
            info = self.client.name_inspect(entry.data, peer.ipns)
            problem = _refusal(info, now)
            if problem is None and info.sequence < entry.highest_sequence:
                problem = f"sequence {info.sequence} is lower than {entry.highest_sequence} seen"
            if problem is None:
                self.client.name_put(peer.ipns, entry.data, self.config.resolve_timeout)
        except _NODE_FAULTS:
            raise
        except KuboError as exc:
            entry.error = str(exc)
            log.warning(
                "peer %s: its IPNS record was not put back (%s); tried again in %s",
                peer.name, exc, span(interval),
            )  # fmt: skip
            return entry
        if problem is None:
            entry.put_at, entry.error = now.isoformat(), None
            log.info(
                "peer %s: its IPNS record (sequence %d, valid until %s) put back on the network",
                peer.name, info.sequence, _day(entry.expires),
            )  # fmt: skip
            return entry
        if info.valid or info.expires <= now:
            entry.error = problem
            log.warning("peer %s: its kept IPNS record was not put back (%s)", peer.name, problem)
            return entry
        log.warning(
            "peer %s: its kept IPNS record is not signed by peer %s's key (%s); dropped, "
            "nothing put back", peer.name, peer.name, problem,
        )  # fmt: skip
        return None


def _refusal(info: RecordInfo, now: datetime) -> str | None:
    """Why a record is no record of the name to keep or put: expired, or not valid."""
    if info.expires <= now:
        return f"expired at {info.expires.isoformat(timespec='seconds')}"
    if not info.valid:
        return info.reason or "not valid"
    return None


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _day(stamp: str) -> str:
    return _moment(stamp).isoformat(timespec="seconds")
