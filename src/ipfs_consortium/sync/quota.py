"""Byte quotas: stop one peer from filling the disk.

Kubo reports the bytes a pin has fetched as it goes; each peer with a ``max_bytes``
quota has an allowance (its quota less what its held pins already took), every pin it
claims may fetch at most what is left, and what a pin fetched is charged to every peer
that claims it. Pins run concurrently, so a peer can overshoot by at most what its
in-flight pins were allowed when they started; each of them is itself capped.
"""

import threading
from collections.abc import Iterable, Mapping

from ..errors import QuotaExceeded


class ByteBudgets:
    def __init__(self, quotas: Mapping[str, int | None], used: Mapping[str, int]) -> None:
        self._left = {
            peer: quota - used.get(peer, 0) for peer, quota in quotas.items() if quota is not None
        }
        self._quotas = quotas
        self._lock = threading.Lock()

    def allowance(self, peers: Iterable[str], cid: str) -> int | None:
        """Bytes a pin claimed by ``peers`` may fetch; None when no quota applies."""
        with self._lock:
            limits = [(self._left[p], p) for p in peers if p in self._left]
        if not limits:
            return None
        left, peer = min(limits)
        if left <= 0:
            raise QuotaExceeded(
                f"pin {cid} not started: peer {peer} has used its {self._quotas[peer]}-byte quota"
            )
        return left

    def charge(self, peers: Iterable[str], fetched: int) -> None:
        with self._lock:
            for peer in peers:
                if peer in self._left:
                    self._left[peer] -= fetched
