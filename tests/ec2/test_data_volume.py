"""The data_volume role against a loop device: found by EBS volume id, formatted once,
mounted by UUID, grown after the volume grows, never reformatted.

The role runs on this machine (connection local) but only touches a loop device backed by
a file in tmp_path, an fstab file in tmp_path and a mount point in tmp_path: its internal
paths (/dev/disk/by-id, /etc/fstab) are pointed at tmp_path through extra vars.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .ansible_run import run_playbook

VOLUME_ID = "vol-0123456789abcdef0"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None,
    reason="needs root, losetup and mkfs.ext4 to make a loop device",
)


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    backing = tmp_path / "disk.img"
    with backing.open("wb") as f:
        f.truncate(32 * 1024 * 1024)
    try:
        device = subprocess.run(
            ["losetup", "--find", "--show", str(backing)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot attach a loop device here: {e.stderr.strip()}")
    mount_path = tmp_path / "ipfs"
    try:
        yield device
    finally:
        subprocess.run(["umount", str(mount_path)], capture_output=True)
        subprocess.run(["losetup", "--detach", device], check=True)


def _write_playbook(path: Path) -> None:
    # The controller's own Python: interpreter discovery on this machine may find a broken one.
    path.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  vars: {ansible_python_interpreter: '{{ ansible_playbook_python }}'}\n"
        "  roles: [data_volume]\n"
    )


def _run_role(tmp_path: Path, device: str) -> dict[str, int]:
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
    return run_playbook(playbook, inventory="localhost,", extra_vars=extra_vars).stats["localhost"]


def _blkid(device: str, tag: str) -> str:
    return subprocess.run(
        ["blkid", "-s", tag, "-o", "value", device], check=True, capture_output=True, text=True
    ).stdout.strip()


def _fs_blocks(device: str) -> int:
    out = subprocess.run(["dumpe2fs", "-h", device], check=True, capture_output=True, text=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("Block count:"))
    return int(line.split(":")[1])


def test_formats_once_mounts_by_uuid_and_grows(tmp_path: Path, loop_device: str) -> None:
    mount_path = tmp_path / "ipfs"

    first = _run_role(tmp_path, loop_device)
    assert first["failures"] == 0 and first["changed"] >= 2
    assert _blkid(loop_device, "TYPE") == "ext4"
    uuid = _blkid(loop_device, "UUID")
    assert (
        f"UUID={uuid} {mount_path} ext4 defaults,noatime,nofail" in (tmp_path / "fstab").read_text()
    )
    assert os.path.ismount(mount_path)

    (mount_path / "marker").write_text("kubo data")
    assert _run_role(tmp_path, loop_device)["changed"] == 0

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
    grown = _run_role(tmp_path, loop_device)
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
