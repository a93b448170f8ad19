"""The sync's own RPC token (issue 22, item 6): allowed exactly the paths the client calls.

RPC_PATHS in ipfs_consortium.ipfs.kubo is the one list: the client refuses any other path, the
playbook gives the sync's token this list, and a token allowed only these runs a sync and a
publish that between them call every one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from ipfs_consortium.ipfs.kubo import RPC_PATHS, KuboClient
from tests.conftest import Member, Net
from tests.test_publish import write
from tests.test_sync import content

ROOT = Path(__file__).resolve().parent.parent
CLIENT = "ipfs-consortium-sync"


def _member_play_roles() -> dict[str, Any]:
    """The roles of member.yml's play that applies them (the one before it reads identities)."""
    plays = yaml.safe_load((ROOT / "playbooks" / "member.yml").read_text())
    (play,) = [play for play in plays if "roles" in play]
    return {entry["role"]: entry for entry in play["roles"]}


def test_the_playbook_gives_the_sync_token_exactly_rpc_paths() -> None:
    clients = _member_play_roles()["kubo"]["vars"]["kubo_api_clients"]
    defaults = yaml.safe_load((ROOT / "roles" / "consortium" / "defaults" / "main.yml").read_text())

    assert clients == {CLIENT: list(RPC_PATHS)}
    # The token file of that client (none where Kubo's API is on a socket, without tokens).
    assert f"~ '-{CLIENT}' }}}}" in defaults["consortium_api_auth_file"]


def test_the_client_refuses_a_path_outside_rpc_paths() -> None:
    client = KuboClient("http://127.0.0.1:9", 1, 1, pool_size=1)
    with pytest.raises(ValueError, match="/api/v0/config/show is not in RPC_PATHS"):
        client._post("config/show")
    assert client.calls == 0


def _publish_sub_path(node: Any, files: dict[str, list[str]]) -> None:
    """Publish /ipfs/<outer>/manifests: a name whose path goes on past its root CID."""
    parts = [
        ("file", ("outer", b"", "application/x-directory")),
        ("file", ("outer%2Fmanifests", b"", "application/x-directory")),
    ]
    for name, cids in files.items():
        body = json.dumps(cids).encode()
        parts.append(("file", (f"outer%2Fmanifests%2F{name}", body, "application/octet-stream")))
    entries = node.rpc("add", files=parts, pin=True)
    outer = next(e["Hash"] for e in entries if e["Name"] == "outer")
    node.rpc("name/publish", f"/ipfs/{outer}/manifests", allow_offline=True)


def test_a_token_allowed_only_rpc_paths_syncs_publishes_and_nothing_else(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "sync-t0ken"
    node = net.node({f"bearer:{token}": list(RPC_PATHS)})
    member = Member(node, tmp_path / "config.json", tmp_path / "state", capsys)
    secret = tmp_path / "api-auth"
    secret.write_text(f"bearer:{token}\n")
    called: set[str] = set()
    post = KuboClient._post

    def recording(self: KuboClient, command: str, *args: Any, **kwargs: Any) -> Any:
        called.add(f"/api/v0/{command}")
        return post(self, command, *args, **kwargs)

    monkeypatch.setattr(KuboClient, "_post", recording)
    alice = net.node()
    x, y = content(alice, "x", "y")
    _publish_sub_path(alice, {"a.json": [x, y]})
    # Every sync puts alice's record back: name/get, name/inspect and name/put.
    member.configure([{"name": "alice", "ipns": alice.peer_id}], release_after=0,
                     api_auth_file=str(secret), record_put_interval=0)  # fmt: skip

    first = member.sync()
    _publish_sub_path(alice, {"a.json": [y]})
    second = member.sync()
    published = [
        member.cli("publish", str(write(tmp_path / "mine", {"mine.json": cids})),
                   "--config", str(member.config_path), "--json")
        for cids in ([x], [y])
    ]  # fmt: skip

    # Alice mirrors what the member published, and her report says so: the member's
    # check of her copy is the last kind of call.
    mirror = Member(alice, tmp_path / "alice.json", tmp_path / "alice-state", capsys)
    mirror.configure([{"name": "member", "ipns": node.peer_id}])
    assert mirror.sync().code == 0
    report = alice.rpc("key/list")["Keys"]
    member.configure([{"name": "alice", "ipns": alice.peer_id, "report": next(
        k["Id"] for k in report if k["Name"] == "ipfs-consortium-report")}],
        release_after=0, api_auth_file=str(secret))  # fmt: skip
    checked = member.cli("verify", "--config", str(member.config_path), "--json")

    assert (first.code, second.code) == (0, 0), first.err + second.err
    assert x not in node.recursive_pins() and y in node.recursive_pins()
    assert [run.code for run in published] == [0, 0], [run.err for run in published]
    assert checked.json["members"]["alice"]["result"] == "verified", checked.out + checked.err
    assert called == set(RPC_PATHS), "every path of the list is used, and none other"
    headers = {"Authorization": f"Bearer {token}"}
    answers = {
        path: requests.post(f"{node.api}{path}", headers=headers, timeout=10).status_code
        for path in ["/api/v0/config/show", "/api/v0/key/export?arg=self", "/api/v0/pin/ls"]
    }
    assert answers == {
        "/api/v0/config/show": 403, "/api/v0/key/export?arg=self": 403, "/api/v0/pin/ls": 200,
    }  # fmt: skip
