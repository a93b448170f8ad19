"""The example inventories an operator copies (examples/*) parse, put their members in
consortium_members, and set only variables the roles know, with values their argument
specs accept; the sync tool's own parsers accept the config.json settings and manifests
they give. Offline: ansible-inventory reads each example's hosts.yml (and the group_vars
and host_vars beside it), never examples/ec2/aws_ec2.yml, which asks AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ipfs_consortium.config import parse_config
from ipfs_consortium.publish import read_manifest_dir

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"
EXAMPLES = sorted(path.parent for path in (ROOT / "examples").glob("*/hosts.yml"))
# Read by the playbooks themselves, not by a role's entry point (site.yml's batch size, the
# ec2_member role's default for its SSH ranges), or by Ansible.
PLAYBOOK_VARS = {"member_batch_size", "ec2_admin_cidrs"}


def test_every_example_is_checked() -> None:
    assert [path.name for path in EXAMPLES] == ["cluster", "ec2", "ssh"]
    assert all((path / "README.md").is_file() for path in EXAMPLES)


def _options() -> dict[str, dict[str, Any]]:
    """Every role variable the argument specs describe, from every entry point."""
    options: dict[str, dict[str, Any]] = {}
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            options.update(entry.get("options", {}))
    return options


def _hostvars(example: Path) -> dict[str, Any]:
    listed = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(example / "hosts.yml"), "--list"],
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            # A file that does not parse fails the run instead of leaving a warning.
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        },
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    inventory = json.loads(listed.stdout)
    members = inventory["consortium_members"]["hosts"]
    assert members, f"{example.name}: no host in consortium_members"
    hostvars: dict[str, Any] = inventory["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(members)
    return hostvars


def _templated(value: Any) -> bool:
    """A value Ansible templates at run time (the swarm key from the vault): its type is
    only known then."""
    return isinstance(value, str) and "{{" in value


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_example_parses_and_the_roles_accept_its_variables(
    example: Path, tmp_path: Path
) -> None:
    options = _options()
    for host, variables in _hostvars(example).items():
        ours = {k: v for k, v in variables.items() if not k.startswith("ansible_")}
        unknown = sorted(ours.keys() - options.keys() - PLAYBOOK_VARS)
        assert unknown == [], f"{example.name}/{host}: no role describes {unknown}"
        given = {k: v for k, v in ours.items() if k in options and not _templated(v)}
        spec = {name: options[name] | {"required": False} for name in given}
        # The argument specs' own keywords (description) are not Ansible's validator's.
        for option in spec.values():
            option.pop("description", None)
        result = ArgumentSpecValidator(spec).validate(given)
        assert result.error_messages == [], f"{example.name}/{host}"
        # What the consortium role puts in config.json from them (the peers of the
        # inventory itself are only known at run time), and the manifests it writes.
        parse_config(
            {**ours.get("consortium_settings", {}), "peers": ours.get("consortium_peers", [])},
            f"{example.name}/{host}",
        )
        manifests = tmp_path / host
        manifests.mkdir()
        for name, cids in ours.get("consortium_manifests", {}).items():
            (manifests / f"{name}.json").write_text(json.dumps(cids))
        read_manifest_dir(manifests, max_bytes=1 << 20, allow_empty=True)
