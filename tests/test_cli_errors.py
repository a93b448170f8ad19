"""Every error the command line meets: one line on stderr, the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, run_cli

# A closed loopback port: a command that called Kubo would fail as unreachable (3).
CLOSED_API = "http://127.0.0.1:9"


def one_line(run: Run) -> str:
    """The single line a failed run wrote on stderr."""
    assert "Traceback" not in run.err
    (line,) = run.err.splitlines()
    return line


def config_file(tmp_path: Path, **settings: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"peers": [], "api": CLOSED_API, **settings}))
    return path


@pytest.mark.parametrize("command", [["sync"], ["forget", "gone"]])
def test_a_state_directory_that_cannot_be_created_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # A parent that is a regular file stops root too.
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "state"

    run = run_cli(capsys, *command, "--config", str(config_file(tmp_path, state_dir=str(state))))

    assert run.code == 2
    assert f"state directory {state} cannot be created" in one_line(run)


def test_status_of_a_state_directory_that_is_a_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    state.write_text("")

    run = run_cli(capsys, "status", "--state-dir", str(state))

    assert (run.code, run.out) == (2, "")
    assert f"{state / 'peers'} cannot be listed (Not a directory)" in one_line(run)


def test_status_of_a_record_that_is_not_an_object_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "state" / "peers" / "alice.json"
    record.parent.mkdir(parents=True)
    record.write_text("[]")

    run = run_cli(capsys, "status", "--state-dir", str(tmp_path / "state"))

    assert (run.code, run.out) == (2, "")
    assert f"{record}: unreadable state (not a JSON object)" in one_line(run)
