"""The README's "try it" command end to end: scripts/local-consortium up makes three member
containers that pin each other's content, a second up changes nothing, a member whose
container is stopped and started comes back at its address and catches up by cron, status
changes nothing, an edited sample text is all it takes for the others to pin the new
content, and down removes the containers and the network.

Real Podman containers with systemd and the real site.yml, as a user runs it (about seven
minutes). It uses the names a user's own local consortium has, so it refuses to start
while one is up rather than take it down.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local-consortium"
INVENTORY = ROOT / "inventory" / "local"
NETWORK = "ipfs-consortium-local"
# Inside a member, as the consortium role installs it.
CLI = "/opt/ipfs-consortium/venv/bin/ipfs-consortium"
CONFIG = "/etc/ipfs-consortium/config.json"
MANIFESTS = "/etc/ipfs-consortium/manifests"
# Two cron intervals (every minute) and the time a sync takes.
CATCH_UP_SECONDS = 200


def local_consortium(command: str) -> str:
    done = subprocess.run(
        [SCRIPT, command], capture_output=True, text=True, timeout=1200, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def podman(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], input=stdin, capture_output=True, text=True, check=False
    )


def ipfs_in(container: str, *args: str, stdin: str | None = None) -> str | None:
    """An ipfs command in a member, as scripts/local-consortium's ipfs_in runs it: its
    output, None if it failed (the daemon is still starting)."""
    done = podman(
        "exec", "-i", container, "sh", "-c",
        'exec /usr/local/bin/ipfs --api /ip4/127.0.0.1/tcp/5001'
        ' --api-auth "$(cat /var/lib/ipfs/api-auth)" "$@"',
        "ipfs", *args, stdin=stdin,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else None


def address(container: str) -> str:
    done = podman(
        "container", "inspect", "--format",
        f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}', container,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def peer_id(container: str) -> str:
    config = json.loads(podman("exec", container, "cat", "/var/lib/ipfs/config").stdout)
    identity: str = config["Identity"]["PeerID"]
    return identity


def publish_new_content(container: str) -> str:
    """New bytes added to the member's node and listed in a new manifest, published as the
    consortium role's publish task does: the new CID."""
    added = ipfs_in(container, "add", "--quieter", "--pin=true", stdin=f"{uuid.uuid4()}\n")
    assert added, f"ipfs add failed in {container}"
    cid = added.strip()
    manifest = json.dumps([cid])
    wrote = podman("exec", container, "sh", "-c", f"echo '{manifest}' > {MANIFESTS}/restart.json")
    assert wrote.returncode == 0, wrote.stderr
    published = podman(
        "exec", container, "runuser", "-u", "ipfs-consortium", "--",
        CLI, "publish", MANIFESTS, "--key", "self", "--config", CONFIG, "--allow-empty", "--json",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    return cid


def within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(5)
    return True


def restarted_member_catches_up(containers: dict[str, str], member: str) -> str:
    """Stop ``member``'s container, have another member publish new content, start it
    again: it comes back at its address, its Kubo reconnects to every other member and its
    cron sync pins the new content. The new CID."""
    name, publisher = containers[member], containers["alice"]
    before = address(name)
    assert podman("stop", name).returncode == 0
    cid = publish_new_content(publisher)
    assert podman("start", name).returncode == 0
    assert address(name) == before, "the member came back at another address"
    others = {peer_id(other) for other in containers.values() if other != name}

    def connected() -> set[str]:
        peers = (ipfs_in(name, "swarm", "peers") or "").split()
        return {peer.rsplit("/p2p/", 1)[-1] for peer in peers} & others

    def pinned() -> bool:
        return ipfs_in(name, "pin", "ls", "--type=recursive", cid) is not None

    def cron_log() -> str:
        return podman("exec", name, "tail", "-n", "20", "/var/log/ipfs-consortium/sync.log").stdout

    assert within(CATCH_UP_SECONDS, lambda: connected() == others and pinned()), (
        f"{member}, started again, is connected to {len(connected())} of {len(others)}"
        f" members; holds {cid}: {pinned()}; its cron syncs:\n{cron_log()}"
    )
    return cid


def members() -> dict[str, str]:
    """Each member's container name, from the inventory."""
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())["consortium_members"]["hosts"]
    return {name: host["ansible_host"] for name, host in hosts.items()}


def sample_texts() -> dict[str, str]:
    """Each member's sample text, which its manifest lists by CID."""
    return {
        name: yaml.safe_load(host_vars(name).read_text())["local_consortium_sample"]
        for name in members()
    }


def host_vars(member: str) -> Path:
    return INVENTORY / "host_vars" / f"{member}.yml"


def cid_of(container: str, text: str) -> str:
    """The CID the member's Kubo gives the text, as playbooks/local-consortium.yml adds it."""
    cid = ipfs_in(container, "add", "--only-hash", "--quieter", "--cid-version=1", stdin=text)
    assert cid, f"ipfs add --only-hash failed in {container}"
    return cid.strip()


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
    texts = sample_texts()
    alice_vars = host_vars("alice").read_text()
    try:
        # A network made by the script before members had fixed addresses is refused.
        podman("network", "create", NETWORK)
        refused = subprocess.run([SCRIPT, "up"], capture_output=True, text=True, check=False)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert "run scripts/local-consortium down first" in refused.stderr
        local_consortium("down")

        first = local_consortium("up")
        cids = {name: cid_of(containers[name], text) for name, text in texts.items()}
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

        new_cid = restarted_member_catches_up(containers, "bob")

        # What up showed, and bob's and carol's pins of alice's new content and manifests.
        status = pins_shown(local_consortium("status"))
        assert status["alice"] == shown["alice"] and new_cid in status["bob"], status
        assert all(pins <= status[member] for member, pins in shown.items()), status

        # The edit a newcomer makes: alice's text, nothing else; the others follow.
        edited = texts["alice"].replace("Hello", "Hello again")
        host_vars("alice").write_text(
            alice_vars.replace(texts["alice"].rstrip("\n"), edited.rstrip("\n"))
        )
        assert sample_texts()["alice"] == edited
        edited_cid = cid_of(containers["alice"], edited)
        third = pins_shown(local_consortium("up"))
        assert all(edited_cid in third[member] for member in ("bob", "carol")), third
    finally:
        host_vars("alice").write_text(alice_vars)
        gone = local_consortium("down")
    for name in containers.values():
        assert podman("container", "exists", name).returncode == 1, gone
    assert podman("network", "exists", NETWORK).returncode == 1, gone
    assert pins_shown(local_consortium("status")) == {}
