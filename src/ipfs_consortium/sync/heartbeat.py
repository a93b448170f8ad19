"""The last step of a sync: this member's holdings report, the other members', and the
possession checks (possession.py) when due.

The report is published when what it says changed (its digest, holdings.py) and
otherwise once every report_interval, the heartbeat that tells the others this member is
alive; the others' reports are read at the same pace and kept (state/store.py's
ReportsSeen) for the metrics and ``status``. A run that changes nothing makes no call
here between heartbeats but the one that keeps this node's blocks open to the others'
checks. Nothing here changes a pin or the exit code: a report that cannot be published, or
a check this node cannot make, is a warning, tried again at the next heartbeat or check.
"""

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..errors import KuboError, KuboRefused
from ..ipfs.cid import CidKey
from ..ipfs.kubo import KuboClient
from ..report.cluster import node_holdings
from ..report.copies import NO_REPORT, stored_view
from ..report.exchange import own_content, publish_report, read_reports
from ..report.figures import PeerFigures, figures
from ..report.holdings import Holdings, holdings
from ..state.store import Checks, Published, ReportsSeen, Snapshot, StateDir
from .possession import check_members, due, next_due, serve

log = logging.getLogger(__name__)


def heartbeat(
    client: KuboClient, config: Config, store: StateDir, known: Snapshot, node: str, now: datetime
) -> str | None:
    """Publish and read the reports, and check the others, when due; why publishing
    failed, if it did."""
    serve(client, config)
    every = timedelta(seconds=config.report_interval)
    found = figures(config, known)
    mine = found.configured
    report = holdings(config, mine, node, _stamp(now), "", (0, 0), node_holdings(found.cluster))
    last = known.published
    error = None
    if config.report_key is not None and (
        last is None or last.digest != report.digest() or _since(last.tried_at, now) >= every
    ):
        known.published = _publish(client, config, config.report_key, report, store, known)
        store.save_published(known.published)
        error = known.published.error
    if known.seen is None or _since(known.seen.read_at, now) >= every:
        try:
            known.seen = _read(client, config, _stamp(now))
        except (KuboError, KuboRefused) as exc:
            log.warning("the other members' reports were not read (%s)", exc)
        else:
            store.save_seen(known.seen)
    if due(known.checks, config, now):
        known.checks = _check(client, config, store, known, mine, now)
        store.save_checks(known.checks)
    return error


def _check(
    client: KuboClient,
    config: Config,
    store: StateDir,
    known: Snapshot,
    mine: list[PeerFigures],
    now: datetime,
) -> Checks:
    """Check the members whose reports, as last read, claim this member's content."""
    last = known.checks
    found = stored_view(config, known.seen, mine, now, last)
    if found is None:
        error = "possession checks not made (the other members' reports were not read yet)"
    else:
        try:
            return check_members(client, config, store, found.own, last, now)
        except (KuboError, KuboRefused) as exc:
            error = f"possession checks not made ({exc})"
    log.warning("%s; tried again after check_interval", error)
    members = last.members if last else {}
    return Checks(_stamp(now), next_due(config, now), None, members, error)


def _publish(
    client: KuboClient, config: Config, key: str, report: Holdings, store: StateDir, known: Snapshot
) -> Published:
    """Publish ``report`` under ``key``, with the node's facts, which only a publication
    reads; the record may take as long to put as a resolution may take. The report it
    replaces is released unless a peer lists it."""
    last = known.published
    published = Published(report.made, report.digest())
    try:
        size, storage_max = client.repo_stat()
        report = replace(
            report, kubo_version=client.version(), repo_size=size, storage_max=storage_max
        )
        published.name, published.root = publish_report(
            client, key, report, config.resolve_timeout, lambda cid: _listed(cid, store, known),
            config.record_lifetime,
        )  # fmt: skip
        published.published_at = report.made
        log.info("holdings report published: /ipns/%s -> %s", published.name, published.root)
    # Refused too: a token from before the report (no key/gen) must not fail the sync.
    except (KuboError, KuboRefused) as exc:
        published.error = f"holdings report not published ({exc})"
        log.warning("%s; the next heartbeat tries again", published.error)
        if last is not None:
            published.name, published.root = last.name, last.root
            published.published_at = last.published_at
    return published


def _listed(cid: CidKey, store: StateDir, known: Snapshot) -> bool:
    """Whether a peer lists ``cid``, by the lists on disk, read one at a time: together
    they can be millions of CIDs."""
    return any(cid in store.load_wanted(state) for state in known.records.values())


def _stamp(now: datetime) -> str:
    # To the microsecond: a heartbeat interval may be shorter than a second (tests).
    return now.isoformat()


def _since(stamp: str, now: datetime) -> timedelta:
    try:
        return now - datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return timedelta.max


def _read(client: KuboClient, config: Config, made: str) -> ReportsSeen:
    name, root = own_content(client, config)
    members: dict[str, dict[str, Any]] = {}
    for read in read_reports(client, config):
        if read.problem != NO_REPORT and read.problem is not None:
            log.warning("%s", read.problem)
        report = read.report.to_json() if read.report else None
        members[read.peer] = {"report": report, "problem": read.problem}
    return ReportsSeen(made, name, root, members)
