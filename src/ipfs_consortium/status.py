"""What the state directory says about each peer: ``ipfs-consortium status`` and the
Prometheus textfile, both from one set of figures."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .release import ReleaseBook
from .state import PeerState, StateDir


def peer_status(state: PeerState) -> dict[str, Any]:
    return {
        "peer": state.peer,
        "ipns": state.ipns,
        "ok": state.last_error is None and state.last_success is not None,
        "root": state.root,
        "last_attempt": state.last_attempt,
        "last_success": state.last_success,
        "last_error": state.last_error,
        "failing_since": state.failing_since,
        "pins_held": state.pins_held,
        "bytes_held": state.bytes_held,
    }


def release_status(book: ReleaseBook) -> dict[str, Any]:
    """The pins waiting for their release, as the last run left them."""
    next_due = min((book.due(cid) for cid in book.waiting), default=None)
    by_peer: dict[str, int] = {}
    for entry in book.waiting.values():
        for peer in entry.peers:
            by_peer[peer] = by_peer.get(peer, 0) + 1
    return {
        "waiting": len(book.waiting),
        "waiting_by_peer": dict(sorted(by_peer.items())),
        "next_due": next_due.isoformat(timespec="seconds") if next_due else None,
        "held": book.held,
    }


def last_full_check(store: StateDir) -> str | None:
    verified = store.load_verified()
    return verified.at.isoformat(timespec="seconds") if verified else None


def status_json(state_dir: Path) -> dict[str, Any]:
    store = StateDir(state_dir)
    return {
        "state_dir": str(state_dir),
        "peers": [peer_status(s) for s in store.all()],
        "releases": release_status(store.load_releases()),
        "last_full_check": last_full_check(store),
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


def _line(state: PeerState, now: datetime) -> str:
    text = (
        f"{state.peer}: last success {_age(state.last_success, now)}, "
        f"{state.pins_held} pins, {state.bytes_held} bytes held"
    )
    if state.last_error:
        text += f"; FAILING since {_age(state.failing_since, now)}: {state.last_error}"
    return text


def _release_lines(releases: dict[str, Any], now: datetime) -> list[str]:
    lines = []
    if releases["waiting"]:
        due = datetime.fromisoformat(releases["next_due"])
        peers = ", ".join(f"{peer} {n}" for peer, n in releases["waiting_by_peer"].items())
        lines.append(
            f"{releases['waiting']} pins no peer lists wait for release (named for {peers}); "
            f"the next is due in {_span(int((due - now).total_seconds()))}, at {due.isoformat()}"
        )
    if releases["held"]:
        lines.append(f"RELEASE HELD: {releases['held']}")
    return lines


def render_status(state_dir: Path) -> str:
    store = StateDir(state_dir)
    states = store.all()
    if not states:
        return f"No sync has run yet (state directory {state_dir} is empty)."
    now = datetime.now(UTC)
    lines = [_line(state, now) for state in states]
    lines.append(f"last full check of every pin: {_age(last_full_check(store), now)}")
    return "\n".join(lines + _release_lines(release_status(store.load_releases()), now))
