"""Names that outlive their publisher, against real Kubo daemons: each member keeps its
peers' signed IPNS records and puts them back on the DHT, so that a member who joins after
a publisher went away still learns what it listed.

A record reaches another member only if some node stores it: the nodes that should are
DHT servers (``dhtserver``). A member that must hold no record of its own runs as a DHT
client (``dhtclient``): whatever it finds later, it found on the network.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.kubonet import KuboNode
from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net, mirrored
from tests.test_sync import PIN_PREFIX, content

SERVER, CLIENT = "dhtserver", "dhtclient"
# Seconds a name may take to resolve: on loopback a name nobody holds fails at once.
RESOLVE = 5
# What the sync logs for each put that went through.
PUT_BACK = "put back on the network"


def member_of(
    net: Net, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], routing: str
) -> Member:
    """A syncing member whose node runs with ``routing``."""
    home = tmp_path / name
    home.mkdir()
    return Member(
        net.node(name=name, routing=routing), home / "config.json", home / "state", capsys
    )


def peer(name: str, node: KuboNode) -> dict[str, Any]:
    return {"name": name, "ipns": node.peer_id}


def kept(member: Member) -> dict[str, dict[str, Any]]:
    """The records the member keeps, by peer, as its state directory holds them."""
    state = json.loads((member.state_dir / "records.json").read_text())
    peers: dict[str, dict[str, Any]] = state["peers"]
    return peers


def put_due(member: Member, name: str, record: bytes | None = None, **fields: Any) -> None:
    """Make the put of peer ``name``'s kept record due; with ``record`` (and ``fields``),
    that record in place of the one kept: what a state directory restored from a backup,
    or written by hand, may hold."""
    path = member.state_dir / "records.json"
    state = json.loads(path.read_text())
    entry = state["peers"][name]
    entry["next_put_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    if record is not None:
        entry |= {"record": base64.b64encode(record).decode()} | fields
    path.write_text(json.dumps(state))


def said(run_err: str, name: str) -> list[str]:
    """The warnings of a run about peer ``name``."""
    return [line for line in run_err.splitlines() if f" WARNING peer {name}: " in line]


@pytest.mark.parametrize("put_interval", [0, None], ids=["keep-alive", "keep-alive-off"])
def test_a_member_who_joins_after_the_publisher_left_resolves_its_name_from_a_put_back_record(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str], put_interval: int | None
) -> None:
    b = member_of(net, "b", tmp_path, capsys, SERVER)
    a = net.node(name="a", routing=SERVER)
    a_cids = content(a, "a1", "a2", "a3")
    a_root = a.publish_json_dir({"files.json": a_cids}, lifetime="720h")
    b.configure([peer("a", a)], record_put_interval=put_interval, resolve_timeout=RESOLVE)
    assert b.sync().code == 0
    a.stop()
    # C joins, connected to B only, and B follows it too.
    c = net.node(name="c", routing=SERVER)
    c.publish_json_dir({"files.json": content(c, "c1")}, lifetime="720h")
    members = [peer("a", a), peer("c", c)]
    b.configure(members, record_put_interval=put_interval, resolve_timeout=RESOLVE)
    run = b.sync()
    assert run.code == 0, run.err
    assert (PUT_BACK in run.err) == (put_interval is not None)
    # C holds A's content, taken from B; its own sync would put A's record itself.
    for cid in [a_root, *a_cids]:
        c.rpc("pin/add", cid)
    b.node.stop()
    d = member_of(net, "d", tmp_path, capsys, SERVER)  # connected to C only
    d.configure(members, record_put_interval=None, resolve_timeout=RESOLVE)

    run = d.sync()

    kept_alive = put_interval is not None
    a_outcome = next(p for p in run.json["peers"] if p["peer"] == "a")
    assert (a_outcome.get("root") == parse_cid(a_root)) == kept_alive, run.err
    assert ("did not resolve" in " ".join(a_outcome["errors"])) != kept_alive, run.err
    pins = d.pins()
    assert all(pins.get(cid) == f"{PIN_PREFIX}a" for cid in a_cids) == kept_alive
    assert run.code == (0 if kept_alive else 1), run.err


def test_a_stale_a_foreign_and_an_expired_record_are_never_put(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # M stores no record itself, so once the publishers are gone it can fetch none: what it
    # would put is what it keeps.
    m = member_of(net, "m", tmp_path, capsys, CLIENT)
    old, foreign, brief = (net.node(name=n, routing=SERVER) for n in ("old", "foreign", "brief"))
    old_root = old.publish_json_dir({"files.json": []}, lifetime="720h")
    stale = old.ipns_record(old.peer_id)
    old.publish_json_dir({"files.json": content(old, "o1")}, lifetime="720h")
    foreign.publish_json_dir({"files.json": []}, lifetime="720h")
    brief.publish_json_dir({"files.json": []}, lifetime="10s")
    members = [peer("old", old), peer("foreign", foreign), peer("brief", brief)]
    m.configure(members, record_put_interval=None, resolve_timeout=RESOLVE)
    assert m.sync().code == 0, "every record kept, none put"
    before = kept(m)
    assert before["old"]["sequence"] == before["old"]["highest_sequence"] == 1
    put_due(m, "old", stale, sequence=0, value=f"/ipfs/{old_root}")
    put_due(m, "foreign", old.ipns_record(old.peer_id), **{
        key: before["old"][key] for key in ("sequence", "value", "expires")
    })  # fmt: skip
    put_due(m, "brief")
    for node in (old, foreign, brief):
        node.stop()
    expires = datetime.fromisoformat(before["brief"]["expires"])
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 0.5))
    m.configure(members, record_put_interval=0, resolve_timeout=RESOLVE)

    run = m.sync()

    assert PUT_BACK not in run.err
    assert [w for w in said(run.err, "old") if "sequence 0" in w and "1" in w], run.err
    assert [w for w in said(run.err, "foreign") if "not signed by peer foreign's key" in w], run.err
    assert [w for w in said(run.err, "brief") if "expired at" in w], run.err
    after = kept(m)
    assert "foreign" not in after, "a record not the peer's is dropped"
    assert after["old"]["put_at"] is None and after["brief"]["put_at"] is None
    # Had the stale record been put, M's node would now hold it.
    with pytest.raises(RuntimeError, match="could not resolve"):
        m.node.rpc("name/resolve", old.peer_id, offline=True, nocache=True)


def test_a_member_whose_peer_is_gone_keeps_its_pins_and_shows_when_its_record_expires(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # M stores no record itself: once A is gone its name does not resolve there.
    m = member_of(net, "m", tmp_path, capsys, CLIENT)
    a = net.node(name="a", routing=SERVER)
    a_root = a.publish_json_dir({"files.json": content(a, "a1", "a2")}, lifetime="720h")
    m.configure([peer("a", a)], record_put_interval=None, resolve_timeout=RESOLVE)
    assert m.sync().code == 0
    held = mirrored(m.node)
    a.stop()

    run = m.sync()

    assert run.code == 1
    (fallback,) = [w for w in said(run.err, "a") if "name did not resolve" in w]
    assert "its kept record (sequence 0, valid until " in fallback
    assert fallback.endswith(f"points to /ipfs/{a_root}; keeping what it last listed")
    assert mirrored(m.node) == held
    status = m.cli("status", "--config", str(m.config_path), "--json")
    record = next(p for p in status.json["peers"] if p["peer"] == "a")["record"]
    expires = datetime.fromisoformat(record["expires"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert (record["sequence"], record["value"]) == (0, f"/ipfs/{a_root}")
    assert record["put_at"] is None, "keep-alive off"
    text = m.cli("status", "--config", str(m.config_path)).out
    assert f"record: sequence 0, valid until {expires:%Y-%m-%d}" in text
    assert "name not resolved; keeping what its kept record lists" in text
