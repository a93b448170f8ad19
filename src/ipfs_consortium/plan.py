"""Decide what to pin, rename and release. Pure functions: no I/O, easy to reason about.

A pin of this consortium (see pinnames.py) that no peer claims any more is *unclaimed*.
It may be released only when none of the peers it names failed to be read in full this
run: a peer that failed claims what it claimed the last time it was read in full, and a
pin naming it stays. When an unclaimed pin is actually released is release.py's decision.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .pinnames import PinNames


@dataclass(frozen=True)
class Claim:
    """What one peer wants this run, and whether that list is the whole truth."""

    label: str
    cids: Sequence[str]
    # False when the peer could not be read in full: its old pins must then stay.
    complete: bool


@dataclass
class Plan:
    # CID -> pin name, in the order the CIDs should be pinned.
    pin: dict[str, str] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    # This consortium's pins that no peer claims: CID -> the peers the pin names.
    unclaimed: dict[str, frozenset[str]] = field(default_factory=dict)
    # The unclaimed pins that no failed peer protects: the candidates for release.
    releasable: set[str] = field(default_factory=set)
    # How many pins this consortium holds in Kubo.
    held: int = 0
    # CID -> claimant labels, for everything some peer wants.
    wanted: dict[str, list[str]] = field(default_factory=dict)


def make_plan(claims: Iterable[Claim], pins: Mapping[str, str], names: PinNames) -> Plan:
    """Compare what peers want with what Kubo holds (CID -> pin name)."""
    plan = Plan()
    protected: set[str] = set()
    for claim in claims:
        if not claim.complete:
            protected.add(claim.label)
        for cid in claim.cids:
            labels = plan.wanted.setdefault(cid, [])
            if claim.label not in labels:
                labels.append(claim.label)
    for cid, labels in plan.wanted.items():
        name = names.name(labels)
        current = pins.get(cid)
        if current is None:
            plan.pin[cid] = name
        elif names.owners(current) is not None and current != name:
            plan.rename[cid] = name
    for cid, current in pins.items():
        owners = names.owners(current)
        if owners is None:
            continue
        plan.held += 1
        if cid in plan.wanted:
            continue
        plan.unclaimed[cid] = owners.labels
        if not (owners.labels & protected or (owners.truncated and protected)):
            plan.releasable.add(cid)
    return plan
