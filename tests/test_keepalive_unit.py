"""The keep-alive step (sync/keepalive.py) on two nodes: a peer's record kept, put back
when due, and no call between puts. The scenario with the publisher gone is in
test_keepalive.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ipfs_consortium.config import load_config
from ipfs_consortium.ipfs.kubo import KuboClient
from ipfs_consortium.state.store import StateDir
from ipfs_consortium.sync.keepalive import keep_alive
from tests.conftest import Member, Net
from tests.test_publish import write
from tests.test_sync import content


def _record(member: Member) -> Any:
    status = member.cli("status", "--config", str(member.config_path), "--json").json
    (peer,) = status["peers"]
    return peer["record"]


def test_a_sync_keeps_the_peers_record_and_puts_it_back_when_due(net: Net, member: Member) -> None:
    alice = net.node()
    alice.publish_json_dir({"a.json": content(alice, "a")}, lifetime="720h")
    member.configure([{"name": "alice", "ipns": alice.peer_id}], record_put_interval=0)

    run = member.sync()

    assert run.code == 0
    record = _record(member)
    assert record["sequence"] == 0 and record["error"] is None
    expires = datetime.fromisoformat(record["expires"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert record["value"].startswith("/ipfs/") and record["put_at"] is not None
    assert "peer alice: its IPNS record (sequence 0, valid until" in run.err
    assert "put back on the network" in run.err
    status = member.cli("status", "--config", str(member.config_path)).out
    assert "  record: sequence 0, valid until " in status and "put back 0s ago" in status


def test_a_name_that_does_not_resolve_falls_back_on_its_kept_record_in_the_log(
    net: Net, member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = net.node()
    alice.publish_json_dir({"a.json": content(alice, "a")}, lifetime="720h")
    member.configure([{"name": "alice", "ipns": alice.peer_id}])
    assert member.sync().code == 0
    config = load_config(member.config_path)
    store = StateDir(member.state_dir)
    known = store.snapshot(config)
    client = KuboClient.from_config(config)

    # As a run in which alice's name did not resolve.
    keep_alive(client, config, store, known, {}, datetime.now(UTC))

    assert client.calls == 0, "no put due: nothing asked of Kubo"
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "WARNING" in line]
    value = known.kept.peers["alice"].value if known.kept else None
    assert "peer alice: name did not resolve; its kept record (sequence 0, valid until " in line
    assert line.endswith(f") points to {value}; keeping what it last listed")


def test_a_no_op_sync_makes_no_record_call_until_a_put_is_due(
    net: Net, member: Member, tmp_path: Path
) -> None:
    alice = net.node()
    alice.publish_json_dir({"a.json": content(alice, "a")}, lifetime="720h")
    calls = {}
    for interval in (None, 43200, 0):
        state = tmp_path / f"state-{interval}"
        member.configure(
            [{"name": "alice", "ipns": alice.peer_id}],
            record_put_interval=interval, state_dir=str(state),
        )  # fmt: skip
        assert member.sync().code == 0
        calls[interval] = member.sync().json["rpc_calls"]

    assert calls[43200] == calls[None], "a record kept and not due costs no call"
    assert calls[0] == calls[43200] + 4, "a due put: name/get, name/inspect twice, name/put"


def test_kubo_reads_a_record_and_refuses_another_names(net: Net) -> None:
    alice, bob = net.node(), net.node()
    alice.publish_json_dir({"a.json": []}, lifetime="720h")
    client = KuboClient(bob.api, 5, 30, pool_size=2)
    record = client.name_get(alice.peer_id, 30)

    info = client.name_inspect(record, alice.peer_id)
    other = client.name_inspect(record, bob.peer_id)

    assert info.valid and info.sequence == 0 and info.value.startswith("/ipfs/")
    assert info.expires.tzinfo is not None and info.expires > datetime.now(UTC)
    assert not other.valid and "signature" in other.reason


def test_publish_signs_records_valid_for_record_lifetime(member: Member, tmp_path: Path) -> None:
    manifests = write(tmp_path / "mine", {"mine.json": []})
    client = KuboClient(member.node.api, 5, 30, pool_size=2)
    member.configure([], record_lifetime=2 * 86400)

    first = member.cli("publish", str(manifests), "--api", member.node.api)
    default = client.name_inspect(client.name_get(member.node.peer_id, 30), member.node.peer_id)
    write(manifests, {"other.json": []})
    second = member.cli("publish", str(manifests), "--config", str(member.config_path))
    configured = client.name_inspect(client.name_get(member.node.peer_id, 30), member.node.peer_id)

    assert (first.code, second.code) == (0, 0), first.err + second.err
    left = default.expires - datetime.now(UTC)
    assert timedelta(days=29) < left <= timedelta(days=30), "30 days without a config"
    left = configured.expires - datetime.now(UTC)
    assert timedelta(days=1) < left <= timedelta(days=2), "record_lifetime of the config"
