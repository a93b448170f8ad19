"""Holdings reports and the consortium view, against real Kubo daemons: three members
that publish, mirror each other and count the copies of their content."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from ipfs_consortium.exit_codes import EXIT_FEW_COPIES, EXIT_OK
from ipfs_consortium.ipfs.cid import parse_cid
from ipfs_consortium.report.exchange import REPORT_PIN
from ipfs_consortium.report.holdings import MAX_REPORT_BYTES, REPORT_FILE
from tests.conftest import REPORT_KEY, Net, Party, Run, mirrored, party_of, run_cli

NAMES = ("alice", "bob", "carol")


@pytest.fixture
def consortium(net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[Party]:
    parties = [party_of(net, name, tmp_path, capsys) for name in NAMES]
    for party in parties:
        party.home.mkdir()
        party.configure([o for o in parties if o is not party], report_stale_after=3600)
    for party in parties:
        run = party.sync()
        assert run.code == EXIT_OK, run.err
        assert run.json["report_error"] is None
    return parties


def _holders(run: Run) -> dict[str, dict[str, Any]]:
    return {h["member"]: h for h in run.json["own"]["holders"]}


def test_every_member_counts_two_full_copies_then_sees_one_lost(
    consortium: list[Party],
) -> None:
    alice, bob, carol = consortium
    for party in consortium:
        run = party.copies()
        assert run.code == EXIT_OK, run.err
        assert run.json["own"]["full_copies"] == 2, run.out
        assert {h["state"] for h in run.json["own"]["holders"]} == {"full"}
    assert {c["member"]: c["full_copies"] for c in alice.copies().json["peers"]} == {
        "bob": 2, "carol": 2,
    }  # fmt: skip

    # Bob's quota for Alice now leaves out two of her four files.
    others = [alice, carol]
    bob.configure(others, peer={"alice": {"max_pins": 2}}, report_stale_after=3600)
    assert bob.sync().code == EXIT_OK
    alice.configure([bob, carol], min_copies=2, report_stale_after=3600)

    run = alice.copies()
    assert run.code == EXIT_FEW_COPIES
    assert run.json["own"]["full_copies"] == 1
    held = _holders(run)["bob"]
    assert (held["state"], held["listed"], held["held"], held["missing"]) == ("partial", 5, 3, 2)
    assert held["missing_why"] == {"quota": 2, "failing": 0, "waiting": 0}
    text = run_cli(alice.capsys, "copies", "--config", str(alice.config)).out
    assert text.startswith("TOO FEW COPIES: this member's content"), text
    assert "bob: partial (3 of 5 CIDs; 2 missing: 2 quota)" in text
    assert "1 full copy elsewhere (min_copies 2)" in text
    assert alice.sync().code == EXIT_OK, "too few copies is the copies command's to say"
    assert (alice.metric("own_full_copies"), alice.metric("min_copies")) == (1.0, 2.0)

    # Bob's node stops: his report ages past report_stale_after, and no longer counts.
    bob.node.stop()
    time.sleep(3)
    alice.configure([bob, carol], min_copies=2, report_stale_after=2)
    run = alice.copies()
    assert _holders(run)["bob"]["state"] in ("stale", "refused"), run.out
    assert _holders(run)["carol"]["state"] == "stale", "every report is 3 seconds old"


def test_a_member_without_a_known_report_shows_as_no_report(consortium: list[Party]) -> None:
    alice, bob, carol = consortium
    alice.configure([bob, carol], peer={"bob": {"report": None}}, report_stale_after=3600)
    run = alice.copies()
    assert run.code == EXIT_OK, run.err
    assert _holders(run)["bob"]["state"] == "no_report"
    assert "ERROR" not in run.err and "WARNING" not in run.err


@pytest.mark.parametrize(
    ("report", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"x" * (MAX_REPORT_BYTES + 1), f"over {MAX_REPORT_BYTES} bytes"),
        ("peer_id", "made by node"),
        ("consortium", "of consortium 'elsewhere'"),
    ],
)
def test_a_bad_report_is_refused_in_one_line_and_changes_no_pin(
    consortium: list[Party], report: bytes | str, says: str
) -> None:
    alice, bob, carol = consortium
    if isinstance(report, str):
        good = json.loads(_report_of(bob))
        good[report] = carol.node.peer_id if report == "peer_id" else "elsewhere"
        report = json.dumps(good).encode()
    root = bob.node.publish_json_dir({REPORT_FILE: report}, key=REPORT_KEY)
    assert root
    pins = mirrored(alice.node)

    run = alice.copies()
    assert run.code == EXIT_OK, run.err
    bob_holds = _holders(run)["bob"]
    assert bob_holds["state"] == "refused"
    assert bob_holds["detail"].startswith("peer bob: report"), bob_holds
    assert says in bob_holds["detail"]
    assert "\n" not in bob_holds["detail"]
    assert "Traceback" not in run.err
    sync = alice.sync()
    assert sync.code == EXIT_OK, sync.err
    assert mirrored(alice.node) == pins


def test_a_report_that_cannot_be_published_is_a_warning_not_a_failure(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publisher = party_of(net, "publisher", tmp_path, capsys)
    # A member's token from before holdings reports: no key/gen.
    token = "bearer:old-sync-token"
    paths = ["/api/v0/add", "/api/v0/cat", "/api/v0/files/stat", "/api/v0/id",
             "/api/v0/key/list", "/api/v0/ls", "/api/v0/name", "/api/v0/pin",
             "/api/v0/swarm/peers", "/api/v0/version", "/api/v0/repo/stat"]  # fmt: skip
    node = net.node({token: paths}, name="member")
    home = tmp_path / "member"
    home.mkdir()
    (home / "token").write_text(token)
    member = Party("member", node, "", [], home, capsys)
    member.configure([publisher], api_auth_file=str(home / "token"))

    run = member.sync()

    assert run.code == EXIT_OK, run.err
    assert "holdings report not published" in run.json["report_error"]
    assert "holdings report not published" in run.err
    assert len([c for c in node.recursive_pins() if c in publisher.cids]) == 4
    assert member.metric("report_publish_ok") == 0.0
    status = run_cli(capsys, "status", "--config", str(member.config)).out
    assert "HOLDINGS REPORT NOT PUBLISHED" in status


def test_the_report_is_published_again_on_a_change_not_on_every_run(
    consortium: list[Party],
) -> None:
    alice, bob, carol = consortium
    alice.configure([bob, carol], report_interval=3600, report_stale_after=3600)
    unchanged = alice.sync()
    assert unchanged.code == EXIT_OK
    assert "holdings report published" not in unchanged.err, "nothing changed, no heartbeat due"

    more = bob.cids + [parse_cid(bob.node.add(b"bob's fifth file", pin=True))]
    bob.node.publish_json_dir({"files.json": more})
    changed = alice.sync()

    assert "holdings report published" in changed.err
    report = json.loads(_report_of(alice))
    assert {p["ipns"]: p["held"] for p in report["peers"]}[bob.node.peer_id] == 6
    mine = [cid for cid, name in alice.node.recursive_pins().items() if name == REPORT_PIN]
    assert len(mine) == 1, "the report a new one replaces is released"


def _report_of(party: Party) -> bytes:
    node = party.node
    path = node.rpc("name/resolve", f"/ipns/{party.report}", nocache=True)["Path"]
    answer = requests.post(
        f"{node.api}/api/v0/cat", params=[("arg", f"{path}/{REPORT_FILE}")], headers=node.headers,
        timeout=30,
    )  # fmt: skip
    answer.raise_for_status()
    return answer.content


def test_a_replaced_report_that_a_peer_lists_stays_pinned(consortium: list[Party]) -> None:
    alice, bob, carol = consortium
    path = alice.node.rpc("name/resolve", f"/ipns/{alice.report}")["Path"]
    old = parse_cid(path.removeprefix("/ipfs/"))
    bob.node.publish_json_dir({"files.json": [*bob.cids, old]})

    # Alice's sync finds bob listing her report, and her heartbeat replaces that report.
    run = alice.sync()

    assert run.code == EXIT_OK, run.err
    assert "holdings report published" in run.err
    assert alice.node.rpc("name/resolve", f"/ipns/{alice.report}", nocache=True)["Path"] != path
    assert old in alice.node.recursive_pins(), "a report that bob lists is never released"
