"""Decide what to pin, rename and unpin. Pure functions: no I/O, easy to reason about.

Ownership lives in the pin itself: every pin this tool makes is a Kubo named pin
``ipfs-consortium:<peer>,<peer>,…`` listing the peers that claim it. Pins without that
prefix are the operator's and are never touched. A pin is released only when no peer
claims it any more *and* none of the peers it names failed to be read in full this run;
a peer that failed claims what it claimed the last time it was read in full.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PIN_PREFIX = "ipfs-consortium:"
# Kubo refuses pin names longer than this many bytes.
MAX_PIN_NAME = 255
_MORE = "+"


def pin_name(labels: Sequence[str]) -> str:
    """The pin name for these claimant labels, shortened with ``+N`` to fit Kubo's limit."""
    name = PIN_PREFIX + ",".join(labels)
    if len(name.encode()) <= MAX_PIN_NAME:
        return name
    kept: list[str] = []
    for index, label in enumerate(labels):
        rest = len(labels) - index - 1
        candidate = PIN_PREFIX + ",".join([*kept, label, f"{_MORE}{rest}"])
        if len(candidate.encode()) > MAX_PIN_NAME:
            break
        kept.append(label)
    return PIN_PREFIX + ",".join([*kept, f"{_MORE}{len(labels) - len(kept)}"])


def claimants(name: str) -> tuple[frozenset[str], bool] | None:
    """Peers named in one of our pin names and whether the list was shortened.

    None when the pin is not ours.
    """
    if not name.startswith(PIN_PREFIX):
        return None
    labels = [label for label in name[len(PIN_PREFIX) :].split(",") if label]
    truncated = bool(labels) and labels[-1].startswith(_MORE)
    if truncated:
        labels.pop()
    return frozenset(labels), truncated


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
    unpin: list[str] = field(default_factory=list)
    # CID -> claimant labels, for everything some peer wants.
    wanted: dict[str, list[str]] = field(default_factory=dict)


def make_plan(claims: Iterable[Claim], pins: Mapping[str, str]) -> Plan:
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
        name = pin_name(labels)
        current = pins.get(cid)
        if current is None:
            plan.pin[cid] = name
        elif claimants(current) is not None and current != name:
            plan.rename[cid] = name
    for cid, current in pins.items():
        owners = claimants(current)
        if owners is None or cid in plan.wanted:
            continue
        named, truncated = owners
        if named & protected or (truncated and protected):
            continue
        plan.unpin.append(cid)
    return plan
