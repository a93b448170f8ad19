"""The documentation points at what exists: every relative link in every Markdown file
resolves (headings included), the README stays short and shows the commands CI runs, the
sync tool's page maps every module and its config.json table has every key with its
default."""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from ipfs_consortium.config import Config, parse_config
from ipfs_consortium.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The sync tool's own page: its reference moved there from README.md.
TOOL_PAGE_NAME = "src/ipfs_consortium/README.md"
TOOL_PAGE = ROOT / TOOL_PAGE_NAME
# The pages README.md's reference detail moved to, each beside what it documents.
MOVED_PAGES = (
    TOOL_PAGE_NAME,
    "consortium-ec2/README.md",
    "files/prometheus/README.md",
    "playbooks/README.md",
    "tests/README.md",
    "bench/README.md",
)
MAP_START = "<!-- module-map:"
MAP_END = "<!-- /module-map -->"

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.M | re.S)
_CODE = re.compile(r"(`+).+?\1", re.S)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _markdown_files() -> list[Path]:
    """Every Markdown file git tracks or would track (new files count before a commit)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return sorted(ROOT / name for name in set(listed) if (ROOT / name).exists())


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE_LINK.findall(prose) + _REFERENCE.findall(prose)


def anchors(text: str) -> set[str]:
    """The ids GitHub gives the headings of a Markdown text."""
    seen: dict[str, int] = {}
    ids = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def _broken(source: Path, target: str) -> str | None:
    """Why the link `target` in `source` does not resolve, or None."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
        return None  # https:, mailto: and the like are not checked here
    path, _, anchor = target.partition("#")
    file = (source.parent / path).resolve() if path else source
    if not file.exists():
        return f"{path} does not exist"
    if anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
        return f"{path or 'this file'} has no heading #{anchor}"
    return None


def test_the_markdown_files_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _markdown_files()}
    assert {"README.md", "roles/kubo/README.md", *MOVED_PAGES} <= names


def test_the_readme_fits_on_a_few_screens() -> None:
    """Reference detail lives beside what it documents; the README links to it."""
    lines = len(README.read_text().splitlines())
    assert lines <= 250, f"README.md has {lines} lines: move the detail to its own page"


def test_the_readme_shows_the_commands_ci_runs() -> None:
    """.ci/run proves the README: each command it runs is a line of the README's first
    code block, as a newcomer types it."""
    ci = [
        line for line in (ROOT / ".ci/run").read_text().splitlines() if line.startswith("scripts/")
    ]
    block = re.search(r"^```sh\n(.*?)^```", README.read_text(), re.M | re.S)
    assert block is not None
    shown = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert ci and set(ci) <= set(shown), f"{ci} not all in {shown}"


@pytest.mark.parametrize(
    "source", _markdown_files(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_every_relative_link_resolves(source: Path) -> None:
    problems = {
        target: why
        for target in links(source.read_text())
        if (why := _broken(source, target)) is not None
    }
    assert problems == {}


def test_links_and_anchors_are_read_as_github_does(tmp_path: Path) -> None:
    text = (
        "# Full checks: `verify_interval`\n## config.json\n## A, b & c\n## A, b & c\n"
        "```sh\n# not a heading [x](nowhere.md)\n```\n"
        'See [a](other.md#x) and `[b](code.md)`, [c](<spaced.md> "title").\n'
        "[ref]: ref.md\n"
    )
    assert anchors(text) == {"full-checks-verify_interval", "configjson", "a-b--c", "a-b--c-1"}
    assert links(text) == ["other.md#x", "spaced.md", "ref.md"]
    source = tmp_path / "doc.md"
    source.write_text(text)
    (tmp_path / "other.md").write_text("# Y\n")
    assert _broken(source, "#configjson") is None
    assert _broken(source, "#nothing") == "this file has no heading #nothing"
    assert _broken(source, "other.md#y") is None
    assert _broken(source, "other.md#x") == "other.md has no heading #x"
    assert _broken(source, "missing.md") == "missing.md does not exist"
    assert _broken(source, "https://example.org/x.md") is None


def _module_map() -> list[str]:
    """The module map's targets, relative to the repository like the paths they name."""
    text = TOOL_PAGE.read_text()
    start, end = text.find(MAP_START), text.find(MAP_END)
    assert 0 <= start < end, f"{TOOL_PAGE_NAME} has no module map ({MAP_START}… {MAP_END})"
    return [
        (TOOL_PAGE.parent / target).resolve().relative_to(ROOT).as_posix()
        for target in links(text[start:end])
    ]


def test_the_module_map_names_every_module() -> None:
    """Every module of the sync tool and the EC2 helpers' package has a line in the map,
    and every line names one that exists. When this fails, add or remove the lines it
    names."""
    src = ROOT / "src"
    # A sub-package's empty __init__.py is no module of its own.
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (src / "ipfs_consortium").rglob("*.py")
        if path.parent.name == "ipfs_consortium" or path.name != "__init__.py"
    }
    # Every other package under src/ (the EC2 helpers) is mapped as a whole.
    packages = {
        path.relative_to(ROOT).as_posix()
        for path in src.iterdir()
        if path.name != "ipfs_consortium" and (path / "__init__.py").exists()
    }
    mapped = _module_map()
    assert len(mapped) == len(set(mapped)), "a module is mapped twice"
    missing = sorted((modules | packages) - set(mapped))
    assert not missing, f"add to the module map of {TOOL_PAGE_NAME}: {', '.join(missing)}"
    gone = sorted(set(mapped) - modules - packages)
    assert not gone, f"remove from the module map of {TOOL_PAGE_NAME}: {', '.join(gone)}"


def test_the_roles_are_all_in_the_map() -> None:
    roles = sorted(path.name for path in (ROOT / "roles").iterdir() if path.is_dir())
    mapped = re.findall(r"^\* \[`(\w+)`\]\(roles/(\w+)/README\.md\)", README.read_text(), re.M)
    assert sorted(name for name, _ in mapped) == roles
    assert all(name == directory for name, directory in mapped)


def _config_table() -> dict[str, str]:
    """The sync tool page's config.json table: key -> the default column as written."""
    text = TOOL_PAGE.read_text(encoding="utf-8")
    section = text[text.index("\n## config.json\n") :]
    section = section[: section.index("\n#", 1)]
    return dict(re.findall(r"^\| `(\w+)` \| (.+?) \|", section, re.M))


def test_the_config_table_has_every_key_and_its_default() -> None:
    table = _config_table()
    with pytest.raises(ConfigError) as refused:
        parse_config({"peers": [], "no such key": 0}, "c.json")
    allowed = re.search(r"\(allowed: (.*)\)", str(refused.value))
    assert allowed is not None
    assert sorted(table) == sorted(allowed.group(1).split(", "))
    defaults = {f.metadata.get("key") or f.name: f.default for f in fields(Config)}
    for key, written in table.items():
        default = defaults.get(key, MISSING)
        number = re.match(r"[\d.]+", written)
        if default is None:
            assert written == "none", key
        elif number:
            assert float(number.group()) == default, key
        elif isinstance(default, str):
            assert written == f"`{default}`", key


@pytest.mark.parametrize("pyproject", ["pyproject.toml", "consortium-ec2/pyproject.toml"])
def test_the_license_file_is_the_license_pyproject_names(pyproject: str) -> None:
    """A legal review reads LICENSE, not the packaging metadata."""
    named = tomllib.loads((ROOT / pyproject).read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    assert (named, text.splitlines()[0]) == ("MIT", "MIT License")
    assert "Copyright (c) the ipfs-consortium authors" in text
