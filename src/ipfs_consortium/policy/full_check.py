"""When a run may trust its records instead of listing every pin in Kubo.

Listing every pin is the one cost of a sync that grows with the consortium: at 200,000
named pins Kubo spends seconds of CPU on it, every run. So a run lists them only when
something could have changed what it would find. It skips the listing, and with it all
planning, when every one of these holds:

* each peer resolved to the root it had when last read in full, with the same limits,
  or failed to resolve (its pins stay either way);
* the config and the Kubo node are those of the last full check, and that check is
  younger than ``verify_interval``;
* no pin's release is due and the mass-release brake is not holding.

Such a run pins nothing and releases nothing; it only records that the peers are still
as they were. The price is that a pin removed behind the tool's back (by hand, or with a
lost repo that kept its identity) is restored at the next full check, at most
``verify_interval`` later. ``sync --verify`` checks at once.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, fields, is_dataclass
from datetime import datetime, timedelta

from ..config import Config
from ..state.store import Verified
from .release import ReleaseBook


def config_fingerprint(config: Config) -> str:
    """A digest of the peers and of every setting config.py marks as deciding what a full
    check would do."""
    settings = {
        f.name: getattr(config, f.name) for f in fields(config) if f.metadata.get("full_check")
    }
    # Where a peer's node is dialled decides nothing a full check does: neither a change
    # of its addrs nor the key's arrival in an existing state makes a run list every pin.
    settings["peers"] = [
        {key: value for key, value in asdict(peer).items() if key != "addrs"}
        for peer in config.peers
    ]
    encoded = json.dumps(settings, sort_keys=True, default=_shown)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _shown(value: object) -> object:
    """A setting's value as its repr shows it: a secret (a field hidden from the repr)
    never reaches the digest kept on disk."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value) if f.repr}
    return str(value)


def next_check(verified: Verified, config: Config) -> datetime:
    return verified.at + timedelta(seconds=config.verify_interval)


def why_check(
    verified: Verified | None,
    config: Config,
    node: str,
    book: ReleaseBook,
    changed: Iterable[str],
    now: datetime,
) -> str | None:
    """Why this run must list every pin, or None when it may skip that."""
    changed = sorted(changed)
    if verified is None:
        return "no full check on record"
    if verified.node != node:
        return f"the Kubo node is {node}, not {verified.node} of the last full check"
    if verified.config != config_fingerprint(config):
        return "the config changed since the last full check"
    if now >= next_check(verified, config):
        return f"the last full check, at {verified.at.isoformat()}, is verify_interval old"
    if book.held:
        return "the mass-release brake is holding"
    due = book.due_now(now, config.release_after)
    if due:
        return f"{due} releases are due"
    if changed:
        return f"peers changed: {', '.join(changed[:5])}{' …' if len(changed) > 5 else ''}"
    return None
