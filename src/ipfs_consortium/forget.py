"""``ipfs-consortium forget PEER``: let go of a removed peer's pins now.

Removing a peer from config.json only starts the grace period of its pins; this is the
explicit way to release them at once. Which pins go, which are renamed and which stay is
the release policy's (policy/release.py, ``forget_plan``); this carries it out.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, is_peer_label
from .errors import ConfigError
from .ipfs.cid import CidKey, key_text
from .ipfs.cluster import pin_backend
from .ipfs.kubo import KuboClient
from .ipfs.pins import PinBackend
from .policy.pin_names import PinNames
from .policy.release import ForgetPlan, forget_plan
from .state.store import StateDir

log = logging.getLogger(__name__)


@dataclass
class Forgotten:
    """What forget did, or would do: the ForgetPlan, as CID text."""

    peer: str
    dry_run: bool
    released: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
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
        store.readable()
        return _forget(config, store, peer, dry_run)
    store.ensure()
    with store.lock():
        return _forget(config, store, peer, dry_run)


def _forget(config: Config, store: StateDir, peer: str, dry_run: bool) -> Forgotten:
    names = PinNames.of(config.consortium, [*(p.name for p in config.peers), peer])
    listed: set[CidKey] = set()
    for p in config.peers:
        listed.update(store.load_wanted(store.load(p.name, p.ipns)))
    client = KuboClient.from_config(config)
    pins = pin_backend(config, client)
    try:
        plan = _forget_pins(pins, names, peer, listed, dry_run)
    finally:
        pins.close()
        client.close()
    if not dry_run:
        book = store.load_releases()
        book.released(plan.released)
        store.save_releases(book)
        store.forget(peer)
    return Forgotten(
        peer,
        dry_run,
        [key_text(cid) for cid in plan.released],
        {key_text(cid): name for cid, name in plan.renamed.items()},
        [key_text(cid) for cid in plan.kept],
    )


def _forget_pins(
    pins: PinBackend, names: PinNames, peer: str, listed: set[CidKey], dry_run: bool
) -> ForgetPlan:
    plan = forget_plan(pins.pinset().names, names, peer, listed)
    if not dry_run:
        for cid, new_name in plan.renamed.items():
            pins.pin_rename(cid, new_name)
        for cid in plan.released:
            pins.pin_rm(cid)
            log.info("released %s: peer %s is forgotten", key_text(cid), peer)
    return plan
