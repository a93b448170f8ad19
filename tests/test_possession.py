"""Possession checks against real Kubo daemons: Alice asks Bob's node for blocks of her
content, through the libp2p mount of his gateway, and checks each answer against its CID."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.kubonet import ROOT
from ipfs_consortium.exit_codes import EXIT_CHECK_FAILED, EXIT_OK
from ipfs_consortium.ipfs.cid import block_matches, checkable, cid_key, parse_cid
from ipfs_consortium.sync.possession import PROTOCOL
from tests.conftest import Member, Net, Party, Run, mirrored, party_of, run_cli

# More than Alice's content has blocks: every block is asked.
ALL_BLOCKS = 1000


@pytest.fixture
def pair(net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[Party]:
    """Alice, whose content has a file of several blocks, and Bob, who mirrors it."""
    alice, bob = (party_of(net, name, tmp_path, capsys) for name in ("alice", "bob"))
    # A file of 1 MiB: four leaves and the node that links them.
    large = parse_cid(alice.node.add(os.urandom(1024 * 1024), pin=True))
    alice.cids.append(large)
    alice.node.publish_json_dir({"files.json": alice.cids})
    for party, other in ((alice, bob), (bob, alice)):
        party.home.mkdir()
        party.configure([other], check_blocks=ALL_BLOCKS, report_stale_after=3600)
    # Each publishes its report, then reads the other's.
    for party in (alice, bob, alice, bob):
        run = party.sync()
        assert run.code == EXIT_OK, run.err
    return [alice, bob]


def _check(run: Run, member: str) -> dict[str, Any]:
    return dict(run.json["members"][member])


def _holder(party: Party, member: str) -> dict[str, Any]:
    run = party.copies()
    return next(h for h in run.json["own"]["holders"] if h["member"] == member)


def _alice_blocks(alice: Party) -> int:
    refs = alice.node.rpc("refs", *alice.cids, recursive=True, unique=True)
    refs = refs if isinstance(refs, list) else [refs]
    # The listed CIDs, the blocks below them, the manifest directory and its file.
    return len(alice.cids) + len(refs) + 2


def test_a_member_that_lost_blocks_is_caught_and_no_longer_a_full_copy(
    pair: list[Party],
) -> None:
    alice, bob = pair
    pins = mirrored(alice.node), mirrored(bob.node)

    run = alice.verify()
    assert run.code == EXIT_OK, run.err
    check = _check(run, "bob")
    blocks = _alice_blocks(alice)
    assert (check["result"], check["asked"], check["verified"]) == ("verified", blocks, blocks)
    assert check["bytes"] > 1024 * 1024 and check["verified_at"] == check["checked_at"]
    holder = _holder(alice, "bob")
    assert (holder["state"], holder["check"]["result"]) == ("full", "verified")

    # Bob's node loses Alice's blocks behind his sync's back: his report still says he
    # holds all of her content.
    for cid in mirrored(bob.node):
        if cid in pins[0]:
            bob.node.rpc("pin/rm", cid)
    bob.node.rpc("repo/gc")
    assert _holder(alice, "bob")["held"] == len(alice.cids) + 1

    run = alice.verify()
    assert run.code == EXIT_CHECK_FAILED
    check = _check(run, "bob")
    assert check["result"] == "failed" and check["missing"] == blocks and check["wrong"] == 0
    assert check["verified_at"] is not None and check["verified_at"] != check["checked_at"]
    copies = alice.copies()
    assert copies.json["own"]["full_copies"] == 0
    holder = _holder(alice, "bob")
    assert (holder["state"], holder["check"]["missing"]) == ("failed_check", blocks)
    text = run_cli(alice.capsys, "copies", "--config", str(alice.config)).out
    assert f"bob: failed check (6 of 6 CIDs; blocks checked 0m ago: {blocks} asked, " in text
    text = run_cli(alice.capsys, "verify", "--config", str(alice.config)).out
    assert text.startswith(f"bob: failed ({blocks} asked, {blocks} missing), 0 bytes in ")

    # Her sync says so in the metrics and in status, and a check releases nothing.
    assert alice.sync().code == EXIT_OK
    metrics = (alice.home / "metrics.prom").read_text()
    assert 'ipfs_consortium_possession_check_failed{member="bob"} 1.0' in metrics
    assert (
        f'ipfs_consortium_possession_check_blocks{{member="bob",result="missing"}} {blocks}.0'
        in metrics
    )
    status = run_cli(alice.capsys, "status", "--config", str(alice.config)).out
    assert "POSSESSION CHECK FAILED: bob" in status
    assert mirrored(alice.node) == pins[0]


def _flatfs_file(repo: Path, cid: str) -> Path:
    """Where Kubo's flatfs keeps a block: its multihash in base32, sharded by next-to-last/2."""
    data = cid_key(cid).to_bytes(64, "big").lstrip(b"\0")
    # A CIDv1: version and codec (raw or dag-pb), one byte each, before the multihash.
    key = base64.b32encode(data[2:]).decode().rstrip("=")
    return repo / "blocks" / key[-3:-1] / f"{key}.data"


def test_a_node_that_answers_with_wrong_bytes_is_caught(pair: list[Party]) -> None:
    alice, bob = pair
    large = alice.cids[-1]
    leaf = alice.node.rpc("refs", large)[0]["Ref"]
    block = _flatfs_file(bob.node.repo, leaf)
    block.write_bytes(b"not the block" + block.read_bytes()[13:])

    run = alice.verify()
    assert run.code == EXIT_CHECK_FAILED
    check = _check(run, "bob")
    assert (check["result"], check["wrong"], check["missing"]) == ("failed", 1, 0)
    assert check["verified"] == check["asked"] - 1


def test_a_member_that_cannot_be_reached_is_unreachable_not_missing(pair: list[Party]) -> None:
    alice, bob = pair
    bob.node.stop()
    # Her node does not hold his report's blocks: it would wait this long for them.
    alice.configure([bob], check_blocks=ALL_BLOCKS, report_stale_after=3600, request_timeout=2)

    run = alice.verify()
    assert run.code == EXIT_OK, run.err
    check = _check(run, "bob")
    assert (check["result"], check["missing"], check["wrong"]) == ("unreachable", 0, 0)
    assert check["unreachable"] == check["asked"] > 0
    # His report as last read still counts: being offline a while is what
    # report_stale_after judges.
    status = run_cli(alice.capsys, "status", "--config", str(alice.config), "--json").json
    holder = status["copies"]["own"]["holders"][0]
    assert (holder["state"], holder["check"]["result"]) == ("full", "unreachable")


def test_the_sync_checks_when_due_and_mounts_its_blocks_again_after_a_restart(
    pair: list[Party],
) -> None:
    alice, bob = pair
    # Kubo forgets the mount when it restarts: Bob cannot be asked until his next sync.
    bob.node.restart()
    assert alice.verify().json["members"]["bob"]["result"] == "unreachable"
    assert bob.sync().code == EXIT_OK

    alice.configure([bob], check_blocks=4, check_interval=0.001, report_stale_after=3600)
    run = alice.sync()
    assert run.code == EXIT_OK, run.err
    checks = run_cli(alice.capsys, "status", "--config", str(alice.config), "--json").json
    check = checks["checks"]["members"]["bob"]
    assert (check["result"], check["asked"], check["verified"]) == ("verified", 4, 4)


def test_checking_can_be_turned_off(pair: list[Party]) -> None:
    alice, bob = pair
    alice.configure([bob], check_interval=None, report_stale_after=3600)
    before = (alice.home / "state" / "checks.json").read_text()
    assert alice.sync().code == EXIT_OK
    assert (alice.home / "state" / "checks.json").read_text() == before
    status = run_cli(alice.capsys, "status", "--config", str(alice.config)).out
    assert "possession checks: off (check_interval is null)" in status


def test_a_node_that_cannot_mount_its_blocks_still_syncs_and_says_why(member: Member) -> None:
    member.node.rpc("config", "Experimental.Libp2pStreamMounting", "false", bool=True)
    member.node.restart()
    member.configure([])

    run = member.sync()

    assert run.code == EXIT_OK, run.err
    assert "blocks are not open to the others' possession checks" in run.err
    assert "Experimental.Libp2pStreamMounting" in run.err


def test_a_block_is_checked_against_its_cid() -> None:
    sha256 = "bafkreifqsbzepx544upnnqskmhesvpn3pherdoqhdy2iekgzxl7gzlq4he"
    assert block_matches(cid_key(sha256), b"only a")
    assert not block_matches(cid_key(sha256), b"only b")
    # An identity CID holds its block: nothing to ask a member for.
    assert not checkable(cid_key("bafkqablimvwgy3y"))


def test_the_kubo_role_mounts_the_protocol_the_checks_ask() -> None:
    role_vars = yaml.safe_load((ROOT / "roles" / "kubo" / "vars" / "main.yml").read_text())
    assert role_vars["_kubo_blocks_protocol"] == PROTOCOL
