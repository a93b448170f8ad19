"""One sync run: read every peer, plan, pin, release, record.

The order matters for safety. Kubo's pin list is read first; if that fails nothing else
happens. Peers are read next, and only then is anything changed: new pins first, and
releases last, only those whose grace period is over (release.py), and only when Kubo
stayed reachable throughout, so a failure anywhere can cost time but never a pin.
"""

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from .config import Config, Peer
from .errors import ConsortiumError, KuboError, KuboUnreachable
from .fetch import Reading, limits_of, read_peer
from .kubo import KuboClient, Timeouts
from .lock import SyncLock
from .metrics import write_metrics
from .pinnames import PinNames
from .plan import Claim, Plan, make_plan
from .quota import ByteBudgets
from .release import ReleaseDecision, decide
from .report import PeerOutcome, SyncReport, describe
from .state import PeerState, StateDir, now_iso

log = logging.getLogger(__name__)

# How often a long pinning phase logs how far it has got.
PROGRESS_INTERVAL = 10.0


@dataclass
class PinResult:
    cid: str
    ok: bool
    bytes: int = 0
    error: str | None = None


def client_for(config: Config) -> KuboClient:
    return KuboClient(
        config.api,
        Timeouts(connect=config.connect_timeout, request=config.request_timeout),
        pool_size=config.concurrency + 2,
    )


def run_sync(
    config: Config, state_dir: Path, dry_run: bool = False, allow_mass_release: bool = False
) -> SyncReport:
    """Run one sync; a dry run reads but neither changes Kubo nor writes state."""
    store = StateDir(state_dir)
    if dry_run:
        return _Sync(config, store, dry_run=True, allow_mass_release=allow_mass_release).run()
    store.ensure()
    with SyncLock(state_dir):
        report = _Sync(config, store, False, allow_mass_release).run()
        if config.metrics_file is not None:
            try:
                write_metrics(config.metrics_file, state_dir, report)
            except (OSError, ConsortiumError) as exc:
                log.error("metrics file %s cannot be written (%s)", config.metrics_file, exc)
        return report


class _Sync:
    def __init__(
        self, config: Config, store: StateDir, dry_run: bool, allow_mass_release: bool
    ) -> None:
        self.config = config
        self.store = store
        self.dry_run = dry_run
        self.allow_mass_release = allow_mass_release
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
        return self.report

    def _run(self) -> None:
        config = self.config
        try:
            pins = self.client.recursive_pins()
        except KuboError as exc:
            self.report.kubo_error = str(exc)
            log.error("%s; nothing was changed", exc)
            return
        log.info("Kubo at %s holds %d recursive pins", config.api, len(pins))
        self.previous = previous = {p.name: self.store.load(p.name, p.ipns) for p in config.peers}
        self.budgets = ByteBudgets(
            {p.name: p.max_bytes for p in config.peers},
            {name: state.bytes_held for name, state in previous.items()},
        )
        readings = self._read_peers(pins, previous)

        claims = [
            Claim(r.peer.name, r.wanted, True)
            if r.complete
            else Claim(r.peer.name, [*r.wanted, *previous[r.peer.name].wanted], False)
            for r in readings
        ]
        plan = make_plan(claims, pins, self.names)
        releases = decide(
            plan,
            self.store.load_releases(),
            datetime.now(UTC),
            config.release_after,
            config.max_release_fraction,
            self.allow_mass_release,
        )
        log.info(
            "plan: %d to pin, %d to rename, %d to release, %d waiting for release",
            len(plan.pin),
            len(plan.rename),
            len(releases.due),
            len(releases.later),
        )
        self._report_releases(releases)
        if self.dry_run:
            self.report.would_pin = plan.pin
            self.report.would_rename = plan.rename
            self.report.would_unpin = releases.due
            for cid, name in plan.pin.items():
                log.info("would pin %s as %s", cid, name)
            for cid in releases.due:
                log.info("would release %s (%s)", cid, pins[cid])
            self._finish(readings, claims, plan, pins, {}, [])
            return

        results = {} if self.report.kubo_error else self._pin_all(plan)
        unpinned = [] if self.report.kubo_error else self._unpin_all(releases.due)
        for cid in unpinned:
            del releases.book.waiting[cid]
        self.store.save_releases(releases.book)
        self._finish(readings, claims, plan, pins, results, unpinned)

    def _report_releases(self, releases: ReleaseDecision) -> None:
        report = self.report
        report.awaiting_release = {
            cid: due.isoformat(timespec="seconds") for cid, due in releases.later.items()
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

    # -- reading -----------------------------------------------------------------------

    def _read_peers(self, pins: dict[str, str], previous: dict[str, PeerState]) -> list[Reading]:
        def read(peer: Peer) -> Reading:
            try:
                return read_peer(self.client, peer, self.config, previous[peer.name], pins)
            except KuboUnreachable as exc:
                self.report.kubo_error = str(exc)
                return Reading(peer, errors=[f"peer {peer.name}: not read ({exc})"])

        workers = max(1, min(self.config.concurrency, len(self.config.peers)))
        with ThreadPoolExecutor(workers, thread_name_prefix="read") as pool:
            readings = list(pool.map(read, self.config.peers))
        for reading in readings:
            for warning in reading.warnings:
                log.warning("%s", warning)
            for error in reading.errors:
                log.error("%s", error)
        return readings

    # -- changing Kubo -----------------------------------------------------------------

    def _pin_all(self, plan: Plan) -> dict[str, PinResult]:
        jobs: list[tuple[str, Callable[[], int]]] = [
            (cid, partial(self._pin_one, cid, name, plan)) for cid, name in plan.pin.items()
        ]
        jobs += [(cid, partial(self._rename_one, cid, name)) for cid, name in plan.rename.items()]
        results: dict[str, PinResult] = {}
        progress = _Progress(len(plan.pin))
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="pin") as pool:
            futures = {pool.submit(self._unless_kubo_gone, job): cid for cid, job in jobs}
            for future in as_completed(futures):
                cid = futures[future]
                result = self._result(cid, future, plan)
                if result is None:
                    continue  # not attempted: Kubo had gone away
                results[cid] = result
                if cid in plan.pin:
                    progress.step(result)
        progress.done()
        return results

    def _unless_kubo_gone(self, job: Callable[[], int]) -> int | None:
        # Once Kubo is unreachable the queued jobs end at once instead of each failing
        # in turn (cancelling futures would leave as_completed waiting for them).
        return None if self.report.kubo_error else job()

    def _result(self, cid: str, future: Future[int | None], plan: Plan) -> PinResult | None:
        try:
            fetched = future.result()
        except KuboUnreachable as exc:
            if not self.report.kubo_error:
                log.error("%s; stopping: no pin is released on this run", exc)
            self.report.kubo_error = str(exc)
            return PinResult(cid, False, error=str(exc))
        except ConsortiumError as exc:
            log.error("%s (wanted by %s)", exc, ", ".join(plan.wanted[cid]))
            return PinResult(cid, False, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one pin's bug must not stop the rest
            log.exception("pin %s failed unexpectedly", cid)
            return PinResult(cid, False, error=f"pin {cid}: {exc}")
        return None if fetched is None else PinResult(cid, True, fetched)

    def _pin_one(self, cid: str, name: str, plan: Plan) -> int:
        peers = plan.wanted[cid]
        allowance = self.budgets.allowance(peers, cid)
        fetched = self.client.pin_add(cid, name, self.config.stall_timeout, allowance)
        self.budgets.charge(peers, fetched)
        log.debug("pinned %s as %s (%d bytes)", cid, name, fetched)
        return fetched

    def _rename_one(self, cid: str, name: str) -> int:
        self.client.pin_rename(cid, name)
        log.info("renamed pin %s to %s", cid, name)
        return 0

    def _unpin_all(self, cids: Iterable[str]) -> list[str]:
        released = []
        for cid in cids:
            try:
                self.client.pin_rm(cid)
            except KuboUnreachable as exc:
                self.report.kubo_error = str(exc)
                log.error("%s; stopping releases", exc)
                break
            except KuboError as exc:
                log.error("release of %s failed: %s", cid, exc)
                continue
            log.info("released %s: no peer lists it any more", cid)
            released.append(cid)
        return released

    # -- recording ---------------------------------------------------------------------

    def _finish(
        self,
        readings: list[Reading],
        claims: list[Claim],
        plan: Plan,
        pins: dict[str, str],
        results: dict[str, PinResult],
        unpinned: list[str],
    ) -> None:
        released_by: dict[str, int] = {}
        for cid in unpinned:
            owners = self.names.owners(pins[cid])
            for label in owners.labels if owners else ():
                released_by[label] = released_by.get(label, 0) + 1
        for reading, claim in zip(readings, claims, strict=True):
            outcome = self._outcome(reading, claim, plan, results, released_by)
            self.report.peers.append(outcome)
            log.log(logging.INFO if outcome.ok else logging.ERROR, "%s", describe(outcome))
            if not self.dry_run:
                self._record(reading, claim, outcome, plan, pins, results)

    def _outcome(
        self,
        reading: Reading,
        claim: Claim,
        plan: Plan,
        results: dict[str, PinResult],
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
            result = results.get(cid)
            if cid in plan.pin:
                if result is None:
                    continue  # not attempted: a dry run, or Kubo went away first
                if result.ok:
                    outcome.newly_pinned += 1
                    outcome.bytes_fetched += result.bytes
                else:
                    outcome.failed += 1
                    outcome.errors.append(result.error or f"pin {cid} failed")
            else:
                outcome.already_pinned += 1
                if cid in plan.rename and result is not None and result.ok:
                    outcome.renamed += 1
        outcome.ok = reading.complete and not outcome.errors and not self.report.kubo_error
        return outcome

    def _record(
        self,
        reading: Reading,
        claim: Claim,
        outcome: PeerOutcome,
        plan: Plan,
        pins: dict[str, str],
        results: dict[str, PinResult],
    ) -> None:
        peer = reading.peer
        state = self.previous[peer.name]
        now = now_iso()
        state.last_attempt = now
        if reading.complete:
            state.root = reading.root
            state.manifests = reading.manifests
            state.limits = limits_of(peer, self.config)
        state.wanted = list(dict.fromkeys(claim.cids))
        state.complete = outcome.ok
        held = [c for c in state.wanted if c in pins or (c in results and results[c].ok)]
        fetched = {c: r.bytes for c, r in results.items() if r.ok and c in plan.pin}
        sizes = {c: fetched.get(c, state.sizes.get(c, 0)) for c in held}
        state.sizes = {c: size for c, size in sizes.items() if size}
        state.pins_held = len(held)
        state.bytes_held = sum(state.sizes.values())
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
        self.store.save(state)


class _Progress:
    """Logs how far a long pinning phase has got, at most every PROGRESS_INTERVAL seconds."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done_count = 0
        self.failed = 0
        self.bytes = 0
        self.started = self.last_log = time.monotonic()

    def step(self, result: PinResult) -> None:
        self.done_count += 1
        self.failed += not result.ok
        self.bytes += result.bytes
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
