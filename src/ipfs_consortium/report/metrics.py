"""A Prometheus text-format file for node_exporter's textfile collector.

Written after every sync with the figures ``ipfs-consortium status`` shows (figures.py),
so an alert can fire on a peer that has been failing for a day or a Kubo that the sync
could not reach. The per-peer state and quota gauges cover the config's peers only, so an
alert on a peer removed from it clears; a removed peer whose pins wait for their release
keeps ``peer_configured`` 0 and its ``peer_pins_awaiting_release`` until they are gone.

The text is prometheus_client's (Debian's python3-prometheus-client on a member). It is
written through the state directory's atomic writer rather than ``write_to_textfile``,
because the collector must never read half a file (fsync before the rename) and runs as
another user (mode 0644).
"""

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from ..config import Config
from ..state.store import Snapshot, StateDir, replace_atomically
from .cluster import node_counts
from .copies import stored_view
from .figures import Figures, PeerFigures, figures
from .possession import BLOCK_RESULTS, FAILED, member_checks
from .run_report import SyncReport

_PREFIX = "ipfs_consortium_"

Gauge = tuple[str, str, Callable[[PeerFigures], float | None]]

# Of each peer in the config.
_CONFIGURED: list[Gauge] = [
    ("ok", "Whether the last sync of the peer succeeded (1) or not (0).",
     lambda s: int(s.ok)),
    ("last_success_timestamp_seconds", "When the peer was last synced in full (0: never).",
     lambda s: _epoch(s.last_success)),
    ("failing_since_timestamp_seconds", "Since when the peer has been failing (0: it is not).",
     lambda s: _epoch(s.failing_since)),
    ("root_first_seen_timestamp_seconds",
     "When the root the peer is followed at was first seen; no sample when not known.",
     lambda s: _epoch(s.root_first_seen) if s.root_first_seen else None),
    ("newer_root_seen_timestamp_seconds",
     "Since when the peer's name has resolved to a root not read in full yet (0: it does not).",
     lambda s: _epoch(s.seen_root_since) if s.root_behind else 0),
    ("connected", "Whether Kubo was connected to the peer's node at the last sync (1) or not "
     "(0); no sample when its node is not known or is this one.",
     lambda s: None if s.connected is None else int(s.connected)),
    ("pins_held", "Pins held for the peer, its manifest directory included.",
     lambda s: s.pins_held),
    ("bytes_held", "Bytes fetched for the pins held for the peer.", lambda s: s.bytes_held),
    ("max_pins", "The peer's quota of pins listed (max_pins).", lambda s: s.max_pins),
    ("max_bytes", "The peer's byte quota (max_bytes); no sample when it has none.",
     lambda s: s.max_bytes),
    ("record_expiry_timestamp_seconds",
     "When the peer's IPNS record this member keeps expires; no sample when none is kept.",
     lambda s: _epoch(s.record.expires) if s.record else None),
    ("record_sequence", "The sequence of the peer's IPNS record this member keeps.",
     lambda s: s.record.sequence if s.record else None),
    ("record_put_timestamp_seconds",
     "When this member last put the peer's IPNS record back on the network; no sample "
     "before the first put.",
     lambda s: _epoch(s.record.put_at) if s.record and s.record.put_at else None),
]  # fmt: skip


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(_PREFIX + name, help_text, value=value)


def _families(
    config: Config, found: Figures, report: SyncReport, now: float, last_success: float
) -> Iterator[Metric]:
    for name, help_text, value in _CONFIGURED:
        family = GaugeMetricFamily(f"{_PREFIX}peer_{name}", help_text, labels=["peer"])
        for peer in found.configured:
            if (sample := value(peer)) is not None:
                family.add_metric([peer.peer], sample)
        yield family
    # Of each peer in the config, and each removed from it whose pins wait for release.
    configured = GaugeMetricFamily(
        f"{_PREFIX}peer_configured",
        "Whether the peer is in the config (1), or removed with pins waiting (0).",
        labels=["peer"],
    )
    waiting = GaugeMetricFamily(
        f"{_PREFIX}peer_pins_awaiting_release",
        "Pins naming the peer that wait for their release.",
        labels=["peer"],
    )
    for any_peer in found.peers:
        configured.add_metric([any_peer.peer], int(any_peer.configured))
        waiting.add_metric([any_peer.peer], any_peer.pins_awaiting_release)
    yield from (configured, waiting)
    releases = found.releases
    yield _gauge(
        "pins_awaiting_release",
        "Pins no peer lists any more, kept until their grace period (release_after) ends.",
        releases.waiting,
    )
    yield _gauge(
        "next_release_timestamp_seconds",
        "When the next waiting pin is due for release (0: none waits).",
        _epoch(releases.next_due),
    )
    yield _gauge(
        "release_held",
        "Whether the mass-release brake held the last sync's releases (1) or not (0).",
        int(releases.held is not None),
    )
    yield _gauge(
        "last_full_check_timestamp_seconds",
        "When a sync last compared every pin in Kubo with the peers' lists (0: never).",
        _epoch(found.last_full_check),
    )
    reach = found.reach
    if reach is not None:
        yield _gauge(
            "members",
            "Peers of the config whose Kubo node is known (by peer ID), not counting this one.",
            len(reach.members),
        )
        yield _gauge(
            "members_connected",
            "Of those, the members Kubo was connected to at the last sync.",
            len(reach.connected),
        )
        yield _gauge(
            "isolated_since_timestamp_seconds",
            "Since when Kubo has been connected to none of the members (0: it is not).",
            _epoch(reach.isolated_since) if reach.isolated else 0,
        )
    yield from _copies(config, found, datetime.fromtimestamp(now, UTC))
    yield from _possession(found)
    yield from _cluster(found)
    yield _gauge(
        "kubo_up", "Whether the last sync could reach Kubo.", 0 if report.kubo_error else 1
    )
    yield _gauge("last_run_timestamp_seconds", "When the last sync ended.", now)
    yield _gauge(
        "last_success_timestamp_seconds",
        "When a sync last ran to its end with Kubo reachable, whatever its peers did (0: never).",
        last_success,
    )
    yield _gauge("last_run_duration_seconds", "How long the last sync took.", report.seconds)
    yield _gauge("last_run_exit_code", "The last sync's exit code.", report.exit_code)
    yield _gauge("last_run_rpc_calls", "RPC calls the last sync made.", report.rpc_calls)


def _copies(config: Config, found: Figures, now: datetime) -> Iterator[Metric]:
    """The holdings reports (copies.py): this member's, and the copies of its content."""
    published = found.published
    if config.report_key is not None:
        yield _gauge(
            "report_published_timestamp_seconds",
            "When this member last published its holdings report (0: never).",
            _epoch(published.published_at if published else None),
        )
        yield _gauge(
            "report_publish_ok",
            "Whether the last try to publish this member's holdings report succeeded.",
            int(published is None or published.error is None),
        )
    yield _gauge(
        "min_copies", "Full copies of this member's content required (0: none).", config.min_copies
    )
    found_view = stored_view(config, found.seen, found.configured, now, found.checks)
    if found_view is None:
        return
    yield _gauge(
        "own_full_copies",
        "Full copies of this member's content that other members with fresh reports hold.",
        found_view.own.full_copies,
    )
    made = _member_family(
        "report_timestamp_seconds", "When the member's holdings report was made (0: none read)."
    )
    stale = _member_family(
        "report_stale",
        "Whether the member's holdings report is missing, refused or stale (1) or not (0).",
    )
    holds = _member_family(
        "holds_own_pins", "CIDs of this member's content the member says it holds."
    )
    missing = _member_family(
        "missing_own_pins", "CIDs of this member's content the member says it lacks."
    )
    for holder in found_view.own.holders:
        # A peer whose report's name is not known has no report to be late with.
        if holder.state == "no_report":
            continue
        member = [holder.member]
        made.add_metric(member, _epoch(holder.report_made))
        stale.add_metric(member, int(holder.state in ("stale", "refused")))
        if holder.state in ("full", "partial", "other_root"):
            holds.add_metric(member, holder.held)
            missing.add_metric(member, holder.missing)
    yield from (made, stale, holds, missing)


def _possession(found: Figures) -> Iterator[Metric]:
    """The last possession check of each member (possession.py); none before the first."""
    if found.checks is None:
        return
    blocks = GaugeMetricFamily(
        f"{_PREFIX}possession_check_blocks",
        "Blocks of this member's content asked of the member at its last possession check, "
        "by result.",
        labels=["member", "result"],
    )
    checked = _family(
        "possession_check_timestamp_seconds", "When the member was last checked (0: never)."
    )
    verified = _family(
        "possession_verified_timestamp_seconds",
        "When every block asked of the member was last verified (0: never).",
    )
    failed = _family(
        "possession_check_failed",
        "Whether the member's last possession check found blocks missing or wrong (1) or not (0).",
    )
    for member, check in member_checks(found.checks).items():
        for result in BLOCK_RESULTS:
            blocks.add_metric([member, result], getattr(check, result))
        checked.add_metric([member], _epoch(check.checked_at if check.asked else None))
        verified.add_metric([member], _epoch(check.verified_at))
        failed.add_metric([member], int(check.result == FAILED))
    yield from (blocks, checked, verified, failed)


def _cluster(found: Figures) -> Iterator[Metric]:
    """This member's pins on each node of its cluster (cluster.py); none for one node."""
    if found.cluster is None:
        return
    family = GaugeMetricFamily(
        f"{_PREFIX}cluster_node_pins",
        "This member's pins on each node of its cluster at the last full check, by state.",
        labels=["node", "state"],
    )
    for node, state, count in node_counts(found.cluster):
        family.add_metric([node, state], count)
    yield family


def _family(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{_PREFIX}{name}", help_text, labels=["member"])


def _member_family(name: str, help_text: str) -> GaugeMetricFamily:
    return _family(f"member_{name}", help_text)


class _Collector:
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def render_metrics(
    config: Config, found: Figures, report: SyncReport, now: float, last_success: float
) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(_families(config, found, report, now, last_success)))
    return generate_latest(registry).decode()


def write_metrics(
    path: Path, config: Config, store: StateDir, report: SyncReport, known: Snapshot | None
) -> None:
    """Replace the metrics file at ``path`` after a run, from what the run holds of the
    state directory (``known``; None: the run stopped before reading it). The file's
    directory is made when missing; OSError and StateError propagate."""
    now = time.time()
    if report.kubo_error is None:
        store.save_last_success(now)
        last_success = now
    else:
        last_success = store.load_last_success()
    found = figures(config, known or store.snapshot(config))
    with replace_atomically(path, mode=0o644) as handle:
        handle.write(render_metrics(config, found, report, now, last_success))
