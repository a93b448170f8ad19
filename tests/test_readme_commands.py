"""The README's commands are real: every `ipfs-consortium` and `consortium-ec2` command it
shows names a subcommand and options that the tools' own parsers accept, and every
playbook, script and example it names exists. Commands in the README's shell blocks are
parsed whole, as typed; those in its prose are fragments (`consortium-ec2 restore`), so
only their subcommand and options are checked."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from consortium_ec2.cli import build_parser as ec2_parser
from ipfs_consortium.cli import build_parser as tool_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PARSERS = {"ipfs-consortium": tool_parser, "consortium-ec2": ec2_parser}
# A command: the program's name as a word of its own (not the ipfs-consortium user of
# `sudo -u ipfs-consortium /opt/...`, nor a path through /opt/ipfs-consortium/), up to
# the end of the line or a shell comment. The README's day-two list writes the tool on a
# member as CLI.
_COMMAND = re.compile(
    r"(?<![\w-])(?:\S*/)?(ipfs-consortium|consortium-ec2|CLI) +(?![/#])([^#`\n]*[^#`\s])"
)
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"(?<![\w./~-])((?:playbooks|scripts|examples)/[\w./-]*[\w/])")


def _commands(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for program, rest in _COMMAND.findall(text):
        # A quoted command ends at its closing quote (ssh host '...').
        words = shlex.split(rest.split("'")[0])
        found.append(("ipfs-consortium" if program == "CLI" else program, words))
    return found


BLOCK_COMMANDS = [c for block in _BLOCK.findall(README) for c in _commands(block)]
PROSE_COMMANDS = [c for span in _SPAN.findall(_BLOCK.sub("", README)) for c in _commands(span)]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def test_the_readme_shows_every_path_s_commands() -> None:
    """The paths' commands are all found, so the checks below cannot pass on nothing."""
    shown = {(program, words[0]) for program, words in BLOCK_COMMANDS + PROSE_COMMANDS}
    expected = {
        ("ipfs-consortium", name)
        for name in ("invite", "join", "sync", "status", "copies", "forget", "publish")
    } | {("consortium-ec2", "--region"), ("consortium-ec2", "restore")}
    assert expected <= shown


@pytest.mark.parametrize(
    ("program", "words"), BLOCK_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_a_shell_block_command_parses(
    program: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        PARSERS[program]().parse_args(words)
    except SystemExit:
        pytest.fail(f"{program} {' '.join(words)}: {capsys.readouterr().err.strip()}")


@pytest.mark.parametrize(
    ("program", "words"), PROSE_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_a_prose_command_names_a_subcommand_and_its_options(program: str, words: list[str]) -> None:
    parser = PARSERS[program]()
    subcommands = _subcommands(parser)
    current = parser
    for word in words:
        if word.startswith("-"):
            option = word.split("=")[0]
            known = current._option_string_actions.keys() | parser._option_string_actions.keys()
            assert option in known, f"{program} {' '.join(words)}: no option {option}"
        elif current is parser and word in subcommands:
            current = subcommands[word]
    if not any(word.startswith("-") for word in words[:1]):
        assert words[0] in subcommands, f"{program}: no command {words[0]}"


def test_every_playbook_script_and_example_named_exists() -> None:
    named = set(_PATH.findall(README))
    assert {"playbooks/identity-backup.yml", "scripts/setup", "examples/ssh"} <= named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == [], f"README.md names what does not exist: {missing}"
