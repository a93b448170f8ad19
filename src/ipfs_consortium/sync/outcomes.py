"""The record step of a sync: each peer's outcome, for the report and the state directory.

A peer's record changes its "last read in full" part (PeerState.read_in_full) only when
this run read it in full; otherwise what it asked for then stays what protects its pins.
Its wanted list is rewritten only when it changed.
"""

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from ..config import Config
from ..ipfs.cid import CidKey
from ..policy.known_good import after_full_check, limits
from ..policy.pin_names import PinNames
from ..report.run_report import PeerOutcome
from ..state.store import PeerState, StateDir, Wanted
from .apply import Results
from .plan import Claim
from .read import Reading

# How many of a peer's errors and warnings its record keeps.
_KEPT = 20


@dataclass
class FullCheck:
    """What a run that listed every pin learned and did: all the record step needs."""

    readings: list[Reading]
    # What each peer wanted when its record was last written.
    wanted_before: dict[str, Wanted]
    # Every recursive pin in Kubo before the run changed any: CID -> pin name.
    pins: dict[CidKey, str]
    claims: list[Claim]
    results: Results
    kubo_error: str | None
    # Pins listed but not held yet (a cluster's): not held for their peers until the
    # run's own pin of them succeeds.
    unsettled: Collection[CidKey] = ()

    def held_before(self, cid: CidKey) -> bool:
        return cid in self.pins and cid not in self.unsettled


def unchanged_outcomes(
    readings: list[Reading], records: Mapping[str, PeerState], kubo_error: str | None
) -> Iterator[tuple[PeerOutcome, PeerState]]:
    """The outcome of each peer on a run that listed no pins: those that resolved are
    as they were."""
    for reading in readings:
        state = records[reading.peer.name]
        resolved = reading.root is not None
        outcome = PeerOutcome(
            peer=reading.peer.name,
            ipns=reading.peer.ipns,
            root=reading.root,
            unchanged=resolved,
            manifests=state.manifests if resolved else 0,
            wanted=state.wanted_count if resolved else 0,
            already_pinned=state.pins_held if resolved else 0,
            errors=list(reading.errors),
        )
        outcome.ok = resolved and not kubo_error
        yield outcome, state


def full_outcomes(
    check: FullCheck, names: PinNames
) -> Iterator[tuple[Reading, Claim, PeerOutcome]]:
    """Each peer's reading and claim on a full check, with its outcome."""
    released_by: dict[str, int] = {}
    for cid in check.results.released:
        owners = names.owners(check.pins[cid])
        for peer in owners.labels if owners else ():
            released_by[peer] = released_by.get(peer, 0) + 1
    for reading, claim in zip(check.readings, check.claims, strict=True):
        yield reading, claim, _outcome(reading, claim, check, released_by.get(reading.peer.name, 0))


def bring_up_to_date(
    state: PeerState, reading: Reading, claim: Claim, check: FullCheck, config: Config
) -> Wanted | None:
    """Update a peer's record after a full check; its new wanted list when that changed.

    Not on a dry run: at a million CIDs the new list alone costs more memory than the
    rest of the run.
    """
    before = check.wanted_before[reading.peer.name]
    wanted = after_full_check(claim.cids, before, check.results.fetched)
    if reading.complete and reading.root is not None:
        state.read_in_full(reading.root, reading.manifests, limits(reading.peer, config))
    results = check.results
    pins = size = failed = refused = 0
    for cid, cost in wanted.items():
        if check.held_before(cid) or cid in results.fetched:
            pins, size = pins + 1, size + cost
        elif cid in results.refused:
            refused += 1
        elif cid in results.failed:
            failed += 1
    # A reading that stopped short keeps what the last one in full counted.
    over = reading.over_quota if reading.complete else state.over_quota
    listed = len(wanted) + over if reading.complete else max(state.listed, len(wanted))
    state.held(pins, size, listed, over + refused, failed)
    return wanted if state.wanted_file is None or wanted != before else None


def save(
    store: StateDir,
    state: PeerState,
    outcome: PeerOutcome,
    kubo_error: str | None,
    wanted: Wanted | None,
) -> None:
    """Write the peer's record with this run's outcome."""
    error = None if outcome.ok else (outcome.errors or [kubo_error or "failed"])[0]
    result = {k: v for k, v in outcome.__dict__.items() if k not in ("errors", "warnings")}
    result |= {"errors": outcome.errors[:_KEPT], "warnings": outcome.warnings[:_KEPT]}
    state.ran(outcome.ok, error, result)
    store.save(state, wanted)


def _outcome(reading: Reading, claim: Claim, check: FullCheck, released: int) -> PeerOutcome:
    peer, results = reading.peer, check.results
    outcome = PeerOutcome(
        peer=peer.name,
        ipns=peer.ipns,
        root=reading.root,
        unchanged=reading.unchanged,
        manifests=reading.manifests,
        wanted=len(reading.wanted),
        unpinned=released,
        errors=list(reading.errors),
        warnings=list(reading.warnings),
    )
    for cid in claim.cids:
        if check.held_before(cid):
            outcome.already_pinned += 1
            outcome.renamed += cid in results.renamed
        elif cid in results.fetched:
            outcome.newly_pinned += 1
            outcome.bytes_fetched += results.fetched[cid]
        elif cid in results.failed:
            outcome.failed += 1
            outcome.errors.append(results.failed[cid])
    outcome.ok = reading.complete and not outcome.errors and not check.kubo_error
    return outcome
