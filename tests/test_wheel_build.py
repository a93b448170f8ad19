"""The consortium role builds the tool's wheel on a controller that cannot reach PyPI; the
wheel holds the sync tool alone (consortium-ec2 is a distribution of its own)."""

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.ec2.ansible_run import ROOT, run_playbook

PLAYBOOK = """\
- name: Build the wheel as the consortium role does
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Build it
      ansible.builtin.include_role:
        name: consortium
        tasks_from: build
"""


def build(tmp_path: Path, source_dir: Path | None = None) -> list[Path]:
    """Run the role's build; the wheels in its cache, one directory per source hash."""
    playbook = tmp_path / "build.yml"
    playbook.write_text(PLAYBOOK)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # A fresh HOME: no wheel built before, no pip cache. The index is a closed loopback
    # port, so pip fails if it asks one (as build isolation does for setuptools).
    env = {
        "HOME": str(home),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_CONFIG_FILE": "/dev/null",
    }
    source = {} if source_dir is None else {"consortium_source_dir": str(source_dir)}
    run_playbook(
        playbook,
        inventory="localhost,",
        extra_vars={"ansible_python_interpreter": sys.executable, **source},
        env=env,
    )
    return sorted((home / ".cache/ipfs-consortium/wheels").glob("*/ipfs_consortium-*.whl"))


def test_wheel_builds_without_an_index(tmp_path: Path) -> None:
    wheels = build(tmp_path)
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        [dist_info] = {name.split("/")[0] for name in names if ".dist-info/" in name}
        entry_points = configparser.ConfigParser()
        entry_points.read_string(wheel.read(f"{dist_info}/entry_points.txt").decode())
        metadata = wheel.read(f"{dist_info}/METADATA").decode().splitlines()
    # The sync tool alone: members install this wheel, and have no boto3.
    assert {name.split("/")[0] for name in names} == {"ipfs_consortium", dist_info}
    assert not [name for name in names if "ec2" in name]
    assert dict(entry_points["console_scripts"]) == {"ipfs-consortium": "ipfs_consortium.cli:main"}
    requires = [line for line in metadata if line.startswith("Requires-Dist:")]
    assert [line for line in requires if "extra ==" not in line] == [
        "Requires-Dist: requests>=2.28",
        "Requires-Dist: prometheus-client>=0.16",
    ]


def test_consortium_ec2_is_not_in_the_source_hash(tmp_path: Path) -> None:
    """Editing consortium-ec2 neither rebuilds the wheel nor reinstalls it on the members,
    whose installed build is named by this hash."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("src", "consortium-ec2"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    [first] = build(tmp_path, source)

    ec2 = source / "consortium-ec2"
    for name in ("src/consortium_ec2/cli.py", "pyproject.toml"):
        with (ec2 / name).open("a") as file:
            file.write("\n# changed\n")
    assert build(tmp_path, source) == [first]

    # What the hash does cover changes it.
    with (source / "src/ipfs_consortium/cli.py").open("a") as file:
        file.write("\n# changed\n")
    assert len(build(tmp_path, source)) == 2


# Each project's folder, and what its build reads there.
PROJECTS = {
    ".": ("pyproject.toml", "README.md", "src/ipfs_consortium"),
    "consortium-ec2": ("pyproject.toml", "src/consortium_ec2"),
}


@pytest.mark.parametrize("project", PROJECTS)
def test_builds_without_setuptools_warnings(tmp_path: Path, project: str) -> None:
    """scripts/setup and the role build both projects: setuptools has nothing to warn of (a
    `project.license` TOML table made it print its deprecation notice a dozen times)."""
    source = tmp_path / "source"
    source.mkdir()
    for part in PROJECTS[project]:
        if (ROOT / project / part).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / project / part, source / part, ignore=ignore)
        else:
            shutil.copy(ROOT / project / part, source / part)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        capture_output=True, text=True, env={**os.environ, "PIP_CONFIG_FILE": "/dev/null"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "Warning" not in built.stderr, built.stderr
