"""The kubo role's settings: its table of Kubo defaults against the real `ipfs init`, the
writes that move a repository between a private and the public network, or give one made
before the possession checks the settings they need, preflight's
refusal of a kubo_config or kubo_environment that would undo or escape the role, of an
IPNS key name Kubo refuses, of a network that is not stated, and of a StorageMax above its
filesystem, the refusal of an archive whose digest the inventory does not state, and the
keys of a repository Kubo made as the identity step records them and the backup saves them."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.ec2.ansible_run import PlaybookRun, run_playbook
from tests.test_role_filters import keys, kubo_keys_repo

ROLE = Path(__file__).resolve().parent.parent / "roles" / "kubo"
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
VERSION = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["kubo_version"]
ARCH = ROLE_VARS["_kubo_arch_map"][platform.machine()]
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


# The settings the role keeps whatever the inventory says, as the configure step writes them.
FIXED = {key: setting["value"] for key, setting in OWNED.items() if "variable" not in setting}


def test_a_repository_made_before_the_possession_checks_gets_their_settings_once(
    kubo_bin: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    fresh = _init(kubo_bin, repo)
    assert FIXED == {"Gateway.NoFetch": True, "Experimental.Libp2pStreamMounting": True}
    assert kubo_config.kubo_config_changes(fresh, FIXED) == FIXED
    configured = _apply(kubo_bin, repo, FIXED)
    assert {key: kubo_config._lookup(configured, key) for key in FIXED} == FIXED
    assert kubo_config.kubo_config_changes(configured, FIXED) == {}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Addresses.API", "the role sets Addresses.API from kubo_api_port. Use kubo_api_port"),
        ("addresses.api", "the role sets Addresses.API from kubo_api_port"),
        ("Addresses.Swarm.0", "the role sets Addresses.Swarm from kubo_swarm_addresses"),
        ("Peering", "the role sets Peering.Peers from kubo_peering_peers"),
        ("DNS", "it overlaps DNS.Resolvers, which the role sets for the network"),
        ("routing.delegatedrouters", "give the key Routing.DelegatedRouters itself"),
        ("ipns.recordlifetime", "the role sets Ipns.RecordLifetime from kubo_ipns_record_lifetime"),
        ("routing.type", "it overlaps Routing.Type, which the role sets for the network"),
        ("Gateway.NoFetch", "the role sets Gateway.NoFetch to true for the possession checks"),
        (
            "experimental",
            "the role sets Experimental.Libp2pStreamMounting to true for the possession checks",
        ),
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


# What a production inventory states (examples/ssh/group_vars/consortium_members/main.yml): a
# private network with its key, and the digest of the release (a made-up one: preflight
# only checks that it is stated).
PRODUCTION = {
    "kubo_network": "private",
    "kubo_swarm_key": "ab" * 32,
    "kubo_archive_sha512": {VERSION: {ARCH: "0" * 128}},
}


def _run_role(
    tmp_path: Path, extra_vars: dict[str, Any], tasks_from: str = "main.yml", check: bool = False
) -> PlaybookRun:
    """The role (or one of its task files) against this machine, which it only reads:
    preflight reads variables and facts; the whole role runs in check mode."""
    playbook = tmp_path / "role.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n"
        "  gather_facts: true\n  gather_subset: [min, hardware]\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        f"  tasks:\n    - {{include_role: {{name: kubo, tasks_from: {tasks_from}}}}}\n"
    )
    options = ["--check"] if check else []
    return run_playbook(
        playbook, inventory="localhost,", extra_vars={**PRODUCTION, **extra_vars},
        options=options, check=False,
    )  # fmt: skip


def _failure(run: PlaybookRun) -> tuple[str, str]:
    """The one failed task (or loop item) of a run: its name and its message."""
    assert run.returncode != 0
    ((name, message),) = [
        (task["task"]["name"], result["msg"])
        for play in run.output["plays"]
        for task in play["tasks"]
        for host in task["hosts"].values()
        for result in host.get("results", [host])
        if result.get("failed")
    ]
    assert isinstance(message, str)
    return name, message


def _preflight(tmp_path: Path, extra_vars: dict[str, Any]) -> str:
    """The role's preflight on this machine: its failure message."""
    return _failure(_run_role(tmp_path, extra_vars, tasks_from="preflight.yml"))[1]


def test_preflight_refuses_the_api_on_another_address_through_a_parent_key(
    tmp_path: Path,
) -> None:
    message = _preflight(tmp_path, {"kubo_config": {"Addresses": {"API": "/ip4/0.0.0.0/tcp/5001"}}})
    assert message.startswith("kubo_config cannot set Addresses: the role sets ")
    assert "Addresses.API from kubo_api_port" in message


def test_preflight_refuses_a_gateway_that_would_fetch_what_the_node_lacks(tmp_path: Path) -> None:
    assert _preflight(tmp_path, {"kubo_config": {"Gateway.NoFetch": False}}) == (
        "kubo_config cannot set Gateway.NoFetch: the role sets Gateway.NoFetch to true for the"
        " possession checks (the gateway answers from the node's own blocks only). Leave"
        " Gateway.NoFetch out of kubo_config."
    )


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


@pytest.mark.parametrize("period", ["30s", "2d", "4 hours"])
def test_preflight_refuses_a_republish_period_kubo_refuses(tmp_path: Path, period: str) -> None:
    message = _preflight(tmp_path, {"kubo_ipns_republish_period": period})
    assert message == (
        f"kubo_ipns_republish_period {period} is not a period Kubo accepts for"
        " Ipns.RepublishPeriod: give a duration from 1m to 24h, such as 1m or 4h."
    )


@pytest.mark.parametrize("lifetime", ["23h", "30d", "8761h", "720 hours"])
def test_preflight_refuses_a_record_lifetime_kubo_or_the_sync_refuses(
    tmp_path: Path, lifetime: str
) -> None:
    message = _preflight(tmp_path, {"kubo_ipns_record_lifetime": lifetime})
    assert message == (
        f"kubo_ipns_record_lifetime {lifetime} is not a validity the member can use for"
        " Ipns.RecordLifetime: give a duration from 24h to 8760h (a year), such as 720h (Kubo"
        " counts no days: 30 days is 720h)."
    )


@pytest.mark.parametrize("name", ["self", "", ".hidden", "a/b"])
def test_preflight_refuses_an_ipns_key_name_kubo_refuses(tmp_path: Path, name: str) -> None:
    message = _preflight(tmp_path, {"kubo_ipns_keys": ["ipfs-consortium-report", name]})
    assert message == (
        f'kubo_ipns_keys is ["ipfs-consortium-report", "{name}"]: a key\'s name may not be empty'
        " nor \"self\", start with '.' or hold a '/'. Rename the key."
    )


@pytest.mark.parametrize(
    "socket", ["api.sock", "/var/lib/ipfs/api.sock", "/api.sock", "/run/ipfs-api/", "/run/a b/s"]
)
def test_preflight_refuses_an_api_socket_its_group_could_not_reach(
    tmp_path: Path, socket: str
) -> None:
    message = _preflight(tmp_path, {"kubo_api_socket": socket})
    assert message.startswith(f"kubo_api_socket {socket} must be an absolute file path ")


def test_preflight_passes_an_api_socket_beside_the_repository(tmp_path: Path) -> None:
    run = _run_role(tmp_path, {"kubo_api_socket": "/var/lib/ipfs-api/api.sock"}, "preflight.yml")
    assert run.returncode == 0, run.stderr


def test_preflight_passes_a_production_inventory(tmp_path: Path) -> None:
    run = _run_role(tmp_path, {"kubo_ipns_keys": ["ipfs-consortium-report"]}, "preflight.yml")
    assert run.returncode == 0, run.stderr


def test_preflight_refuses_a_network_that_is_not_stated(tmp_path: Path) -> None:
    message = _preflight(tmp_path, {"kubo_network": "", "kubo_swarm_key": ""})
    assert message == (
        "choose the network: kubo_network: private with kubo_swarm_key (64 hex, from a vault)"
        " or kubo_network: public"
    )


@pytest.mark.parametrize(("key", "problem"), [("", "empty"), ("ab" * 31, "not 64 hex characters")])
def test_preflight_refuses_a_private_network_without_its_key(
    tmp_path: Path, key: str, problem: str
) -> None:
    message = _preflight(tmp_path, {"kubo_swarm_key": key})
    assert message.startswith(f"kubo_network is private but kubo_swarm_key is {problem}: ")
    assert "vault_kubo_swarm_key" in message and "\n" not in message


def test_preflight_refuses_a_swarm_key_on_the_public_network(tmp_path: Path) -> None:
    message = _preflight(tmp_path, {"kubo_network": "public"})
    assert message.startswith("kubo_network is public but kubo_swarm_key is set: ")
    public = _run_role(
        tmp_path, {"kubo_network": "public", "kubo_swarm_key": ""}, tasks_from="preflight.yml"
    )
    assert public.returncode == 0, public.stderr


@pytest.fixture
def test_build_dir() -> Path:
    """The directory of the archive scripts/kubo-build packs for the pinned release."""
    archive = subprocess.run(
        [ROLE.parent.parent / "scripts" / "kubo-build"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Path(archive).parent


def test_a_production_inventory_refuses_a_test_build_without_its_digest(
    tmp_path: Path, test_build_dir: Path
) -> None:
    run = _run_role(
        tmp_path,
        {"kubo_archive_dir": str(test_build_dir), "kubo_archive_sha512": {}},
        check=True,
    )
    task, message = _failure(run)
    assert task == "kubo : Check kubo_archive_sha512 states the release archive's digest"
    assert message == (
        f"no published sha512 for Kubo {VERSION} linux-{ARCH} in kubo_archive_sha512: copy it"
        f" from https://dist.ipfs.tech/kubo/{VERSION}/kubo_{VERSION}_linux-{ARCH}.tar.gz.sha512"
        " and check it against the GitHub release"
    )
    assert run.stats["localhost"]["changed"] == 0


def test_a_production_inventory_refuses_a_test_build_under_another_digest(
    tmp_path: Path, test_build_dir: Path
) -> None:
    """As if the inventory stated the release's digest and the cache held the test build."""
    # A closed loopback port: a run that tried to replace the archive would fail, not reach out.
    run = _run_role(
        tmp_path,
        {"kubo_archive_dir": str(test_build_dir), "kubo_download_url": "http://127.0.0.1:9/none"},
        check=True,
    )
    task, message = _failure(run)
    assert task == "kubo : Refuse a cached archive that is not the release stated"
    archive = test_build_dir / f"kubo_{VERSION}_linux-{ARCH}.tar.gz"
    assert message.startswith(f"{archive} has sha512 ")
    assert f"not the {'0' * 16}… that kubo_archive_sha512 states for Kubo {VERSION}" in message
    assert "\n" not in message
    assert run.stats["localhost"]["changed"] == 0
    assert not [
        task for play in run.output["plays"] for task in play["tasks"]
        if task["task"]["name"] == "kubo : Install the ipfs binary"
    ]  # fmt: skip


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A repository directory on a 64 MiB ext4 filesystem of its own (a loop device)."""
    if os.geteuid() != 0 or shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs root, losetup and mkfs.ext4 to make a loop device")
    backing, mount_point = tmp_path / "disk.img", tmp_path / "volume"
    with backing.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", backing], check=True)
    mount_point.mkdir()
    subprocess.run(["mount", "-o", "loop", backing, mount_point], check=True)
    try:
        (mount_point / "ipfs").mkdir()
        yield mount_point / "ipfs"
    finally:
        subprocess.run(["umount", mount_point], check=True)


def test_preflight_refuses_a_storage_max_above_the_repositorys_filesystem(
    tmp_path: Path, tiny_filesystem: Path
) -> None:
    stat = os.statvfs(tiny_filesystem)
    size = stat.f_frsize * stat.f_blocks
    too_big = {"kubo_repo_path": str(tiny_filesystem), "kubo_storage_max": "0.1GB"}
    assert _preflight(tmp_path, too_big) == (
        f"kubo_storage_max 0.1GB (0.1 GB) is more than the {size / 1e9:.4g} GB filesystem that"
        f" holds {tiny_filesystem} on localhost (mounted at {tiny_filesystem.parent}): set it"
        " below that, leaving room for the filesystem itself."
    )
    fits = {"kubo_repo_path": str(tiny_filesystem), "kubo_storage_max": "50MB"}
    assert _run_role(tmp_path, fits, tasks_from="preflight.yml").returncode == 0


def test_preflight_refuses_a_storage_max_kubo_cannot_read(tmp_path: Path) -> None:
    message = _preflight(
        tmp_path, {"kubo_repo_path": str(tmp_path), "kubo_storage_max": "80 GBytes"}
    )
    assert message == (
        "kubo_storage_max 80 GBytes is not a size Kubo reads: give a number and a unit, such as"
        " 80GB or 75GiB."
    )


def test_preflight_refuses_memory_ceilings_out_of_order(tmp_path: Path) -> None:
    ceilings = {"kubo_memory_max_mb": 1000, "kubo_memory_high_mb": 1200, "kubo_gomemlimit_mb": 800}
    message = _preflight(tmp_path, ceilings)
    assert message.startswith(
        "The daemon's memory ceilings must rise: kubo_gomemlimit_mb (800) <"
        " kubo_memory_high_mb (1200) < kubo_memory_max_mb (1000) < the "
    )


def test_a_member_known_by_a_dns_name_is_peered_by_that_name(tmp_path: Path) -> None:
    """The peering address each member records for the others (the identity step, on this
    machine with one repository for all): a DNS name of the inventory where it has one, the
    default IPv4 address for an IP address or a bare container name."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "config").write_text(json.dumps({"Identity": {"PeerID": "12D3KooWExample"}}))
    hosts = {
        "by-name": {"ansible_host": "alice.example.org"},
        "by-address": {"ansible_host": "198.51.100.7"},
        "bob.example.org": {"ansible_host": "198.51.100.8"},
        "carol": {"ansible_host": "ipfs-consortium-carol"},
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
    }}}))  # fmt: skip
    playbook = tmp_path / "identity.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: true\n  gather_subset: [min, network]\n"
        "  tasks:\n    - {include_role: {name: kubo, tasks_from: identity.yml}}\n"
    )
    run = run_playbook(
        playbook, inventory=str(inventory),
        extra_vars={"kubo_repo_path": str(repo), "kubo_peering_group": ""},
    )  # fmt: skip
    (gathered,) = [
        task["hosts"]["carol"]["ansible_facts"]
        for play in run.output["plays"] for task in play["tasks"]
        if task["task"]["name"] == "Gathering Facts"
    ]  # fmt: skip
    own_ipv4 = gathered.get("ansible_default_ipv4", {}).get("address", "127.0.0.1")

    def recorded(host: str) -> list[str]:
        record = yaml.safe_load((tmp_path / ".kubo-identities" / f"{host}.yml").read_text())
        addresses: list[str] = record[host]["addresses"]
        return addresses

    assert recorded("by-name") == ["/dns4/alice.example.org/tcp/4001"]
    assert recorded("by-address") == [f"/ip4/{own_ipv4}/tcp/4001"]
    assert recorded("bob.example.org") == ["/dns4/bob.example.org/tcp/4001"]
    assert recorded("carol") == [f"/ip4/{own_ipv4}/tcp/4001"]


def _identity_playbook(tmp_path: Path) -> Path:
    """A playbook that runs the role's identity step on this machine."""
    playbook = tmp_path / "identity.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: true\n  gather_subset: [min]\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        "  tasks:\n    - {include_role: {name: kubo, tasks_from: identity.yml}}\n"
    )
    return playbook


@pytest.mark.parametrize("check", [False, True])
def test_the_identity_names_every_key_of_the_keystore_as_kubo_does(
    kubo_bin: Path, tmp_path: Path, check: bool
) -> None:
    """The identity step on a repository that Kubo made, with a key the role listed and one
    made by hand: kubo_identities and the record name both by the IPNS names Kubo prints
    (kubo_identities also in check mode)."""
    repo = tmp_path / "repo"
    printed = kubo_keys_repo(
        kubo_bin, repo, {"ipfs-consortium-report": "ed25519", "by-hand": "ed25519"}
    )
    playbook = _identity_playbook(tmp_path)
    run = run_playbook(
        playbook, inventory="localhost,", options=["--check"] if check else [], check=False,
        extra_vars={"kubo_repo_path": str(repo), "kubo_peering_group": "",
                    "kubo_ipns_keys": ["ipfs-consortium-report"]},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (identities,) = [
        task["hosts"]["localhost"]["ansible_facts"]["kubo_identities"]
        for play in run.output["plays"] for task in play["tasks"]
        if task["task"]["name"].startswith("kubo : Publish every known identity")
    ]  # fmt: skip
    expected = {name: printed[name] for name in ["ipfs-consortium-report", "by-hand"]}
    assert identities["localhost"]["keys"] == expected
    if not check:  # a check-mode run writes no record
        record = yaml.safe_load((tmp_path / ".kubo-identities" / "localhost.yml").read_text())
        assert record["localhost"]["keys"] == expected


def test_the_identity_backup_saves_every_key_of_the_keystore(
    kubo_bin: Path, tmp_path: Path
) -> None:
    """playbooks/identity-backup.yml's step on a repository Kubo made: the vault file holds
    each key's bytes (kubo_identity.keys), which give the IPNS name Kubo prints."""
    repo = tmp_path / "repo"
    printed = kubo_keys_repo(kubo_bin, repo, {"ipfs-consortium-report": "ed25519"})
    password = tmp_path / "vault-password"
    password.write_text("test-only\n")
    playbook = tmp_path / "backup.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        "  tasks:\n    - {include_role: {name: kubo, tasks_from: identity_backup.yml}}\n"
    )
    saved = tmp_path / "identities" / "localhost.yml"
    run = run_playbook(
        playbook, inventory="localhost,", check=False,
        env={"ANSIBLE_VAULT_PASSWORD_FILE": str(password)},
        extra_vars={"kubo_repo_path": str(repo), "kubo_identity_file": str(saved)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    decrypted = subprocess.run(
        [Path(sys.executable).parent / "ansible-vault", "view", "--vault-password-file", password,
         saved], check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    identity = yaml.safe_load(decrypted)["kubo_identity"]
    assert identity["keys"] == {
        "ipfs-consortium-report": base64.b64encode(
            (repo / "keystore" / keys.kubo_keystore_file("ipfs-consortium-report")).read_bytes()
        ).decode()
    }
    assert keys.kubo_ipns_names(identity["keys"]) == {
        "ipfs-consortium-report": printed["ipfs-consortium-report"]
    }


def test_a_run_names_the_keys_that_the_identity_backup_lacks(
    kubo_bin: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    kubo_keys_repo(kubo_bin, repo, {"ipfs-consortium-report": "ed25519"})
    identity = json.loads((repo / "config").read_text())["Identity"]
    playbook = _identity_playbook(tmp_path)

    def notices(saved_keys: dict[str, str] | None) -> list[str]:
        saved = {"peer_id": identity["PeerID"], "private_key": identity["PrivKey"]}
        if saved_keys is not None:
            saved["keys"] = saved_keys
        run = run_playbook(
            playbook, inventory="localhost,", check=False,
            extra_vars={"kubo_repo_path": str(repo), "kubo_peering_group": "",
                        "kubo_identity": saved},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        return [
            task["hosts"]["localhost"]["msg"]
            for play in run.output["plays"] for task in play["tasks"]
            if task["task"]["name"] == "kubo : Say which keys the identity backup lacks"
            and not task["hosts"]["localhost"].get("skipped")
        ]  # fmt: skip

    # A backup from before keys were saved.
    (notice,) = notices(None)
    assert notice.startswith("The identity backup of localhost (")
    assert " lacks the keys ipfs-consortium-report, which a rebuilt member would get anew" in notice
    assert notice.endswith(" -e kubo_identity_backup_force=true.")
    assert notices({"ipfs-consortium-report": "saved"}) == []
