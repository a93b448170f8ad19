"""The figures of a member, typed, from one place: ``status`` and the metrics file both
show these.

A sync builds them from what it holds in memory at its end (the state directory as it
has just written it); ``status`` builds them from the state directory. The peers are
those of the config, then the peers removed from it whose pins still wait for their
release (releases.json), marked as removed. A record that a removed peer left in the
state directory is not shown: it would say "failing" for ever.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..config import Config, Peer
from ..policy.release import ReleaseBook
from ..state.store import (
    Allocation,
    Checks,
    KeptRecord,
    PeerState,
    Published,
    ReportsSeen,
    Snapshot,
)
from ..sync.reach import Reach


@dataclass(frozen=True)
class RecordFigures:
    """The peer's IPNS record as this member keeps it (sync/keepalive.py); times ISO."""

    sequence: int
    value: str
    expires: str
    kept_at: str
    put_at: str | None
    next_put_at: str | None
    error: str | None


@dataclass(frozen=True)
class PeerFigures:
    """A peer of the config: its last run, its root, what is held for it."""

    peer: str
    configured: bool
    ipns: str
    ok: bool
    root: str | None
    root_first_seen: str | None
    seen_root: str | None
    seen_root_since: str | None
    root_behind: bool
    last_attempt: str | None
    last_success: str | None
    last_error: str | None
    failing_since: str | None
    # Of the last run (True/None for a record older than these fields).
    connected: bool | None
    confirmed: bool
    pins_held: int
    bytes_held: int
    # Of the last full check (PeerState.held).
    listed: int
    over_quota: int
    failed_pins: int
    max_pins: int
    max_bytes: int | None
    pins_awaiting_release: int
    next_release: str | None
    # Whether the last run resolved the peer's name, and the record kept of it (None: none).
    resolved: bool = False
    record: RecordFigures | None = None


@dataclass(frozen=True)
class RemovedPeerFigures:
    """A peer removed from the config whose pins still wait for their release."""

    peer: str
    configured: bool
    pins_awaiting_release: int
    next_release: str


@dataclass(frozen=True)
class ReleaseFigures:
    """The pins waiting for their release, as the last run left them."""

    waiting: int
    waiting_by_peer: dict[str, int]
    next_due: str | None
    held: str | None


@dataclass(frozen=True)
class Figures:
    # The config's peers in its order, then the removed peers whose pins wait.
    peers: list[PeerFigures | RemovedPeerFigures]
    releases: ReleaseFigures
    last_full_check: str | None
    # Which members Kubo was connected to at the last sync (None: not known).
    reach: Reach | None
    # This member's holdings report as last published, and the others' as last read.
    published: Published | None = None
    seen: ReportsSeen | None = None
    # The last possession checks of the other members.
    checks: Checks | None = None
    # Where the member's cluster held its pins at the last full check (None: one node).
    cluster: Allocation | None = None

    @property
    def configured(self) -> list[PeerFigures]:
        return [peer for peer in self.peers if isinstance(peer, PeerFigures)]

    def to_json(self) -> dict[str, Any]:
        reach = self.reach
        return {
            "peers": [asdict(peer) for peer in self.peers],
            "releases": asdict(self.releases),
            "last_full_check": self.last_full_check,
            "reach": None if reach is None else reach.to_json() | {"summary": str(reach)},
            "report": None if self.published is None else asdict(self.published),
            "checks": None if self.checks is None else asdict(self.checks),
            "cluster": None if self.cluster is None else asdict(self.cluster),
        }


def figures(config: Config, known: Snapshot) -> Figures:
    book = known.book
    waiting = _waiting_by_peer(book)
    kept = known.kept.peers if known.kept else {}
    peers: list[PeerFigures | RemovedPeerFigures] = [
        _peer(p, known.records[p.name], waiting.get(p.name), kept.get(p.name)) for p in config.peers
    ]
    configured = {p.name for p in config.peers}
    peers += [
        RemovedPeerFigures(name, False, count, due.isoformat(timespec="seconds"))
        for name, (count, due) in waiting.items()
        if name not in configured
    ]
    releases = ReleaseFigures(
        len(book.waiting),
        {peer: count for peer, (count, _) in waiting.items()},
        _stamp(min((book.due(cid) for cid in book.waiting), default=None)),
        book.held,
    )
    verified = known.verified
    last_full_check = _stamp(verified.at if verified else None)
    return Figures(
        peers,
        releases,
        last_full_check,
        known.reach,
        known.published,
        known.seen,
        known.checks,
        known.cluster if config.pinning is not None else None,
    )


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _waiting_by_peer(book: ReleaseBook) -> dict[str, tuple[int, datetime]]:
    """Per peer named on a waiting pin: how many wait, and when the first is due."""
    by_peer: dict[str, tuple[int, datetime]] = {}
    for cid, entry in book.waiting.items():
        due = book.due(cid)
        for peer in entry.peers:
            count, first = by_peer.get(peer, (0, due))
            by_peer[peer] = (count + 1, min(first, due))
    return dict(sorted(by_peer.items()))


def _record(peer: Peer, kept: KeptRecord | None) -> RecordFigures | None:
    if kept is None or not kept.of(peer.ipns):
        return None
    return RecordFigures(
        kept.sequence, kept.value, kept.expires, kept.kept_at, kept.put_at, kept.next_put_at,
        kept.error,
    )  # fmt: skip


def _peer(
    peer: Peer, state: PeerState, waiting: tuple[int, datetime] | None, kept: KeptRecord | None
) -> PeerFigures:
    count, due = waiting or (0, None)
    return PeerFigures(
        peer=peer.name,
        configured=True,
        ipns=peer.ipns,
        ok=state.last_error is None and state.last_success is not None,
        root=state.root,
        root_first_seen=state.root_first_seen,
        seen_root=state.seen_root,
        seen_root_since=state.seen_root_since,
        root_behind=state.behind(),
        last_attempt=state.last_attempt,
        last_success=state.last_success,
        last_error=state.last_error,
        failing_since=state.failing_since,
        connected=state.last_result.get("connected"),
        confirmed=state.last_result.get("confirmed", True),
        pins_held=state.pins_held,
        bytes_held=state.bytes_held,
        listed=state.listed,
        over_quota=state.over_quota,
        failed_pins=state.failed_pins,
        max_pins=peer.max_pins,
        max_bytes=peer.max_bytes,
        pins_awaiting_release=count,
        next_release=_stamp(due),
        resolved=state.last_result.get("root") is not None,
        record=_record(peer, kept),
    )
