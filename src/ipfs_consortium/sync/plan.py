"""Decide what to pin, rename and release. No I/O, easy to reason about.

A pin of this consortium (see policy/pin_names.py) that no peer claims any more is
*unclaimed*. Whether and when an unclaimed pin is released is policy/release.py's decision.

What to pin is not a list but a walk over the claims, done again when needed: at a
million CIDs a second structure with an entry per CID would not fit the memory a run may
use, and each claim already answers "do you list this CID?" in constant time.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..ipfs.cid import CidKey
from ..policy.pin_names import Owners, PinNames


@dataclass(frozen=True)
class Claim:
    """What one peer wants this run, and whether that list is the whole truth."""

    peer: str
    # In the order they should be pinned, each once.
    cids: Collection[CidKey]
    # False when the peer could not be read in full: its old pins must then stay.
    complete: bool


@dataclass(frozen=True)
class Change:
    """One wanted CID that Kubo does not hold as it should: pin it, or rename its pin."""

    cid: CidKey
    name: str
    # The peers that want it, in claim order.
    peers: tuple[str, ...]
    pinned: bool


@dataclass
class Plan:
    claims: Sequence[Claim]
    # Every recursive pin in Kubo: CID -> pin name.
    pins: Mapping[CidKey, str]
    names: PinNames
    # Pins listed but not held yet (a cluster's): pinned again, which follows them up.
    unsettled: Collection[CidKey] = ()
    to_pin: int = 0
    to_rename: int = 0
    # This consortium's pins that no peer claims: CID -> the peers the pin names.
    unclaimed: dict[CidKey, Owners] = field(default_factory=dict)
    # How many pins this consortium holds in Kubo.
    held: int = 0

    def wanted(self) -> Iterator[tuple[CidKey, tuple[str, ...]]]:
        """Every CID some peer claims, once, in claim order, with all its claimants."""
        claims = self.claims
        for index, claim in enumerate(claims):
            earlier, later = claims[:index], claims[index + 1 :]
            for cid in claim.cids:
                if any(cid in other.cids for other in earlier):
                    continue
                others = tuple(other.peer for other in later if cid in other.cids)
                yield cid, (claim.peer, *others)

    def changes(self) -> Iterator[Change]:
        """The wanted CIDs to pin, or whose pin to rename, in claim order."""
        named: dict[tuple[str, ...], str] = {}
        for cid, peers in self.wanted():
            name = named.get(peers) or named.setdefault(peers, self.names.name(peers))
            current = self.pins.get(cid)
            if current is None or cid in self.unsettled:
                yield Change(cid, name, peers, False)
            elif current != name and self.names.owners(current) is not None:
                yield Change(cid, name, peers, True)


def make_plan(
    claims: Sequence[Claim],
    pins: Mapping[CidKey, str],
    names: PinNames,
    unsettled: Collection[CidKey] = (),
) -> Plan:
    """Compare what peers want with what Kubo holds (CID -> pin name)."""
    plan = Plan(claims, pins, names, unsettled)
    for change in plan.changes():
        if change.pinned:
            plan.to_rename += 1
        else:
            plan.to_pin += 1
    # Thousands of pins share a name: parse each name once.
    owners_of = {name: names.owners(name) for name in set(pins.values())}
    for cid, current in pins.items():
        owners = owners_of[current]
        if owners is None:
            continue
        plan.held += 1
        if not any(cid in claim.cids for claim in claims):
            plan.unclaimed[cid] = owners
    return plan
