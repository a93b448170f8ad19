"""Every error the command line meets: one line on stderr, the documented exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.loopback_http import serving
from ipfs_consortium.config import node_of, normalize_ipns_name
from tests.conftest import Run, run_cli
from tests.test_config import PEER, SEED_PEER

# A closed loopback port: a command that called Kubo would fail as unreachable (3).
CLOSED_API = "http://127.0.0.1:9"


def one_line(run: Run) -> str:
    """The single line a failed run wrote on stderr."""
    assert "Traceback" not in run.err
    (line,) = run.err.splitlines()
    return line


def config_file(tmp_path: Path, **settings: object) -> Path:
    path = tmp_path / "config.json"
    # A peer: a config without any is valid, but its warning would be a second line.
    path.write_text(json.dumps({"peers": [PEER], "api": CLOSED_API, **settings}))
    return path


@pytest.mark.parametrize("command", [["sync"], ["forget", "gone"]])
def test_a_state_directory_under_a_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # A parent that is a regular file stops root too.
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "state"

    run = run_cli(capsys, *command, "--config", str(config_file(tmp_path, state_dir=str(state))))

    assert run.code == 2
    assert f"state directory {state} cannot exist: a path above it is a file" in one_line(run)


@pytest.mark.parametrize(
    "command",
    [["status"], ["copies"], ["sync"], ["sync", "--dry-run"], ["verify"], ["forget", "gone"],
     ["forget", "gone", "--dry-run"]],
)  # fmt: skip
def test_a_state_directory_that_is_a_file_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """Not as its files being unreadable, with advice to move them aside."""
    state = tmp_path / "state"
    state.write_text("")
    # Kubo is not there: a command that called it before reading its state would exit 3.
    config = config_file(tmp_path, state_dir=str(state))

    run = run_cli(capsys, *command, "--config", str(config))

    assert (run.code, run.out) == (2, "")
    assert one_line(run).endswith(
        f"state directory {state} is a file, not a directory; point state_dir (or "
        "--state-dir) at a directory this user can use"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_a_state_directory_this_user_cannot_read_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o300)

    run = run_cli(capsys, "status", "--config", str(config_file(tmp_path, state_dir=str(state))))

    assert (run.code, run.out) == (2, "")
    assert f"state directory {state} is not readable by this user; run" in one_line(run)


def test_status_of_a_record_that_is_not_an_object_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "state" / "peers" / "alice.json"
    record.parent.mkdir(parents=True)
    record.write_text("[]")

    config = config_file(tmp_path, peers=[{"name": "alice", "ipns": PEER}])

    run = run_cli(
        capsys, "status", "--config", str(config), "--state-dir", str(record.parent.parent)
    )

    assert (run.code, run.out) == (2, "")
    assert f"{record}: unreadable state (not a JSON object)" in one_line(run)


@pytest.fixture(params=[200, 404, 502])
def web_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A web server at the API address: a page, a missing one, a proxy's error."""
    with serving(request.param, b"<html><body><h1>It works!</h1></body></html>") as api:
        yield api


def manifest_dir(tmp_path: Path) -> Path:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "a.json").write_text("[]")
    return manifests


def test_publish_to_something_that_is_not_kubo_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], web_server: str
) -> None:
    run = run_cli(capsys, "publish", str(manifest_dir(tmp_path)), "--api", web_server)

    assert run.code == 3
    assert f"the API at {web_server} does not answer as Kubo (key/list: HTTP" in one_line(run)


def test_sync_with_something_that_is_not_kubo_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], web_server: str
) -> None:
    config = config_file(tmp_path, api=web_server, state_dir=str(tmp_path / "state"))

    run = run_cli(capsys, "-q", "sync", "--config", str(config))

    assert run.code == 3
    assert f"the API at {web_server} does not answer as Kubo (id: HTTP" in one_line(run)


def test_publish_to_an_api_answering_other_json_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(200, b"[]", "application/json") as api:
        run = run_cli(capsys, "publish", str(manifest_dir(tmp_path)), "--api", api)

    assert run.code == 1
    assert "Kubo key/list: unexpected answer []" in one_line(run)


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("argument", "--api 'localhost:5001'"),
        ("environment", "environment variable IPFS_CONSORTIUM_API 'localhost:5001'"),
        ("config", "config.json: key 'api' 'localhost:5001'"),
    ],
)
def test_a_bad_api_address_names_where_it_came_from(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    source: str,
) -> None:
    monkeypatch.delenv("IPFS_CONSORTIUM_API", raising=False)
    if where == "environment":
        monkeypatch.setenv("IPFS_CONSORTIUM_API", "localhost:5001")
    options = {
        "argument": ["--api", "localhost:5001"],
        "environment": [],
        "config": ["--config", str(config_file(tmp_path, api="localhost:5001"))],
    }[where]

    run = run_cli(capsys, "publish", str(manifest_dir(tmp_path)), *options)

    assert run.code == 2
    assert f"{source} is not an http(s)://host:port URL" in one_line(run)


def test_publish_of_a_manifest_it_cannot_read_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = manifest_dir(tmp_path)
    # A regular file that fails to read for root too.
    (manifests / "b.json").symlink_to("/proc/self/mem")

    run = run_cli(capsys, "publish", str(manifests), "--api", CLOSED_API)

    assert run.code == 2
    assert f"{manifests / 'b.json'}: cannot be read (Input/output error)" in one_line(run)


def test_output_to_a_reader_gone_away_is_exit_141(tmp_path: Path) -> None:
    reader, writer = os.pipe()
    os.close(reader)
    with os.fdopen(writer, "w") as closed:
        run = subprocess.run(
            [sys.executable, "-m", "ipfs_consortium", "status", "--config",
             str(config_file(tmp_path, state_dir=str(tmp_path / "state")))],
            stdout=closed, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    assert run.returncode == 141
    assert "standard output was closed" in one_line(Run(run.returncode, "", run.stderr))


def test_a_peer_in_cidv0_form_gets_a_warning_with_its_unambiguous_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Qm… is content as well as an old RSA node's key: not refused (RSA members exist),
    but check-config and sync say which form names the key alone."""
    config = config_file(tmp_path, peers=[PEER, SEED_PEER], state_dir=str(tmp_path / "s"))
    key = "k2k4r8jo2nggwyyo5aqkigrspjkmonoydm0e1bysii0aq6gxegdt783x"

    checked = run_cli(capsys, "check-config", str(config))
    synced = run_cli(capsys, "-q", "sync", "--config", str(config))

    warning = (
        f"WARNING {config}: peers[1] {SEED_PEER!r} is in CIDv0 form, which content shares "
        f"with RSA peer IDs: if it is a member's key, write it as {key!r} (the same key as a "
        "CIDv1 libp2p-key); a content CID is no IPNS name"
    )
    assert (checked.code, checked.out) == (0, f"{config}: valid (2 peers)\n")
    assert one_line(checked).endswith(warning)
    assert synced.code == 3
    assert synced.err.splitlines()[0].endswith(warning)
    assert node_of(normalize_ipns_name(key)) == SEED_PEER
    config.write_text(json.dumps({"peers": [key]}))
    assert run_cli(capsys, "check-config", str(config)).err == ""


def test_a_config_without_peers_gets_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, peers=[], state_dir=str(tmp_path / "s"))

    checked = run_cli(capsys, "check-config", str(config))
    synced = run_cli(capsys, "-q", "sync", "--config", str(config))

    warning = f"WARNING {config}: 'peers' is empty, so this member mirrors nobody's content"
    assert (checked.code, checked.out) == (0, f"{config}: valid (0 peers)\n")
    assert warning in one_line(checked)
    assert synced.code == 3
    assert warning in synced.err.splitlines()[0]
