"""config.json: the seed's format works unchanged; every mistake names its key."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ipfs_consortium.cli import main
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
    assert (peer.max_pins, peer.max_bytes) == (10_000, 10 * 1024**3)


def test_every_optional_key() -> None:
    config = parse_config(
        {
            "peers": [
                f"/ipns/{KEY}",
                {"name": "bob", "ipns": PEER, "max_pins": 5},
                "docs.ipfs.tech",
                {"name": "carol", "ipns": "carol.example.org", "peer_id": f"/ipns/{PEER}"},
                {"name": "dave", "ipns": SEED_PEER, "peer_id": None},
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
    assert [p.name for p in config.peers] == [KEY, "bob", "docs.ipfs.tech", "carol", "dave"]
    assert [p.max_pins for p in config.peers] == [100, 5, 100, 100, 100]
    # A key's node is known (KEY is PEER's key: `ipfs cid format -f %M -b base58btc` of it
    # is PEER), a DNSLink name's is not.
    assert [p.peer_id for p in config.peers] == [PEER, PEER, None, PEER, None]
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
        (
            {"peers": [{"ipns": PEER, "peer_id": "example.org"}]},
            "key 'peer_id' 'example.org' is a DNSLink domain, not a peer ID",
        ),
        ({"peers": [{"ipns": PEER, "peer_id": 7}]}, "key 'peer_id' must be a string, not 7"),
        ({"peers": [PEER, {"ipns": PEER, "name": "x"}]}, "peers[1] repeats"),
        ({"peers": [], "concurrency": 0}, "key 'concurrency' must be at least 1, not 0"),
        ({"peers": [], "concurrency": True}, "key 'concurrency' must be a whole number, not true"),
        (
            {"peers": [], "stall_timeout": -1},
            "key 'stall_timeout' must be a positive number of seconds",
        ),
        (
            {"peers": [], "api": "localhost:5001"},
            "key 'api' 'localhost:5001' is not an http(s)://host:port URL",
        ),
        ({"peers": [], "state_dir": 3}, "key 'state_dir' must be a string, not 3"),
        ({"peers": [], "record_lifetime": 86399}, "key 'record_lifetime' must be at least 86400"),
        (
            {"peers": [], "record_lifetime": 31536001},
            "key 'record_lifetime' must be seconds from 86400 (a day) to 31536000 (a year)",
        ),
        ({"peers": [], "record_lifetime": None}, "key 'record_lifetime' must be a whole number"),
        (
            {"peers": [], "record_put_interval": 86401},
            "key 'record_put_interval' must be seconds from 0 (every sync) to 86400 (a day)",
        ),
        ({"peers": [], "record_put_interval": -1}, "key 'record_put_interval' must be at least 0"),
        ({"peers": [], "record_put_interval": 1.5}, "'record_put_interval' must be a whole number"),
    ],
)
def test_mistakes_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        parse_config(data, "c.json")
    assert message in str(raised.value)


def test_records_are_valid_30_days_and_put_back_every_12_hours_by_default() -> None:
    config = parse_config({"peers": []}, "c.json")
    assert (config.record_lifetime, config.record_put_interval) == (30 * 86400, 12 * 3600)
    off = parse_config({"peers": [], "record_put_interval": None, "record_lifetime": 86400}, "c")
    assert (off.record_lifetime, off.record_put_interval) == (86400, None)
    assert parse_config({"peers": [], "record_put_interval": 0}, "c").record_put_interval == 0


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


@pytest.mark.parametrize(
    ("secret", "header"),
    [
        ("bearer:t0k3n\n", "Bearer t0k3n"),
        ("basic:ops:pa:ss", "Basic " + base64.b64encode(b"ops:pa:ss").decode()),
    ],
)
def test_api_auth_file_in_kubos_spelling(tmp_path: Path, secret: str, header: str) -> None:
    auth = tmp_path / "kubo-api.auth"
    auth.write_text(secret)
    config = parse_config({"peers": [], "api_auth_file": str(auth)}, "c.json")
    assert config.api_auth is not None and config.api_auth.header == header
    assert "t0k3n" not in repr(config) and "pa:ss" not in repr(config)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "no such file"),
        ("t0k3n", "holds neither 'bearer:<token>' nor 'basic:<user>:<password>'"),
        ("bearer:", "holds neither"),
        ("bearer:t0k3n with spaces", "holds neither"),
        ("basic:t0k3n", "holds neither"),
        ("bearer:t0k3n\u00e9", "holds neither"),
    ],
)
def test_a_bad_api_auth_file_names_the_file_not_the_secret(
    tmp_path: Path, secret: str | None, problem: str
) -> None:
    auth = tmp_path / "kubo-api.auth"
    if secret is not None:
        auth.write_text(secret)
    with pytest.raises(ConfigError) as raised:
        parse_config({"peers": [], "api_auth_file": str(auth)}, "c.json")
    assert f"c.json: key 'api_auth_file' names {auth}: {problem}" in str(raised.value)
    assert "t0k3n" not in str(raised.value)


def check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_config_is_offline_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = tmp_path / "kubo-api.auth"
    auth.write_text("bearer:t0k3n")
    state = tmp_path / "no" / "state"
    path = tmp_path / "config.json"
    # Port 9 on loopback is closed: a check that called Kubo would fail.
    settings = {"api": "http://127.0.0.1:9", "state_dir": str(state), "api_auth_file": str(auth)}
    path.write_text(json.dumps({"peers": [PEER, KEY], **settings}))

    assert check_config(path, capsys) == (0, f"{path}: valid (2 peers)\n", "")
    assert not state.parent.exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"concurrency": 0}, "key 'concurrency' must be at least 1, not 0"),
        ({"concurency": 8}, "unknown key 'concurency'"),
        ({"api": "localhost:5001"}, "key 'api' 'localhost:5001' is not an http(s)://host:port URL"),
        ({"api_auth_file": "/nonexistent/kubo-api.auth"}, "no such file"),
        ({"api_auth_file": "/"}, "key 'api_auth_file' names /: cannot be read (Is a directory)"),
        ({"state_dir": "/var/lib/\u0000"}, "key 'state_dir' holds a NUL character"),
    ],
)
def test_check_config_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: dict[str, object], message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"peers": [PEER], **settings}))

    code, out, err = check_config(path, capsys)

    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert f"{path}: " in line and message in line


def _cluster(tmp_path: Path, **pinning: object) -> dict[str, object]:
    auth = tmp_path / "cluster-api-auth"
    auth.write_text("consortium:s3cret\n")
    return {
        "cluster_api": "http://127.0.0.1:9094",
        "auth_file": str(auth),
        "replication_min": 2,
        "replication_max": 3,
    } | pinning


def test_pins_go_to_a_cluster_without_a_byte_quota(tmp_path: Path) -> None:
    config = parse_config(
        {"peers": [PEER, {"ipns": KEY, "max_bytes": None}], "pinning": _cluster(tmp_path)},
        "c.json",
    )
    assert config.pinning is not None
    assert (config.pinning.api, config.pinning.replication_min) == ("http://127.0.0.1:9094", 2)
    assert config.pinning.auth.header == "Basic " + base64.b64encode(b"consortium:s3cret").decode()
    assert "s3cret" not in repr(config)
    # The default quota of bytes becomes none: the cluster fetches out of the sync's sight.
    assert [p.max_bytes for p in config.peers] == [None, None]
    assert parse_config({"peers": [PEER]}, "c.json").pinning is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_bytes": 1000}, "c.json: key 'max_bytes' cannot be enforced with pinning"),
        (
            {"peers": [{"ipns": PEER, "max_bytes": 5}]},
            "c.json: peers[0]: key 'max_bytes' cannot be enforced with pinning",
        ),
        ({"pinning": {"auth_file": None}}, "pinning: key 'auth_file' is required"),
        ({"pinning": "yes"}, "key 'pinning' must be an object"),
        (
            {"pinning": {"cluster_api": "http://10.0.0.5:9094"}},
            "pinning: key 'cluster_api' 'http://10.0.0.5:9094' must be a loopback",
        ),
        (
            {"pinning": {"replication_min": 3, "replication_max": 2}},
            "replication_min (3) and replication_max (2) must be whole numbers with 1 <= min",
        ),
        ({"pinning": {"replication_min": -1}}, "or both -1 (every node)"),
        ({"pinning": {"auth_file": "/nonexistent"}}, "key 'auth_file' names /nonexistent: no such"),
        ({"pinning": {"workers": 2}}, "pinning: unknown key 'workers'"),
    ],
)
def test_a_cluster_setting_that_cannot_work_is_refused(
    tmp_path: Path, data: dict[str, object], message: str
) -> None:
    pinning = data.pop("pinning", {})
    if isinstance(pinning, dict):
        # Each case changes a working setting; None takes a key out.
        merged = _cluster(tmp_path, **pinning)
        pinning = {key: value for key, value in merged.items() if value is not None}
    document = {"peers": [PEER], "pinning": pinning} | data
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "c.json")
    assert message in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_kubos_api_on_a_unix_socket(tmp_path: Path) -> None:
    config = parse_config({"peers": [], "api": "/unix/run/ipfs-api/api.sock"}, "c.json")
    assert config.api == "/unix/run/ipfs-api/api.sock"
    with pytest.raises(ConfigError, match="is not a /unix/<absolute path> multiaddr"):
        parse_config({"peers": [], "api": "/unix/"}, "c.json")
