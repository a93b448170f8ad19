"""What the state directory says about each peer: ``ipfs-consortium status`` and the
Prometheus textfile, both from one set of figures."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def status_json(state_dir: Path) -> dict[str, Any]:
    return {
        "state_dir": str(state_dir),
        "peers": [peer_status(s) for s in StateDir(state_dir).all()],
    }


def _age(stamp: str | None, now: datetime) -> str:
    if stamp is None:
        return "never"
    seconds = int((now - datetime.fromisoformat(stamp)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(seconds, 0)}s ago"


def _line(state: PeerState, now: datetime) -> str:
    text = (
        f"{state.peer}: last success {_age(state.last_success, now)}, "
        f"{state.pins_held} pins, {state.bytes_held} bytes held"
    )
    if state.last_error:
        text += f"; FAILING since {_age(state.failing_since, now)}: {state.last_error}"
    return text


def render_status(state_dir: Path) -> str:
    states = StateDir(state_dir).all()
    if not states:
        return f"No sync has run yet (state directory {state_dir} is empty)."
    now = datetime.now(UTC)
    return "\n".join(_line(state, now) for state in states)
