"""The holdings report's schema: what a reader takes, and the one line it refuses with."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ipfs_consortium.errors import ReportError
from ipfs_consortium.report.holdings import (
    MAX_REPORT_BYTES,
    Holding,
    Holdings,
    parse_holdings,
)

NODE = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
# The same key as a k51… name, as `ipfs key list` writes it.
NODE_K51 = "k51qzi5uqu5dhdmyb9bd18pypu2wp5lpv2xnskfmrqa4lb5knqryrotb05e7or"
MADE = "2026-12-06T10:00:00+00:00"


def report(**changes: Any) -> Holdings:
    held = Holding(NODE, "bafkqaaa", MADE, 5, 3, 2, 0, 1024, MADE, None)
    fields = dict(peer_id=NODE, consortium="default", made=MADE, kubo_version="0.43.1",
                  repo_size=1, storage_max=2, peers=(held,))  # fmt: skip
    return Holdings(**(fields | changes))


def test_a_report_reads_back_as_it_was_written_and_says_why_pins_are_missing() -> None:
    written = report()
    data = json.loads(written.encode())
    assert data["schema"] == "ipfs-consortium/holdings" and data["version"] == 1
    assert data["peers"][0]["missing"] == 2
    assert data["peers"][0]["missing_why"] == {"quota": 2, "failing": 0, "waiting": 0}
    assert parse_holdings(written.encode(), "r", NODE, "default") == written


def test_a_node_is_the_same_in_either_spelling() -> None:
    written = report(peer_id=NODE_K51)
    assert parse_holdings(written.encode(), "r", NODE, "default").of(NODE_K51) is not None


def test_the_digest_ignores_the_times_every_run_moves_on() -> None:
    later = "2026-12-06T11:00:00+00:00"
    moved = report(made=later, repo_size=99)
    assert moved.digest() == report().digest()
    fewer = report(peers=(Holding(NODE, "bafkqaaa", MADE, 5, 2, 3, 0, 1024, MADE, None),))
    assert fewer.digest() != report().digest()


def _mangled(change: Any) -> bytes:
    data = json.loads(report().encode())
    change(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[]", "r: not a JSON object"),
        (b"\xff", "r: "),
        (b" " * (MAX_REPORT_BYTES + 1), f"r: over {MAX_REPORT_BYTES} bytes"),
        (_mangled(lambda d: d.update(version=2)), "not a holdings report of version 1"),
        (_mangled(lambda d: d.update(schema="other")), "not a holdings report of version 1"),
        (_mangled(lambda d: d.pop("made")), "r: no 'made'"),
        (_mangled(lambda d: d.update(made="yesterday")), "'made' is not an ISO 8601 time"),
        (_mangled(lambda d: d.update(made="2026-12-06T10:00:00")), "with its zone"),
        (_mangled(lambda d: d.update(repo_size=-1)), "'repo_size' is not a whole number"),
        (_mangled(lambda d: d.update(peers={})), "'peers' is not a list"),
        (_mangled(lambda d: d["peers"][0].update(held="3")), "peers[0]: 'held'"),
        (_mangled(lambda d: d["peers"][0].update(ipns="bafkqaaa")), "peers[0]: ipns"),
        (_mangled(lambda d: d["peers"][0].pop("missing_why")), "missing_why: not a JSON object"),
        (_mangled(lambda d: d.update(consortium="other")), "of consortium 'other', not 'default'"),
        (_mangled(lambda d: d.update(peer_id="12D3KooWBeak")), "made by node 12D3KooWBeak"),
    ],
)
def test_a_bad_report_is_refused_with_one_line(raw: bytes, says: str) -> None:
    with pytest.raises(ReportError) as refused:
        parse_holdings(raw, "r", NODE, "default")
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
