"""Each role's meta/argument_specs.yml and defaults/main.yml describe the same variables.

argument_specs is where a variable is described (and what roles/<role>/README.md is
written from), defaults/main.yml is where its default is set; neither may drift from the
other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = sorted(
    path.parent.parent
    for path in (Path(__file__).resolve().parent.parent / "roles").glob("*/meta/argument_specs.yml")
)


def _specs(role: Path) -> dict[str, dict[str, Any]]:
    """Entry point name to its options."""
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {entry: spec.get("options", {}) for entry, spec in specs.items()}


def _defaults(role: Path) -> dict[str, Any]:
    return yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}


def test_every_role_is_checked() -> None:
    assert [role.name for role in ROLES] == [
        "consortium", "data_volume", "ec2_member", "ipfs_cluster", "kubo"
    ]  # fmt: skip


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_the_options_are_the_defaults(role: Path) -> None:
    """The options of all entry points together are the keys of defaults/main.yml.

    Not each entry point alone: one that runs a part of the role (kubo's identity_backup)
    documents only the variables that part reads, and may document one that only it reads
    (kubo_identity_backup_force), which still has its default in defaults/main.yml. The one
    option allowed without a default is a `required` one: the caller must give it, and a
    default would defeat that.
    """
    options = {name: spec for entry in _specs(role).values() for name, spec in entry.items()}
    defaults = _defaults(role)
    undocumented = sorted(defaults.keys() - options.keys())
    assert undocumented == [], "defaults/main.yml sets variables that no entry point documents"
    missing = sorted(
        name for name, spec in options.items() if name not in defaults and not spec.get("required")
    )
    assert missing == [], "argument_specs documents optional variables without a default"
    required = sorted(name for name, spec in options.items() if spec.get("required"))
    assert sorted(defaults.keys() & set(required)) == [], "a required variable has a default"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_the_literal_defaults_are_the_defaults(role: Path) -> None:
    """A `default:` in argument_specs is the value defaults/main.yml sets; templated ones
    (`{{`) are compared as text, since Ansible renders both alike."""
    defaults = _defaults(role)
    differ = {
        f"{entry}.{name}": (spec["default"], defaults.get(name))
        for entry, options in _specs(role).items()
        for name, spec in options.items()
        if "default" in spec and spec["default"] != defaults.get(name)
    }
    assert differ == {}, "argument_specs default, defaults/main.yml value"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_a_variable_of_several_entry_points_has_one_type(role: Path) -> None:
    types: dict[str, set[str]] = {}
    for options in _specs(role).values():
        for name, spec in options.items():
            types.setdefault(name, set()).add(spec.get("type", "str"))
    assert {name: kinds for name, kinds in types.items() if len(kinds) > 1} == {}
