"""Runs ansible-playbook from the project's venv and reads its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    returncode: int
    output: dict[str, Any]
    stderr: str

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = self.output["stats"]
        return stats


def run_playbook(
    playbook: Path,
    *,
    inventory: str,
    extra_vars: dict[str, Any],
    env: dict[str, str] | None = None,
    options: list[str] | None = None,
    check: bool = True,
) -> PlaybookRun:
    """Run a playbook; ``check`` asserts that it succeeded.

    ssh is replaced by /bin/false, so any attempt to connect to a host (such as an address
    moto made up) fails the run instead of leaving the machine.
    """
    full_env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_SSH_EXECUTABLE": "/bin/false",
        "ANSIBLE_NOCOLOR": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            inventory,
            "-e",
            json.dumps(extra_vars),
            *(options or []),
            str(playbook),
        ],
        env=full_env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    try:
        output = json.loads(proc.stdout)
    except json.JSONDecodeError:
        output = {"stats": {}, "raw": proc.stdout}
    run = PlaybookRun(proc.returncode, output, proc.stderr)
    if check:
        assert proc.returncode == 0, (proc.stdout[-4000:], proc.stderr[-4000:])
    return run
