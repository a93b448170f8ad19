"""A command line run in a test configures the root logger for that test only (the
root_logger fixture); the two tests run in this order."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_a_run_binds_the_root_logger_to_the_captured_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state").write_text("")
    assert run_cli(capsys, "status", "--state-dir", str(tmp_path / "state")).code == 2
    streams = [getattr(h, "stream", None) for h in logging.getLogger().handlers]
    assert sys.stderr in streams  # capsys's, closed once this test is over


def test_the_next_test_logs_without_error(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger().warning("after a run in another test")
    assert "Logging error" not in capsys.readouterr().err
