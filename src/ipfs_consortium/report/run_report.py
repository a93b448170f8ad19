"""What a sync did, per peer, in a form fit for logs, ``--json`` and the state directory."""

from dataclasses import asdict, dataclass, field
from typing import Any

from ..exit_codes import EXIT_KUBO_DOWN, EXIT_OK, EXIT_PEER_FAILED, EXIT_USAGE


@dataclass
class PeerOutcome:
    peer: str
    ipns: str
    ok: bool = False
    root: str | None = None
    unchanged: bool = False
    manifests: int = 0
    wanted: int = 0
    newly_pinned: int = 0
    already_pinned: int = 0
    renamed: int = 0
    failed: int = 0
    unpinned: int = 0
    bytes_fetched: int = 0
    # Whether this node was connected to the peer's (None: not known, or its own), and
    # whether the root is confirmed: an isolated run confirms none (sync/reach.py).
    connected: bool | None = None
    confirmed: bool = True
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    dry_run: bool = False
    peers: list[PeerOutcome] = field(default_factory=list)
    kubo_error: str | None = None
    # Why the metrics file could not be written, if it could not.
    metrics_error: str | None = None
    # Why this member's holdings report could not be published, if it could not: a
    # warning, which changes no exit code (report/exchange.py).
    report_error: str | None = None
    rpc_calls: int = 0
    seconds: float = 0.0
    # Which members Kubo was connected to (reach.Reach.to_json); None when not known.
    reach: dict[str, Any] | None = None
    # Whether this run listed every pin in Kubo, or trusted its records (policy/full_check.py).
    full_check: bool = False
    # The member's cluster's nodes and their pins by state (a full check with a cluster).
    cluster: dict[str, dict[str, Any]] | None = None
    # What the run set out to change (a full check only).
    to_pin: int = 0
    to_rename: int = 0
    to_release: int = 0
    # Pins no peer lists that wait for their grace period: CID -> when each is due.
    awaiting_release: dict[str, str] = field(default_factory=dict)
    # Why the mass-release brake kept this run's releases, if it did.
    release_held: str | None = None
    # Filled on a dry run only: what a real run would change; pins and renames are a
    # sample unless all were asked for (to_pin and to_rename count them all).
    would_pin: dict[str, str] = field(default_factory=dict)
    would_rename: dict[str, str] = field(default_factory=dict)
    would_unpin: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.kubo_error:
            return EXIT_KUBO_DOWN
        if self.metrics_error:
            return EXIT_USAGE
        if self.release_held or not all(p.ok for p in self.peers):
            return EXIT_PEER_FAILED
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["ok"] = self.exit_code == EXIT_OK
        if not self.dry_run:
            for key in ("would_pin", "would_rename", "would_unpin"):
                del data[key]
        return data


def describe(outcome: PeerOutcome) -> str:
    """One log line for a peer."""
    if outcome.root is None:
        return f"peer {outcome.peer}: FAILED, kept its pins ({'; '.join(outcome.errors)})"
    state = "unchanged" if outcome.unchanged else f"{outcome.manifests} manifests read"
    if not outcome.confirmed:
        state += ", NOT CONFIRMED"
    text = (
        f"peer {outcome.peer}: root {outcome.root} ({state}); wanted {outcome.wanted}, "
        f"newly pinned {outcome.newly_pinned}, already pinned {outcome.already_pinned}, "
        f"failed {outcome.failed}, unpinned {outcome.unpinned}"
    )
    if outcome.errors:
        text += f"; {len(outcome.errors)} errors"
    return text
