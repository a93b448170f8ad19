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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from harness.kubonet import KuboNode, Net
from ipfs_consortium.config import load_config, node_of
from ipfs_consortium.directory import DIRECTORY_PIN, MAX_DIRECTORY_BYTES, Invitation, invite
from ipfs_consortium.ipfs.kubo import ADMIN_PATHS, RPC_PATHS, KuboClient
from tests.conftest import REPORT_KEY, Run, mirrored, run_cli
from tests.test_sync import content

NAMES = ("alice", "bob", "carol")
# The sync's token: allowed RPC_PATHS, and so invite, never join's ADMIN_PATHS.
SYNC_TOKEN = {"bearer:sync-t0ken": list(RPC_PATHS)}


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
            # Alice's API takes the sync's token, with which she runs invite as the sync.
            node = net.node(SYNC_TOKEN if name == "alice" else None, name=name)
            cids = content(node, *(f"{name} {i}" for i in range(3)))
            node.publish_json_dir({"files.json": cids})
            report = node.new_key(REPORT_KEY)
            founders.append(Founder(name, node, report, cids, root / f"{name}.json"))
        for founder in founders:
            peers = [other.peer() for other in founders if other is not founder]
            settings = founder.settings(root / founder.name)
            founder.config.write_text(json.dumps({"peers": peers} | settings))
        secret = root / "alice-api-auth"
        secret.write_text(next(iter(SYNC_TOKEN)))
        alice_config = json.loads(founders[0].config.read_text())
        founders[0].config.write_text(json.dumps(alice_config | {"api_auth_file": str(secret)}))
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


def join(
    capsys: pytest.CaptureFixture[str],
    c: Consortium,
    config: Path,
    *args: str,
    name: str | None = None,
    via: str | None = None,
    api: str | None = None,
) -> Run:
    """``join`` on the fourth node: the directory alice published, reached through her,
    unless a test says otherwise."""
    return run_cli(
        capsys, "join", name or c.invitation.path, "--via", via or c.via(),
        "--config", str(config), "--api", api or c.dave.api, *args,
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
    refused = {
        path: requests.post(
            f"{c.alice.node.api}{path}", headers={"Authorization": "Bearer sync-t0ken"}, timeout=10
        ).status_code
        for path in ADMIN_PATHS
    }
    assert refused == dict.fromkeys(ADMIN_PATHS, 403)
    alice, bob, carol = c.founders
    assert document == {
        "format": "ipfs-consortium-directory/1", "consortium": "default",
        "max_pins": 10000, "max_bytes": 10737418240,
        "members": [alice.peer(), bob.listed(), carol.listed()],
    }  # fmt: skip


def _cat(node: KuboNode, cid: str) -> Any:
    """The JSON document ``cid`` holds (``cat`` answers bytes, not JSON lines)."""
    response = requests.post(
        f"{node.api}/api/v0/cat", params={"arg": cid}, headers=node.headers, timeout=30
    )
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
    # Her syncs keep the directory she published: its pin is none of the consortium's.
    assert alice.node.recursive_pins()[c.invitation.cid] == DIRECTORY_PIN


def test_join_adds_to_an_existing_config_only_the_members_it_lacks(
    consortium: Consortium, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    c = consortium
    alice, bob, carol = c.founders
    alice_k51 = next(k["Id"] for k in alice.node.rpc("key/list")["Keys"] if k["Name"] == "self")
    existing = {
        # Alice under another spelling of her name: still the same member.
        "peers": [{"name": "erin", "ipns": "example.org"}, {"name": "a", "ipns": alice_k51}],
        "max_pins": 5, "release_after": 0, "report_key": None, "name": "dave",
        "api": c.dave.api,
    }  # fmt: skip
    config = tmp_path / "config.json"
    config.write_text(json.dumps(existing))
    config.chmod(0o640)

    joined = join(capsys, c, config, "--name", "dave", "--json")

    assert joined.code == 0, joined.err
    written = json.loads(config.read_text())
    assert written == existing | {"peers": existing["peers"] + [bob.listed(), carol.listed()]}
    assert joined.json["config"] == written
    assert joined.json["added"] == ["bob", "carol"]
    assert config.stat().st_mode & 0o777 == 0o640
    # report_key null: the line for the others names no report.
    assert joined.json["peer_entry"] == {"name": "dave", "ipns": c.dave.peer_id, "addrs": []}


def test_a_dry_run_reads_the_directory_and_changes_nothing(
    consortium: Consortium, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    c = consortium
    config = tmp_path / "config.json"
    existing = json.dumps({"peers": [], "report_key": "dry-run-report"})
    config.write_text(existing)
    peering = c.dave.rpc("config", "Peering.Peers")["Value"]

    text = join(capsys, c, config, "--dry-run")
    as_json = join(capsys, c, config, "--dry-run", "--json")

    assert (text.code, as_json.code) == (0, 0), text.err + as_json.err
    assert text.out.splitlines()[:2] == [
        "Dry run: connected to --via to read the directory; wrote nothing, added no peering, "
        "made no key.",
        f"Would add alice, bob, carol to {config}, which would read:",
    ]
    assert as_json.json["added"] == ["alice", "bob", "carol"]
    assert [p["name"] for p in as_json.json["config"]["peers"]] == ["alice", "bob", "carol"]
    assert config.read_text() == existing
    assert c.dave.rpc("config", "Peering.Peers")["Value"] == peering
    assert "dry-run-report" not in {k["Name"] for k in c.dave.rpc("key/list")["Keys"]}


# A peer ID of no node here (a node connected already would need no dial).
NOBODY = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
# Each refusal: the config.json there before (None: none), join's options (of the
# consortium), the exit code and what its one line says.
REFUSALS: dict[str, tuple[Any, Callable[[Consortium], dict[str, str]], int, str]] = {
    "another consortium": (
        {"peers": [], "consortium": "other"}, lambda c: {}, 2,
        "is a config of consortium 'other', the directory one of 'default'; nothing written",
    ),
    "a name taken": (
        {"peers": [{"name": "bob", "ipns": "example.org"}]}, lambda c: {}, 2,
        "names example.org 'bob', the directory names",
    ),
    "a member's name for this one": (
        {"peers": [], "name": "bob"}, lambda c: {}, 2,
        "is another member's in the directory; nothing written: choose another with --name",
    ),
    "a member's manifests": (
        None, lambda c: {"name": f"/ipns/{c.founders[1].node.peer_id}"}, 2,
        "is a directory (a member's manifests?), not a consortium directory",
    ),
    "a file too large": (
        None, lambda c: {"name": f"/ipfs/{c.alice.node.add(bytes(MAX_DIRECTORY_BYTES + 1))}"}, 2,
        f"over {MAX_DIRECTORY_BYTES} bytes, too large for a consortium directory",
    ),
    "a name that does not resolve": (
        {"peers": [], "resolve_timeout": 2}, lambda c: {"name": NOBODY}, 1,
        f"{NOBODY} did not resolve (Kubo name/resolve: could not resolve name); check the name",
    ),
    "a silent --via": (
        None, lambda c: {"via": f"/ip4/127.0.0.1/tcp/9/p2p/{NOBODY}"}, 1, "did not answer"
    ),
    "a --via without a peer ID": (
        None, lambda c: {"via": "/ip4/127.0.0.1/tcp/9"}, 2,
        "has no /p2p/<peer ID> part; give a member's",
    ),
    "Kubo down": (None, lambda c: {"api": "http://127.0.0.1:9"}, 3, "unreachable"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS)
def test_join_refuses_with_one_line_and_writes_nothing(
    consortium: Consortium, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    before, options, code, said = REFUSALS[case]
    config = tmp_path / "config.json"
    if before is not None:
        config.write_text(json.dumps(before))

    run = join(capsys, consortium, config, **options(consortium))

    assert run.code == code, run.err
    assert len(run.err.splitlines()) == 1 and said in run.err, run.err
    assert run.out == ""
    assert config.read_text() == json.dumps(before) if before is not None else not config.exists()


def test_join_sends_the_admin_secret_of_a_kubo_that_demands_one(
    consortium: Consortium, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """On alice's node, whose API takes tokens: join's calls need its admin secret, and
    the sync's is refused them in one line."""
    c = consortium
    bob = c.founders[1]
    admin = tmp_path / "admin-auth"
    admin.write_text("bearer:" + c.alice.node.headers["Authorization"].removeprefix("Bearer "))
    sync = tmp_path / "sync-auth"
    sync.write_text(next(iter(SYNC_TOKEN)))
    via = f"{bob.addr}/p2p/{bob.node.peer_id}"
    config = tmp_path / "config.json"

    runs = [
        join(capsys, c, config, "--dry-run", "--json", "--api-auth-file", str(secret),
             api=c.alice.node.api, via=via)
        for secret in (admin, sync)
    ]  # fmt: skip

    assert runs[0].code == 0, runs[0].err
    assert runs[0].json["added"] == ["bob", "carol"]
    assert "api_auth_file" not in runs[0].json["config"]
    assert runs[1].code == 2 and len(runs[1].err.splitlines()) == 1, runs[1].err
    assert f"refused swarm/connect (HTTP 403) with the secret in {sync}" in runs[1].err
    assert not config.exists()
