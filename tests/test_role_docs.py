"""Each role's README lists its variables as scripts/role-docs writes them from the role."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    # The script has no .py suffix, so it is loaded by path as a source file.
    loader = importlib.machinery.SourceFileLoader("role_docs", str(ROOT / "scripts" / "role-docs"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


role_docs = _load_script()


def test_every_role_has_its_variables_written() -> None:
    assert [role.name for role in role_docs.roles()] == sorted(
        path.name for path in (ROOT / "roles").iterdir() if path.is_dir()
    )


@pytest.mark.parametrize("role", role_docs.roles(), ids=lambda role: role.name)
def test_the_readme_lists_the_variables_of_argument_specs(role: Path) -> None:
    readme = (role / "README.md").read_text()
    expected = role_docs.updated(readme, role_docs.variables_section(role))
    assert readme == expected, (
        f"roles/{role.name}/README.md differs from meta/argument_specs.yml and "
        "defaults/main.yml: run .venv/bin/python scripts/role-docs"
    )


def test_a_variable_line_says_type_default_and_description(tmp_path: Path) -> None:
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n"
        "  main:\n"
        "    short_description: A demo.\n"
        "    options:\n"
        "      demo_list: {type: list, elements: str, description: [Hosts, <one> *each*.]}\n"
        "      demo_mode: {type: str, choices: [a, b], description: Mode `<a>`.}\n"
        "      demo_token: {type: str, no_log: true, required: true, description: Token.}\n"
        "      demo_path:\n"
        "        type: dict\n"
        "        description: >-\n"
        "          Folded\n"
        "          text.\n"
        "        options:\n"
        "          sub: {type: int, default: 3, description: Sub.}\n"
        "  part:\n"
        "    short_description: Part of it.\n"
    )
    (role / "defaults" / "main.yml").write_text(
        "demo_list: [x]\ndemo_mode: ''\ndemo_path: >-\n  {{ a\n     | b }}\n"
    )
    assert role_docs.variables_section(role).split("\n")[1:-1] == [
        "",
        "### Entry point `main`",
        "",
        "A demo.",
        "",
        '- `demo_list` (list of str, default `["x"]`): Hosts \\<one> \\*each\\*.',
        '- `demo_mode` (str, default `""`, one of `a`, `b`): Mode `<a>`.',
        "- `demo_token` (str, required, secret): Token.",
        "- `demo_path` (dict, default `{{ a | b }}`): Folded text.",
        "  - `sub` (int, default `3`): Sub.",
        "",
        "### Entry point `part` (`tasks_from: part.yml`)",
        "",
        "Part of it.",
        "",
    ]


def test_a_value_with_backticks_gets_a_longer_fence() -> None:
    assert role_docs._code("a`b") == "``a`b``"
    assert role_docs._code("`a") == "`` `a ``"


def test_the_section_is_replaced_between_the_markers_only() -> None:
    readme = f"intro\n{role_docs.BEGIN}\nold\n{role_docs.END}\nafter\n"
    assert role_docs.updated(readme, "NEW") == "intro\nNEW\nafter\n"
    with pytest.raises(ValueError, match="no section between the markers"):
        role_docs.updated("no markers\n", "NEW")
