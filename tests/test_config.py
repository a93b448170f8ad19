"""config.json: the seed's format works unchanged; every mistake names its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfs_consortium.config import load_config, parse_config
from ipfs_consortium.errors import ConfigError

PEER = "12D3KooWF4tRBEbtyo8wfoJJgp25ykU5L9KD2wuFH5tKtjGTnwsH"
SEED_PEER = "QmP24Zx4uEh1ZhmPsERb4ZwBDVdXjHiFqRSkHyqeSJQEsW"
KEY = "k51qzi5uqu5di4l2pegqmry22ybm0tkyu3twdts62h8s3vu43ccijgx4oiap6s"
RAW_CID = "bafkreie5zkhkxqyz7uhq6puaqcbc7t5xdxk7u3bxbf3chjmw6y6awqx2ai"
DAG_PB_CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def test_the_seed_format_works_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"peers": [SEED_PEER]}))
    config = load_config(path)
    (peer,) = config.peers
    assert (peer.name, peer.ipns, peer.path) == (SEED_PEER, SEED_PEER, f"/ipns/{SEED_PEER}")
    assert config.api == "http://127.0.0.1:5001"
    assert (peer.max_pins, peer.max_bytes) == (10_000, None)


def test_every_optional_key() -> None:
    config = parse_config(
        {
            "peers": [
                f"/ipns/{KEY}",
                {"name": "bob", "ipns": PEER, "max_pins": 5},
                "docs.ipfs.tech",
            ],
            "api": "/ip4/127.0.0.1/tcp/5002",
            "concurrency": 8,
            "max_pins": 100,
            "max_bytes": 1000,
            "stall_timeout": 30,
            "state_dir": "/tmp/s",
            "metrics_file": "/tmp/m.prom",
        },
        "c.json",
    )
    assert config.api == "http://127.0.0.1:5002"
    assert [p.name for p in config.peers] == [KEY, "bob", "docs.ipfs.tech"]
    assert [p.max_pins for p in config.peers] == [100, 5, 100]
    assert config.peers[1].max_bytes == 1000
    assert config.stall_timeout == 30.0 and config.concurrency == 8
    assert str(config.metrics_file) == "/tmp/m.prom"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "c.json: must be a JSON object with a 'peers' key"),
        ({}, "key 'peers' is required"),
        ({"peers": [], "peer": []}, "unknown key 'peer'"),
        ({"peers": "x"}, "key 'peers' is required and must be a list"),
        ({"peers": ["not a name!"]}, "peers[0] 'not a name!' is not a peer ID, an IPNS key"),
        ({"peers": [42]}, "peers[0] must be an IPNS name or an object, not 42"),
        # Content CIDs reach Kubo as DNSLink names, and so DNS: refused before any call.
        ({"peers": [RAW_CID]}, "is a CID of raw content, not an IPNS key (libp2p-key)"),
        ({"peers": [f"/ipns/{DAG_PB_CID}"]}, "is a CID of dag-pb content, not an IPNS key"),
        ({"peers": [{"name": "x"}]}, "peers[0]: key 'ipns' is required"),
        ({"peers": [{"ipns": PEER, "quota": 1}]}, "peers[0]: unknown key 'quota'"),
        (
            {"peers": [{"ipns": PEER, "max_pins": "5"}]},
            "key 'max_pins' must be a whole number, not \"5\"",
        ),
        ({"peers": [{"ipns": PEER, "name": "a,b"}]}, "key 'name' may hold only"),
        ({"peers": [PEER, {"ipns": PEER, "name": "x"}]}, "peers[1] repeats"),
        ({"peers": [], "concurrency": 0}, "key 'concurrency' must be at least 1, not 0"),
        ({"peers": [], "concurrency": True}, "key 'concurrency' must be a whole number, not true"),
        (
            {"peers": [], "stall_timeout": -1},
            "key 'stall_timeout' must be a positive number of seconds",
        ),
        ({"peers": [], "api": "localhost:5001"}, "key 'api' is not an http(s)://host:port URL"),
        ({"peers": [], "state_dir": 3}, "key 'state_dir' must be a string, not 3"),
    ],
)
def test_mistakes_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        parse_config(data, "c.json")
    assert message in str(raised.value)


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(missing)
    bad = tmp_path / "bad.json"
    bad.write_text('{"peers": [\n  "x",\n')
    with pytest.raises(ConfigError, match=r"bad.json: not valid JSON at line 3 column 1"):
        load_config(bad)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="nested too deeply|must be a JSON object"):
        load_config(deep)
