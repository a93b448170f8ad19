"""The apply step of a sync: pin and rename what the plan lists, then release what is due.

Pins run side by side, at most ``concurrency`` at once, with a bounded queue so memory
stays flat however many there are. Once Kubo is unreachable nothing more is attempted,
and nothing is released: a failure can cost time but never a pin. A refusal (KuboRefused)
is a setting to fix, not a failed pin: it stops the run before any release.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import takewhile
from queue import SimpleQueue
from typing import TypeVar

from ..config import Config
from ..errors import (
    ConsortiumError,
    KuboError,
    KuboRefused,
    KuboUnreachable,
    PinStalled,
    QuotaExceeded,
)
from ..ipfs.cid import CidKey, key_text
from ..ipfs.pins import PinBackend
from .plan import Change, Plan
from .progress import PinProgress
from .quota import ByteBudgets
from .reach import Reach, around

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Results:
    """What the apply step did, by CID."""

    fetched: dict[CidKey, int] = field(default_factory=dict)
    failed: dict[CidKey, str] = field(default_factory=dict)
    # Of those, the pins not started because a peer's byte quota was used up.
    refused: set[CidKey] = field(default_factory=set)
    renamed: set[CidKey] = field(default_factory=set)
    released: list[CidKey] = field(default_factory=list)
    # Why Kubo stopped answering, if it did: nothing was attempted after that.
    kubo_error: str | None = None


def apply_plan(
    pins: PinBackend,
    config: Config,
    plan: Plan,
    due: Iterable[CidKey],
    budgets: ByteBudgets,
    reach: Reach | None,
) -> Results:
    """Pin and rename, then release ``due`` unless Kubo went away meanwhile; a pin that
    stalls says which members Kubo was connected to (``reach``)."""
    results = Results()
    _Pinning(pins, config, budgets, results, plan.to_pin, reach).run(plan)
    if results.kubo_error is None:
        _settle(pins, config, results)
    if results.kubo_error is None:
        _release(pins, due, results)
    return results


class _Pinning:
    def __init__(
        self,
        pins: PinBackend,
        config: Config,
        budgets: ByteBudgets,
        results: Results,
        to_pin: int,
        reach: Reach | None,
    ) -> None:
        self.pins = pins
        self.config = config
        self.budgets = budgets
        self.results = results
        self.progress = PinProgress(to_pin)
        self.reach = reach

    def run(self, plan: Plan) -> None:
        workers = self.config.concurrency
        changes = takewhile(lambda _: self.results.kubo_error is None, plan.changes())
        with self.progress, ThreadPoolExecutor(workers, thread_name_prefix="pin") as pool:
            for change, outcome in _bounded(pool, changes, self._apply, 2 * workers):
                self._record(change, outcome)

    def _apply(self, change: Change) -> int | None:
        # Once Kubo is unreachable the changes already queued end at once, instead of
        # each failing in turn.
        if self.results.kubo_error is not None:
            return None
        cid = key_text(change.cid)
        if change.pinned:
            self.pins.pin_rename(change.cid, change.name)
            log.info("renamed pin %s to %s", cid, change.name)
            return 0
        allowance = self.budgets.allowance(change.peers, cid)
        fetched = self.pins.pin_add(
            change.cid,
            change.name,
            self.config.stall_timeout,
            allowance,
            self.progress.fetching(change.cid),
        )
        self.budgets.charge(change.peers, fetched)
        log.debug("pinned %s as %s (%d bytes)", cid, change.name, fetched)
        return fetched

    def _record(self, change: Change, future: Future[int | None]) -> None:
        results, cid = self.results, change.cid
        try:
            fetched = future.result()
        except KuboUnreachable as exc:
            if results.kubo_error is None:
                log.error("%s; stopping: no pin is released on this run", exc)
                results.kubo_error = str(exc)
            results.failed[cid] = str(exc)
        except KuboRefused:
            raise
        except ConsortiumError as exc:
            text = f"{exc}{around(self.reach)}" if isinstance(exc, PinStalled) else str(exc)
            log.error("%s (wanted by %s)", text, ", ".join(change.peers))
            results.failed[cid] = text
            if isinstance(exc, QuotaExceeded):
                results.refused.add(cid)
        except Exception as exc:  # noqa: BLE001 - one pin's bug must not stop the rest
            log.exception("pin %s failed unexpectedly", key_text(cid))
            results.failed[cid] = f"pin {key_text(cid)}: {exc}"
        else:
            if fetched is None:
                return  # not attempted: Kubo had gone away
            if change.pinned:
                results.renamed.add(cid)
            else:
                results.fetched[cid] = fetched
        if not change.pinned:
            self.progress.ended(cid, results.fetched.get(cid))


def _settle(pins: PinBackend, config: Config, results: Results) -> None:
    """Follow the pins made until they are held (a cluster pins asynchronously): one
    not held in time failed, as a stalled pin does."""
    try:
        stalled = pins.settle(list(results.fetched), config.stall_timeout)
    except KuboUnreachable as exc:
        log.error("%s; stopping: no pin is released on this run", exc)
        results.kubo_error = str(exc)
        return
    except KuboError as exc:
        # The pins' fate is unknown: none counts as held, none is lost.
        stalled = dict.fromkeys(results.fetched, f"the pins were not followed to the end ({exc})")
    for cid, why in stalled.items():
        log.error("%s", why)
        del results.fetched[cid]
        results.failed[cid] = why


def _release(pins: PinBackend, due: Iterable[CidKey], results: Results) -> None:
    for cid in due:
        try:
            pins.pin_rm(cid)
        except KuboUnreachable as exc:
            results.kubo_error = str(exc)
            log.error("%s; stopping releases", exc)
            return
        except KuboError as exc:
            log.error("release of %s failed: %s", key_text(cid), exc)
            continue
        log.info("released %s: no peer lists it any more", key_text(cid))
        results.released.append(cid)


def _bounded(
    pool: ThreadPoolExecutor, items: Iterator[T], work: Callable[[T], R], limit: int
) -> Iterator[tuple[T, Future[R]]]:
    """Run ``work`` on each item in ``pool`` with at most ``limit`` waiting or running,
    yielding each item with its finished future: memory stays flat however many."""
    finished: SimpleQueue[tuple[T, Future[R]]] = SimpleQueue()
    pending = 0
    for item in items:
        if pending == limit:
            yield finished.get()
            pending -= 1
        future = pool.submit(work, item)
        future.add_done_callback(partial(_put, finished, item))
        pending += 1
    for _ in range(pending):
        yield finished.get()


def _put(queue: SimpleQueue[tuple[T, Future[R]]], item: T, future: Future[R]) -> None:
    queue.put((item, future))
