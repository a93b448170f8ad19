"""The read step of a sync: resolve each peer's IPNS name, list its manifest directory,
parse each manifest. Peers are read side by side.

A file that cannot be used is reported and skipped, and the reading is then marked
incomplete, which keeps the peer's old pins (see sync/plan.py). An unchanged root whose pins
are all present is answered from the state directory without listing or reading anything.
Resolving is a step of its own: a run whose peers all resolve as before may stop there
(policy/full_check.py).
"""

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import TypeVar

from ..config import Config, Peer
from ..errors import KuboRefused, KuboTimeout, KuboUnreachable, ManifestError
from ..ipfs.cid import CidKey, cid_key
from ..ipfs.kubo import LINK_FILE, KuboClient, Link
from ..policy.known_good import nothing_to_read
from ..state.store import PeerState, Wanted
from .manifest import check_size, is_manifest_name, read_manifest
from .reach import Reach, around

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures of the node, not of the peer being read: they stop the whole run.
_NODE_FAULTS = (KuboUnreachable, KuboRefused)


@dataclass
class Reading:
    """What one peer's manifests asked for, with everything that went wrong on the way."""

    peer: Peer
    # What the peer's name resolved to, and the CID at the end of that path.
    path: str = ""
    root: str | None = None
    # CID keys in manifest order, the directory root first, quota applied.
    wanted: Collection[CidKey] = ()
    # CIDs listed beyond the peer's max_pins, left out of ``wanted``.
    over_quota: int = 0
    manifests: int = 0
    unchanged: bool = False
    complete: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Set when Kubo itself failed while this peer was read: the whole run stops.
    kubo_error: str | None = None


def resolve_all(client: KuboClient, config: Config, reach: Reach | None) -> list[Reading]:
    """Resolve every peer's name; the first step, and all an unchanged run does. An error
    says which members Kubo was connected to (``reach``)."""

    def resolve(peer: Peer) -> Reading:
        try:
            return resolve_peer(client, peer, config, reach)
        except KuboUnreachable as exc:
            errors = [f"peer {peer.name}: not resolved ({exc})"]
            return Reading(peer, errors=errors, kubo_error=str(exc))

    return _each(resolve, config.peers, config)


def read_all(
    client: KuboClient,
    resolved: Sequence[Reading],
    config: Config,
    records: Mapping[str, PeerState],
    wanted: Mapping[str, Wanted],
    pins: Mapping[CidKey, str],
    reach: Reach | None,
) -> list[Reading]:
    """Read the manifests of every peer that resolved; each reading's problems are logged."""

    def read(reading: Reading) -> Reading:
        name = reading.peer.name
        try:
            return read_peer(client, reading, config, records[name], wanted[name], pins, reach)
        except KuboUnreachable as exc:
            reading.errors.append(f"peer {name}: not read ({exc})")
            reading.complete, reading.kubo_error = False, str(exc)
            return reading

    readings = _each(read, resolved, config)
    for reading in readings:
        for warning in reading.warnings:
            log.warning("%s", warning)
        for error in reading.errors:
            log.error("%s", error)
    return readings


def _each(work: Callable[[T], Reading], items: Sequence[T], config: Config) -> list[Reading]:
    workers = max(1, min(config.concurrency, len(items)))
    with ThreadPoolExecutor(workers, thread_name_prefix="read") as pool:
        return list(pool.map(work, items))


def resolve_peer(client: KuboClient, peer: Peer, config: Config, reach: Reach | None) -> Reading:
    """Never raises for a peer's fault; _NODE_FAULTS propagate."""
    reading = Reading(peer)
    try:
        reading.path = client.resolve(peer.path, config.resolve_timeout)
        reading.root = client.path_cid(reading.path)
    except _NODE_FAULTS:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of one peer is that peer's error
        reading.errors.append(
            f"peer {peer.name}: {peer.path} did not resolve ({exc}){around(reach)}"
        )
    return reading


def read_peer(
    client: KuboClient,
    reading: Reading,
    config: Config,
    previous: PeerState,
    previous_wanted: Collection[CidKey],
    pins: Mapping[CidKey, str],
    reach: Reach | None,
) -> Reading:
    """Read a resolved peer's manifests, unless it is unchanged and all its pins present.

    Never raises for a peer's fault; _NODE_FAULTS propagate. What Kubo could not fetch in
    time is reported as such, with which members it was connected to (``reach``).
    """
    peer, path = reading.peer, reading.path
    if reading.root is None:
        return reading
    if nothing_to_read(previous, reading.root, peer, config, previous_wanted, pins):
        reading.wanted = previous_wanted
        reading.manifests = previous.manifests
        reading.unchanged = reading.complete = True
        return reading

    wanted: dict[CidKey, None] = {cid_key(reading.root): None}
    reading.wanted = wanted

    def not_fetched(what: str) -> str:
        return (
            f"peer {peer.name}: could not fetch {what} within "
            f"{config.request_timeout:g}s{around(reach)}"
        )

    try:
        links = _manifest_links(client, reading)
    except _NODE_FAULTS:
        raise
    except KuboTimeout:
        reading.errors.append(not_fetched(f"its manifest directory {path}"))
        return reading
    except ManifestError as exc:
        reading.errors.append(str(exc))
        return reading

    manifests = [link for link in links if link.type == LINK_FILE and is_manifest_name(link.name)]
    for link in links:
        if link not in manifests:
            reading.warnings.append(f"peer {peer.name}: {link.name} is not a *.json file; skipped")
    if len(manifests) > config.max_manifest_files:
        reading.errors.append(
            f"peer {peer.name}: {len(manifests)} manifests in {path}, over the limit of "
            f"{config.max_manifest_files}; none read"
        )
        return reading

    complete = True
    over = 0
    limit = 1 + peer.max_pins  # the root is not the peer's to count against its quota
    for link in sorted(manifests, key=lambda item: item.name):
        where = f"peer {peer.name}: {link.name}"
        try:
            check_size(where, link.size, config.max_manifest_bytes)
            with closing(client.cat(link.cid, config.max_manifest_bytes)) as chunks:
                manifest = read_manifest(
                    where, chunks, config.max_manifest_bytes, wanted, limit, link.size
                )
        except _NODE_FAULTS:
            raise
        except KuboTimeout:
            reading.errors.append(f"{not_fetched(link.name)}; skipped")
            complete = False
            continue
        except Exception as exc:  # noqa: BLE001
            text = str(exc) if isinstance(exc, ManifestError) else f"{where}: {exc}"
            reading.errors.append(f"{text}; skipped")
            complete = False
            continue
        reading.manifests += 1
        reading.warnings.extend(f"{problem}; skipped" for problem in manifest.problems)
        over += manifest.over

    reading.over_quota = over
    if over:
        reading.warnings.append(
            f"peer {peer.name}: {over} more CIDs listed are over its quota of "
            f"{peer.max_pins}; only the first {peer.max_pins} in manifest order are pinned"
        )
    reading.complete = complete
    return reading


def _manifest_links(client: KuboClient, reading: Reading) -> list[Link]:
    """The entries of a peer's manifest directory; ManifestError when it is none.

    Read as a directory, a file would list no manifests: everything the peer had asked
    for would go. KuboTimeout and _NODE_FAULTS propagate.
    """
    peer, path = reading.peer, reading.path
    kind = ""
    try:
        kind = client.unixfs_type(path)
        if kind != "directory":
            raise ManifestError(
                f"peer {peer.name}: {peer.path} is a {kind}, not a directory of manifests"
            )
        return client.ls(path)
    except (KuboTimeout, ManifestError, *_NODE_FAULTS):
        raise
    except Exception as exc:  # noqa: BLE001
        what = (
            f"manifest directory {path} unreadable ({exc})"
            if kind
            else f"{peer.path} is not UnixFS ({exc}), not a directory of manifests"
        )
        raise ManifestError(f"peer {peer.name}: {what}") from None
