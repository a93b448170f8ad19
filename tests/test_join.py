"""Joining in one step (issue 29), against real Kubo daemons: three members, each with
content and the others as peers; one publishes the consortium directory (``invite``); a
fourth node that knows nobody joins with one command and holds everyone's content after
one sync, and the line it prints takes it in at a member.

One consortium serves every test of the module (four daemons are dear on a small
machine): each test writes its own config.json and state directory, and none changes
what the others read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from harness.kubonet import KuboNode, Net
from ipfs_consortium.config import load_config, node_of
from ipfs_consortium.directory import Invitation, invite
from ipfs_consortium.ipfs.kubo import KuboClient
from tests.conftest import REPORT_KEY, Run, mirrored, run_cli
from tests.test_sync import content

NAMES = ("alice", "bob", "carol")


@dataclass
class Founder:
    name: str
    node: KuboNode
    report: str
    cids: list[str]
    config: Path

    @property
    def addr(self) -> str:
        """The swarm address the others dial, without /p2p."""
        return self.node.swarm_addr().split("/p2p/")[0]

    def peer(self) -> dict[str, Any]:
        return {
            "name": self.name, "ipns": self.node.peer_id, "report": self.report,
            "addrs": [self.addr],
        }  # fmt: skip

    def listed(self) -> dict[str, Any]:
        """How a member's directory lists this one as its peer: config.py holds a
        report's name as the peer ID of its key, and quotas are said."""
        quotas = {"max_pins": 10000, "max_bytes": 10737418240}
        return self.peer() | {"report": node_of(self.report)} | quotas

    def settings(self, home: Path) -> dict[str, Any]:
        """What a member's config says beside its peers, with ``home`` its own."""
        return {
            "api": self.node.api, "gateway": self.node.gateway, "state_dir": str(home / "state"),
            "resolve_timeout": 10, "name": self.name, "addrs": [self.addr],
        }  # fmt: skip


@dataclass
class Consortium:
    net: Net
    founders: list[Founder]
    # The fourth node: in the private network, connected to nobody before it joins.
    dave: KuboNode
    invitation: Invitation

    @property
    def alice(self) -> Founder:
        return self.founders[0]

    def via(self) -> str:
        return f"{self.alice.addr}/p2p/{self.alice.node.peer_id}"


@pytest.fixture(scope="module")
def consortium(kubo_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("join")
    net = Net(kubo_bin, root / "kubo")
    try:
        founders = []
        for name in NAMES:
            node = net.node(name=name)
            cids = content(node, *(f"{name} {i}" for i in range(3)))
            node.publish_json_dir({"files.json": cids})
            report = node.new_key(REPORT_KEY)
            founders.append(Founder(name, node, report, cids, root / f"{name}.json"))
        for founder in founders:
            peers = [other.peer() for other in founders if other is not founder]
            settings = founder.settings(root / founder.name)
            founder.config.write_text(json.dumps({"peers": peers} | settings))
        # Not net.node(): that one would be connected to every node already.
        dave = KuboNode(net.binary, root / "kubo" / "dave", net.key)
        net.nodes.append(dave)
        dave.start()
        config = load_config(founders[0].config)
        client = KuboClient.from_config(config)
        try:
            invitation = invite(client, config)
        finally:
            client.close()
        yield Consortium(net, founders, dave, invitation)
    finally:
        net.close()


def join(capsys: pytest.CaptureFixture[str], c: Consortium, config: Path, *args: str) -> Run:
    return run_cli(
        capsys, "join", c.invitation.path, "--via", c.via(), "--config", str(config),
        "--api", c.dave.api, *args,
    )  # fmt: skip


def test_invite_prints_the_join_command_and_a_second_run_is_unchanged(
    consortium: Consortium, capsys: pytest.CaptureFixture[str]
) -> None:
    c = consortium
    again = run_cli(capsys, "invite", "--config", str(c.alice.config))
    as_json = run_cli(capsys, "invite", "--config", str(c.alice.config), "--json")

    assert c.invitation.changed
    assert c.invitation.join == f"ipfs-consortium join {c.invitation.path} --via {c.via()}"
    assert (again.code, again.err) == (0, "")
    assert again.out.splitlines() == [
        f"Unchanged: already published the consortium directory as {c.invitation.path}",
        "A new member joins with:",
        f"  {c.invitation.join}",
    ]
    assert as_json.json == {
        "name": c.invitation.name, "path": c.invitation.path, "cid": c.invitation.cid,
        "changed": False, "join": c.invitation.join,
    }  # fmt: skip
    document = _cat(c.alice.node, c.invitation.cid)
    alice, bob, carol = c.founders
    assert document == {
        "format": "ipfs-consortium-directory/1", "consortium": "default",
        "max_pins": 10000, "max_bytes": 10737418240,
        "members": [alice.peer(), bob.listed(), carol.listed()],
    }  # fmt: skip


def _cat(node: KuboNode, cid: str) -> Any:
    """The JSON document ``cid`` holds (``cat`` answers bytes, not JSON lines)."""
    response = requests.post(f"{node.api}/api/v0/cat", params={"arg": cid}, timeout=30)
    response.raise_for_status()
    return response.json()


def test_a_fresh_node_joins_with_one_command_and_holds_everyones_content_after_one_sync(
    consortium: Consortium, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    c = consortium
    config = tmp_path / "dave.json"
    dave_addr = c.dave.swarm_addr().split("/p2p/")[0]

    joined = join(capsys, c, config, "--name", "dave", "--addr", dave_addr)
    synced = run_cli(capsys, "sync", "--config", str(config), "--state-dir",
                     str(tmp_path / "state"), "--json")  # fmt: skip

    assert joined.code == 0, joined.err
    lines = joined.out.splitlines()
    assert lines[:2] == [
        f'Joined consortium "default": added alice, bob, carol to {config}; peering with 3 nodes',
        f"Next: ipfs-consortium sync --config {config}",
    ]
    written = json.loads(config.read_text())
    assert written == {
        "consortium": "default", "name": "dave", "addrs": [dave_addr], "api": c.dave.api,
        "max_pins": 10000, "max_bytes": 10737418240,
        "peers": [c.alice.peer()] + [f.listed() for f in c.founders[1:]],
    }  # fmt: skip
    assert synced.code == 0, synced.err
    held = mirrored(c.dave)
    assert {cid for f in c.founders for cid in f.cids} <= set(held)
    # Peering kept over a restart: in Kubo's config, every member with its address.
    peering = c.dave.rpc("config", "Peering.Peers")["Value"]
    assert {(p["ID"], tuple(p["Addrs"])) for p in peering} == {
        (f.node.peer_id, (f.addr,)) for f in c.founders
    }

    # The existing members take the newcomer in with the line it printed.
    inventory = yaml.safe_load(
        lines[
            lines.index("For the existing members, one line in their inventory's consortium_peers:")
            + 1
        ]
    )
    entry = json.loads(lines[-1])  # fmt: skip
    report = next(k["Id"] for k in c.dave.rpc("key/list")["Keys"] if k["Name"] == REPORT_KEY)
    assert entry == {"name": "dave", "ipns": c.dave.peer_id, "report": report,
                     "addrs": [dave_addr]}  # fmt: skip
    assert inventory == [entry]
    dave_cids = content(c.dave, "dave 1", "dave 2")
    c.dave.publish_json_dir({"files.json": dave_cids})
    alice = c.alice
    alice_config = json.loads(alice.config.read_text())
    alice_config["peers"].append(entry)
    alice_config["state_dir"] = str(tmp_path / "alice-state")
    (tmp_path / "alice.json").write_text(json.dumps(alice_config))
    taken_in = run_cli(capsys, "sync", "--config", str(tmp_path / "alice.json"), "--json")
    assert taken_in.code == 0, taken_in.err
    assert set(dave_cids) <= set(mirrored(alice.node))
