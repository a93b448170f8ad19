"""What the state directory says about each peer: ``ipfs-consortium status`` and the
Prometheus textfile, both from one set of figures.

The peers shown are those of the config, and the peers removed from it whose pins still
wait for their release (releases.json), marked as removed. A record that a removed peer
left in the state directory is not shown: it would say "failing" for ever.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Config, Peer
from .reach import Reach
from .release import ReleaseBook
from .state import PeerState, StateDir


@dataclass
class Figures:
    # The config's peers in its order, then the removed peers whose pins wait.
    peers: list[dict[str, Any]]
    releases: dict[str, Any]
    last_full_check: str | None
    # Which members Kubo was connected to at the last sync (None: not known).
    reach: Reach | None


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


def _waiting_status(waiting: tuple[int, datetime] | None) -> dict[str, Any]:
    count, due = waiting or (0, None)
    return {"pins_awaiting_release": count, "next_release": _stamp(due)}


def peer_status(
    peer: Peer, state: PeerState, waiting: tuple[int, datetime] | None
) -> dict[str, Any]:
    return {
        "peer": peer.name,
        "configured": True,
        "ipns": peer.ipns,
        "ok": state.last_error is None and state.last_success is not None,
        "root": state.root,
        "root_first_seen": state.root_first_seen,
        "seen_root": state.seen_root,
        "seen_root_since": state.seen_root_since,
        "root_behind": state.behind(),
        "last_attempt": state.last_attempt,
        "last_success": state.last_success,
        "last_error": state.last_error,
        "failing_since": state.failing_since,
        # Of the last run (True/None for a record older than these fields).
        "connected": state.last_result.get("connected"),
        "confirmed": state.last_result.get("confirmed", True),
        "pins_held": state.pins_held,
        "bytes_held": state.bytes_held,
        "max_pins": peer.max_pins,
        "max_bytes": peer.max_bytes,
    } | _waiting_status(waiting)


def release_status(book: ReleaseBook, waiting: dict[str, tuple[int, datetime]]) -> dict[str, Any]:
    """The pins waiting for their release, as the last run left them (``waiting``: the
    book's counts by peer)."""
    next_due = min((book.due(cid) for cid in book.waiting), default=None)
    return {
        "waiting": len(book.waiting),
        "waiting_by_peer": {peer: n for peer, (n, _) in waiting.items()},
        "next_due": _stamp(next_due),
        "held": book.held,
    }


def figures(config: Config, state_dir: Path) -> Figures:
    store = StateDir(state_dir)
    book = store.load_releases()
    waiting = _waiting_by_peer(book)
    peers = [peer_status(p, store.load(p.name, p.ipns), waiting.get(p.name)) for p in config.peers]
    configured = {p.name for p in config.peers}
    peers += [
        {"peer": name, "configured": False} | _waiting_status(entry)
        for name, entry in waiting.items()
        if name not in configured
    ]
    verified = store.load_verified()
    return Figures(
        peers,
        release_status(book, waiting),
        _stamp(verified.at if verified else None),
        store.load_reach(),
    )


def status_json(config: Config, state_dir: Path) -> dict[str, Any]:
    found = figures(config, state_dir)
    reach = found.reach
    return {
        "state_dir": str(state_dir),
        "peers": found.peers,
        "releases": found.releases,
        "last_full_check": found.last_full_check,
        "reach": None if reach is None else reach.to_json() | {"summary": str(reach)},
    }


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _age(stamp: str | None, now: datetime) -> str:
    if stamp is None:
        return "never"
    return f"{_span(int((now - datetime.fromisoformat(stamp)).total_seconds()))} ago"


def _until(stamp: str, now: datetime) -> str:
    return _span(int((datetime.fromisoformat(stamp) - now).total_seconds()))


def _line(peer: dict[str, Any], now: datetime) -> str:
    name = peer["peer"]
    if not peer["configured"]:
        return (
            f"{name}: removed from config; {peer['pins_awaiting_release']} pins wait for "
            f"release, the next due in {_until(peer['next_release'], now)}"
        )
    if peer["last_attempt"] is None:
        return f"{name}: never synced"
    if peer["confirmed"]:
        head = f"last success {_age(peer['last_success'], now)}"
    elif peer["last_success"]:
        head = f"NOT CONFIRMED since {peer['last_success']} ({_age(peer['last_success'], now)})"
    else:
        head = "never confirmed"
    if peer["connected"] is False:
        head += ", not connected"
    text = (
        f"{name}: {head}, {peer['pins_held']} pins, {peer['bytes_held']} bytes held; "
        f"{_freshness(peer, now)}"
    )
    if peer["last_error"]:
        text += f"; FAILING since {_age(peer['failing_since'], now)}: {peer['last_error']}"
    return text


def _freshness(peer: dict[str, Any], now: datetime) -> str:
    """The root followed and how old it is, and a newer one the peer's name resolves to."""
    if peer["root"] is None:
        text = "no root read in full yet"
    else:
        first_seen = peer["root_first_seen"]
        when = _age(first_seen, now) if first_seen else "at an unknown time"
        text = f"root {peer['root']} first seen {when}"
    if peer["root_behind"]:
        text += (
            f"; newer root {peer['seen_root']} seen {_age(peer['seen_root_since'], now)}, "
            "not yet followed"
        )
    return text


def _release_lines(releases: dict[str, Any], now: datetime) -> list[str]:
    lines = []
    if releases["waiting"]:
        due = releases["next_due"]
        peers = ", ".join(f"{peer} {n}" for peer, n in releases["waiting_by_peer"].items())
        lines.append(
            f"{releases['waiting']} pins no peer lists wait for release (named for {peers}); "
            f"the next is due in {_until(due, now)}, at {due}"
        )
    if releases["held"]:
        lines.append(f"RELEASE HELD: {releases['held']}")
    return lines


def _reach_line(reach: Reach, now: datetime) -> str:
    text = f"Kubo was {reach} at the last sync, {_age(reach.at, now)}"
    missing = [name for name in reach.members if name not in reach.connected]
    if missing:
        text += f" (not connected: {', '.join(missing)})"
    if reach.isolated:
        text = (
            f"ISOLATED since {reach.isolated_since}: {text}; no peer's root is confirmed "
            "until it connects again"
        )
    return text


def render_status(config: Config, state_dir: Path) -> str:
    found = figures(config, state_dir)
    now = datetime.now(UTC)
    lines = [_line(peer, now) for peer in found.peers] or [
        f"No peers in {config.source}, and none removed from it whose pins wait."
    ]
    if found.reach is not None:
        lines.append(_reach_line(found.reach, now))
    lines.append(f"last full check of every pin: {_age(found.last_full_check, now)}")
    return "\n".join(lines + _release_lines(found.releases, now))
