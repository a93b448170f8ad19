"""Ordinary operator actions and odd peers never cost a pin: each test is one way the
consortium used to lose content without any fault, exit 0 and status "ok"."""

from __future__ import annotations

import pytest

from tests.conftest import Member, Net
from tests.kubonet import KuboNode
from tests.test_sync import content


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
    assert set(kept) <= set(member.node.recursive_pins())
    status = member.cli("status", "--config", str(member.config_path)).out
    assert "FAILING" in status and "not a directory of manifests" in status
