"""The kubo role's preflight: it refuses a kubo_environment that the unit cannot carry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ec2.ansible_run import run_playbook


def _preflight(tmp_path: Path, extra_vars: dict[str, Any]) -> str:
    """The role's preflight on this machine (it only reads variables and facts): its
    failure message."""
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: true\n  gather_subset: [min]\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        "  tasks:\n    - {include_role: {name: kubo, tasks_from: preflight.yml}}\n"
    )
    run = run_playbook(playbook, inventory="localhost,", extra_vars=extra_vars, check=False)
    assert run.returncode != 0
    (message,) = [
        host["msg"]
        for play in run.output["plays"]
        for task in play["tasks"]
        for host in task["hosts"].values()
        if host.get("failed")
    ]
    assert isinstance(message, str)
    return message


@pytest.mark.parametrize(
    "environment",
    [{"1ABC": "x"}, {"A-B": "x"}, {"IPFS_PATH": "/tmp"}, {"GOOD": "x", "BAD": "two\nlines"}],
)
def test_preflight_refuses_what_the_unit_cannot_carry(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    message = _preflight(tmp_path, {"kubo_environment": environment})
    bad = [name for name in environment if name != "GOOD"]
    assert message.startswith(f"kubo_environment cannot set {', '.join(bad)}: ")
