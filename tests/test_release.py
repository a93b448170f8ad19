"""The release policy on its own: grace period, protection and the mass-release brake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ipfs_consortium.ipfs.cid import CidKey
from ipfs_consortium.policy.pin_names import PinNames
from ipfs_consortium.policy.release import MASS_RELEASE_FLOOR, ReleaseBook, Waiting, decide
from ipfs_consortium.sync.plan import Claim, make_plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NAMES = PinNames("default")


def cid(index: int) -> CidKey:
    """The key of a CIDv1 raw block (its digest made up)."""
    return int.from_bytes(bytes([1, 0x55, 0x12, 32]) + index.to_bytes(32, "big"), "big")


CID0 = cid(0)


def pins(held: int, unclaimed: int) -> tuple[list[Claim], dict[CidKey, str]]:
    """alice lists ``held - unclaimed`` of the consortium's ``held`` pins."""
    cids = [cid(i) for i in range(held)]
    claims = [Claim("alice", cids[unclaimed:], True)]
    return claims, {key: NAMES.name(["alice"]) for key in cids}


def test_an_unclaimed_pin_waits_from_the_first_run_that_found_it() -> None:
    plan = make_plan(*pins(3, 1), NAMES)

    first = decide(plan, ReleaseBook(), NOW, 60, 0.5, False)
    early = decide(plan, first.book, NOW + timedelta(seconds=59), 60, 0.5, False)
    due = decide(plan, early.book, NOW + timedelta(seconds=60), 60, 0.5, False)

    assert first.due == early.due == [] and first.later == {CID0: NOW + timedelta(seconds=60)}
    assert early.book.waiting[CID0].since == NOW
    assert due.due == [CID0]


def test_a_pin_named_for_a_peer_that_failed_is_never_due() -> None:
    claims = [Claim("alice", [], False)]
    plan = make_plan(claims, {CID0: NAMES.name(["alice"])}, NAMES)
    old = ReleaseBook({CID0: Waiting(NOW - timedelta(days=30), ("alice",))})

    decision = decide(plan, old, NOW, 0, 0.5, False)

    assert decision.due == [] and CID0 in decision.later


def test_listed_again_leaves_the_book() -> None:
    old = ReleaseBook({CID0: Waiting(NOW - timedelta(days=1), ("alice",))})
    plan = make_plan(*pins(3, 0), NAMES)

    assert decide(plan, old, NOW, 0, 0.5, False).book.waiting == {}


def test_the_brake_holds_only_what_is_both_many_and_most() -> None:
    small = decide(make_plan(*pins(MASS_RELEASE_FLOOR, MASS_RELEASE_FLOOR), NAMES),
                   ReleaseBook(), NOW, 0, 0.5, False)  # fmt: skip
    most = decide(make_plan(*pins(20, 11), NAMES), ReleaseBook(), NOW, 0, 0.5, False)
    few = decide(make_plan(*pins(30, 11), NAMES), ReleaseBook(), NOW, 0, 0.5, False)
    allowed = decide(make_plan(*pins(20, 11), NAMES), ReleaseBook(), NOW, 0, 0.5, True)

    assert len(small.due) == MASS_RELEASE_FLOOR and small.held is None
    assert most.due == [] and len(most.later) == 11
    assert most.held is not None and "refusing to release 11 of this consortium's 20" in most.held
    assert len(few.due) == 11 and few.held is None
    assert len(allowed.due) == 11 and allowed.held is None


def test_the_book_survives_its_file_form() -> None:
    book = ReleaseBook({CID0: Waiting(NOW, ("alice", "bob"))}, 60.0, "held")
    assert ReleaseBook.from_json(book.to_json()) == book
