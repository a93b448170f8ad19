"""What a long pinning phase has done so far, logged every INTERVAL seconds while it runs.

A clock of its own drives the log, not the pins finishing: one pin of a large DAG can
take hours, and the bytes it has fetched so far are what show it is still moving.
"""

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from ..ipfs.cid import CidKey

log = logging.getLogger(__name__)

INTERVAL = 10.0


class PinProgress:
    """Counts pins as they end and bytes as they arrive; a context manager that logs."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.bytes = 0
        self._in_flight: dict[CidKey, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clock = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> "PinProgress":
        if self.total:
            self._clock.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self.total:
            self._clock.join()
            self._log()

    def fetching(self, cid: CidKey) -> Callable[[int], None]:
        """A pin starts: what it calls with the bytes it has fetched so far, as they grow."""
        with self._lock:
            self._in_flight[cid] = 0

        def update(fetched: int) -> None:
            with self._lock:
                self._in_flight[cid] = fetched

        return update

    def ended(self, cid: CidKey, fetched: int | None) -> None:
        """A pin ended: with the bytes it fetched, or None when it failed."""
        with self._lock:
            self._in_flight.pop(cid, None)
            self.done += 1
            self.failed += fetched is None
            self.bytes += fetched or 0

    def _tick(self) -> None:
        while not self._stop.wait(INTERVAL):
            self._log()

    def _log(self) -> None:
        with self._lock:
            running, moving = len(self._in_flight), sum(self._in_flight.values())
            done, failed, fetched = self.done, self.failed, self.bytes
        log.info(
            "pinning: %d/%d done, %d failed, %d bytes fetched; %d running with %d bytes so "
            "far; %.0fs",
            done, self.total, failed, fetched, running, moving, time.monotonic() - self._started,
        )  # fmt: skip
