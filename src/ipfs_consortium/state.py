"""The state directory: what each peer asked for the last time it was read in full.

This is the "last known good" record that lets a peer which fails to resolve keep all
its pins, and lets an unchanged peer cost no RPC calls beyond resolving its name. Every
file is replaced atomically, so a sync killed half-way leaves the previous record intact.
"""

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StateError
from .release import ReleaseBook

_PEERS = "peers"
_RELEASES = "releases.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class PeerState:
    """What we know of one peer across runs."""

    peer: str
    ipns: str
    root: str | None = None
    wanted: list[str] = field(default_factory=list)
    # Quota settings the wanted list was cut with; a change means reading it again.
    limits: list[int | None] = field(default_factory=list)
    complete: bool = False
    manifests: int = 0
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    failing_since: str | None = None
    pins_held: int = 0
    bytes_held: int = 0
    # Bytes Kubo reported fetching for each CID pinned for this peer: its quota usage.
    sizes: dict[str, int] = field(default_factory=dict)
    last_result: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PeerState":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> None:
        try:
            (self.path / _PEERS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"state directory {self.path} cannot be created ({exc})") from None

    def _peer_file(self, name: str) -> Path:
        # Peer names are restricted to filename-safe characters by the config loader.
        return self.path / _PEERS / f"{name}.json"

    def load(self, name: str, ipns: str) -> PeerState:
        file = self._peer_file(name)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return PeerState(peer=name, ipns=ipns)
        except (OSError, ValueError) as exc:
            raise StateError(
                f"{file}: unreadable state ({exc}); move it aside to start over"
            ) from None
        state = PeerState.from_json(data)
        if state.ipns != ipns:
            # The operator pointed this peer at another name: nothing known still holds.
            return PeerState(peer=name, ipns=ipns)
        return state

    def save(self, state: PeerState) -> None:
        try:
            write_json_atomic(self._peer_file(state.peer), asdict(state))
        except OSError as exc:
            raise StateError(f"state for peer {state.peer} cannot be written ({exc})") from None

    def forget(self, name: str) -> None:
        try:
            self._peer_file(name).unlink(missing_ok=True)
        except OSError as exc:
            raise StateError(f"state for peer {name} cannot be removed ({exc})") from None

    def load_releases(self) -> ReleaseBook:
        file = self.path / _RELEASES
        try:
            return ReleaseBook.from_json(json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return ReleaseBook()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StateError(
                f"{file}: unreadable ({exc}); move it aside to start every grace period again"
            ) from None

    def save_releases(self, book: ReleaseBook) -> None:
        try:
            write_json_atomic(self.path / _RELEASES, book.to_json())
        except OSError as exc:
            raise StateError(f"{self.path / _RELEASES} cannot be written ({exc})") from None

    def all(self) -> list[PeerState]:
        states = []
        for file in sorted((self.path / _PEERS).glob("*.json")):
            try:
                states.append(PeerState.from_json(json.loads(file.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                raise StateError(f"{file}: unreadable state ({exc})") from None
        return states
