"""The data_volume role against a loop device: found by EBS volume id, formatted once,
mounted by UUID, grown after the volume grows, never reformatted; a disk that is not blank
(a partition table, another filesystem) is left alone, and so is a mount path that holds
something. Also the kubo role's guard that refuses a repository path where the data volume
should be mounted and is not.

The role runs on this machine (connection local) but only touches a loop device backed by
a file in tmp_path, an fstab file in tmp_path and a mount point in tmp_path: its internal
paths (/dev/disk/by-id, /etc/fstab) are pointed at tmp_path through extra vars.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .ansible_run import PlaybookRun, run_playbook

VOLUME_ID = "vol-0123456789abcdef0"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None,
    reason="needs root, losetup and mkfs.ext4 to make a loop device",
)


Attach = Callable[[Path], str]


@pytest.fixture
def attach(tmp_path: Path) -> Iterator[Attach]:
    """Attaches a disk image as a loop device; unmounts and detaches it afterwards."""
    devices: list[str] = []

    def _attach(backing: Path) -> str:
        try:
            device = subprocess.run(
                ["losetup", "--find", "--show", str(backing)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        except subprocess.CalledProcessError as e:
            pytest.skip(f"cannot attach a loop device here: {e.stderr.strip()}")
        devices.append(device)
        return device

    try:
        yield _attach
    finally:
        for mount_path in (tmp_path / "ipfs", tmp_path / "repo"):
            subprocess.run(["umount", str(mount_path)], capture_output=True)
        for device in devices:
            subprocess.run(["losetup", "--detach", device], check=True)


def _blank_image(tmp_path: Path) -> Path:
    backing = tmp_path / "disk.img"
    with backing.open("wb") as f:
        f.truncate(32 * 1024 * 1024)
    return backing


@pytest.fixture
def loop_device(tmp_path: Path, attach: Attach) -> str:
    return attach(_blank_image(tmp_path))


# The controller's own Python: interpreter discovery on this machine may find a broken one.
_LOCAL_PLAY = (
    "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
    "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
)


def _write_playbook(path: Path) -> None:
    path.write_text(_LOCAL_PLAY + "  roles: [data_volume]\n")


def _run_role(
    tmp_path: Path, device: str, *, check: bool = True, options: list[str] | None = None
) -> PlaybookRun:
    by_id = tmp_path / "by-id"
    by_id.mkdir(exist_ok=True)
    link = by_id / ("nvme-Amazon_Elastic_Block_Store_" + VOLUME_ID.replace("-", ""))
    if not link.is_symlink():
        link.symlink_to(device)
    playbook = tmp_path / "data_volume.yml"
    _write_playbook(playbook)
    extra_vars = {
        "data_volume_id": VOLUME_ID,
        # Wrong on purpose: the by-id link must win over the configured name.
        "data_volume_device": str(tmp_path / "no-such-device"),
        "data_volume_mount_path": str(tmp_path / "ipfs"),
        "_data_volume_by_id_dir": str(by_id),
        "_data_volume_fstab": str(tmp_path / "fstab"),
    }
    return run_playbook(
        playbook, inventory="localhost,", extra_vars=extra_vars, check=check, options=options
    )


def _blkid(device: str, tag: str) -> str:
    """Read from the disk itself, not from blkid's cache; empty when the tag is absent."""
    return subprocess.run(
        ["blkid", "--probe", "-s", tag, "-o", "value", device], capture_output=True, text=True
    ).stdout.strip()


def _signatures(device: str) -> list[str]:
    out = subprocess.run(
        ["wipefs", "--no-act", "--json", device], check=True, capture_output=True, text=True
    ).stdout
    return sorted(signature["type"] for signature in json.loads(out)["signatures"])


def _digest(device: str) -> str:
    with open(device, "rb") as disk:
        return hashlib.file_digest(disk, "sha256").hexdigest()


def _fs_blocks(device: str) -> int:
    out = subprocess.run(["dumpe2fs", "-h", device], check=True, capture_output=True, text=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("Block count:"))
    return int(line.split(":")[1])


def test_formats_once_mounts_by_uuid_and_grows(tmp_path: Path, loop_device: str) -> None:
    mount_path = tmp_path / "ipfs"

    # Check mode on a blank disk: the run works and the disk stays blank.
    assert _run_role(tmp_path, loop_device, options=["--check"]).stats["localhost"]["failures"] == 0
    assert _signatures(loop_device) == []

    first = _run_role(tmp_path, loop_device).stats["localhost"]
    assert first["failures"] == 0 and first["changed"] >= 2
    assert _blkid(loop_device, "TYPE") == "ext4"
    uuid = _blkid(loop_device, "UUID")
    assert (
        f"UUID={uuid} {mount_path} ext4 defaults,noatime,nofail" in (tmp_path / "fstab").read_text()
    )
    assert os.path.ismount(mount_path)

    (mount_path / "marker").write_text("kubo data")
    assert _run_role(tmp_path, loop_device).stats["localhost"]["changed"] == 0

    # Unmounted and grown (consortium-ec2 resize-volume): the next run grows the filesystem
    # and mounts it again, same filesystem, same data. On EC2 the role grows it online, while
    # mounted; this sandbox refuses the online-resize ioctl, hence the offline path (which
    # wants a fresh fsck).
    subprocess.run(["umount", str(mount_path)], check=True)
    subprocess.run(["e2fsck", "-f", "-p", loop_device], check=True, capture_output=True)
    blocks = _fs_blocks(loop_device)
    with (tmp_path / "disk.img").open("r+b") as f:
        f.truncate(48 * 1024 * 1024)
    subprocess.run(["losetup", "--set-capacity", loop_device], check=True)
    grown = _run_role(tmp_path, loop_device).stats["localhost"]
    assert grown["failures"] == 0 and grown["changed"] == 2
    assert _fs_blocks(loop_device) > blocks
    assert _blkid(loop_device, "UUID") == uuid
    assert (mount_path / "marker").read_text() == "kubo data"


def test_missing_disk_is_one_clear_failure(tmp_path: Path) -> None:
    playbook = tmp_path / "data_volume.yml"
    _write_playbook(playbook)
    result = run_playbook(
        playbook,
        inventory="localhost,",
        extra_vars={
            "data_volume_id": VOLUME_ID,
            "data_volume_device": str(tmp_path / "no-such-device"),
            "_data_volume_by_id_dir": str(tmp_path),
        },
        check=False,
    )
    assert result.returncode != 0
    assert "No disk for the data volume" in json.dumps(result.output)


def _partitioned_image(tmp_path: Path, label: str) -> Path:
    backing = _blank_image(tmp_path)
    # On the image file, before it is a loop device: sfdisk would fail to make the kernel
    # re-read the partition table of a loop device attached without partition scanning.
    subprocess.run(
        ["sfdisk", "--quiet", str(backing)],
        input=f"label: {label}\n,,L\n",
        check=True,
        capture_output=True,
        text=True,
    )
    return backing


def _ext2_image(tmp_path: Path) -> Path:
    backing = _blank_image(tmp_path)
    subprocess.run(["mkfs.ext2", "-q", "-F", str(backing)], check=True, capture_output=True)
    return backing


@pytest.mark.parametrize(
    ("make_image", "found"),
    [
        (lambda tmp_path: _partitioned_image(tmp_path, "dos"), "dos"),
        (lambda tmp_path: _partitioned_image(tmp_path, "gpt"), "gpt, PMBR"),
        (_ext2_image, "ext2"),
    ],
    ids=["dos partition table", "gpt partition table", "ext2 filesystem"],
)
def test_a_disk_that_is_not_blank_is_left_alone(
    tmp_path: Path, attach: Attach, make_image: Callable[[Path], Path], found: str
) -> None:
    device = attach(make_image(tmp_path))
    pttype = _blkid(device, "PTTYPE")
    signatures = _signatures(device)
    digest = _digest(device)

    for options in (["--check"], []):
        result = _run_role(tmp_path, device, check=False, options=options)

        assert result.returncode != 0
        assert f"{device} holds {found}, not a blank disk" in json.dumps(result.output)
        assert "wipe it yourself" in json.dumps(result.output)
    assert _digest(device) == digest
    assert _signatures(device) == signatures
    assert _blkid(device, "PTTYPE") == pttype
    assert not os.path.ismount(tmp_path / "ipfs")
    assert not (tmp_path / "fstab").exists()


def test_a_mount_path_that_holds_something_is_not_hidden(tmp_path: Path, loop_device: str) -> None:
    mount_path = tmp_path / "ipfs"
    mount_path.mkdir()
    (mount_path / "config").write_text("a repository the daemon is running on")

    refused = _run_role(tmp_path, loop_device, check=False)

    assert refused.returncode != 0
    assert f"{mount_path} is not empty (config)" in json.dumps(refused.output)
    assert not os.path.ismount(mount_path)
    assert (mount_path / "config").read_text() == "a repository the daemon is running on"
    assert not (tmp_path / "fstab").exists()

    # Moved onto the volume by hand, as the message says: the next run mounts it.
    (mount_path / "config").unlink()
    assert _run_role(tmp_path, loop_device).stats["localhost"]["failures"] == 0
    assert os.path.ismount(mount_path)


def _run_kubo_guard(tmp_path: Path, repo: Path, extra_vars: dict[str, object]) -> PlaybookRun:
    """Only the kubo role's guard (its repo_mount tasks): the whole role would install Kubo here."""
    playbook = tmp_path / "kubo_guard.yml"
    playbook.write_text(
        _LOCAL_PLAY
        + "  tasks:\n    - ansible.builtin.include_role: {name: kubo, tasks_from: repo_mount}\n"
    )
    return run_playbook(
        playbook,
        inventory="localhost,",
        extra_vars={"kubo_repo_path": str(repo), **extra_vars},
        check=False,
    )


def test_kubo_refuses_a_repository_path_where_the_volume_is_not_mounted(
    tmp_path: Path, loop_device: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    # A boot without the volume (nofail): the mount point is a bare directory.
    refused = _run_kubo_guard(tmp_path, repo, {"kubo_repo_mount_required": True})

    assert refused.returncode != 0
    assert f"Nothing is mounted at {repo}" in json.dumps(refused.output)
    assert list(repo.iterdir()) == []
    # A repository on the root disk, as without a data volume.
    assert _run_kubo_guard(tmp_path, repo, {}).returncode == 0

    subprocess.run(["mkfs.ext4", "-q", loop_device], check=True, capture_output=True)
    subprocess.run(["mount", loop_device, str(repo)], check=True)
    accepted = _run_kubo_guard(tmp_path, repo, {"kubo_repo_mount_required": True})
    assert accepted.returncode == 0, accepted.output
