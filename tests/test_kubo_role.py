"""The kubo role's settings: its table of Kubo defaults against the real `ipfs init`, the
writes that move a repository between a private and the public network, and preflight's
refusal of a kubo_config or kubo_environment that would undo or escape the role."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.ec2.ansible_run import run_playbook

ROLE = Path(__file__).resolve().parent.parent / "roles" / "kubo"
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
PRIVATE = ROLE_VARS["_kubo_private_network_config"]
PUBLIC = ROLE_VARS["_kubo_public_network_config"]
OWNED = ROLE_VARS["_kubo_owned_config"]
# The settings of every member in a local container: the local consortium's and Molecule's.
CONTAINER_VARS = ROLE.parent.parent / "inventory" / "local" / "group_vars" / "local_containers.yml"


def _filters() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "kubo_config", ROLE / "filter_plugins" / "kubo_config.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kubo_config = _filters()


def _init(binary: Path, repo: Path) -> dict[str, Any]:
    subprocess.run(
        [binary, "init", "--empty-repo"],
        env={"IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}, check=True, capture_output=True,
    )  # fmt: skip
    config: dict[str, Any] = json.loads((repo / "config").read_text())
    return config


def _apply(binary: Path, repo: Path, wanted: dict[str, Any]) -> dict[str, Any]:
    """What the role's configure step does: write the changes one key at a time."""
    current = json.loads((repo / "config").read_text())
    for key, value in kubo_config.kubo_config_changes(current, wanted).items():
        subprocess.run(
            [binary, "config", "--json", key, json.dumps(value)],
            env={"IPFS_PATH": str(repo)}, check=True, capture_output=True,
        )  # fmt: skip
    config: dict[str, Any] = json.loads((repo / "config").read_text())
    return config


def test_the_public_network_settings_are_what_ipfs_init_writes(
    kubo_bin: Path, tmp_path: Path
) -> None:
    fresh = _init(kubo_bin, tmp_path / "repo")
    written = {key: kubo_config._lookup(fresh, key) for key in PUBLIC}
    absent = kubo_config._MISSING
    assert written == {key: absent if value is None else value for key, value in PUBLIC.items()}
    assert PUBLIC.keys() == PRIVATE.keys()


def test_a_repository_leaves_a_private_network_as_ipfs_init_made_it(
    kubo_bin: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    fresh = _init(kubo_bin, repo)
    private = _apply(kubo_bin, repo, PRIVATE)
    assert {key: kubo_config._lookup(private, key) for key in PRIVATE} == PRIVATE
    assert kubo_config.kubo_config_changes(private, PRIVATE) == {}
    public = _apply(kubo_bin, repo, PUBLIC)
    assert public == fresh
    assert kubo_config.kubo_config_changes(public, PUBLIC) == {}
    assert _apply(kubo_bin, repo, PRIVATE) == private


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Addresses.API", "the role sets Addresses.API from kubo_api_port. Use kubo_api_port"),
        ("addresses.api", "the role sets Addresses.API from kubo_api_port"),
        ("Addresses.Swarm.0", "the role sets Addresses.Swarm from kubo_swarm_addresses"),
        ("Peering", "the role sets Peering.Peers from kubo_peering_peers"),
        ("DNS", "it overlaps DNS.Resolvers, which the role sets for the network"),
        ("routing.delegatedrouters", "give the key Routing.DelegatedRouters itself"),
    ],
)
def test_kubo_config_cannot_touch_what_the_role_sets(key: str, message: str) -> None:
    (problem,) = kubo_config.kubo_config_conflicts({key: {}}, OWNED, PRIVATE)
    assert problem.startswith(f"kubo_config cannot set {key}: ") and message in problem


def test_a_parent_key_names_every_setting_of_the_role_under_it() -> None:
    (problem,) = kubo_config.kubo_config_conflicts({"ADDRESSES": {}}, OWNED, PRIVATE)
    for variable in ["kubo_swarm_addresses", "kubo_announce_addresses", "kubo_api_port"]:
        assert variable in problem
    assert "a dotted key of its own for any other setting under ADDRESSES" in problem


def test_overlapping_keys_of_kubo_config_are_refused() -> None:
    config = {"Swarm.ConnMgr": {}, "Swarm.ConnMgr.HighWater": 200}
    assert kubo_config.kubo_config_conflicts(config, OWNED, PRIVATE) == [
        "kubo_config sets both Swarm.ConnMgr and Swarm.ConnMgr.HighWater, which overlap; "
        "keep one of them."
    ]


def test_the_local_containers_kubo_config_passes() -> None:
    containers = yaml.safe_load(CONTAINER_VARS.read_text())
    config = containers["kubo_config"] | {"Addresses.NoAnnounce": [], "Swarm.ConnMgr.HighWater": 1}
    assert "DNS.Resolvers" in config
    assert kubo_config.kubo_config_conflicts(config, OWNED, PRIVATE) == []


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


def test_preflight_refuses_the_api_on_another_address_through_a_parent_key(
    tmp_path: Path,
) -> None:
    message = _preflight(tmp_path, {"kubo_config": {"Addresses": {"API": "/ip4/0.0.0.0/tcp/5001"}}})
    assert message.startswith("kubo_config cannot set Addresses: the role sets ")
    assert "Addresses.API from kubo_api_port" in message


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
