"""The local consortium's inventory derives each member's manifest CID from its sample text,
so that editing the text (inventory/local/host_vars/<member>.yml) is the whole edit: the CID
Ansible finds for the text is the one a real Kubo gives it, also after an edit."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.kubonet import KuboNode
from tests.conftest import Net
from tests.ec2.ansible_run import ROOT, run_playbook

INVENTORY = ROOT / "inventory" / "local"
# Templates each member's manifests as site.yml's consortium role would, connecting nowhere.
PLAYBOOK = """\
- name: Show each member's manifests
  hosts: consortium_members
  gather_facts: false
  tasks:
    - name: Show them
      ansible.builtin.debug:
        var: consortium_manifests
"""


def listed(tmp_path: Path, extra_vars: dict[str, str]) -> dict[str, list[str]]:
    """Per member, the CIDs its sample manifest lists."""
    playbook = tmp_path / "show.yml"
    playbook.write_text(PLAYBOOK)
    # As for playbooks/local-consortium.yml, which finds the filter beside it.
    plugins = {"ANSIBLE_FILTER_PLUGINS": str(ROOT / "playbooks" / "filter_plugins")}
    run = run_playbook(playbook, inventory=str(INVENTORY), extra_vars=extra_vars, env=plugins)
    [task] = run.output["plays"][0]["tasks"]
    return {
        host: result["consortium_manifests"]["sample"] for host, result in task["hosts"].items()
    }


def kubo_cid(node: KuboNode, text: str) -> str:
    """What playbooks/local-consortium.yml's ``ipfs add --cid-version=1`` gives the text."""
    answer = node.rpc(
        "add", files={"file": ("sample", text.encode())}, only_hash=True, cid_version=1
    )
    return str(answer["Hash"])


def test_each_member_lists_the_cid_of_its_text_and_an_edited_text_changes_it(
    net: Net, tmp_path: Path
) -> None:
    node = net.node()
    texts = {
        host: yaml.safe_load((INVENTORY / "host_vars" / f"{host}.yml").read_text())[
            "local_consortium_sample"
        ]
        for host in ("alice", "bob", "carol")
    }
    before = listed(tmp_path, {})
    edited = "Edited: " + json.dumps(texts) + " ✓\n"
    after = listed(tmp_path, {"local_consortium_sample": edited})

    assert all(after[host] != before[host] for host in texts), f"the edit changed nothing: {after}"
    assert before == {host: [kubo_cid(node, text)] for host, text in texts.items()}
    assert after == {host: [kubo_cid(node, edited)] for host in texts}
