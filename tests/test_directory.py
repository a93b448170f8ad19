"""The consortium directory's keys of config.json and its document, offline: what goes in,
what is refused, and the line the existing members paste (tests/test_join.py runs
``invite`` and ``join`` against real Kubo)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipfs_consortium.config import parse_config
from ipfs_consortium.directory import FORMAT, build_directory, member_entry, parse_directory
from ipfs_consortium.errors import ConfigError, DirectoryError
from ipfs_consortium.join import inventory_line
from tests.test_config import KEY, PEER, RAW_CID

ADDR = "/ip4/203.0.113.10/tcp/4001"


def test_a_member_says_its_name_and_addresses_and_where_the_directory_goes() -> None:
    config = parse_config(
        {
            "peers": [{"name": "bob", "ipns": PEER, "addrs": ["/dns4/b.example.org/tcp/4001"]}],
            "name": "alice",
            "addrs": [ADDR, "/ip6/2001:db8::1/udp/4001/quic-v1", "/dns/a.example.org/tcp/1"],
            "directory_key": "consortium-a",
        },
        "c.json",
    )
    defaults = parse_config({"peers": []}, "c.json")

    assert config.name == "alice" and config.directory_key == "consortium-a"
    assert config.addrs == (ADDR, "/ip6/2001:db8::1/udp/4001/quic-v1", "/dns/a.example.org/tcp/1")
    assert config.peers[0].addrs == ("/dns4/b.example.org/tcp/4001",)
    assert (defaults.name, defaults.addrs, defaults.directory_key) == (
        None, (), "ipfs-consortium-directory",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "a b"}, "key 'name' may hold only letters, digits"),
        ({"name": 7}, "key 'name' may hold only"),
        ({"addrs": ADDR}, "key 'addrs' must be a list of swarm addresses"),
        ({"addrs": [f"{ADDR}/p2p/{PEER}"]}, "is not a swarm address like"),
        ({"addrs": ["/ip4/203.0.113.10/udp/4001"]}, "is not a swarm address like"),
        ({"addrs": ["/ip4/203.0.113/tcp/4001"]}, "names '203.0.113', which is not an ip4 host"),
        ({"addrs": ["/ip6/203.0.113.10/tcp/4001"]}, "which is not an ip6 host"),
        ({"addrs": ["/dns4/not a host/tcp/4001"]}, "which is not an dns4 host"),
        ({"addrs": ["/ip4/203.0.113.10/tcp/0"]}, "names port 0, outside 1-65535"),
        ({"peers": [{"ipns": PEER, "addrs": ["x"]}]}, "peers[0]: key 'addrs' 'x' is not a"),
        ({"directory_key": "a/b"}, "key 'directory_key' 'a/b' is not a Kubo key name"),
    ],
)
def test_a_bad_name_or_address_is_refused_naming_the_key(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"peers": []} | data, "c.json")
    assert message in str(raised.value)


def test_the_directory_lists_the_member_then_its_peers_and_nothing_else(tmp_path: Path) -> None:
    secret = tmp_path / "api-auth"
    secret.write_text("bearer:s3cret-t0ken\n")
    config = parse_config(
        {
            "peers": [{"name": "bob", "ipns": PEER, "report": KEY, "max_pins": 5,
                       "addrs": ["/dns4/b.example.org/tcp/4001"]}],
            "api": "http://127.0.0.1:5009", "api_auth_file": str(secret),
            "state_dir": str(tmp_path / "private-state"), "consortium": "c1", "max_bytes": None,
        },
        "c.json",
    )  # fmt: skip
    me = member_entry("alice", KEY, None, (ADDR,), PEER)

    document = build_directory(config, me)
    text = json.dumps(document)
    read = parse_directory(text.encode(), "/ipns/k51dir")

    assert document == {
        "format": FORMAT, "consortium": "c1", "max_pins": 10000, "max_bytes": None,
        "members": [
            # alice publishes under her node's key in its k51 spelling: no peer_id needed.
            {"name": "alice", "ipns": KEY, "addrs": [ADDR]},
            {"name": "bob", "ipns": PEER, "report": PEER,
             "addrs": ["/dns4/b.example.org/tcp/4001"], "max_pins": 5, "max_bytes": None},
        ],
    }  # fmt: skip
    for private in ("5009", "api-auth", "s3cret", "private-state"):
        assert private not in text
    assert (read.consortium, read.max_pins, read.max_bytes) == ("c1", 10000, None)
    assert [(p.name, p.peer_id, p.max_pins, p.addrs) for p in read.members] == [
        ("alice", PEER, 10000, (ADDR,)), ("bob", PEER, 5, ("/dns4/b.example.org/tcp/4001",)),
    ]  # fmt: skip
    assert read.entries == tuple(document["members"])


def _document(**changes: Any) -> bytes:
    document = {"format": FORMAT, "consortium": "default", "members": [{"ipns": PEER}]}
    return json.dumps(document | changes).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "/ipns/x: not valid JSON at line 1 column 2"),
        (b"[]", "/ipns/x: not a consortium directory (not a JSON object)"),
        (_document(format="ipfs-consortium-directory/2"), '(format "ipfs-consortium-directory/2"'),
        (json.dumps({"peers": []}).encode(), "(format null, expected"),
        (_document(swarm_key="x"), "/ipns/x: unknown key 'swarm_key'"),
        (_document(members={}), "key 'members' must be a list of objects"),
        (_document(members=[PEER]), "key 'members' must be a list of objects"),
        (_document(members=[{"ipns": RAW_CID}]), "members[0]: key 'ipns' is a CID of raw content"),
        (_document(members=[{"ipns": PEER}, {"ipns": KEY, "name": PEER}]), "members[1] repeats"),
        (_document(members=[{"ipns": PEER, "api": "x"}]), "members[0]: unknown key 'api'"),
        (_document(consortium="a b"), "key 'consortium' may hold only"),
        (_document(max_pins=-1), "key 'max_pins' must be at least 0"),
    ],
)
def test_a_bad_document_is_one_error_naming_the_name_and_the_fix(raw: bytes, message: str) -> None:
    with pytest.raises(DirectoryError) as raised:
        parse_directory(raw, "/ipns/x")
    assert message in str(raised.value)
    assert str(raised.value).endswith(
        "; ask a member for the name `ipfs-consortium invite` printed"
    )


@pytest.mark.parametrize("name", ["dave", "yes", "null", "1.5", "0x1f", "1e3", "-", ".inf"])
def test_the_inventory_line_reads_back_as_the_peer_entry(name: str) -> None:
    entry = member_entry(name, PEER, KEY, (ADDR, "/dns4/d.example.org/udp/4001/quic-v1"), None)

    line = inventory_line(entry)

    assert yaml.safe_load(line) == [entry]
    assert line.startswith(f"- {{name: {name}, ") == (name == "dave")
