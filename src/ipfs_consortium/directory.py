"""The consortium directory: what a newcomer needs to join, published by a member.

One JSON file, added to IPFS and published under the member's ``directory_key``
(``invite``): the consortium's name and default quotas, and each member's name, IPNS
name, report name, swarm addresses and quotas. It is built from an explicit allowlist of
keys, so that nothing else of config.json (the API, its secret, paths) ever leaves the
member; the swarm key is no setting of the tool at all. ``join`` (join.py) reads it back
with config.py's own validators: a member the directory lists is valid exactly when the
same object is valid in config.json's ``peers``.
"""

import json
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from .config import Config, Peer, node_of, normalize_ipns_name, parse_config, parse_peers
from .errors import (
    CIDError,
    ConfigError,
    DirectoryError,
    DirectoryUnreachable,
    KuboError,
    KuboUnreachable,
)
from .ipfs.cid import parse_cid
from .ipfs.kubo import KuboClient
from .ipfs.naming import publish_root
from .jsondoc import decode_json

FORMAT = "ipfs-consortium-directory/1"
MAX_DIRECTORY_BYTES = 1024 * 1024
# The pin that keeps the published document; outside the sync's ``ipfs-consortium:``
# pin names, so a sync never releases it.
DIRECTORY_PIN = "ipfs-consortium-directory"
# The settings a directory carries, as config.json names them.
_SETTINGS = ("consortium", "max_pins", "max_bytes")
_KEYS = ("format", *_SETTINGS, "members")
# Seconds between lookups of a name that did not resolve.
_RETRY = 0.5
_FIX = "ask a member for the name `ipfs-consortium invite` printed"


@dataclass(frozen=True)
class Directory:
    """A directory read back and validated."""

    consortium: str
    max_pins: int
    max_bytes: int | None
    members: tuple[Peer, ...]
    # Each member's object as the document has it, to be written into ``peers``.
    entries: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Invitation:
    """What ``invite`` published."""

    name: str
    path: str
    cid: str
    changed: bool
    join: str

    def render(self) -> str:
        said = "Published" if self.changed else "Unchanged: already published"
        return (
            f"{said} the consortium directory as {self.path}\n"
            f"A new member joins with:\n  {self.join}"
        )


def member_entry(
    name: str, ipns: str, report: str | None, addrs: tuple[str, ...], peer_id: str | None
) -> dict[str, Any]:
    """A member as the directory lists it, and as a peer of config.json: only the keys a
    newcomer needs. ``peer_id`` only where the IPNS name does not say it."""
    entry: dict[str, Any] = {"name": name, "ipns": ipns}
    if report is not None:
        entry["report"] = report
    entry["addrs"] = list(addrs)
    if peer_id is not None and peer_id != node_of(ipns):
        entry["peer_id"] = peer_id
    return entry


def build_directory(config: Config, me: dict[str, Any]) -> dict[str, Any]:
    """The document: this member (``me``) first, without quotas (a member sets them on its
    peers, none on itself: the consortium's apply), then each configured peer with its
    quotas."""
    members = [me] + [
        member_entry(peer.name, peer.ipns, peer.report, peer.addrs, peer.peer_id)
        | {"max_pins": peer.max_pins, "max_bytes": peer.max_bytes}
        for peer in config.peers
    ]
    return {
        "format": FORMAT, "consortium": config.consortium, "max_pins": config.max_pins,
        "max_bytes": config.max_bytes, "members": members,
    }  # fmt: skip


def own_entry(client: KuboClient, config: Config) -> dict[str, Any]:
    """This member as the others list it: its ``name`` (else its peer ID), the name of its
    content, its report's name if the key exists, its addresses."""
    node = client.node_id()
    # A member publishes its manifests under its node's own key unless publish_key says
    # otherwise: then the IPNS name is that key's, and the peer ID must be said apart.
    ipns = node if config.publish_key == "self" else client.key_name(config.publish_key)
    if ipns is None:
        raise ConfigError(
            f"Kubo at {client.api} has no key named {config.publish_key!r} (publish_key); "
            "publish your manifests under it first"
        )
    report = client.key_name(config.report_key) if config.report_key is not None else None
    return member_entry(config.name or node, ipns, report, config.addrs, node)


def invite(client: KuboClient, config: Config) -> Invitation:
    """Publish the directory under ``directory_key`` (made when missing), unless it
    points at the same document already."""
    me = own_entry(client, config)
    document = build_directory(config, me)
    data = (json.dumps(document, indent=2) + "\n").encode()
    name = client.key_name(config.directory_key) or client.key_gen(config.directory_key)
    cid = client.add_file(data, DIRECTORY_PIN)
    changed = publish_root(
        client, cid, name, config.directory_key, DIRECTORY_PIN, lifetime=config.record_lifetime
    )
    node = me.get("peer_id") or me["ipns"]
    via = f" --via {config.addrs[0]}/p2p/{node}" if config.addrs else ""
    path = f"/ipns/{name}"
    return Invitation(name, path, cid, changed, f"ipfs-consortium join {path}{via}")


def parse_directory(raw: bytes, where: str) -> Directory:
    """Validate a document; DirectoryError names ``where`` and the problem."""
    try:
        data = decode_json(raw, where, DirectoryError)
    except DirectoryError as exc:
        raise DirectoryError(f"{exc}; {_FIX}") from None
    if not isinstance(data, dict):
        raise DirectoryError(f"{where}: not a consortium directory (not a JSON object); {_FIX}")
    if data.get("format") != FORMAT:
        raise DirectoryError(
            f"{where}: not a consortium directory (format {json.dumps(data.get('format'))}, "
            f"expected {FORMAT!r}); {_FIX}"
        )
    unknown = sorted(set(data) - set(_KEYS))
    members = data.get("members")
    try:
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)})")
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise ConfigError(f"{where}: key 'members' must be a list of objects")
        # config.py's own rules, the same as a config.json with these settings and peers.
        settings = {key: data[key] for key in _SETTINGS if key in data}
        config = parse_config({"peers": []} | settings, where)
        defaults = {"max_pins": config.max_pins, "max_bytes": config.max_bytes}
        peers = parse_peers(members, where, defaults, key="members")
    except ConfigError as exc:
        raise DirectoryError(f"{exc}; {_FIX}") from None
    return Directory(config.consortium, config.max_pins, config.max_bytes, peers, tuple(members))


def directory_path(name: str) -> str:
    """The IPFS or IPNS path of a directory's name (``/ipns/X``, ``X``, ``/ipfs/CID``)."""
    try:
        if name.startswith("/ipfs/"):
            return f"/ipfs/{parse_cid(name.removeprefix('/ipfs/'))}"
        return f"/ipns/{normalize_ipns_name(name)}"
    except (ValueError, CIDError) as exc:
        raise DirectoryError(f"{name!r} is not a directory's name ({exc}); {_FIX}") from None


def _resolve(client: KuboClient, name: str, timeout: float) -> str:
    """Resolve ``name``, asking again until ``timeout`` has passed: a node that has just
    connected to its first member finds nobody in its DHT routing table until the
    connection's protocols are known, and such a lookup fails at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.resolve(name, max(1.0, deadline - time.monotonic()))
        except KuboUnreachable:
            raise
        except KuboError:
            if time.monotonic() + _RETRY > deadline:
                raise
        time.sleep(_RETRY)


def read_directory(client: KuboClient, name: str, timeout: float) -> Directory:
    """Resolve ``name``, fetch the document and validate it."""
    path = directory_path(name)
    try:
        if path.startswith("/ipns/"):
            path = _resolve(client, path, timeout)
        kind = client.unixfs_type(path)
    except KuboUnreachable:
        raise
    except KuboError as exc:
        raise DirectoryUnreachable(
            f"{name} did not resolve ({exc}); check the name, and that --via names a "
            "member's node that answers"
        ) from None
    if kind != "file":
        raise DirectoryError(
            f"{name} is a {kind} (a member's manifests?), not a consortium directory; {_FIX}"
        )
    with closing(client.cat(path, MAX_DIRECTORY_BYTES)) as chunks:
        raw = b"".join(chunks)
    if len(raw) > MAX_DIRECTORY_BYTES:
        raise DirectoryError(
            f"{name}: over {MAX_DIRECTORY_BYTES} bytes, too large for a consortium directory; "
            + _FIX
        )
    return parse_directory(raw, name)
