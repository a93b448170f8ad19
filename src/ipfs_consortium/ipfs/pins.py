"""Where the pins are held: the one interface through which the apply step and forget
list, make, rename and release pins.

Kubo's RPC API (kubo.py) is the backend a member has today; a member of several nodes can
hold its pins in another engine behind the same four calls. Reading peers (resolving
names, listing directories, reading manifests) is not part of it: that is the local
Kubo's work whatever holds the pins.
"""

from collections.abc import Callable
from typing import Protocol

from .cid import CidKey


class PinBackend(Protocol):
    def recursive_pins(self) -> dict[CidKey, str]:
        """Every recursive pin: CID -> its name."""
        ...

    # As KuboClient.pin_add, whose arguments these are.
    def pin_add(self, key: CidKey, name: str, stall_timeout: float, max_bytes: int | None = None,
                fetched: Callable[[int], None] | None = None) -> int:  # fmt: skip
        """Pin recursively under ``name``; the bytes fetched. Raises PinStalled after
        ``stall_timeout`` seconds without progress and QuotaExceeded past ``max_bytes``
        (leaving nothing pinned); ``fetched`` hears each new byte count."""
        ...

    def pin_rename(self, key: CidKey, name: str) -> None:
        """Give an existing recursive pin a new name."""
        ...

    def pin_rm(self, key: CidKey) -> None:
        """Release a recursive pin."""
        ...
