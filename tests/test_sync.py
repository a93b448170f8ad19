"""The sync against real Kubo daemons: publishers on one side, a syncing member on the other."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.kubonet import KuboNode
from harness.loopback_http import serving
from ipfs_consortium.ipfs.cid import parse_cid
from ipfs_consortium.policy.pin_names import PinNames
from ipfs_consortium.state.store import StateDir
from ipfs_consortium.sync import progress
from ipfs_consortium.sync.run import SAMPLE
from tests.conftest import Member, Net

# The names of the pins a sync makes with the default config.
PIN_PREFIX = PinNames("default").prefix


def content(node: KuboNode, *labels: str) -> list[str]:
    return [parse_cid(node.add(f"content {label}".encode())) for label in labels]


def ours(pins: dict[str, str]) -> dict[str, str]:
    return {cid: name for cid, name in pins.items() if name.startswith(PIN_PREFIX)}


def test_two_publishers_and_a_syncing_member(net: Net, member: Member) -> None:
    alice, bob = net.node(), net.node()
    a_cids, b_cids = content(alice, "a1", "a2"), content(bob, "b1", "b2", "b3")
    a_root = alice.publish_json_dir({"photos.json": a_cids})
    b_root = bob.publish_json_dir({"one.json": b_cids[:2], "two.json": [f"/ipfs/{b_cids[2]}"]})
    member.configure([alice.peer_id, {"name": "bob", "ipns": bob.peer_id}])

    run = member.sync()

    assert run.code == 0, run.err
    pins = member.node.recursive_pins()
    for cid in [*a_cids, parse_cid(a_root)]:
        assert pins[cid] == f"{PIN_PREFIX}{alice.peer_id}"
    for cid in [*b_cids, parse_cid(b_root)]:
        assert pins[cid] == f"{PIN_PREFIX}bob"
    peers = {p["peer"]: p for p in run.json["peers"]}
    assert peers["bob"]["manifests"] == 2
    assert peers["bob"]["newly_pinned"] == 4
    assert peers[alice.peer_id]["root"] == parse_cid(a_root)
    assert "peer bob: root" in run.err


def test_manifest_gains_and_loses_cids(net: Net, member: Member) -> None:
    alice = net.node()
    x, y, z = content(alice, "x", "y", "z")
    mine = content(member.node, "operator's own")[0]
    member.node.rpc("pin/add", mine)
    alice.publish_json_dir({"list.json": [x, y]})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0)
    assert member.sync().code == 0

    alice.publish_json_dir({"list.json": [y, z]})
    run = member.sync()

    assert run.code == 0, run.err
    pins = member.node.recursive_pins()
    assert x not in pins
    assert {y, z} <= set(pins)
    assert mine in pins, "a pin this tool did not make must never be touched"
    (peer,) = run.json["peers"]
    assert (peer["newly_pinned"], peer["unpinned"]) == (2, 2)  # z and the new root; x and old root


def test_shared_cid_is_named_for_every_peer_and_kept_until_no_peer_wants_it(
    net: Net, member: Member
) -> None:
    alice, bob = net.node(), net.node()
    shared = content(alice, "shared")[0]
    alice.publish_json_dir({"a.json": [shared]})
    bob.publish_json_dir({"b.json": [shared]})
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}, {"name": "bob", "ipns": bob.peer_id}],
        release_after=0,
    )
    assert member.sync().code == 0
    assert member.node.recursive_pins()[shared] == f"{PIN_PREFIX}alice,bob"

    alice.publish_json_dir({"a.json": []})
    assert member.sync().code == 0
    assert member.node.recursive_pins()[shared] == f"{PIN_PREFIX}bob"

    bob.publish_json_dir({"b.json": []})
    assert member.sync().code == 0
    assert shared not in member.node.recursive_pins()


def test_peer_offline_past_its_record_lifetime_keeps_its_pins(net: Net, member: Member) -> None:
    alice, bob = net.node(), net.node()
    a_cids = content(alice, "a")
    # Long enough for the first sync to read it on a loaded machine.
    alice.publish_json_dir({"a.json": a_cids}, lifetime="8s")
    b_cids = content(bob, "b")
    bob.publish_json_dir({"b.json": b_cids})
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}, {"name": "bob", "ipns": bob.peer_id}],
        resolve_timeout=2,
        release_after=0,
    )
    assert member.sync().code == 0
    alice.stop()
    time.sleep(9)
    bob.publish_json_dir({"b.json": [*b_cids, *content(bob, "b2")]})

    run = member.sync()

    assert run.code == 1
    pins = member.node.recursive_pins()
    assert set(a_cids) <= set(pins), "a peer that fails keeps its pins"
    assert len(ours(pins)) == 5, "the other peers carry on"
    peers = {p["peer"]: p for p in run.json["peers"]}
    assert not peers["alice"]["ok"] and peers["bob"]["ok"]
    assert (
        "/ipns/" in peers["alice"]["errors"][0] and "did not resolve" in peers["alice"]["errors"][0]
    )
    assert "peer alice: FAILED, kept its pins" in run.err
    status = member.cli("status", "--config", str(member.config_path)).out
    assert "alice: last success" in status and "FAILING since 0s ago" in status


def test_pins_named_for_a_failing_peer_survive_a_lost_state_dir(net: Net, member: Member) -> None:
    alice = net.node()
    a_cids = content(alice, "a")
    alice.publish_json_dir({"a.json": a_cids})
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    assert member.sync().code == 0
    never_published = member.node.rpc("key/gen", "nothing")["Id"]
    member.configure([{"name": "alice", "ipns": never_published}], resolve_timeout=2)

    run = member.sync()

    assert run.code == 1
    assert set(a_cids) <= set(member.node.recursive_pins())


def test_malformed_manifests_are_reported_and_skipped(net: Net, member: Member) -> None:
    alice = net.node()
    good, kept = content(alice, "good", "kept")
    alice.publish_json_dir({"base.json": [kept]})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], max_manifest_bytes=200)
    assert member.sync().code == 0

    alice.publish_json_dir(
        {
            "good.json": [good, "not-a-cid", 42, "Qmfoo", good],
            "broken.json": b'["unterminated',
            "object.json": {"cids": [good]},
            "large.json": ["bafkqaaa"] * 40,
            "notes.txt": b"not a manifest",
            "latin1.json": b'["\xe9"]',
        }
    )
    run = member.sync()

    assert run.code == 1
    (peer,) = run.json["peers"]
    errors = "\n".join(peer["errors"])
    warnings = "\n".join(peer["warnings"])
    assert "broken.json: not valid JSON at line 1" in errors
    assert "object.json: must be a JSON array of CIDs, not a JSON dict" in errors
    assert "large.json:" in errors and "over the 200-byte limit" in errors
    assert "latin1.json: not UTF-8 text" in errors
    assert "good.json[1]: 'not-a-cid' is not a CID" in warnings
    assert "good.json[2]: 42 is not a CID string" in warnings
    assert "good.json[3]" in warnings
    assert "notes.txt is not a *.json file" in warnings
    pins = member.node.recursive_pins()
    assert good in pins, "the valid entries of a broken peer are still pinned"
    assert kept in pins, "an unreadable manifest must not release what it used to list"


def test_quota_pins_the_first_cids_in_manifest_order(net: Net, member: Member) -> None:
    alice = net.node()
    cids = content(alice, *"abcde")
    alice.publish_json_dir({"1.json": cids[:3], "2.json": cids[3:]})
    member.configure([{"name": "alice", "ipns": alice.peer_id, "max_pins": 4}])

    run = member.sync()

    assert run.code == 0
    pins = member.node.recursive_pins()
    assert set(cids[:4]) <= set(pins) and cids[4] not in pins
    assert "over its quota of 4; only the first 4" in run.err


def test_dry_run_changes_nothing(net: Net, member: Member) -> None:
    alice = net.node()
    x, y = content(alice, "x", "y")
    alice.publish_json_dir({"list.json": [x]})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0)
    assert member.sync().code == 0
    alice.publish_json_dir({"list.json": [y]})
    before = member.node.recursive_pins()

    run = member.sync("--dry-run")

    assert run.code == 0
    assert member.node.recursive_pins() == before
    assert y in run.json["would_pin"] and x in run.json["would_unpin"]
    assert f"would pin {y}" in run.err and f"would release {x}" in run.err
    assert member.sync().code == 0 and y in member.node.recursive_pins()


def test_a_dry_run_lists_a_sample_and_counts_the_rest(net: Net, member: Member) -> None:
    alice = net.node()
    cids = [parse_cid(cid) for cid in alice.add_many("sample", SAMPLE + 5)]
    alice.publish_json_dir({"m.json": cids})
    member.configure([{"name": "alice", "ipns": alice.peer_id}])

    text = member.cli("sync", "--config", str(member.config_path), "--dry-run")
    full = member.sync("--dry-run")

    assert text.code == full.code == 0
    assert text.err.count("would pin ") == SAMPLE + 1, "the sample, then the count"
    assert f"would pin {SAMPLE + 6} and rename 0 in all; {SAMPLE} listed" in text.err
    assert full.json["to_pin"] == len(full.json["would_pin"]) == SAMPLE + 6
    assert set(cids) < set(full.json["would_pin"])
    assert not ours(member.node.recursive_pins())


def test_a_full_check_reads_no_unchanged_peer_again(net: Net, member: Member) -> None:
    publishers = [net.node() for _ in range(3)]
    for index, node in enumerate(publishers):
        node.publish_json_dir({"m.json": content(node, *(f"{index}-{i}" for i in range(20)))})
    member.configure([p.peer_id for p in publishers])
    assert member.sync().code == 0

    run = member.sync("--verify")

    assert run.code == 0 and run.json["full_check"]
    assert run.json["rpc_calls"] == len(publishers) + 4, (
        "id, swarm/peers, a resolve each, one pin/ls, p2p/ls"
    )
    assert all(p["unchanged"] and p["already_pinned"] == 21 for p in run.json["peers"])


def test_pins_lost_outside_the_tool_are_restored_by_the_next_full_check(
    net: Net, member: Member
) -> None:
    alice = net.node()
    cids = content(alice, "a", "b")
    alice.publish_json_dir({"m.json": cids})
    member.configure([alice.peer_id])
    assert member.sync().code == 0
    member.node.rpc("pin/rm", cids[0])

    trusted = member.sync()
    lost = cids[0] not in member.node.recursive_pins()
    checked = member.sync("--verify")

    assert trusted.code == 0 and not trusted.json["full_check"]
    assert lost, "within verify_interval a run trusts its records (the documented price)"
    assert checked.code == 0 and checked.json["full_check"]
    assert cids[0] in member.node.recursive_pins()
    assert checked.json["peers"][0]["newly_pinned"] == 1


def test_content_nobody_has_stalls_and_the_rest_goes_on(net: Net, member: Member) -> None:
    alice = net.node()
    present = content(alice, "present")[0]
    missing = "bafkreie5zkhkxqyz7uhq6puaqcbc7t5xdxk7u3bxbf3chjmw6y6awqx2ai"  # of bytes nobody has
    alice.publish_json_dir({"m.json": [missing, present]})
    member.configure([alice.peer_id], stall_timeout=2)

    run = member.sync()

    assert run.code == 1
    assert present in member.node.recursive_pins()
    (peer,) = run.json["peers"]
    assert peer["failed"] == 1
    assert f"pin {missing} made no progress for 2s" in peer["errors"][0]


def test_one_long_pin_logs_its_progress_while_it_runs(
    net: Net, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = net.node()
    missing = "bafkreie5zkhkxqyz7uhq6puaqcbc7t5xdxk7u3bxbf3chjmw6y6awqx2ai"  # of bytes nobody has
    alice.publish_json_dir({"m.json": [missing]})
    member.configure([alice.peer_id], stall_timeout=3)
    monkeypatch.setattr(progress, "INTERVAL", 0.5)

    run = member.sync()

    # The manifest directory is pinned at once; the missing CID stalls for 3 s.
    running = [line for line in run.err.splitlines() if "pinning: 1/2 done" in line]
    assert len(running) >= 3, run.err
    assert all("1 running" in line for line in running)
    assert "pinning: 2/2 done, 1 failed" in run.err


def test_kubo_down_is_exit_3_and_changes_nothing(member: Member) -> None:
    member.configure(["k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8"])
    member.node.stop()

    run = member.sync()

    assert run.code == 3
    assert "is unreachable (connection refused)" in run.err
    assert run.json["kubo_error"]


def test_kubo_with_api_authorizations_needs_the_secret(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = {"right": "t0ken-right", "wrong": "t0ken-wrong", "narrow": "t0ken-narrow"}
    scopes = {
        f"bearer:{tokens['right']}": ["/api/v0"],
        f"bearer:{tokens['narrow']}": ["/api/v0/id"],
    }
    member = Member(net.node(scopes), tmp_path / "config.json", tmp_path / "state", capsys)
    auth = {name: tmp_path / f"{name}.auth" for name in tokens}
    for name, token in tokens.items():
        auth[name].write_text(f"bearer:{token}\n")
    alice = net.node()
    x, y = content(alice, "x", "y")
    alice.publish_json_dir({"a.json": [x, y]})
    peers = [{"name": "alice", "ipns": alice.peer_id}]
    member.configure(peers, release_after=0, api_auth_file=str(auth["right"]))
    assert member.sync().code == 0
    assert {x, y} <= set(member.node.recursive_pins())
    alice.publish_json_dir({"a.json": [y]})

    # x is due for release now; each refused run stops before it and says why in one line.
    for name, command in [(None, "id"), ("wrong", "id"), ("narrow", "swarm/peers")]:
        setting = {} if name is None else {"api_auth_file": str(auth[name])}
        member.configure(peers, release_after=0, **setting)
        run = member.sync()
        assert (run.code, run.out) == (2, ""), run.err
        (line,) = run.err.splitlines()
        assert f"refused {command} (HTTP 403)" in line
        assert ("set api_auth_file" if name is None else f"the secret in {auth[name]}") in line
        assert not any(token in line for token in tokens.values())
        assert x in member.node.recursive_pins()

    member.configure(peers, release_after=0, api_auth_file=str(auth["right"]))
    assert member.sync().code == 0
    assert x not in member.node.recursive_pins()


def test_a_proxy_in_the_environment_never_sees_a_call(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cron passes on /etc/environment's proxy settings: the calls to Kubo and the secret in
    their header must not go there."""
    token = "t0ken-behind-no-proxy"
    member = Member(
        net.node({f"bearer:{token}": ["/api/v0"]}), tmp_path / "config.json", tmp_path / "state",
        capsys,
    )  # fmt: skip
    secret = tmp_path / "api-auth"
    secret.write_text(f"bearer:{token}\n")
    alice = net.node()
    (x,) = content(alice, "x")
    alice.publish_json_dir({"a.json": [x]})
    member.configure([alice.peer_id], api_auth_file=str(secret))
    seen: list[str] = []
    with serving(200, b"proxied", seen=seen) as proxy, monkeypatch.context() as env:
        for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]:
            env.setenv(name, proxy)
        for name in ["no_proxy", "NO_PROXY"]:
            env.delenv(name, raising=False)

        run = member.sync()

    assert run.code == 0, run.err
    assert x in member.node.recursive_pins()
    assert seen == []


def test_a_second_sync_while_one_runs_exits_at_once(member: Member) -> None:
    member.configure([])
    member.state_dir.mkdir()
    with StateDir(member.state_dir).lock():
        run = member.sync()
    assert run.code == 4
    assert "another sync" in run.err and "is running" in run.err
    assert member.sync().code == 0, "the lock is gone with its holder"


def test_status_reports_each_peer(net: Net, member: Member) -> None:
    alice = net.node()
    alice.publish_json_dir({"m.json": content(alice, "s")})
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    assert member.sync().code == 0

    text = member.cli("status", "--config", str(member.config_path))
    data = member.cli("status", "--config", str(member.config_path), "--json")

    assert "alice: last success" in text.out and "2 pins" in text.out
    (peer,) = data.json["peers"]
    assert peer["ok"] and peer["pins_held"] == 2 and peer["last_error"] is None
    state = json.loads((member.state_dir / "peers" / "alice.json").read_text())
    assert state["complete"] is True
