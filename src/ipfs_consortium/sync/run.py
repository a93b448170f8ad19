"""One sync run in four steps: read every peer (read.py), plan (plan.py and
policy/release.py), apply the plan (apply.py), record the outcome (outcomes.py); then,
when due, the holdings reports (heartbeat.py) and the other members' IPNS records kept and
put back (keepalive.py), which change no pin.

The order matters for safety. Nothing is changed until every peer has been read and
Kubo's pin list is known; if that list cannot be had, nothing else happens. New pins
come first, and releases last, only those whose grace period is over
(policy/release.py), and only when Kubo stayed reachable throughout, so a failure
anywhere can cost time but never a pin. A run whose peers all resolve as before skips
the pin list (policy/full_check.py): it can neither pin nor release, only record.
"""

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from ..config import Config
from ..errors import ConsortiumError, KuboError
from ..ipfs.cid import key_text
from ..ipfs.cluster import pin_backend
from ..ipfs.kubo import KuboClient
from ..ipfs.pins import PinSet
from ..policy import known_good
from ..policy.full_check import config_fingerprint, next_check, why_check
from ..policy.pin_names import PinNames
from ..policy.release import ReleaseDecision, decide
from ..report.cluster import allocation, reallocations
from ..report.metrics import write_metrics
from ..report.run_report import PeerOutcome, SyncReport, describe
from ..state.store import PeerState, Snapshot, StateDir, Verified, Wanted
from .apply import Results, apply_plan
from .heartbeat import heartbeat
from .keepalive import keep_alive
from .outcomes import FullCheck, bring_up_to_date, full_outcomes, save, unchanged_outcomes
from .plan import Plan, make_plan
from .quota import ByteBudgets
from .reach import Reach, measure
from .read import Reading, read_all, resolve_all

log = logging.getLogger(__name__)

# How many of a dry run's changes are listed when not all of them are asked for.
SAMPLE = 20


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
        store.readable()
        return sync.run()
    store.ensure()
    with store.lock():
        return sync.run()


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
        self.client = KuboClient.from_config(config)
        self.pins = pin_backend(config, self.client)
        self.report = SyncReport(dry_run=dry_run)
        # The state directory as this run read it and then wrote it.
        self.known: Snapshot | None = None
        self.records: dict[str, PeerState] = {}
        self.reach: Reach | None = None
        self.node: str | None = None
        # The path each peer's name resolved to in this run, by peer name.
        self.resolved: dict[str, str] = {}

    def run(self) -> SyncReport:
        started = time.monotonic()
        try:
            self._run()
            self._heartbeat()
        finally:
            self.report.rpc_calls = self.client.calls
            self.report.seconds = round(time.monotonic() - started, 3)
            self.pins.close()
            self.client.close()
        report = self.report
        if not self.dry_run and self.config.metrics_file is not None:
            self._write_metrics(self.config.metrics_file)
        log.info(
            "%s in %.3fs with %d RPC calls (%s); exit code %d",
            "dry run done" if report.dry_run else "done", report.seconds, report.rpc_calls,
            "full check" if report.full_check else "no full check", report.exit_code,
        )  # fmt: skip
        return report

    def _heartbeat(self) -> None:
        known, node = self.known, self.node
        if self.dry_run or self.report.kubo_error or known is None or node is None:
            return
        self.report.report_error = heartbeat(
            self.client, self.config, self.store, known, node, datetime.now(UTC)
        )
        keep_alive(self.client, self.config, self.store, known, self.resolved, datetime.now(UTC))

    def _write_metrics(self, path: Path) -> None:
        """Before the last log line, so that its exit code is the one the run ends with: a
        metrics file that cannot be written fails the run (exit code 2)."""
        report = self.report
        try:
            write_metrics(path, self.config, self.store, report, self.known)
        except (OSError, ConsortiumError) as exc:
            report.metrics_error = f"metrics file {path} cannot be written ({exc})"
            log.error("%s", report.metrics_error)

    def _run(self) -> None:
        config = self.config
        try:
            node = self.node = self.client.node_id()
            known = self.known = self.store.snapshot(config)
            self.reach = measure(self.client, config, node, known.reach)
        except KuboError as exc:
            self._kubo_failed(exc)
            return
        if self.reach is not None:
            self.report.reach = self.reach.to_json()
            if not self.dry_run:
                self.store.save_reach(self.reach)
                known.reach = self.reach
        self.records = known.records
        readings = resolve_all(self.client, config, self.reach)
        # Noted at the time of resolving, not of recording, which a long run delays; the
        # record step writes it, except on a dry run.
        for reading in readings:
            if reading.root is not None:
                self.records[reading.peer.name].resolved(reading.root)
                self.resolved[reading.peer.name] = reading.path
        self._note_kubo_error(_kubo_error(readings))
        if self.report.kubo_error:
            self._record_unchanged(readings)
            return
        now = datetime.now(UTC)
        changed = [
            r.peer.name
            for r in readings
            if r.root is not None
            and not known_good.resolved_as_before(self.records[r.peer.name], r.root, r.peer, config)
        ]
        verified, book = known.verified, known.book
        reason = "sync --verify" if self.verify else why_check(
            verified, config, node, book, changed, now
        )  # fmt: skip
        if reason is None and verified is not None:
            log.info(
                "every peer is as it was; not listing pins (last full check %s, next by %s)",
                verified.at.isoformat(), next_check(verified, config).isoformat(),
            )  # fmt: skip
            self._record_unchanged(readings)
            return
        log.info("listing every pin: %s", reason)
        self.report.full_check = True
        self._full_check(readings, known, now, Verified(now, config_fingerprint(config), node))

    def _kubo_failed(self, exc: KuboError) -> None:
        self.report.kubo_error = str(exc)
        log.error("%s; nothing was changed", exc)

    def _note_kubo_error(self, error: str | None) -> None:
        """Kubo failed under a step that logged why: the run changes nothing more."""
        self.report.kubo_error = self.report.kubo_error or error

    def _full_check(
        self, resolved: list[Reading], known: Snapshot, now: datetime, verified: Verified
    ) -> None:
        config, store = self.config, self.store
        # Read.
        try:
            pinset = self.pins.pinset()
        except KuboError as exc:
            self._kubo_failed(exc)
            return
        pins = pinset.names
        self._report_pinset(pinset)
        wanted_before = {name: store.load_wanted(state) for name, state in self.records.items()}
        readings = read_all(
            self.client, resolved, config, self.records, wanted_before, pins, self.reach
        )
        self._note_kubo_error(_kubo_error(readings))
        # Plan.
        claims = [
            known_good.claim(r.peer.name, r.wanted, r.complete, wanted_before[r.peer.name])
            for r in readings
        ]
        plan = make_plan(claims, pins, self.names, pinset.unsettled)
        releases = decide(
            plan, known.book, now, config.release_after, config.max_release_fraction,
            self.allow_mass_release,
        )  # fmt: skip
        self._report_plan(plan, releases)
        # Apply.
        results = Results()
        if not self.dry_run:
            if not self.report.kubo_error:
                budgets = ByteBudgets(
                    {p.name: p.max_bytes for p in config.peers},
                    {name: state.bytes_held for name, state in self.records.items()},
                )
                results = apply_plan(self.pins, config, plan, releases.due, budgets, self.reach)
                self._note_kubo_error(results.kubo_error)
            releases.book.released(results.released)
            store.save_releases(releases.book)
            known.book = releases.book
        # Record.
        if pinset.nodes is not None:
            self._record_allocation(pinset, results)
        check = FullCheck(
            readings, wanted_before, pins, claims, results, self.report.kubo_error,
            pinset.unsettled,
        )  # fmt: skip
        for reading, claim, outcome in full_outcomes(check, self.names):
            state = self.records[reading.peer.name]
            wanted = (
                None if self.dry_run else bring_up_to_date(state, reading, claim, check, config)
            )
            self._report_peer(outcome, state, wanted)
        if not self.dry_run and not self.report.kubo_error:
            store.save_verified(verified)
            known.verified = verified

    def _report_pinset(self, pinset: PinSet) -> None:
        config = self.config
        if config.pinning is None:
            log.info("Kubo at %s holds %d recursive pins", config.api, len(pinset.names))
        else:
            log.info(
                "the cluster at %s holds %d pins, %d of them not yet on %d nodes",
                config.pinning.api, len(pinset.names), len(pinset.unsettled),
                config.pinning.replication_min,
            )  # fmt: skip

    def _record_allocation(self, pinset: PinSet, results: Results) -> None:
        """Where the cluster holds the pins once this run is done: what it listed first,
        or, when the run changed any pin, what it lists now."""
        if results.fetched or results.released or results.renamed or results.failed:
            try:
                pinset = self.pins.pinset()
            except KuboError as exc:
                log.warning("the cluster's pins were not listed again (%s)", exc)
        assert pinset.nodes is not None and self.known is not None
        found = allocation(pinset.nodes, datetime.now(UTC))
        self.report.cluster = found.nodes
        for line in reallocations(self.known.cluster, found):
            log.info("%s", line)
        if not self.dry_run:
            self.store.save_cluster(found)
            self.known.cluster = found

    def _record_unchanged(self, readings: Iterable[Reading]) -> None:
        outcomes = unchanged_outcomes(list(readings), self.records, self.report.kubo_error)
        for outcome, state in outcomes:
            self._report_peer(outcome, state, None)

    def _report_peer(self, outcome: PeerOutcome, state: PeerState, wanted: Wanted | None) -> None:
        if self.reach is not None:
            self.reach.judge(outcome)
        self.report.peers.append(outcome)
        log.log(logging.INFO if outcome.ok else logging.ERROR, "%s", describe(outcome))
        if not self.dry_run:
            save(self.store, state, outcome, self.report.kubo_error, wanted)

    def _report_plan(self, plan: Plan, releases: ReleaseDecision) -> None:
        report = self.report
        log.info(
            "plan: %d to pin, %d to rename, %d to release, %d waiting for release",
            plan.to_pin, plan.to_rename, len(releases.due), len(releases.later),
        )  # fmt: skip
        report.to_pin, report.to_rename = plan.to_pin, plan.to_rename
        report.to_release = len(releases.due)
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
        if self.dry_run:
            self._report_dry_run(plan, releases)

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


def _kubo_error(readings: Iterable[Reading]) -> str | None:
    return next((r.kubo_error for r in readings if r.kubo_error), None)
