"""Ordinary operator actions and odd peers never cost a pin: each test is one way the
consortium used to lose content without any fault, exit 0 and status "ok". Each runs
twice: with the member's pins in its Kubo, and in an IPFS Cluster (ipfs/cluster.py)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clusternet import Cluster
from harness.kubonet import CLOSED_DOH, KuboNode
from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net
from tests.test_sync import PIN_PREFIX, content


@pytest.fixture(params=["kubo", "cluster"])
def member(
    request: pytest.FixtureRequest, net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Member]:
    """The member of conftest.py, its pins in its Kubo or in a cluster of that one node."""
    node = net.node(api_socket=request.param == "cluster")
    cluster = None
    if request.param == "cluster":
        binary = request.getfixturevalue("cluster_bin")
        cluster = Cluster(binary, tmp_path / "cluster", [node], 1, 1)
        cluster.wait_ready()
    try:
        yield Member(node, tmp_path / "config.json", tmp_path / "state", capsys, cluster)
    finally:
        if cluster is not None:
            cluster.close()


def _dag_pb_file(node: KuboNode) -> str:
    return str(node.rpc("add", files={"file": ("f", b"a file")}, pin=True, cid_version=0)["Hash"])


def _raw_block(node: KuboNode) -> str:
    return node.add(b"a raw block", pin=True)


def _dag_cbor(node: KuboNode) -> str:
    answer = node.rpc(
        "dag/put", files={"file": ("d", b'{"a": 1}')}, store_codec="dag-cbor", pin=True
    )
    return str(answer["Cid"]["/"])


@pytest.mark.parametrize(
    ("make", "what"),
    [(_dag_pb_file, "is a file"), (_raw_block, "is a file"), (_dag_cbor, "is not UnixFS")],
)
def test_a_name_that_points_at_something_not_a_directory_keeps_the_pins(
    net: Net, member: Member, make: object, what: str
) -> None:
    alice = net.node()
    kept = content(alice, "kept")
    alice.publish_json_dir({"a.json": kept})
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    assert member.sync().code == 0
    assert callable(make)
    alice.rpc("name/publish", f"/ipfs/{make(alice)}", allow_offline=True)

    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    assert not peer["ok"]
    assert f"peer alice: /ipns/{alice.peer_id} {what}" in peer["errors"][0]
    assert "not a directory of manifests" in peer["errors"][0]
    assert set(kept) <= set(member.pins())
    status = member.cli("status", "--config", str(member.config_path)).out
    assert "FAILING" in status and "not a directory of manifests" in status


def two_peers(net: Net, member: Member, **settings: object) -> dict[str, list[str]]:
    """alice and bob publish two CIDs each; the member has pinned them all."""
    listed = {}
    for name in ("alice", "bob"):
        node = net.node()
        cids = content(node, f"{name} 1", f"{name} 2")
        listed[name] = [*cids, parse_cid(node.publish_json_dir({"m.json": cids}))]
        listed[f"{name}-ipns"] = [node.peer_id]
    member.configure(
        [{"name": n, "ipns": listed[f"{n}-ipns"][0]} for n in ("alice", "bob")], **settings
    )
    assert member.sync().code == 0
    return listed


def test_a_peer_removed_from_the_config_keeps_its_pins_for_the_grace_period(
    net: Net, member: Member
) -> None:
    listed = two_peers(net, member)
    metrics = member.state_dir.parent / "consortium.prom"
    member.configure(
        [{"name": "alice", "ipns": listed["alice-ipns"][0]}],
        release_after=3,
        metrics_file=str(metrics),
    )
    dry = member.sync("--dry-run")
    assert dry.json["would_unpin"] == [] and set(dry.json["awaiting_release"]) == set(listed["bob"])
    assert "3 pins that no peer lists wait for release; the next is due at" in dry.err

    run = member.sync()

    assert run.code == 0
    assert set(listed["bob"]) <= set(member.pins()), "kept while it waits"
    assert set(run.json["awaiting_release"]) == set(listed["bob"])
    text = metrics.read_text()
    assert "ipfs_consortium_pins_awaiting_release 3" in text
    assert 'ipfs_consortium_peer_configured{peer="bob"} 0' in text
    assert 'ipfs_consortium_peer_ok{peer="bob"}' not in text
    status = member.cli("status", "--config", str(member.config_path))
    assert "3 pins no peer lists wait for release (named for bob 3); the next is due in" in (
        status.out
    )
    assert "bob: removed from config; 3 pins wait for release, the next due in" in status.out
    assert member.cli("status", "--config", str(member.config_path), "--json").json["releases"][
        "waiting_by_peer"
    ] == {"bob": 3}

    time.sleep(3.5)
    run = member.sync()

    assert run.code == 0
    pins = member.pins()
    assert not set(listed["bob"]) & set(pins), "released once the grace period is over"
    assert set(listed["alice"]) <= set(pins)
    assert run.json["awaiting_release"] == {}


def test_a_lost_state_directory_starts_the_grace_period_again(net: Net, member: Member) -> None:
    listed = two_peers(net, member)
    member.configure([{"name": "alice", "ipns": listed["alice-ipns"][0]}], release_after=2)
    assert member.sync().code == 0
    shutil.rmtree(member.state_dir)

    time.sleep(2.5)
    run = member.sync()

    assert run.code == 0
    assert set(listed["bob"]) <= set(member.pins()), "its wait began again"
    assert set(run.json["awaiting_release"]) == set(listed["bob"])


def test_a_pin_listed_again_during_its_grace_period_is_kept_for_good(
    net: Net, member: Member
) -> None:
    listed = two_peers(net, member)
    peers = [{"name": n, "ipns": listed[f"{n}-ipns"][0]} for n in ("alice", "bob")]
    member.configure(peers[:1], release_after=2)
    assert member.sync().code == 0
    member.configure(peers, release_after=2)
    assert member.sync().code == 0

    time.sleep(2.5)
    run = member.sync()

    assert run.code == 0 and run.json["awaiting_release"] == {}
    assert set(listed["bob"]) <= set(member.pins())


def test_an_empty_peer_list_releases_nothing(net: Net, member: Member) -> None:
    listed = two_peers(net, member)
    member.configure([])

    run = member.sync()

    assert run.code == 0
    assert set(listed["alice"] + listed["bob"]) <= set(member.pins())
    assert len(run.json["awaiting_release"]) == 6


def test_the_brake_holds_a_mass_release_until_the_operator_allows_it(
    net: Net, member: Member
) -> None:
    alice = net.node()
    cids = alice.add_many("mass", 20)
    alice.publish_json_dir({"m.json": cids})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0)
    assert member.sync().code == 0
    alice.publish_json_dir({"m.json": cids[:5]})

    run = member.sync()

    assert run.code == 1
    assert set(cids) <= set(member.pins()), "nothing released"
    assert "refusing to release 16 of this consortium's 21 pins at once" in run.err
    assert "--allow-mass-release" in run.json["release_held"]
    status = member.cli("status", "--config", str(member.config_path)).out
    assert "RELEASE HELD: refusing to release 16" in status

    run = member.sync("--allow-mass-release")

    assert run.code == 0, run.err
    pins = member.pins()
    assert set(cids[:5]) <= set(pins) and not set(cids[5:]) & set(pins)
    assert "RELEASE HELD" not in member.cli("status", "--config", str(member.config_path)).out


def test_forget_releases_a_removed_peers_pins_now(net: Net, member: Member) -> None:
    listed = two_peers(net, member)
    shared = listed["alice"][0]
    bob_node = next(n for n in net.nodes if n.peer_id == listed["bob-ipns"][0])
    bob_root = parse_cid(bob_node.publish_json_dir({"m.json": [*listed["bob"][:2], shared]}))
    bobs = [*listed["bob"], bob_root]  # two CIDs, the old root (waiting), the new root
    assert member.sync().code == 0
    assert member.pins()[shared] == f"{PIN_PREFIX}alice,bob"

    refused = member.cli("forget", "bob", "--config", str(member.config_path))
    assert refused.code == 2 and "peer bob is still in" in refused.err

    member.configure([{"name": "alice", "ipns": listed["alice-ipns"][0]}])
    dry = member.cli("forget", "bob", "--config", str(member.config_path), "--dry-run", "--json")
    assert dry.code == 0 and sorted(dry.json["released"]) == sorted(bobs)
    assert set(bobs) <= set(member.pins()), "a dry run changes nothing"

    run = member.cli("forget", "bob", "--config", str(member.config_path))

    assert run.code == 0, run.err
    assert "peer bob: released 4 pins, took its name off 1" in run.out
    pins = member.pins()
    assert not set(bobs) & set(pins)
    assert pins[shared] == f"{PIN_PREFIX}alice", "alice still lists it"
    assert set(listed["alice"]) <= set(pins)
    assert not (member.state_dir / "peers" / "bob.json").exists()


def test_a_second_consortium_on_the_same_kubo_touches_none_of_the_first_ones_pins(
    net: Net, member: Member, tmp_path: Path
) -> None:
    listed = two_peers(net, member, release_after=0)
    carol = net.node()
    carol_cids = content(carol, "carol")
    carol.publish_json_dir({"m.json": carol_cids})
    other = member.config(
        [{"name": "carol", "ipns": carol.peer_id}],
        state_dir=str(tmp_path / "other-state"),
        consortium="other",
        release_after=0,
    )
    (tmp_path / "other.json").write_text(json.dumps(other))

    run = member.cli("sync", "--config", str(tmp_path / "other.json"), "--json")

    assert run.code == 0, run.err
    pins = member.pins()
    assert set(listed["alice"] + listed["bob"]) <= set(pins)
    assert pins[carol_cids[0]] == "ipfs-consortium:other:carol"
    assert member.sync().code == 0
    assert carol_cids[0] in member.pins(), "and the first leaves the second's"


def test_a_one_off_config_of_the_same_consortium_releases_nothing_at_once(
    net: Net, member: Member, tmp_path: Path
) -> None:
    listed = two_peers(net, member)
    other = member.config([], state_dir=str(tmp_path / "one-off"))
    (tmp_path / "other.json").write_text(json.dumps(other))

    run = member.cli("sync", "--config", str(tmp_path / "other.json"), "--json")

    assert run.code == 0, run.err
    assert set(listed["alice"] + listed["bob"]) <= set(member.pins())


def test_pins_of_the_first_release_are_adopted_by_renaming(net: Net, member: Member) -> None:
    alice = net.node()
    old, new = content(alice, "old", "new")
    alice.publish_json_dir({"m.json": [old, new]})
    member.pin(old, "ipfs-consortium:alice")
    strangers = content(member.node, "a former peer's")[0]
    member.pin(strangers, "ipfs-consortium:carol")
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0)

    run = member.sync()

    assert run.code == 0, run.err
    pins = member.pins()
    assert pins[old] == pins[new] == f"{PIN_PREFIX}alice"
    (peer,) = run.json["peers"]
    assert peer["newly_pinned"] == 2 and peer["renamed"] == 1, "new and the root; old renamed"
    assert pins[strangers] == "ipfs-consortium:carol", "a pin naming none of its peers stays"


def test_a_member_that_withdraws_everything_says_so_explicitly(
    net: Net, member: Member, tmp_path: Path
) -> None:
    alice = net.node()
    cids = content(alice, "withdrawn")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "m.json").write_text(json.dumps(cids))
    publish = ["publish", str(manifests), "--api", alice.api]
    assert member.cli(*publish).code == 0
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0)
    assert member.sync().code == 0
    (manifests / "m.json").unlink()

    refused = member.cli(*publish)
    assert refused.code == 2 and "--allow-empty" in refused.err

    assert member.cli(*publish, "--allow-empty").code == 0
    run = member.sync()

    assert run.code == 0, run.err
    assert not set(cids) & set(member.pins())


def test_dnslink_names_are_asked_of_a_closed_loopback_port_only(member: Member) -> None:
    member.configure([{"name": "web", "ipns": "consortium.example.org"}], resolve_timeout=5)

    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    assert "did not resolve" in peer["errors"][0]
    assert CLOSED_DOH.split("/")[2] in peer["errors"][0], peer["errors"][0]
