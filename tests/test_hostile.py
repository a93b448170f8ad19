"""Hostile or broken peers: huge, deep or many manifests, stolen and withdrawn content,
and a byte quota that stops one peer from filling the disk."""

from __future__ import annotations

import json
import os

from harness.kubonet import KuboNode
from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net
from tests.test_sync import PIN_PREFIX, content


def synced_peer(net: Net, member: Member) -> tuple[KuboNode, list[str]]:
    """A peer whose first manifest is pinned already: what its hostile update must not cost."""
    mallory = net.node()
    kept = content(mallory, "kept")
    mallory.publish_json_dir({"a.json": kept})
    # No holdings report: the calls counted below are the reading's alone.
    member.configure([{"name": "mallory", "ipns": mallory.peer_id}], report_key=None)
    assert member.sync().code == 0
    return mallory, kept


def test_a_million_entries(net: Net, member: Member) -> None:
    mallory, kept = synced_peer(net, member)
    valid = content(mallory, "valid")
    mallory.publish_json_dir({"a.json": kept, "million.json": [0] * 999_999 + valid})

    run = member.sync()

    assert run.code == 0
    (peer,) = run.json["peers"]
    assert len(peer["warnings"]) == 21, "a million bad entries are counted, not listed"
    assert "million.json: 999979 more invalid entries not listed" in peer["warnings"][-1]
    assert set(kept + valid) <= set(member.node.recursive_pins())


def test_a_100_mib_manifest_is_refused_before_it_is_downloaded(net: Net, member: Member) -> None:
    mallory, kept = synced_peer(net, member)
    mallory.publish_json_dir({"a.json": kept, "huge.json": os.urandom(100 * 1024 * 1024)})

    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    assert "huge.json: 104857600 bytes is over the 8388608-byte limit" in peer["errors"][0]
    assert run.json["rpc_calls"] == 11, (
        "id, swarm/peers, resolve, pin/ls, files/stat, ls, one cat (a.json), one pin, p2p/ls, "
        "name/get and name/inspect of the new record: no huge cat"
    )
    assert set(kept) <= set(member.node.recursive_pins())


def test_ten_thousand_manifest_files(net: Net, member: Member) -> None:
    mallory, kept = synced_peer(net, member)
    mallory.publish_json_dir({f"{i:05}.json": [] for i in range(10_000)})

    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    assert "10000 manifests in /ipfs/" in peer["errors"][0]
    assert "over the limit of 1000; none read" in peer["errors"][0]
    assert set(kept) <= set(member.node.recursive_pins()), "its earlier pins are kept"


def test_deeply_nested_json(net: Net, member: Member) -> None:
    mallory = net.node()
    good = content(mallory, "good")
    deep = b"[" * 200_000 + b"]" * 200_000
    mallory.publish_json_dir(
        {"deep.json": deep, "entry.json": [[[[good]]]] + good, "ok.json": good}
    )
    member.configure([{"name": "mallory", "ipns": mallory.peer_id}], max_manifest_bytes=1_000_000)

    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    assert "deep.json: JSON nested too deeply; skipped" in peer["errors"][0]
    assert "entry.json[0]: a JSON array is not a CID string" in "\n".join(peer["warnings"])
    assert set(good) <= set(member.node.recursive_pins())


def test_a_peer_listing_anothers_content_then_withdrawing_it(net: Net, member: Member) -> None:
    alice, mallory = net.node(), net.node()
    precious = content(alice, "precious")[0]
    alice.publish_json_dir({"a.json": [precious]})
    mallory.publish_json_dir({"m.json": [precious]})
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}, {"name": "mallory", "ipns": mallory.peer_id}],
        release_after=0,
    )
    assert member.sync().code == 0
    assert member.node.recursive_pins()[precious] == f"{PIN_PREFIX}alice,mallory"

    mallory.publish_json_dir({"m.json": []})
    run = member.sync()

    assert run.code == 0
    assert member.node.recursive_pins()[precious] == f"{PIN_PREFIX}alice"
    peers = {p["peer"]: p for p in run.json["peers"]}
    assert peers["mallory"]["unpinned"] == 1 and peers["alice"]["unpinned"] == 0


def test_byte_quota_stops_a_peer_filling_the_disk(net: Net, member: Member) -> None:
    mallory = net.node()
    small = content(mallory, "small")
    big = parse_cid(mallory.add(os.urandom(3 * 1024 * 1024)))
    after = mallory.add_many("after", 3)
    mallory.publish_json_dir({"m.json": [*small, big, *after]})
    member.configure(
        [{"name": "mallory", "ipns": mallory.peer_id, "max_bytes": 1024 * 1024}],
        concurrency=1,
        metrics_file=str(member.state_dir.parent / "consortium.prom"),
    )

    run = member.sync()

    assert run.code == 1
    pins = member.node.recursive_pins()
    assert big not in pins
    assert set(small + after) <= set(pins)
    (peer,) = run.json["peers"]
    assert peer["failed"] == 1
    assert f"pin {big} " in (errors := " ".join(peer["errors"]))
    assert "byte quota left it 1048" in errors
    status = member.cli("status", "--config", str(member.config_path), "--json").json
    assert 0 < status["peers"][0]["bytes_held"] <= 1024 * 1024
    metrics = (member.state_dir.parent / "consortium.prom").read_text()
    assert 'ipfs_consortium_peer_ok{peer="mallory"} 0' in metrics
    assert (
        f'ipfs_consortium_peer_bytes_held{{peer="mallory"}} {status["peers"][0]["bytes_held"]}'
        in metrics
    )
    assert 'ipfs_consortium_peer_pins_held{peer="mallory"} 5' in metrics
    assert "ipfs_consortium_kubo_up 1" in metrics


def test_a_peer_at_its_byte_quota_starts_no_more_pins(net: Net, member: Member) -> None:
    mallory = net.node()
    first = parse_cid(mallory.add(os.urandom(600 * 1024)))
    mallory.publish_json_dir({"m.json": [first]})
    peer = {"name": "mallory", "ipns": mallory.peer_id, "max_bytes": 700 * 1024}
    member.configure([peer], concurrency=1)
    assert member.sync().code == 0
    second = parse_cid(mallory.add(os.urandom(600 * 1024)))
    mallory.publish_json_dir({"m.json": [first, second]})

    run = member.sync()

    assert run.code == 1
    errors = json.dumps(run.json["peers"][0]["errors"])
    assert second not in member.node.recursive_pins()
    assert "byte quota left it" in errors


def test_a_peer_already_over_its_byte_quota_keeps_every_pin(net: Net, member: Member) -> None:
    """max_bytes became limited by default (issue 22): a peer that already holds more than
    its quota keeps every CID it lists, run after run, however soon releases are due; only
    its new CIDs (its new manifest root among them) are not fetched."""
    alice = net.node()
    held = [parse_cid(alice.add(os.urandom(300 * 1024))) for _ in range(3)]
    old_root = parse_cid(alice.publish_json_dir({"m.json": held}))
    peer = {"name": "alice", "ipns": alice.peer_id}
    member.configure([peer | {"max_bytes": None}], release_after=0, concurrency=1)
    assert member.sync().code == 0
    new = parse_cid(alice.add(os.urandom(1024)))
    new_root = parse_cid(alice.publish_json_dir({"m.json": [*held, new]}))
    member.configure([peer | {"max_bytes": 100 * 1024}], release_after=0, concurrency=1)

    runs = [member.sync() for _ in range(2)]

    pins = member.node.recursive_pins()
    assert set(held) <= set(pins)
    assert not {new, new_root, old_root} & set(pins), "the old root is no longer listed"
    for run in runs:
        assert run.code == 1
        (report,) = run.json["peers"]
        assert report["failed"] == 2
        assert "alice has used its 102400-byte quota" in " ".join(report["errors"])
    assert runs[0].json["peers"][0]["unpinned"] == 1 and runs[1].json["peers"][0]["unpinned"] == 0
