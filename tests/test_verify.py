"""Runs that trust their records instead of listing every pin (policy/full_check.py): they must do
nothing when nothing changed, give way to a full check whenever something did, and never
cost a pin, whatever state the records are in."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ipfs_consortium.ipfs.cid import key_text
from tests.conftest import Member, Net
from tests.test_no_pin_lost import two_peers
from tests.test_sync import content


def lists(member: Member) -> dict[str, tuple[int, int]]:
    """Each wanted-list file of the state directory: its inode and modification time."""
    return {
        file.name: (file.stat().st_ino, file.stat().st_mtime_ns)
        for file in (member.state_dir / "peers").glob("*.cids")
    }


def test_a_run_whose_peers_are_unchanged_lists_no_pins_and_rewrites_no_list(
    net: Net, member: Member
) -> None:
    listed = two_peers(net, member)
    files, pins = lists(member), member.node.recursive_pins()

    run = member.sync()

    assert run.code == 0 and not run.json["full_check"]
    assert run.json["rpc_calls"] == 5, (
        "id, swarm/peers, one resolve a peer and p2p/ls (this node's blocks stay open to the "
        "others' checks): no pin/ls, no reads"
    )
    assert [(p["unchanged"], p["wanted"], p["already_pinned"]) for p in run.json["peers"]] == [
        (True, 3, 3),
        (True, 3, 3),
    ]
    assert "every peer is as it was; not listing pins" in run.err
    assert lists(member) == files and len(files) == 2, "no wanted list was written again"
    assert member.node.recursive_pins() == pins
    assert set(listed["alice"] + listed["bob"]) <= set(pins)
    status = member.cli("status", "--config", str(member.config_path)).out
    assert re.search(r"alice: last success \d+s ago, 3 pins", status)
    assert re.search(r"last full check of every pin: \d+s ago", status)


def test_a_changed_root_config_or_due_release_brings_a_full_check(net: Net, member: Member) -> None:
    alice = net.node()
    first, second = content(alice, "first", "second")
    alice.publish_json_dir({"m.json": [first, second]})
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    assert member.sync().json["full_check"]

    alice.publish_json_dir({"m.json": [first]})
    withdrawn = member.sync()
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=3)
    reconfigured = member.sync()
    waiting = member.sync()
    still_pinned = second in member.node.recursive_pins()
    time.sleep(3.5)
    due = member.sync()

    assert withdrawn.json["full_check"] and "peers changed: alice" in withdrawn.err
    assert reconfigured.json["full_check"] and "the config changed" in reconfigured.err
    assert not waiting.json["full_check"] and still_pinned
    assert waiting.json["to_release"] == 0
    assert due.json["full_check"] and "2 releases are due" in due.err, "the CID and the old root"
    assert due.code == 0 and second not in member.node.recursive_pins()
    assert first in member.node.recursive_pins()


def test_a_different_kubo_node_brings_a_full_check(net: Net, member: Member) -> None:
    two_peers(net, member)
    record = member.state_dir / "verified.json"
    verified = json.loads(record.read_text())
    record.write_text(json.dumps(verified | {"node": "12D3KooWAnotherNode"}))

    run = member.sync()

    assert run.code == 0 and run.json["full_check"]
    assert f"the Kubo node is {member.node.peer_id}, not 12D3KooWAnotherNode" in run.err


def _to_first_release_form(record: Path) -> None:
    """Rewrite a peer's record as the releases before wanted-list files wrote it."""
    state = json.loads(record.read_text())
    cids_file = record.parent / state.pop("wanted_file")
    wanted = {}
    for line in cids_file.read_text().splitlines():
        key, size = line.split(" ")
        wanted[key_text(int(key, 16))] = int(size)
    cids_file.unlink()
    del state["wanted_count"]
    state["wanted"] = list(wanted)
    state["sizes"] = {cid: size for cid, size in wanted.items() if size}
    record.write_text(json.dumps(state))


def test_a_record_from_the_first_release_keeps_every_pin_and_is_rewritten(
    net: Net, member: Member
) -> None:
    listed = two_peers(net, member, release_after=0)
    pins = member.node.recursive_pins()
    for name in ("alice", "bob"):
        _to_first_release_form(member.state_dir / "peers" / f"{name}.json")

    run = member.sync()
    after = member.sync()

    assert run.code == 0 and run.json["full_check"], "an old record is checked in full"
    assert [p["unchanged"] for p in run.json["peers"]] == [True, True]
    assert member.node.recursive_pins() == pins
    assert set(listed["alice"] + listed["bob"]) <= set(pins)
    assert len(lists(member)) == 2, "both lists now have files of their own"
    assert after.code == 0 and not after.json["full_check"]


def test_a_lost_wanted_list_costs_no_pin_while_its_peer_cannot_be_read(
    net: Net, member: Member
) -> None:
    listed = two_peers(net, member, release_after=0)
    bob = next(node for node in net.nodes if node.peer_id == listed["bob-ipns"][0])
    for file in (member.state_dir / "peers").glob("bob.*.cids"):
        file.unlink()
    bob.rpc("name/publish", f"/ipfs/{bob.add(b'not a directory', pin=True)}", allow_offline=True)

    run = member.sync()

    assert run.code == 1 and run.json["full_check"]
    assert run.json["to_release"] == 0
    assert set(listed["bob"]) <= set(member.node.recursive_pins()), "named for a failed peer"
