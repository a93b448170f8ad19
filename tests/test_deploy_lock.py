"""The controller's dependencies are locked: files/deploy-constraints.txt pins every
distribution of the `deploy` extra and all it needs to one version, and what scripts/setup
installed is exactly that, so a new Ansible, collection or boto3 release changes nothing
until scripts/lock-deploy is run again and its file committed."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "files" / "deploy-constraints.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = _PIN.match(line.strip())
        assert match, f"not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def _deploy_closure() -> set[str]:
    """The deploy extra's distributions and, recursively, what each of them requires."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["optional-dependencies"]["deploy"]]
    todo += [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for needed in metadata.requires(name) or []:
            nested = Requirement(needed)
            if nested.marker is None or nested.marker.evaluate({"extra": ""}):
                todo.append(nested)
    return seen


def test_every_controller_dependency_is_pinned() -> None:
    assert _deploy_closure() <= _pins().keys()


def test_the_installed_versions_are_the_pinned_ones() -> None:
    installed = {name: metadata.version(name) for name in _deploy_closure()}
    pins = _pins()
    assert installed == {name: pins[name] for name in installed}
