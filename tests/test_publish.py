"""publish: the other half of the seed, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net


def write(directory: Path, files: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (directory / name).write_text(value if isinstance(value, str) else json.dumps(value))
    return directory


def test_publish_then_unchanged_then_a_peer_syncs_it(
    net: Net, member: Member, tmp_path: Path
) -> None:
    cid = parse_cid(member.node.add(b"published content"))
    manifests = write(tmp_path / "manifests", {"mine.json": [cid], "README.txt": "notes"})

    first = member.cli("publish", str(manifests), "--api", member.node.api, "--json")
    again = member.cli("publish", str(manifests), "--api", member.node.api, "--json")

    assert first.code == 0, first.err
    assert first.json["changed"] is True and again.json["changed"] is False
    assert first.json["root"] == again.json["root"] and first.json["manifests"] == 1
    name = first.json["name"]
    assert member.node.rpc("name/resolve", f"/ipns/{name}")["Path"] == f"/ipfs/{first.json['root']}"

    other = net.node()
    config = tmp_path / "other.json"
    config.write_text(
        json.dumps({"peers": [name], "api": other.api, "state_dir": str(tmp_path / "s")})
    )
    env = {**os.environ, "IPFS_CONSORTIUM_CONFIG": str(config)}
    sync = subprocess.run(
        [sys.executable, "-m", "ipfs_consortium", "sync"], env=env, capture_output=True, text=True
    )
    assert sync.returncode == 0, sync.stderr
    assert cid in other.recursive_pins()


def test_republishing_releases_the_old_published_root(member: Member, tmp_path: Path) -> None:
    manifests = write(tmp_path / "m", {"a.json": [parse_cid(member.node.add(b"0"))]})
    old = member.cli("publish", str(manifests), "--api", member.node.api, "--json").json["root"]
    # Several rounds: a publish that closed Kubo's add answer early lost the new root's
    # pin now and then (Kubo pins after streaming the root's entry).
    for step in range(1, 9):
        write(manifests, {"a.json": [parse_cid(member.node.add(str(step).encode()))]})
        new = member.cli("publish", str(manifests), "--api", member.node.api, "--json").json
        pins = member.node.recursive_pins()
        assert new["root"] in pins and old not in pins, (step, pins)
        old = new["root"]


def test_a_broken_directory_is_refused_and_nothing_is_published(
    member: Member, tmp_path: Path
) -> None:
    # Kubo 0.43 publishes nothing at init: a first publish gives the name a root to keep.
    good = write(tmp_path / "good", {"a.json": []})
    published = member.cli("publish", str(good), "--api", member.node.api)
    assert published.code == 0, published.err
    before = member.node.rpc("name/resolve", f"/ipns/{member.node.peer_id}", offline=True)
    manifests = write(
        tmp_path / "m", {"good.json": [], "bad.json": "[1, 2", "entries.json": ["nope"]}
    )

    run = member.cli("publish", str(manifests), "--api", member.node.api)

    assert run.code == 2
    assert "refusing to publish" in run.err
    assert (
        "bad.json: not valid JSON" in run.err and "entries.json[0]: 'nope' is not a CID" in run.err
    )
    after = member.node.rpc("name/resolve", f"/ipns/{member.node.peer_id}", offline=True)
    assert after == before
    empty = member.cli("publish", str(tmp_path / "nothing"), "--api", member.node.api)
    assert empty.code == 2 and "not a directory" in empty.err


def test_publish_with_kubo_down_is_exit_3(tmp_path: Path, member: Member) -> None:
    manifests = write(tmp_path / "m", {"a.json": []})
    api = member.node.api
    member.node.stop()
    run = member.cli("publish", str(manifests), "--api", api)
    assert run.code == 3 and "unreachable" in run.err


def test_publish_takes_the_api_secret_from_its_config(
    net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = net.node({"basic:ops:pa:ss": ["/api/v0"]})
    member = Member(node, tmp_path / "config.json", tmp_path / "state", capsys)
    manifests = write(tmp_path / "m", {"a.json": [parse_cid(node.add(b"behind a secret"))]})
    secret = write(tmp_path / "etc", {"kubo-api.auth": "basic:ops:pa:ss\n"}) / "kubo-api.auth"
    member.configure([], api_auth_file=str(secret))

    run = member.cli("publish", str(manifests), "--config", str(member.config_path), "--json")
    refused = member.cli("publish", str(manifests), "--api", node.api)

    assert run.code == 0, run.err
    assert node.rpc("name/resolve", f"/ipns/{run.json['name']}")["Path"] == (
        f"/ipfs/{run.json['root']}"
    )
    assert refused.code == 2
    (line,) = refused.err.splitlines()
    assert "refused key/list (HTTP 403): its RPC API needs authorization" in line


def test_publish_under_a_key_kubo_lacks_is_exit_2(member: Member, tmp_path: Path) -> None:
    manifests = write(tmp_path / "m", {"a.json": []})

    run = member.cli("publish", str(manifests), "--api", member.node.api, "--key", "nokey")

    assert run.code == 2
    (line,) = run.err.splitlines()
    assert f"Kubo at {member.node.api} has no key named 'nokey' (see `ipfs key list`)" in line
