"""The roles' logic that is more than a lookup, as filters: which other members a member
lists and which stop the run (kubo_members.py, the one rule both roles use), the
Peering.Peers and config.json entries made from them, the API secrets and the
API.Authorizations setting (kubo_api_auth.py), every setting the kubo role applies
(kubo_config.py), the IPNS names of a repository's keys, against what Kubo itself prints for
them (kubo_keys.py), and which EC2 instance types are arm64 (ec2_member_arch.py). The
consortium role's preflight, which stops in one line without the kubo role's identities,
runs as a playbook on this machine (it only reads)."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.ec2.ansible_run import ROOT, run_playbook

ROLES = ROOT / "roles"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{path.parent.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


members = _load(ROLES / "kubo/filter_plugins/kubo_members.py")
peering = _load(ROLES / "kubo/filter_plugins/kubo_peering.py")
api_auth = _load(ROLES / "kubo/filter_plugins/kubo_api_auth.py")
config = _load(ROLES / "kubo/filter_plugins/kubo_config.py")
keys = _load(ROLES / "kubo/filter_plugins/kubo_keys.py")
consortium_peers = _load(ROLES / "consortium/filter_plugins/consortium_peers.py")
cluster_peers = _load(ROLES / "ipfs_cluster/filter_plugins/ipfs_cluster_peers.py")
ec2_arch = _load(ROLES / "ec2_member/filter_plugins/ec2_member_arch.py")

IDENTITIES = {
    "alice": {"peer_id": "12D3KooWAlice", "addresses": ["/dns4/alice.example.org/tcp/4001"]},
    "bob": {"peer_id": "12D3KooWBob", "addresses": ["/ip4/198.51.100.8/tcp/4001"]},
    "carol": {"peer_id": "12D3KooWCarol", "addresses": ["/ip4/198.51.100.9/tcp/4001"]},
}


@pytest.mark.parametrize("role", ["consortium", "ipfs_cluster"])
def test_every_role_uses_the_one_membership_rule(role: str) -> None:
    linked = ROLES / role / "filter_plugins/kubo_members.py"
    assert linked.is_symlink()
    assert linked.resolve() == (ROLES / "kubo/filter_plugins/kubo_members.py").resolve()


def test_hosts_naming_one_member_make_it_up_in_inventory_order() -> None:
    hosts = ["alice-2", "bob", "alice-1", "carol"]
    alice: dict[str, Any] = {"consortium_member": "alice"}
    hostvars = {"alice-2": alice, "bob": {}, "alice-1": alice, "carol": {"consortium_member": ""}}
    assert members.kubo_member_hosts(hosts, hostvars) == {
        "alice": ["alice-2", "alice-1"],
        "bob": ["bob"],
        "carol": ["carol"],
    }


def test_a_cluster_node_lists_its_peers_addresses_with_their_cluster_peer_ids() -> None:
    nodes = [
        {
            "ipfs_cluster_peer_id": "12D3KooWA2",
            "ipfs_cluster_peer_addresses": ["/ip4/10.0.0.2/tcp/9096"],
        },
        {"ipfs_cluster_peer_id": "", "ipfs_cluster_peer_addresses": ["/ip4/10.0.0.3/tcp/9096"]},
    ]
    assert cluster_peers.ipfs_cluster_peer_addresses(nodes) == [
        "/ip4/10.0.0.2/tcp/9096/p2p/12D3KooWA2"
    ]


def test_a_group_is_its_hosts_and_no_group_is_none() -> None:
    groups = {"consortium_members": ["alice", "bob"], "all": ["alice", "bob", "x"]}
    assert members.kubo_group_members(groups, "consortium_members") == ["alice", "bob"]
    assert members.kubo_group_members(groups, "") == []
    assert members.kubo_group_members(groups, "no_such_group") == []


def test_a_member_without_a_peer_id_is_unknown_unless_spared() -> None:
    group = ["alice", "bob", "dave", "erin"]
    assert members.kubo_unknown_members(group, IDENTITIES) == ["dave", "erin"]
    # A check-mode run spares the play's hosts: a new one gets its peer ID in the real run.
    assert members.kubo_unknown_members(group, IDENTITIES, ["erin", "alice"]) == ["dave"]


def test_a_member_lists_the_other_known_members_sorted() -> None:
    group = ["carol", "alice", "dave", "bob"]
    assert members.kubo_other_members(group, IDENTITIES, "bob") == ["alice", "carol"]
    assert members.kubo_other_members([], IDENTITIES, "bob") == []


def test_the_other_members_become_peering_entries() -> None:
    assert peering.kubo_peering_entries(["alice", "carol"], IDENTITIES) == [
        {"ID": "12D3KooWAlice", "Addrs": ["/dns4/alice.example.org/tcp/4001"]},
        {"ID": "12D3KooWCarol", "Addrs": ["/ip4/198.51.100.9/tcp/4001"]},
    ]


def test_consortium_peers_with_addresses_become_peering_entries_once() -> None:
    members_entries = peering.kubo_peering_entries(["alice"], IDENTITIES)
    peers = [
        "12D3KooWPlain",  # no addresses: a peer of the sync only
        {"name": "dave", "ipns": "12D3KooWDave", "addrs": ["/ip4/198.51.100.4/tcp/4001"]},
        {"name": "erin", "ipns": "/ipns/k51erin", "addrs": ["/dns4/erin.example.org/tcp/4001"]},
        {"name": "frank", "ipns": "k51f", "peer_id": "12D3KooWF", "addrs": ["/ip4/1.2.3.4/tcp/1"]},
        {"name": "gina", "ipns": "12D3KooWGina", "addrs": []},
        # A member of the inventory listed again by hand keeps its own entry.
        {"name": "alice", "ipns": "12D3KooWAlice", "addrs": ["/ip4/192.0.2.1/tcp/4001"]},
    ]
    assert peering.kubo_peering_with_peers(members_entries, peers) == members_entries + [
        {"ID": "12D3KooWDave", "Addrs": ["/ip4/198.51.100.4/tcp/4001"]},
        {"ID": "k51erin", "Addrs": ["/dns4/erin.example.org/tcp/4001"]},
        {"ID": "12D3KooWF", "Addrs": ["/ip4/1.2.3.4/tcp/1"]},
    ]
    assert peering.kubo_peering_with_peers([], []) == []


def test_the_other_members_become_config_json_peers() -> None:
    assert consortium_peers.consortium_member_peers(["alice", "carol"], IDENTITIES) == [
        {"name": "alice", "ipns": "12D3KooWAlice", "addrs": ["/dns4/alice.example.org/tcp/4001"]},
        {"name": "carol", "ipns": "12D3KooWCarol", "addrs": ["/ip4/198.51.100.9/tcp/4001"]},
    ]


ALICE_ADDRS = IDENTITIES["alice"]["addresses"]


def test_a_member_peer_names_its_report_once_the_report_key_is_known() -> None:
    identities = {
        "alice": IDENTITIES["alice"] | {"keys": {"report": "k51alice", "other": "k51other"}},
        # No addresses recorded: no addrs.
        "bob": {"peer_id": "12D3KooWBob", "addresses": [], "keys": {}},
        "carol": {"peer_id": "12D3KooWCarol"},  # a record from before keys were recorded
    }
    assert consortium_peers.consortium_member_peers(
        ["alice", "bob", "carol"], identities, "report"
    ) == [
        {"name": "alice", "ipns": "12D3KooWAlice", "report": "k51alice", "addrs": ALICE_ADDRS},
        {"name": "bob", "ipns": "12D3KooWBob"},
        {"name": "carol", "ipns": "12D3KooWCarol"},
    ]
    # A member of several hosts is named after the member, by the host that publishes for it.
    assert consortium_peers.consortium_member_peers(
        ["alice"], identities, None, {"Alice": ["alice", "alice-2"], "bob": ["bob"]}
    ) == [{"name": "Alice", "ipns": "12D3KooWAlice", "addrs": ALICE_ADDRS}]
    # No report key (report_key null): no report named.
    assert consortium_peers.consortium_member_peers(["alice"], identities, None) == [
        {"name": "alice", "ipns": "12D3KooWAlice", "addrs": ALICE_ADDRS}
    ]


def test_joined_peers_already_listed_by_name_or_ipns_name_are_left_out() -> None:
    listed = [
        {"name": "alice", "ipns": "12D3KooWAlice"},  # a member of the inventory
        "/ipns/12D3KooWPlain",
        {"name": "dave", "ipns": "12D3KooWDave", "max_pins": 5},  # the operator's own line
    ]
    joined = [
        {"name": "alice", "ipns": "12D3KooWAlice", "addrs": ["/ip4/192.0.2.1/tcp/4001"]},
        {"name": "plain", "ipns": "12D3KooWPlain"},
        {"name": "dave2", "ipns": "/ipns/12D3KooWDave"},
        {"name": "erin", "ipns": "12D3KooWErin"},
        {"name": "erin", "ipns": "12D3KooWErin2"},  # a name the directory repeats
        {"name": "frank", "ipns": "12D3KooWFrank"},
    ]
    assert consortium_peers.consortium_new_peers(joined, listed) == [
        {"name": "erin", "ipns": "12D3KooWErin"},
        {"name": "frank", "ipns": "12D3KooWFrank"},
    ]
    assert consortium_peers.consortium_new_peers([], listed) == []


def _slurped(secret: str, client: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"content": base64.b64encode(secret.encode()).decode()}
    return result | ({"item": {"item": client}} if client else {})


def test_a_secret_is_read_back_as_the_member_keeps_it() -> None:
    assert api_auth.kubo_api_secret(_slurped("bearer:token")) == "bearer:token"
    # A check-mode run that would write the file first has none to read.
    assert api_auth.kubo_api_secret({"skipped": True}) == "bearer:"


def test_api_authorizations_hold_the_role_and_each_client_with_its_own_secret() -> None:
    clients = {"sync": ["/api/v0/pin/ls"], "new": ["/api/v0/id"]}
    slurped = [_slurped("bearer:sync-token", "sync"), {"skipped": True, "item": {"item": "new"}}]
    assert api_auth.kubo_api_authorizations(clients, "bearer:own", slurped) == {
        "ipfs-consortium": {"AuthSecret": "bearer:own", "AllowedPaths": ["/api/v0"]},
        "sync": {"AuthSecret": "bearer:sync-token", "AllowedPaths": ["/api/v0/pin/ls"]},
        "new": {"AuthSecret": "bearer:", "AllowedPaths": ["/api/v0/id"]},
    }


def test_the_wanted_settings_are_the_network_then_kubo_config_then_the_roles_own() -> None:
    network = {"Bootstrap": [], "DNS.Resolvers": {}}
    kubo_config = {
        "DNS.Resolvers": {".": "https://127.0.0.1:9/dns-query"},
        "Swarm.ConnMgr.HighWater": 9,
    }
    owned = {"Addresses.API": {"variable": "kubo_api_port", "value": "/ip4/127.0.0.1/tcp/5001"}}
    assert config.kubo_config_wanted(network, kubo_config, owned) == {
        "Bootstrap": [],
        "DNS.Resolvers": {".": "https://127.0.0.1:9/dns-query"},
        "Swarm.ConnMgr.HighWater": 9,
        "Addresses.API": "/ip4/127.0.0.1/tcp/5001",
    }


def kubo_keys_repo(kubo_bin: Path, path: Path, keys: dict[str, str]) -> dict[str, str]:
    """A repository made offline by Kubo with ``keys`` (name to key type); returns the IPNS
    name Kubo prints for each key, by name."""
    env = {"IPFS_PATH": str(path), "IPFS_TELEMETRY": "off", "PATH": "/usr/bin:/bin"}
    ipfs = [str(kubo_bin)]
    subprocess.run([*ipfs, "init", "--profile", "test", "--empty-repo"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    for name, key_type in keys.items():
        subprocess.run([*ipfs, "key", "gen", f"--type={key_type}", name], env=env, check=True,
                       capture_output=True)  # fmt: skip
    listed = subprocess.run([*ipfs, "key", "list", "-l", "--ipns-base=base36"], env=env,
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    return {line.split()[1]: line.split()[0] for line in listed.splitlines()}


def _slurp_keystore(path: Path) -> list[dict[str, Any]]:
    """What the role's slurp loop over the keystore returns."""
    return [
        {"source": str(file), "content": base64.b64encode(file.read_bytes()).decode()}
        for file in sorted((path / "keystore").iterdir())
    ]


def test_a_keys_ipns_name_is_the_one_kubo_prints_for_it(kubo_bin: Path, tmp_path: Path) -> None:
    printed = kubo_keys_repo(kubo_bin, tmp_path / "repo", {"ed25519": "ed25519"})
    saved = keys.kubo_keystore_keys(_slurp_keystore(tmp_path / "repo"))
    assert list(saved) == ["ed25519"]
    assert keys.kubo_ipns_names(saved) == {"ed25519": printed["ed25519"]}
    assert printed["ed25519"].startswith("k51")


def test_the_keystore_file_of_a_key_is_where_kubo_writes_it(kubo_bin: Path, tmp_path: Path) -> None:
    kubo_keys_repo(kubo_bin, tmp_path / "repo", {"ed25519": "ed25519"})
    assert [file.name for file in (tmp_path / "repo" / "keystore").iterdir()] == [
        keys.kubo_keystore_file("ed25519")
    ]
    assert keys.kubo_keystore_file("ipfs-consortium-report") == (
        "key_nfygm4znmnxw443poj2gs5lnfvzgk4dpoj2a"
    )


def test_a_key_whose_name_needs_its_public_key_derived_has_none(
    kubo_bin: Path, tmp_path: Path
) -> None:
    printed = kubo_keys_repo(
        kubo_bin, tmp_path / "repo", {"ed25519": "ed25519", "secp256k1": "secp256k1"}
    )
    saved = keys.kubo_keystore_keys(_slurp_keystore(tmp_path / "repo"))
    # Both are backed up; only the Ed25519 key's name is computed (and right).
    assert sorted(saved) == ["ed25519", "secp256k1"]
    assert keys.kubo_ipns_names(saved) == {"ed25519": printed["ed25519"]}


def test_a_file_that_is_no_private_key_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="^not a libp2p private key"):
        keys.kubo_ipns_names({"x": base64.b64encode(b"\x0b").decode()})


def _consortium_preflight(tmp_path: Path, extra_vars: dict[str, Any]) -> tuple[int, list[str]]:
    """The consortium role's preflight on this machine: its return code and failure messages."""
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        "  tasks:\n    - {include_role: {name: consortium, tasks_from: preflight.yml}}\n"
    )
    run = run_playbook(playbook, inventory="localhost,", extra_vars=extra_vars, check=False)
    messages = [
        host["msg"]
        for play in run.output["plays"] for task in play["tasks"]
        for host in task["hosts"].values() if host.get("failed")
    ]  # fmt: skip
    return run.returncode, messages


def test_the_consortium_role_stops_in_one_line_without_the_kubo_roles_identities(
    tmp_path: Path,
) -> None:
    returncode, messages = _consortium_preflight(tmp_path, {})
    assert returncode != 0
    assert messages == [
        "consortium_identities is not set: give it the kubo role's kubo_identities fact,"
        " running the kubo role first in the same play (as playbooks/member.yml does), or {}"
        ' with consortium_peer_group "" to list the peers only by hand (consortium_peers).'
    ]


def test_the_consortium_role_names_a_member_whose_peer_id_is_unknown(tmp_path: Path) -> None:
    returncode, messages = _consortium_preflight(
        tmp_path, {"consortium_identities": {}, "consortium_peer_group": "all"}
    )
    assert returncode != 0
    assert messages[0].startswith("No peer ID is known for localhost (group all): ")
    returncode, messages = _consortium_preflight(
        tmp_path, {"consortium_identities": {"localhost": {"peer_id": "12D3KooWLocal"}},
                   "consortium_peer_group": "all"},
    )  # fmt: skip
    assert (returncode, messages) == (0, [])


def test_the_consortium_role_names_bad_swarm_addresses_and_unpeerable_peers(
    tmp_path: Path,
) -> None:
    alone = {"consortium_identities": {}, "consortium_peer_group": ""}
    dave = {"name": "dave", "ipns": "12D3KooWDave", "addrs": ["/ip4/198.51.100.4/tcp/4001"]}
    bad = ["203.0.113.7:4001", "/ip4/1.2.3.4/udp/1"]
    returncode, messages = _consortium_preflight(
        tmp_path,
        alone | {"consortium_addrs": ["/ip4/203.0.113.10/tcp/4001/p2p/12D3KooWMe"],
                 "consortium_peers": [dave | {"addrs": bad}]},
    )  # fmt: skip
    assert returncode != 0
    assert messages == [
        "Swarm addresses are lists of /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT or .../udp/PORT/quic-v1,"
        " without /p2p/... (/ip4/203.0.113.10/tcp/4001/p2p/12D3KooWMe, 203.0.113.7:4001,"
        " /ip4/1.2.3.4/udp/1): fix"
        " consortium_addrs (default kubo_peering_addresses) or the addrs of consortium_peers"
        ' (it is ["/ip4/203.0.113.10/tcp/4001/p2p/12D3KooWMe"]).'
    ]
    returncode, messages = _consortium_preflight(
        tmp_path,
        alone | {"consortium_addrs": ["/dns4/me.example.org/tcp/4001", "/ip6/::1/udp/4001/quic-v1"],
                 "consortium_peers": [dave, {"name": "erin", "ipns": "erin.example.org",
                                             "addrs": ["/ip4/198.51.100.5/tcp/4001"]}]},
    )  # fmt: skip
    assert returncode != 0
    assert messages == [
        "consortium_peers erin has addrs, so the kubo role keeps this node connected to it by its"
        " peer ID: give its peer ID as ipns (12D3KooW..., k51...) or as peer_id, or drop its addrs."
    ]
    returncode, messages = _consortium_preflight(
        tmp_path, alone | {"consortium_addrs": [], "consortium_peers": [dave, "12D3KooWPlain"]}
    )
    assert (returncode, messages) == (0, [])


def test_the_filters_are_registered_under_their_names() -> None:
    assert members.FilterModule().filters() == {
        "kubo_group_members": members.kubo_group_members,
        "kubo_unknown_members": members.kubo_unknown_members,
        "kubo_other_members": members.kubo_other_members,
        "kubo_member_hosts": members.kubo_member_hosts,
    }
    assert cluster_peers.FilterModule().filters() == {
        "ipfs_cluster_peer_addresses": cluster_peers.ipfs_cluster_peer_addresses
    }
    assert api_auth.FilterModule().filters() == {
        "kubo_api_secret": api_auth.kubo_api_secret,
        "kubo_api_authorizations": api_auth.kubo_api_authorizations,
    }
    assert keys.FilterModule().filters() == {
        "kubo_keystore_file": keys.kubo_keystore_file,
        "kubo_keystore_keys": keys.kubo_keystore_keys,
        "kubo_ipns_names": keys.kubo_ipns_names,
    }
    assert consortium_peers.FilterModule().filters() == {
        "consortium_member_peers": consortium_peers.consortium_member_peers,
        "consortium_new_peers": consortium_peers.consortium_new_peers,
    }


@pytest.mark.parametrize(
    ("instance_type", "arm64"),
    [("t4g.small", True), ("m7gd.large", True), ("c6gn.xlarge", True), ("is4gen.large", True),
     ("a1.medium", True), ("t3.small", False), ("g4dn.xlarge", False), ("g6e.2xlarge", False),
     ("m7i.large", False), ("c7a.medium", False), ("t4g", False)],
)  # fmt: skip
def test_a_graviton_instance_type_is_arm64(instance_type: str, arm64: bool) -> None:
    assert ec2_arch.ec2_member_arm64(instance_type) is arm64
    assert ec2_arch.FilterModule().filters() == {"ec2_member_arm64": ec2_arch.ec2_member_arm64}
