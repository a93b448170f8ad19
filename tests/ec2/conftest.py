"""Fixtures for the EC2 tests: fake AWS credentials, moto in-process and on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from consortium_ec2.members import (
    ADDRESS_ROLE,
    DATA_ROLE,
    TAG_CONSORTIUM,
    TAG_MEMBER,
    TAG_ROLE,
)

REGION = "us-east-1"
DEBIAN_OWNER = "136693071363"

# What boto3 needs to run without a real account, and without asking the instance metadata
# service (169.254.169.254) for credentials.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)


def tag_member(name: str, consortium: str = "ipfs-consortium") -> list[dict[str, str]]:
    return [
        {"Key": "Name", "Value": f"{consortium}-{name}"},
        {"Key": TAG_CONSORTIUM, "Value": consortium},
        {"Key": TAG_MEMBER, "Value": name},
    ]


def launch_member(
    client: Any,
    name: str,
    *,
    consortium: str = "ipfs-consortium",
    data_gib: int | None = 100,
    kms_key_id: str | None = None,
) -> str:
    """An instance tagged as the ec2_member role tags it, with termination protection and its
    data volume attached; both volumes encrypted with ``kms_key_id`` when given (the role's
    ec2_member_kms_key_id), else with the account's default key."""
    key = {"KmsKeyId": kms_key_id} if kms_key_id else {}
    instance = client.run_instances(
        ImageId="ami-0deb12new0000001",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True, **key}}
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_member(name, consortium)}],
    )["Instances"][0]
    # moto ignores DisableApiTermination in RunInstances.
    client.modify_instance_attribute(
        InstanceId=instance["InstanceId"], DisableApiTermination={"Value": True}
    )
    if data_gib is not None:
        volume = client.create_volume(
            Size=data_gib,
            AvailabilityZone=instance["Placement"]["AvailabilityZone"],
            Encrypted=True,
            **key,
            TagSpecifications=[
                {
                    "ResourceType": "volume",
                    "Tags": [*tag_member(name, consortium), {"Key": TAG_ROLE, "Value": DATA_ROLE}],
                }
            ],
        )
        client.attach_volume(
            VolumeId=volume["VolumeId"], InstanceId=instance["InstanceId"], Device="/dev/xvdb"
        )
    return str(instance["InstanceId"])


def allocate_address(client: Any, name: str, instance_id: str | None = None) -> str:
    """The public IP of an Elastic IP tagged as the ec2_member role tags the member's own,
    associated with ``instance_id`` when given."""
    address = client.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {
                "ResourceType": "elastic-ip",
                "Tags": [*tag_member(name), {"Key": TAG_ROLE, "Value": ADDRESS_ROLE}],
            }
        ],
    )
    if instance_id is not None:
        client.associate_address(AllocationId=address["AllocationId"], InstanceId=instance_id)
    return str(address["PublicIp"])


@dataclass
class MotoServer:
    url: str

    def client(self) -> Any:
        return boto3.client("ec2", region_name=REGION, endpoint_url=self.url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server on a loopback port, knowing Debian 13 images for both architectures,
    two Debian 12 ones and a Debian 11 one (newer than the others)."""
    root = tmp_path_factory.mktemp("moto")
    amis = root / "amis.json"
    amis.write_text(json.dumps([_ami(*image) for image in DEBIAN_IMAGES]))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "moto.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("moto_launcher.py")),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env={"PATH": "/usr/bin:/bin", "MOTO_AMIS_PATH": str(amis)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start, see {root / 'moto.log'}") from None
                time.sleep(0.2)
        yield MotoServer(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


# (id, name, creation date, architecture): the newest image of each name pattern is the
# one the role must pick.
DEBIAN_IMAGES = [
    ("ami-0deb13new0000001", "debian-13-amd64-20251020-2210", "2025-10-20T22:10:00Z", "x86_64"),
    ("ami-0deb13old0000001", "debian-13-amd64-20250814-2204", "2025-08-14T22:04:00Z", "x86_64"),
    ("ami-0deb13arm0000001", "debian-13-arm64-20251020-2210", "2025-10-20T22:10:00Z", "arm64"),
    ("ami-0deb12new0000001", "debian-12-amd64-20250610-2140", "2025-06-10T21:40:00Z", "x86_64"),
    ("ami-0deb12old0000001", "debian-12-amd64-20240102-1600", "2024-01-02T16:00:00Z", "x86_64"),
    ("ami-0deb11new0000001", "debian-11-amd64-20251111-2141", "2025-11-11T21:41:00Z", "x86_64"),
]


def _ami(ami_id: str, name: str, created: str, architecture: str) -> dict[str, Any]:
    return {
        "ami_id": ami_id,
        "name": name,
        "owner_id": DEBIAN_OWNER,
        "state": "available",
        "public": True,
        "architecture": architecture,
        "virtualization_type": "hvm",
        "root_device_type": "ebs",
        "root_device_name": "/dev/xvda",
        "image_type": "machine",
        "hypervisor": "xen",
        "creation_date": created,
        "description": name,
    }
