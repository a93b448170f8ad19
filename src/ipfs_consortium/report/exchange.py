"""The holdings reports on the network: publishing this member's, reading the others'.

A report is a directory holding ``holdings.json`` (holdings.py), pinned as REPORT_PIN
(outside the sync's ``ipfs-consortium:`` pin names, so a sync never releases it) and
published under the ``report_key`` IPNS key, which Kubo makes on first use. The root it
replaces is released. Reading a peer's report never raises for the peer's fault: a name
that does not resolve, a report too large or refused, is that peer's problem, one line.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from ..config import Config, Peer
from ..errors import KuboError, KuboUnreachable, ReportError
from ..ipfs.cid import CidKey
from ..ipfs.kubo import KuboClient
from ..ipfs.naming import publish_root
from ..state.store import StateDir
from .copies import NO_REPORT, MemberReport, View, view
from .figures import figures
from .holdings import MAX_REPORT_BYTES, REPORT_FILE, Holdings, parse_holdings
from .possession import member_checks

REPORT_PIN = "ipfs-consortium-report"


def publish_report(
    client: KuboClient,
    key: str,
    report: Holdings,
    timeout: float,
    listed: Callable[[CidKey], bool],
    lifetime: int,
) -> tuple[str, str]:
    """Publish ``report`` under ``key``; its IPNS name and root. Putting the record on the
    network may take ``timeout`` seconds at most: the sync waits for it. The report it
    replaces is released unless a peer lists it (``listed``). The record is valid for
    ``lifetime`` seconds."""
    name = client.key_name(key) or client.key_gen(key)
    root = client.add_directory("holdings", {REPORT_FILE: report.encode()}, REPORT_PIN)
    publish_root(client, root, name, key, REPORT_PIN, timeout, listed, lifetime)
    return name, root


def own_content(client: KuboClient, config: Config) -> tuple[str | None, str | None]:
    """This member's own content: the IPNS name of ``publish_key`` and the root it points
    at, as this node holds it (None for what is not known)."""
    name = client.key_name(config.publish_key)
    path = client.resolve_local(name) if name else None
    if path is None or not path.startswith("/ipfs/"):
        return name, None
    return name, path.removeprefix("/ipfs/").partition("/")[0]


def read_reports(client: KuboClient, config: Config) -> list[MemberReport]:
    """Every peer's report, read now; KuboUnreachable when this node cannot be reached."""
    if not config.peers:
        return []
    workers = max(1, min(config.concurrency, len(config.peers)))
    with ThreadPoolExecutor(workers, thread_name_prefix="report") as pool:
        return list(pool.map(lambda peer: _read(client, config, peer), config.peers))


def _read(client: KuboClient, config: Config, peer: Peer) -> MemberReport:
    if peer.report is None:
        return MemberReport(peer.name, None, NO_REPORT)
    where = f"peer {peer.name}: report /ipns/{peer.report}"
    try:
        path = client.resolve(f"/ipns/{peer.report}", config.resolve_timeout)
        with closing(client.cat(f"{path}/{REPORT_FILE}", MAX_REPORT_BYTES)) as chunks:
            raw = b"".join(chunks)
        report = parse_holdings(raw, where, peer.peer_id, config.consortium)
    except KuboUnreachable:
        raise
    except KuboError as exc:
        return MemberReport(peer.name, None, f"{where}: not read ({exc})")
    except ReportError as exc:
        return MemberReport(peer.name, None, str(exc))
    return MemberReport(peer.name, report, None)


def consortium_view(config: Config, state_dir: Path) -> View:
    """The view now: every peer's report read from the network, this member's holdings
    and the last possession checks from its state directory."""
    store = StateDir(state_dir)
    # Before any call: a state directory that cannot be read fails at once.
    store.readable()
    client = KuboClient.from_config(config)
    try:
        own = own_content(client, config)
        reports = read_reports(client, config)
    finally:
        client.close()
    found = figures(config, store.snapshot(config))
    checks = member_checks(found.checks)
    return view(config, own, found.configured, reports, datetime.now(UTC), checks)
