"""Which members this node is connected to, learned once a run from Kubo's ``swarm/peers``.

Everything a run learns comes through those connections. A node connected to none of the
members it knows still answers ``name/resolve --nocache`` at once, from the record it
stored itself, however old, and can fetch nothing from them: such a run is isolated. It
confirms nothing: each peer it resolved is reported "not confirmed" and fails, so the
time of its last success stays the time it was last confirmed, and the run exits non-zero.
A member is known by its peer ID (Peer.peer_id); this node itself is no member of its own.
"""

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ..config import Config
from ..errors import KuboError, KuboUnreachable
from ..ipfs.kubo import KuboClient
from ..report.run_report import PeerOutcome

log = logging.getLogger(__name__)

# How long a node connected to no member is given to dial them before the run counts it
# isolated: a daemon that has just started (a restart by the kubo role, a reboot) dials
# its Peering.Peers within a second or two.
SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Reach:
    """The peers of the config as this node saw them when the run began."""

    # Peers whose node is known and is not this one, and those of them it is connected to.
    members: tuple[str, ...]
    connected: tuple[str, ...]
    # Peers whose node is this one: what it resolves for them is its own.
    own: tuple[str, ...]
    at: str
    # When the node was first seen isolated, in this spell of isolation.
    isolated_since: str | None = None

    @property
    def isolated(self) -> bool:
        return bool(self.members) and not self.connected

    def __str__(self) -> str:
        return f"connected to {len(self.connected)} of {len(self.members)} members"

    @classmethod
    def from_json(cls, data: Any) -> "Reach":
        return cls(
            members=tuple(data["members"]),
            connected=tuple(data["connected"]),
            own=tuple(data["own"]),
            at=str(data["at"]),
            isolated_since=data["isolated_since"],
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def judge(self, outcome: PeerOutcome) -> None:
        """Say in ``outcome`` whether its peer was connected; an isolated run confirms
        no root it resolved."""
        if outcome.peer in self.members:
            outcome.connected = outcome.peer in self.connected
        if self.isolated and outcome.peer not in self.own and outcome.root is not None:
            outcome.confirmed = outcome.ok = False
            outcome.errors.append(
                f"peer {outcome.peer}: root {outcome.root} not confirmed: Kubo was {self}, "
                "so its name may have resolved to an old record"
            )


def measure(client: KuboClient, config: Config, node: str, before: Reach | None) -> Reach | None:
    """Which members ``node`` is connected to; None when Kubo will not say (logged).

    ``before`` is the last run's: an isolation that goes on keeps the time it began.
    KuboUnreachable and KuboRefused (a token without ``swarm/peers``) propagate, as from
    any other call.
    """
    members = [p for p in config.peers if p.peer_id is not None and p.peer_id != node]
    settled = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            peers = client.swarm_peers()
        except KuboUnreachable:
            raise
        except KuboError as exc:
            log.warning("cannot tell which members Kubo is connected to (%s)", exc)
            return None
        now = datetime.now(UTC).isoformat(timespec="seconds")
        reach = Reach(
            members=tuple(p.name for p in members),
            connected=tuple(p.name for p in members if p.peer_id in peers),
            own=tuple(p.name for p in config.peers if p.peer_id == node),
            at=now,
        )
        if not reach.isolated or time.monotonic() > settled:
            break
        time.sleep(0.5)
    if not reach.isolated:
        log.info("Kubo is %s", reach)
        return reach
    since = before.isolated_since if before is not None and before.isolated_since else now
    log.error(
        "Kubo is %s (isolated since %s): every name resolved in this run may be an old "
        "record, and nothing can be fetched from the members; nothing is confirmed",
        reach, since,
    )  # fmt: skip
    return Reach(reach.members, reach.connected, reach.own, reach.at, since)


def around(reach: Reach | None) -> str:
    """What an error that may come from a lack of connections adds: `` (connected to …)``."""
    return "" if reach is None else f" ({reach})"
