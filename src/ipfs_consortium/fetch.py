"""Read one peer: resolve its IPNS name, list its manifest directory, parse each manifest.

A file that cannot be used is reported and skipped, and the reading is then marked
incomplete, which keeps the peer's old pins (see plan.py). An unchanged root whose pins
are all present is answered from the state directory without listing or reading anything.
"""

import logging
from dataclasses import dataclass, field

from .config import Config, Peer
from .errors import KuboUnreachable, ManifestError
from .kubo import LINK_FILE, KuboClient
from .manifest import is_manifest_name, parse_manifest
from .state import PeerState

log = logging.getLogger(__name__)


@dataclass
class Reading:
    """What one peer's manifests asked for, with everything that went wrong on the way."""

    peer: Peer
    root: str | None = None
    # Canonical CIDs in manifest order, the directory root first, quota applied.
    wanted: list[str] = field(default_factory=list)
    manifests: int = 0
    unchanged: bool = False
    complete: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def limits_of(peer: Peer, config: Config) -> list[int | None]:
    return [peer.max_pins, peer.max_bytes, config.max_manifest_bytes, config.max_manifest_files]


def read_peer(
    client: KuboClient, peer: Peer, config: Config, previous: PeerState, pins: dict[str, str]
) -> Reading:
    """Never raises for a peer's fault; KuboUnreachable propagates (the node is down)."""
    reading = Reading(peer)
    try:
        path = client.resolve(peer.path, config.resolve_timeout)
        reading.root = client.path_cid(path)
    except KuboUnreachable:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of one peer is that peer's error
        reading.errors.append(f"peer {peer.name}: {peer.path} did not resolve ({exc})")
        return reading

    if (
        previous.complete
        and previous.root == reading.root
        and previous.limits == limits_of(peer, config)
        and all(cid in pins for cid in previous.wanted)
    ):
        reading.wanted = list(previous.wanted)
        reading.manifests = previous.manifests
        reading.unchanged = reading.complete = True
        return reading

    reading.wanted.append(reading.root)
    # Read as a directory, a file would list no manifests: everything the peer had asked
    # for would go.
    try:
        kind = client.unixfs_type(path)
        what = f"a {kind}"
    except KuboUnreachable:
        raise
    except Exception as exc:  # noqa: BLE001
        kind, what = "", f"not UnixFS ({exc})"
    if kind != "directory":
        reading.errors.append(
            f"peer {peer.name}: {peer.path} is {what}, not a directory of manifests"
        )
        return reading
    try:
        links = client.ls(path)
    except KuboUnreachable:
        raise
    except Exception as exc:  # noqa: BLE001
        reading.errors.append(f"peer {peer.name}: manifest directory {path} unreadable ({exc})")
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
    seen = {reading.root}
    cids: list[str] = []
    for link in sorted(manifests, key=lambda item: item.name):
        where = f"peer {peer.name}: {link.name}"
        try:
            if link.size > config.max_manifest_bytes:
                raise ManifestError(
                    f"{where}: {link.size} bytes is over the {config.max_manifest_bytes}-byte limit"
                )
            data = client.cat(link.cid, config.max_manifest_bytes)
            if len(data) < link.size:
                raise ManifestError(f"{where}: only {len(data)} of {link.size} bytes could be read")
            manifest = parse_manifest(where, data, config.max_manifest_bytes)
        except KuboUnreachable:
            raise
        except Exception as exc:  # noqa: BLE001
            text = str(exc) if isinstance(exc, ManifestError) else f"{where}: {exc}"
            reading.errors.append(f"{text}; skipped")
            complete = False
            continue
        reading.manifests += 1
        reading.warnings.extend(f"{problem}; skipped" for problem in manifest.problems)
        for cid in manifest.cids:
            if cid not in seen:
                seen.add(cid)
                cids.append(cid)

    if len(cids) > peer.max_pins:
        reading.warnings.append(
            f"peer {peer.name}: lists {len(cids)} CIDs, over its quota of {peer.max_pins}; "
            f"only the first {peer.max_pins} in manifest order are pinned"
        )
        cids = cids[: peer.max_pins]
    reading.wanted.extend(cids)
    reading.complete = complete
    return reading
