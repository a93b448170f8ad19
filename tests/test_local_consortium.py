"""The README's "try it" command end to end: scripts/local-consortium up makes three member
containers that pin each other's content, a second up changes nothing, status changes
nothing, and down removes the containers and the network.

Real Podman containers with systemd and the real site.yml, as a user runs it (about five
minutes). It uses the names a user's own local consortium has, so it refuses to start
while one is up rather than take it down.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local-consortium"
INVENTORY = ROOT / "inventory" / "local"
NETWORK = "ipfs-consortium-local"


def local_consortium(command: str) -> str:
    done = subprocess.run(
        [SCRIPT, command], capture_output=True, text=True, timeout=1200, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False)


def members() -> dict[str, str]:
    """Each member's container name, from the inventory."""
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())["consortium_members"]["hosts"]
    return {name: host["ansible_host"] for name, host in hosts.items()}


def sample_cids() -> dict[str, str]:
    """The CID each member's manifest lists."""
    return {
        name: yaml.safe_load((INVENTORY / "host_vars" / f"{name}.yml").read_text())[
            "consortium_manifests"
        ]["sample"][0]
        for name in members()
    }


def pins_shown(output: str) -> dict[str, set[str]]:
    """Per member, the CIDs the output lists among the pins it holds for the others."""
    shown: dict[str, set[str]] = {}
    for block in re.split(r"^== ", output, flags=re.M)[1:]:
        member = block.split(maxsplit=1)[0]
        shown[member] = set(re.findall(r"^  ipfs-consortium:\S+  (\S+)$", block, re.M))
    return shown


def test_up_pins_across_members_a_second_up_changes_nothing_and_down_removes_it() -> None:
    containers = members()
    existing = [
        name for name in containers.values() if podman("container", "exists", name).returncode == 0
    ]
    assert not existing, (
        f"a local consortium is up ({existing}): scripts/local-consortium down first"
    )
    cids = sample_cids()
    try:
        first = local_consortium("up")
        shown = pins_shown(first)
        assert set(shown) == set(containers), first
        for member, pins in shown.items():
            others = {cid for name, cid in cids.items() if name != member}
            assert others <= pins, f"{member} holds {pins}, not all of {others}:\n{first}"
            assert cids[member] not in pins, f"{member} pins its own content for itself"
        assert "sync exit code 0" in first and "FAILING" not in first, first

        second = local_consortium("up")
        recap = re.findall(r"^  (\w+)\s+: ok=\d+\s+changed=(\d+)", second, re.M)
        assert sorted(host for host, _ in recap) == sorted(containers), second
        assert all(changed == "0" for _, changed in recap), second
        assert "created" not in second and "generated" not in second, second
        assert pins_shown(second) == shown

        assert pins_shown(local_consortium("status")) == shown
    finally:
        gone = local_consortium("down")
    for name in containers.values():
        assert podman("container", "exists", name).returncode == 1, gone
    assert podman("network", "exists", NETWORK).returncode == 1, gone
    assert pins_shown(local_consortium("status")) == {}
