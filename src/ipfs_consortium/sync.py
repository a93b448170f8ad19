"""One sync run: resolve every peer, then either record that nothing changed, or read,
plan, pin, release and record.

The order matters for safety. Nothing is changed until every peer has been read and
Kubo's pin list is known; if that list cannot be had, nothing else happens. New pins
come first, and releases last, only those whose grace period is over (release.py), and
only when Kubo stayed reachable throughout, so a failure anywhere can cost time but never
a pin. A run whose peers all resolve as before skips the pin list (verify.py): it can
neither pin nor release, only record.
"""

import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice, takewhile
from pathlib import Path
from queue import SimpleQueue
from typing import TypeVar

from .cid import CidKey, key_text
from .config import Config, Peer
from .errors import ConsortiumError, KuboError, KuboRefused, KuboUnreachable
from .fetch import Reading, is_unchanged, limits_of, read_peer, resolve_peer
from .kubo import KuboClient, Timeouts
from .lock import SyncLock
from .metrics import write_metrics
from .pinnames import PinNames
from .plan import Change, Claim, Plan, make_plan
from .quota import ByteBudgets
from .release import ReleaseBook, ReleaseDecision, decide
from .report import PeerOutcome, SyncReport, describe
from .state import PeerState, StateDir, Verified, Wanted, now_iso
from .verify import config_fingerprint, next_check, why_check

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# How often a long pinning phase logs how far it has got.
PROGRESS_INTERVAL = 10.0
# How many of a dry run's changes are listed when not all of them are asked for.
SAMPLE = 20


@dataclass
class Results:
    """What the pinning phase did, by CID."""

    fetched: dict[CidKey, int] = field(default_factory=dict)
    failed: dict[CidKey, str] = field(default_factory=dict)
    renamed: set[CidKey] = field(default_factory=set)


def client_for(config: Config) -> KuboClient:
    return KuboClient(
        config.api,
        Timeouts(connect=config.connect_timeout, request=config.request_timeout),
        pool_size=config.concurrency + 2,
        auth=config.api_auth,
    )


def run_sync(
    config: Config,
    state_dir: Path,
    dry_run: bool = False,
    allow_mass_release: bool = False,
    verify: bool = False,
    list_all: bool = False,
) -> SyncReport:
    """Run one sync; a dry run reads but neither changes Kubo nor writes state.

    ``verify`` lists every pin whatever verify_interval says; ``list_all`` puts every
    change a dry run found in the report, not only a sample.
    """
    store = StateDir(state_dir)
    sync = _Sync(config, store, dry_run, allow_mass_release, verify, list_all)
    if dry_run:
        return sync.run()
    store.ensure()
    with SyncLock(state_dir):
        report = sync.run()
        if config.metrics_file is not None:
            try:
                write_metrics(config, state_dir, report)
            except (OSError, ConsortiumError) as exc:
                log.error("metrics file %s cannot be written (%s)", config.metrics_file, exc)
        return report


class _Sync:
    def __init__(
        self,
        config: Config,
        store: StateDir,
        dry_run: bool,
        allow_mass_release: bool,
        verify: bool,
        list_all: bool,
    ) -> None:
        self.config = config
        self.store = store
        self.dry_run = dry_run
        self.allow_mass_release = allow_mass_release
        self.verify = verify
        self.list_all = list_all
        self.names = PinNames.of(config.consortium, (p.name for p in config.peers))
        self.client = client_for(config)
        self.report = SyncReport(dry_run=dry_run)

    def run(self) -> SyncReport:
        started = time.monotonic()
        try:
            self._run()
        finally:
            self.report.rpc_calls = self.client.calls
            self.report.seconds = round(time.monotonic() - started, 3)
            self.client.close()
        report = self.report
        log.info(
            "%s in %.3fs with %d RPC calls (%s); exit code %d",
            "dry run done" if report.dry_run else "done", report.seconds, report.rpc_calls,
            "full check" if report.full_check else "no full check", report.exit_code,
        )  # fmt: skip
        return report

    def _run(self) -> None:
        config = self.config
        try:
            node = self.client.node_id()
        except KuboError as exc:
            self.report.kubo_error = str(exc)
            log.error("%s; nothing was changed", exc)
            return
        records = {p.name: self.store.load(p.name, p.ipns) for p in config.peers}
        self.records = {name: state for name, (state, _) in records.items()}
        self.legacy = {name: wanted for name, (_, wanted) in records.items() if wanted}
        readings = self._resolve_all()
        if self.report.kubo_error:
            self._finish_unchanged(readings)
            return
        now = datetime.now(UTC)
        changed = [r.peer.name for r in readings if r.root is not None and not self._unchanged(r)]
        verified = self.store.load_verified()
        book = self.store.load_releases()
        reason = "sync --verify" if self.verify else why_check(
            verified, config, node, book, changed, now
        )  # fmt: skip
        if reason is None and verified is not None:
            log.info(
                "every peer is as it was; not listing pins (last full check %s, next by %s)",
                verified.at.isoformat(), next_check(verified, config).isoformat(),
            )  # fmt: skip
            self._finish_unchanged(readings)
            return
        log.info("listing every pin: %s", reason)
        self.report.full_check = True
        self._full(readings, book, now, Verified(now, config_fingerprint(config), node))

    def _unchanged(self, reading: Reading) -> bool:
        state = self.records[reading.peer.name]
        legacy = reading.peer.name in self.legacy
        return not legacy and state.wanted_file is not None and is_unchanged(
            reading, self.config, state
        )  # fmt: skip

    # -- reading -----------------------------------------------------------------------

    def _resolve_all(self) -> list[Reading]:
        def resolve(peer: Peer) -> Reading:
            try:
                return resolve_peer(self.client, peer, self.config)
            except KuboUnreachable as exc:
                self.report.kubo_error = str(exc)
                return Reading(peer, errors=[f"peer {peer.name}: not resolved ({exc})"])

        return self._each_peer(resolve, self.config.peers)

    def _each_peer(self, work: Callable[[Peer], Reading], peers: Iterable[Peer]) -> list[Reading]:
        workers = max(1, min(self.config.concurrency, len(self.config.peers)))
        with ThreadPoolExecutor(workers, thread_name_prefix="read") as pool:
            return list(pool.map(work, peers))

    def _read_all(
        self, resolved: list[Reading], wanted: dict[str, Wanted], pins: dict[CidKey, str]
    ) -> list[Reading]:
        by_peer = {r.peer.name: r for r in resolved}

        def read(peer: Peer) -> Reading:
            reading = by_peer[peer.name]
            try:
                return read_peer(
                    self.client, reading, self.config, self.records[peer.name],
                    wanted[peer.name], pins,
                )  # fmt: skip
            except KuboUnreachable as exc:
                self.report.kubo_error = str(exc)
                reading.errors.append(f"peer {peer.name}: not read ({exc})")
                reading.complete = False
                return reading

        readings = self._each_peer(read, self.config.peers)
        for reading in readings:
            for warning in reading.warnings:
                log.warning("%s", warning)
            for error in reading.errors:
                log.error("%s", error)
        return readings

    # -- a full check ------------------------------------------------------------------

    def _full(
        self, resolved: list[Reading], book: ReleaseBook, now: datetime, verified: Verified
    ) -> None:
        config = self.config
        try:
            pins = self.client.recursive_pins()
        except KuboError as exc:
            self.report.kubo_error = str(exc)
            log.error("%s; nothing was changed", exc)
            return
        log.info("Kubo at %s holds %d recursive pins", config.api, len(pins))
        wanted = {
            p.name: self.store.load_wanted(self.records[p.name], self.legacy.get(p.name))
            for p in config.peers
        }
        self.budgets = ByteBudgets(
            {p.name: p.max_bytes for p in config.peers},
            {name: state.bytes_held for name, state in self.records.items()},
        )
        readings = self._read_all(resolved, wanted, pins)
        claims = [
            Claim(r.peer.name, r.wanted, True)
            if r.complete
            else Claim(r.peer.name, {**dict.fromkeys(r.wanted), **wanted[r.peer.name]}, False)
            for r in readings
        ]
        plan = make_plan(claims, pins, self.names)
        releases = decide(
            plan,
            book,
            now,
            config.release_after,
            config.max_release_fraction,
            self.allow_mass_release,
        )
        log.info(
            "plan: %d to pin, %d to rename, %d to release, %d waiting for release",
            plan.to_pin, plan.to_rename, len(releases.due), len(releases.later),
        )  # fmt: skip
        self._report_releases(releases)
        self.report.to_pin, self.report.to_rename = plan.to_pin, plan.to_rename
        self.report.to_release = len(releases.due)
        if self.dry_run:
            self._report_dry_run(plan, releases)
            self._finish(readings, claims, wanted, pins, Results(), [])
            return

        results = Results() if self.report.kubo_error else self._pin_all(plan)
        unpinned = [] if self.report.kubo_error else self._unpin_all(releases.due)
        for cid in unpinned:
            del releases.book.waiting[cid]
        self.store.save_releases(releases.book)
        self._finish(readings, claims, wanted, pins, results, unpinned)
        if not self.report.kubo_error:
            self.store.save_verified(verified)

    def _report_releases(self, releases: ReleaseDecision) -> None:
        report = self.report
        report.awaiting_release = {
            key_text(cid): due.isoformat(timespec="seconds") for cid, due in releases.later.items()
        }
        if releases.later:
            log.info(
                "%d pins that no peer lists wait for release; the next is due at %s",
                len(releases.later),
                min(releases.later.values()).isoformat(timespec="seconds"),
            )
        if releases.held:
            report.release_held = releases.held
            log.error("%s", releases.held)

    def _report_dry_run(self, plan: Plan, releases: ReleaseDecision) -> None:
        report = self.report
        listed = plan.changes() if self.list_all else islice(plan.changes(), SAMPLE)
        for change in listed:
            cid = key_text(change.cid)
            if change.pinned:
                report.would_rename[cid] = change.name
                log.info("would rename the pin of %s to %s", cid, change.name)
            else:
                report.would_pin[cid] = change.name
                log.info("would pin %s as %s", cid, change.name)
        report.would_unpin = [key_text(cid) for cid in releases.due]
        for cid in report.would_unpin:
            log.info("would release %s", cid)
        shown = len(report.would_pin) + len(report.would_rename)
        if shown < plan.to_pin + plan.to_rename:
            log.info(
                "would pin %d and rename %d in all; %d listed (--json or -v lists them all)",
                plan.to_pin, plan.to_rename, shown,
            )  # fmt: skip

    # -- changing Kubo -----------------------------------------------------------------

    def _pin_all(self, plan: Plan) -> Results:
        results = Results()
        progress = _Progress(plan.to_pin)
        workers = self.config.concurrency
        changes = takewhile(lambda _: not self.report.kubo_error, plan.changes())
        with ThreadPoolExecutor(workers, thread_name_prefix="pin") as pool:
            for change, outcome in _bounded(pool, changes, self._apply, 2 * workers):
                self._record_result(change, outcome, results)
                if not change.pinned:
                    progress.step(change.cid in results.fetched, results.fetched.get(change.cid))
        progress.done()
        return results

    def _apply(self, change: Change) -> int | None:
        # Once Kubo is unreachable no more changes are queued, and those queued end at
        # once instead of each failing in turn.
        if self.report.kubo_error:
            return None
        if change.pinned:
            self.client.pin_rename(change.cid, change.name)
            log.info("renamed pin %s to %s", key_text(change.cid), change.name)
            return 0
        allowance = self.budgets.allowance(change.labels, key_text(change.cid))
        fetched = self.client.pin_add(change.cid, change.name, self.config.stall_timeout, allowance)
        self.budgets.charge(change.labels, fetched)
        log.debug("pinned %s as %s (%d bytes)", key_text(change.cid), change.name, fetched)
        return fetched

    def _record_result(self, change: Change, future: Future[int | None], results: Results) -> None:
        cid = change.cid
        try:
            fetched = future.result()
        except KuboUnreachable as exc:
            if not self.report.kubo_error:
                log.error("%s; stopping: no pin is released on this run", exc)
            self.report.kubo_error = str(exc)
            results.failed[cid] = str(exc)
            return
        except KuboRefused:
            raise  # a setting to fix, not a failed pin: the run stops before any release
        except ConsortiumError as exc:
            log.error("%s (wanted by %s)", exc, ", ".join(change.labels))
            results.failed[cid] = str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - one pin's bug must not stop the rest
            log.exception("pin %s failed unexpectedly", key_text(cid))
            results.failed[cid] = f"pin {key_text(cid)}: {exc}"
            return
        if fetched is None:
            return  # not attempted: Kubo had gone away
        if change.pinned:
            results.renamed.add(cid)
        else:
            results.fetched[cid] = fetched

    def _unpin_all(self, cids: Iterable[CidKey]) -> list[CidKey]:
        released = []
        for cid in cids:
            try:
                self.client.pin_rm(cid)
            except KuboUnreachable as exc:
                self.report.kubo_error = str(exc)
                log.error("%s; stopping releases", exc)
                break
            except KuboError as exc:
                log.error("release of %s failed: %s", key_text(cid), exc)
                continue
            log.info("released %s: no peer lists it any more", key_text(cid))
            released.append(cid)
        return released

    # -- recording ---------------------------------------------------------------------

    def _finish_unchanged(self, readings: list[Reading]) -> None:
        """Record a run that listed no pins: peers that resolved are as they were."""
        for reading in readings:
            state = self.records[reading.peer.name]
            outcome = PeerOutcome(
                name=reading.peer.name,
                ipns=reading.peer.ipns,
                root=reading.root,
                unchanged=reading.root is not None,
                manifests=state.manifests if reading.root else 0,
                wanted=state.wanted_count if reading.root else 0,
                already_pinned=state.pins_held if reading.root else 0,
                errors=list(reading.errors),
            )
            outcome.ok = reading.root is not None and not self.report.kubo_error
            self._report_peer(outcome)
            if not self.dry_run:
                self._record(state, outcome, None)

    def _finish(
        self,
        readings: list[Reading],
        claims: list[Claim],
        wanted_before: dict[str, Wanted],
        pins: dict[CidKey, str],
        results: Results,
        unpinned: list[CidKey],
    ) -> None:
        released_by: dict[str, int] = {}
        for cid in unpinned:
            owners = self.names.owners(pins[cid])
            for label in owners.labels if owners else ():
                released_by[label] = released_by.get(label, 0) + 1
        for reading, claim in zip(readings, claims, strict=True):
            outcome = self._outcome(reading, claim, pins, results, released_by)
            self._report_peer(outcome)
            if self.dry_run:
                continue
            before = wanted_before[reading.peer.name]
            wanted = _wanted_after(claim.cids, before, pins, results)
            state = self.records[reading.peer.name]
            if reading.complete:
                state.root = reading.root
                state.manifests = reading.manifests
                state.limits = limits_of(reading.peer, self.config)
            held = [size for cid, size in wanted.items() if cid in pins or cid in results.fetched]
            state.pins_held, state.bytes_held = len(held), sum(held)
            changed = state.wanted_file is None or wanted != before
            self._record(state, outcome, wanted if changed else None)

    def _report_peer(self, outcome: PeerOutcome) -> None:
        self.report.peers.append(outcome)
        log.log(logging.INFO if outcome.ok else logging.ERROR, "%s", describe(outcome))

    def _outcome(
        self,
        reading: Reading,
        claim: Claim,
        pins: dict[CidKey, str],
        results: Results,
        released_by: dict[str, int],
    ) -> PeerOutcome:
        peer = reading.peer
        outcome = PeerOutcome(
            name=peer.name,
            ipns=peer.ipns,
            root=reading.root,
            unchanged=reading.unchanged,
            manifests=reading.manifests,
            wanted=len(reading.wanted),
            unpinned=released_by.get(peer.name, 0),
            errors=list(reading.errors),
            warnings=list(reading.warnings),
        )
        for cid in claim.cids:
            if cid in pins:
                outcome.already_pinned += 1
                outcome.renamed += cid in results.renamed
            elif cid in results.fetched:
                outcome.newly_pinned += 1
                outcome.bytes_fetched += results.fetched[cid]
            elif cid in results.failed:
                outcome.failed += 1
                outcome.errors.append(results.failed[cid])
        outcome.ok = reading.complete and not outcome.errors and not self.report.kubo_error
        return outcome

    def _record(self, state: PeerState, outcome: PeerOutcome, wanted: Wanted | None) -> None:
        now = now_iso()
        state.last_attempt = now
        state.complete = outcome.ok
        if outcome.ok:
            state.last_success = now
            state.last_error = None
            state.failing_since = None
        else:
            state.last_error = (outcome.errors or [self.report.kubo_error or "failed"])[0]
            state.failing_since = state.failing_since or now
        state.last_result = {
            k: v for k, v in outcome.__dict__.items() if k not in ("errors", "warnings")
        } | {"errors": outcome.errors[:20], "warnings": outcome.warnings[:20]}
        self.store.save(state, wanted)


def _wanted_after(
    cids: Collection[CidKey], before: Wanted, pins: dict[CidKey, str], results: Results
) -> Wanted:
    """The peer's wanted list to record: each CID with the bytes it cost its quota."""
    fetched = results.fetched
    return {cid: fetched.get(cid) or before.get(cid, 0) for cid in cids}


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


class _Progress:
    """Logs how far a long pinning phase has got, at most every PROGRESS_INTERVAL seconds."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done_count = 0
        self.failed = 0
        self.bytes = 0
        self.started = self.last_log = time.monotonic()

    def step(self, ok: bool, fetched: int | None) -> None:
        self.done_count += 1
        self.failed += not ok
        self.bytes += fetched or 0
        now = time.monotonic()
        if now - self.last_log >= PROGRESS_INTERVAL:
            self.last_log = now
            self._log()

    def done(self) -> None:
        if self.total:
            self._log()

    def _log(self) -> None:
        log.info(
            "pinning: %d/%d done, %d failed, %d bytes fetched, %.1fs",
            self.done_count, self.total, self.failed, self.bytes, time.monotonic() - self.started,
        )  # fmt: skip
