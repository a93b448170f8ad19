"""``ipfs-consortium forget PEER``: let go of a removed peer's pins now.

Removing a peer from config.json only starts the grace period of its pins (release.py);
this is the explicit way to release them at once. A pin that other peers also claim, or
that a current peer listed when it was last read in full, is kept: only the removed
peer's name comes off it.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .cid import CidKey, key_text
from .config import Config, is_peer_label
from .errors import ConfigError
from .kubo import KuboClient
from .lock import SyncLock
from .pinnames import PinNames
from .state import StateDir

log = logging.getLogger(__name__)


@dataclass
class Forgotten:
    peer: str
    dry_run: bool
    released: list[str] = field(default_factory=list)
    # CID -> the pin's new name, without the peer.
    renamed: dict[str, str] = field(default_factory=dict)
    # Pins that other peers may still claim: one that a current peer listed when last
    # read in full (the next sync names it for that peer), or whose name is shortened.
    kept: list[str] = field(default_factory=list)


def forget_peer(config: Config, state_dir: Path, peer: str, dry_run: bool) -> Forgotten:
    if not is_peer_label(peer):
        raise ConfigError(f"{peer!r} is not a peer name")
    if any(peer in (p.name, p.ipns) for p in config.peers):
        raise ConfigError(
            f"peer {peer} is still in {config.source}: remove it there first, "
            "or its pins are pinned again on the next sync"
        )
    store = StateDir(state_dir)
    if dry_run:
        return _forget(config, store, peer, dry_run)
    store.ensure()
    with SyncLock(state_dir):
        return _forget(config, store, peer, dry_run)


def _forget(config: Config, store: StateDir, peer: str, dry_run: bool) -> Forgotten:
    result = Forgotten(peer, dry_run)
    names = PinNames.of(config.consortium, [*(p.name for p in config.peers), peer])
    listed: set[CidKey] = set()
    for p in config.peers:
        listed.update(store.load_wanted(store.load(p.name, p.ipns)))
    released: list[CidKey] = []
    renamed: dict[CidKey, str] = {}
    client = KuboClient.from_config(config)
    try:
        for cid, name in client.recursive_pins().items():
            owners = names.owners(name)
            if owners is None or peer not in owners.labels:
                continue
            others = sorted(owners.labels - {peer})
            if owners.truncated or (not others and cid in listed):
                result.kept.append(key_text(cid))
            elif others:
                renamed[cid] = names.name(others)
            else:
                released.append(cid)
        result.renamed = {key_text(cid): name for cid, name in renamed.items()}
        result.released = [key_text(cid) for cid in released]
        if dry_run:
            return result
        for cid, new_name in renamed.items():
            client.pin_rename(cid, new_name)
        for cid in released:
            client.pin_rm(cid)
            log.info("released %s: peer %s is forgotten", key_text(cid), peer)
    finally:
        client.close()
    book = store.load_releases()
    for cid in released:
        book.waiting.pop(cid, None)
    store.save_releases(book)
    store.forget(peer)
    return result
