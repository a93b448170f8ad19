"""Pointing an IPNS key at a pinned root, and letting go of the root it pointed at."""

import logging
from collections.abc import Callable

from ..errors import CIDError
from .cid import CidKey, cid_key, key_text
from .kubo import KuboClient

log = logging.getLogger(__name__)


def publish_root(
    client: KuboClient,
    root: str,
    name: str,
    key: str,
    pin_name: str,
    timeout: float | None = None,
    listed: Callable[[CidKey], bool] = lambda _: False,
    lifetime: int | None = None,
) -> bool:
    """Point ``key`` (IPNS ``name``) at ``root``, added and pinned as ``pin_name``, unless
    it points there already; the root it pointed at before is released when it holds that
    pin and is not ``listed`` by a peer (Kubo keeps one name a pin, and the sync leaves a
    name not its own), asked last, as the dearest check. Whether the name changed.
    ``timeout``: as KuboClient.publish."""
    current = client.resolve_local(name)
    if current == f"/ipfs/{root}":
        return False
    client.publish(f"/ipfs/{root}", key, timeout, lifetime)
    old = _cid_or_none(current.removeprefix("/ipfs/")) if current else None
    if old is None or old == cid_key(root):
        return True
    if client.pin_name(old) == pin_name and not listed(old):
        client.pin_rm(old)
        log.info("released the previously published root %s", key_text(old))
    return True


def _cid_or_none(text: str) -> CidKey | None:
    # What the name pointed at may be anything another tool published: only a plain CID
    # can be a root this command published and pinned.
    try:
        return cid_key(text)
    except CIDError:
        return None
