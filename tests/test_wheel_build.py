"""The consortium role builds the tool's wheel on a controller that cannot reach PyPI."""

import sys
from pathlib import Path

from tests.ec2.ansible_run import run_playbook

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


def test_wheel_builds_without_an_index(tmp_path: Path) -> None:
    playbook = tmp_path / "build.yml"
    playbook.write_text(PLAYBOOK)
    home = tmp_path / "home"
    home.mkdir()
    # A fresh HOME: no wheel built before, no pip cache. The index is a closed loopback
    # port, so pip fails if it asks one (as build isolation does for setuptools).
    env = {
        "HOME": str(home),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_CONFIG_FILE": "/dev/null",
    }
    run_playbook(
        playbook,
        inventory="localhost,",
        extra_vars={"ansible_python_interpreter": sys.executable},
        env=env,
    )
    wheels = list((home / ".cache/ipfs-consortium/wheels").glob("*/ipfs_consortium-*.whl"))
    assert len(wheels) == 1, wheels
