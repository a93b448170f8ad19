"""Where the pins are held: the one interface through which the apply step and forget
list, make, rename and release pins.

Kubo's RPC API (kubo.py) is the backend of a member of one node; an IPFS Cluster
(cluster.py) that of a member of several, behind the same calls. Reading peers
(resolving names, listing directories, reading manifests) is not part of it: that is
the local Kubo's work whatever holds the pins.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .cid import CidKey

# The states a node of a cluster reports a pin in, as the figures count them.
NODE_STATES = ("pinned", "pinning", "queued", "error")


@dataclass
class NodePins:
    """How many of the member's pins one node of its cluster holds, by state."""

    peer_id: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NODE_STATES, 0))


@dataclass
class PinSet:
    """Every pin the backend holds, as one listing found them."""

    # Every recursive pin: CID -> its name ("" when unnamed).
    names: dict[CidKey, str]
    # Pins listed but not held yet as the backend requires (a cluster pins
    # asynchronously): a wanted one is pinned again, which follows it up.
    unsettled: set[CidKey] = field(default_factory=set)
    # Per node of the member, by name; None when one Kubo node holds the pins.
    nodes: dict[str, NodePins] | None = None


class PinBackend(Protocol):
    def pinset(self) -> PinSet:
        """Every pin, and which are not held yet."""
        ...

    # As KuboClient.pin_add, whose arguments these are.
    def pin_add(self, key: CidKey, name: str, stall_timeout: float, max_bytes: int | None = None,
                fetched: Callable[[int], None] | None = None) -> int:  # fmt: skip
        """Pin recursively under ``name`` and return once it is held; the bytes fetched.
        Raises PinStalled after ``stall_timeout`` seconds without progress and
        QuotaExceeded past ``max_bytes`` (leaving nothing pinned); ``fetched`` hears each
        new byte count."""
        ...

    def pin_rename(self, key: CidKey, name: str) -> None:
        """Give an existing recursive pin a new name."""
        ...

    def pin_rm(self, key: CidKey) -> None:
        """Release a recursive pin."""
        ...

    def close(self) -> None: ...
