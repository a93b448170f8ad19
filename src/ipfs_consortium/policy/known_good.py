"""The last known good list: what a peer asked for when it was last read in full, and
every rule of how a run uses it. The state directory keeps it (state/store.py,
``PeerState`` and its list file); the rules are here.

* **Unchanged.** A peer whose name resolves to the root of its last reading in full, cut
  with the same limits, asks for what it asked then.
* **Nothing to read.** An unchanged peer whose every CID Kubo holds is answered from its
  list, without listing or reading anything.
* **A failed peer keeps its pins.** A peer not read in full this run claims what it lists
  now and all it listed when last read in full: no pin of it is ever a candidate for
  release because of a failure (policy/release.py).
* **Updated by full checks only.** After a run that listed every pin, the list is what
  the peer claimed, each CID with the bytes it cost its quota; it is rewritten only when
  that changed. A run that did not read the peer in full leaves its root as it was.
"""

from collections.abc import Collection, Mapping

from ..config import Config, Peer
from ..ipfs.cid import CidKey
from ..state.store import Limits, PeerState, Wanted
from ..sync.plan import Claim


def limits(peer: Peer, config: Config) -> Limits:
    """The settings a peer's list is cut with; a change means reading it again."""
    return Limits(
        peer.max_pins, peer.max_bytes, config.max_manifest_bytes, config.max_manifest_files
    )


def unchanged(state: PeerState, root: str | None, peer: Peer, config: Config) -> bool:
    """Whether the peer resolved to the root of its last reading in full, with the same
    limits."""
    return (
        state.complete
        and root is not None
        and state.root == root
        and state.limits == limits(peer, config)
    )


def resolved_as_before(state: PeerState, root: str | None, peer: Peer, config: Config) -> bool:
    """Unchanged, with a list in a file of its own (a record from the first release holds
    its list itself: one full check gives the list its file)."""
    return unchanged(state, root, peer, config) and state.wanted_file is not None


def nothing_to_read(
    state: PeerState,
    root: str | None,
    peer: Peer,
    config: Config,
    known: Collection[CidKey],
    pins: Mapping[CidKey, str],
) -> bool:
    """Unchanged, and Kubo holds every CID of its list (``known``)."""
    return (
        unchanged(state, root, peer, config) and bool(known) and all(cid in pins for cid in known)
    )


def claim(peer: str, wanted: Collection[CidKey], complete: bool, known: Wanted) -> Claim:
    """A peer read in full claims what it lists now; a peer that was not claims that and
    its last known good list (``known``)."""
    if complete:
        return Claim(peer, wanted, True)
    return Claim(peer, {**dict.fromkeys(wanted), **known}, False)


def after_full_check(
    claimed: Collection[CidKey], known: Wanted, fetched: Mapping[CidKey, int]
) -> Wanted:
    """The list to keep after a full check: each CID claimed with the bytes it cost the
    peer's quota (``fetched`` this run, or as ``known`` before)."""
    return {cid: fetched.get(cid) or known.get(cid, 0) for cid in claimed}
