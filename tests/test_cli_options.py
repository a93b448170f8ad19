"""What every command shares: its exit codes (its --help, held to the sync tool's page),
-v/-q on either side of it, where it finds config.json, and which Kubo API it calls."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.loopback_http import serving
from ipfs_consortium import config as config_module
from ipfs_consortium.cli import build_parser
from tests.conftest import run_cli
from tests.test_cli_errors import CLOSED_API, config_file, manifest_dir, one_line
from tests.test_docs import TOOL_PAGE


def commands() -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = (
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return dict(subparsers.choices)


def positionals(command: argparse.ArgumentParser) -> list[str]:
    """A value for each positional argument of ``command``."""
    return ["x" for action in command._actions if not action.option_strings]


def _exit_code_section() -> str:
    text = TOOL_PAGE.read_text(encoding="utf-8")
    section = text[text.index("\n## Exit codes\n") :]
    return section[: section.index("\n## ", 1)]


def readme_exit_codes() -> dict[str, list[int]]:
    """The page's table of the codes each command can return: command -> codes."""
    rows = re.findall(r"^\| `([\w-]+)` \| ([\d, ]+) \|$", _exit_code_section(), re.M)
    return {name: [int(code) for code in codes.split(",")] for name, codes in rows}


def help_exit_codes(capsys: pytest.CaptureFixture[str], name: str) -> list[int]:
    """The codes ``ipfs-consortium NAME --help`` lists."""
    with pytest.raises(SystemExit) as ended:
        run_cli(capsys, name, "--help")
    assert ended.value.code == 0
    text = capsys.readouterr().out
    assert "\nexit codes:\n" in text, f"{name} --help lists no exit codes"
    listed = text[text.index("\nexit codes:\n") :]
    return [int(code) for code in re.findall(r"^  (\d+) ", listed, re.M)]


def test_every_commands_help_lists_the_exit_codes_the_readme_gives_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When this fails, make the command's row in the sync tool page's exit-code table
    and its entry in exit_codes.COMMAND_EXITS say the same."""
    helps = {name: help_exit_codes(capsys, name) for name in commands()}
    assert helps == readme_exit_codes()


def test_every_code_a_command_returns_has_a_meaning_in_the_readme() -> None:
    meanings = {int(code) for code in re.findall(r"^\| (\d+) \|", _exit_code_section(), re.M)}
    returned = {code for codes in readme_exit_codes().values() for code in codes}
    assert returned and returned <= meanings


@pytest.mark.parametrize("name", sorted(commands()))
@pytest.mark.parametrize(
    ("before", "after", "verbose", "quiet"),
    [
        ([], [], False, False),
        (["-v"], [], True, False),
        ([], ["-v"], True, False),
        ([], ["--quiet"], False, True),
        (["-q"], ["-v"], True, True),
    ],
)
def test_v_and_q_go_before_or_after_the_command(
    name: str, before: list[str], after: list[str], verbose: bool, quiet: bool
) -> None:
    command = commands()[name]
    args = build_parser().parse_args([*before, name, *positionals(command), *after])
    assert (args.verbose, args.quiet) == (verbose, quiet)


def test_a_run_takes_q_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path)
    assert run_cli(capsys, "check-config", str(config), "-q").code == 0


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without config.json, no $IPFS_CONSORTIUM_CONFIG, and the
    system-wide path (the role's) moved into tmp_path: a test on a member finds none."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("IPFS_CONSORTIUM_CONFIG", raising=False)
    monkeypatch.delenv("IPFS_CONSORTIUM_API", raising=False)
    system = tmp_path / "etc" / "config.json"
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", system)
    return system


def test_no_config_found_says_where_it_looked(
    nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(capsys, "status")

    assert (run.code, run.out) == (2, "")
    assert one_line(run).endswith(
        f"no config.json: looked at {Path.cwd() / 'config.json'}, then {nowhere}, as neither "
        "--config nor $IPFS_CONSORTIUM_CONFIG gave a path; give --config FILE"
    )


@pytest.mark.parametrize(
    ("how", "chosen"),
    [
        ("option", "the path --config gave; correct it"),
        (
            "environment",
            "the path $IPFS_CONSORTIUM_CONFIG gave; correct it, or unset it to use the default",
        ),
    ],
)
def test_a_missing_config_says_how_its_path_was_chosen(
    nowhere: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    chosen: str,
) -> None:
    missing = nowhere.parent / "missing.json"
    options = ["--config", str(missing)] if how == "option" else []
    if how == "environment":
        monkeypatch.setenv("IPFS_CONSORTIUM_CONFIG", str(missing))

    run = run_cli(capsys, "status", *options)

    assert run.code == 2
    assert one_line(run).endswith(f"{missing}: no such configuration file ({chosen})")


def _status_state_dir(capsys: pytest.CaptureFixture[str]) -> str:
    run = run_cli(capsys, "status", "--json")
    assert run.code == 0, run.err
    return str(json.loads(run.out)["state_dir"])


def test_without_config_a_command_reads_the_roles_file(
    nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere.parent.mkdir()
    config_file(nowhere.parent, state_dir=str(nowhere.parent / "state"))

    assert _status_state_dir(capsys) == str(nowhere.parent / "state")


def test_the_working_directorys_config_comes_before_the_roles_file(
    nowhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere.parent.mkdir()
    config_file(nowhere.parent, state_dir=str(nowhere.parent / "state"))
    config_file(Path.cwd(), state_dir=str(Path.cwd() / "state"))

    assert _status_state_dir(capsys) == str(Path.cwd() / "state")


@pytest.fixture
def not_kubo() -> Iterator[str]:
    """An API address where a web server answers, not Kubo: a call there fails (exit 3)
    with a line naming the address."""
    with serving(404, b"<html><body>Not Found</body></html>") as api:
        yield api


# Every command that talks to Kubo, with what it needs besides.
KUBO_COMMANDS = {
    "sync": [],
    "publish": ["MANIFESTS"],
    "copies": [],
    "verify": [],
    "forget": ["gone"],
}


@pytest.mark.parametrize("name", sorted(KUBO_COMMANDS))
@pytest.mark.parametrize("source", ["option", "environment", "option over environment"])
def test_every_kubo_command_calls_the_api_of_api_else_the_environment(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    not_kubo: str,
    name: str,
    source: str,
) -> None:
    # The config's api is closed: only the API given instead answers, and not as Kubo.
    config = config_file(tmp_path, state_dir=str(tmp_path / "state"))
    extra = [str(manifest_dir(tmp_path)) if a == "MANIFESTS" else a for a in KUBO_COMMANDS[name]]
    options = ["--api", not_kubo] if source.startswith("option") else []
    monkeypatch.delenv("IPFS_CONSORTIUM_API", raising=False)
    if source == "environment":
        monkeypatch.setenv("IPFS_CONSORTIUM_API", not_kubo)
    elif source == "option over environment":
        monkeypatch.setenv("IPFS_CONSORTIUM_API", CLOSED_API)

    run = run_cli(capsys, "-q", name, *extra, "--config", str(config), *options)

    assert run.code == 3
    assert f"the API at {not_kubo} does not answer as Kubo" in one_line(run)


def test_publish_without_a_config_runs_with_the_defaults(
    nowhere: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], not_kubo: str
) -> None:
    run = run_cli(capsys, "publish", str(manifest_dir(tmp_path)), "--api", not_kubo)

    assert run.code == 3
    assert f"the API at {not_kubo} does not answer as Kubo" in one_line(run)
