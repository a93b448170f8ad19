"""Finding consortium members' instances, data volumes and Elastic IPs by their tags.

The tag keys are the contract with the Ansible role ``ec2_member`` (its vars/main.yml
holds the same values; a test checks that they agree): whatever the role creates, these
helpers find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from .errors import ConfigurationError, MemberNotFound, NoDataVolume, refuse_foreign_answers

TAG_CONSORTIUM = "ipfs-consortium:consortium"
TAG_MEMBER = "ipfs-consortium:member"
TAG_ROLE = "ipfs-consortium:role"
DATA_ROLE = "data"
ADDRESS_ROLE = "address"
DEFAULT_CONSORTIUM = "ipfs-consortium"
DATA_DEVICE = "/dev/xvdb"
"""Where the role attaches the data volume (its default ``ec2_member_data_volume_device``)."""

# Only consortium-ec2 writes these: a data volume that `restore` replaced is kept, under
# another role so that neither find_members nor the role (which finds the data volume by
# its Name tag) takes it for the data volume again.
REPLACED_DATA_ROLE = "data-replaced"
TAG_REPLACED_BY = "ipfs-consortium:replaced-by"

# Every instance state but terminated: a terminated member is gone, not "stopped".
LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")

# botocore's "standard" retry mode backs off on throttling; what is still throttled after
# these attempts becomes errors.Throttled.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60
)


@dataclass(frozen=True)
class AwsSettings:
    """Where and as whom to call EC2; ``None`` leaves boto3's own default."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def _is_http_url(url: str) -> bool:
    """Whether ``url`` is http(s)://host[:port], with a port in range."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def ec2_client(settings: AwsSettings) -> Any:
    """An EC2 client (call inside :func:`errors.ec2_errors`: a bad profile raises here)."""
    # botocore's own checks of the URL raise bare ValueErrors, some only once the first
    # request is signed.
    url = settings.endpoint_url
    if url is not None and not _is_http_url(url):
        raise ConfigurationError(
            f"the endpoint URL {url!r} is not http(s)://host[:port]: check --endpoint-url"
        )
    session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
    client = session.client("ec2", endpoint_url=settings.endpoint_url, config=_CLIENT_CONFIG)
    client.meta.events.register("after-call.ec2", refuse_foreign_answers)
    return client


@dataclass(frozen=True)
class DataVolume:
    volume_id: str
    size_gib: int
    volume_type: str
    state: str
    device: str | None
    """The device name it is attached as, ``None`` when detached."""
    kms_key_id: str | None
    """The KMS key that encrypts it, ``None`` when it is not encrypted."""


@dataclass(frozen=True)
class ElasticIp:
    public_ip: str
    allocation_id: str
    association_id: str | None
    """``None`` when it is not associated with an instance."""


@dataclass(frozen=True)
class Member:
    consortium: str
    name: str
    account_id: str
    """The AWS account that owns the instance (the one the helpers act in)."""
    instance_id: str
    state: str
    instance_type: str
    availability_zone: str
    public_ip: str
    """The instance's own public IP (the Elastic IP while that is associated), or ``""``."""
    root_volume_id: str | None
    data_volume: DataVolume | None
    address: ElasticIp | None

    def require_data_volume(self) -> DataVolume:
        if self.data_volume is None:
            raise NoDataVolume(
                f"member {self.name} ({self.instance_id}) has no volume tagged "
                f"{TAG_ROLE}={DATA_ROLE}"
            )
        return self.data_volume


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """An EC2 resource's tags as a dict (boto3 gives a list of Key/Value pairs)."""
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _filters(
    consortium: str, names: Sequence[str], role: str | None = None
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"Name": f"tag:{TAG_CONSORTIUM}", "Values": [consortium]}]
    if names:
        filters.append({"Name": f"tag:{TAG_MEMBER}", "Values": list(names)})
    if role is not None:
        filters.append({"Name": f"tag:{TAG_ROLE}", "Values": [role]})
    return filters


def find_members(client: Any, consortium: str, names: Sequence[str] = ()) -> list[Member]:
    """The consortium's live members (all of them when ``names`` is empty), sorted by name.

    Raises :class:`MemberNotFound` naming every requested member that has no instance.
    """
    instances = [
        (reservation["OwnerId"], instance)
        for page in client.get_paginator("describe_instances").paginate(
            Filters=[
                *_filters(consortium, names),
                {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
            ]
        )
        for reservation in page["Reservations"]
        for instance in reservation["Instances"]
    ]
    attached, detached = _data_volumes(client, consortium, names)
    addresses = _addresses(client, consortium, names)
    members = []
    for account_id, instance in instances:
        name = tags_of(instance).get(TAG_MEMBER, "")
        members.append(
            Member(
                consortium=consortium,
                name=name,
                account_id=account_id,
                instance_id=instance["InstanceId"],
                state=instance["State"]["Name"],
                instance_type=instance["InstanceType"],
                availability_zone=instance["Placement"]["AvailabilityZone"],
                public_ip=instance.get("PublicIpAddress") or "",
                root_volume_id=_root_volume_id(instance),
                data_volume=attached.get(instance["InstanceId"]) or detached.get(name),
                address=addresses.get(name),
            )
        )
    missing = sorted(set(names) - {m.name for m in members})
    if missing:
        raise MemberNotFound(
            f"no instance tagged {TAG_CONSORTIUM}={consortium} for member(s): " + ", ".join(missing)
        )
    return sorted(members, key=lambda m: (m.name, m.instance_id))


def _root_volume_id(instance: dict[str, Any]) -> str | None:
    root = instance.get("RootDeviceName")
    return next(
        (
            m["Ebs"]["VolumeId"]
            for m in instance.get("BlockDeviceMappings", [])
            if m["DeviceName"] == root and "Ebs" in m
        ),
        None,
    )


def _data_volumes(
    client: Any, consortium: str, names: Sequence[str]
) -> tuple[dict[str, DataVolume], dict[str, DataVolume]]:
    """The data volumes attached, by instance id, and those detached, by member name.

    A member's data volume is the one attached to its instance; a detached one (kept when
    an earlier instance was terminated) counts only when none is attached.
    """
    attached: dict[str, DataVolume] = {}
    detached: dict[str, DataVolume] = {}
    for page in client.get_paginator("describe_volumes").paginate(
        Filters=_filters(consortium, names, DATA_ROLE)
    ):
        for volume in page["Volumes"]:
            attachment = (volume.get("Attachments") or [{}])[0]
            data_volume = DataVolume(
                volume_id=volume["VolumeId"],
                size_gib=int(volume["Size"]),
                volume_type=volume["VolumeType"],
                state=volume["State"],
                device=attachment.get("Device"),
                kms_key_id=volume.get("KmsKeyId"),
            )
            if "InstanceId" in attachment:
                attached[attachment["InstanceId"]] = data_volume
            else:
                detached.setdefault(tags_of(volume).get(TAG_MEMBER, ""), data_volume)
    return attached, detached


def _addresses(client: Any, consortium: str, names: Sequence[str]) -> dict[str, ElasticIp]:
    """Each member's Elastic IP, by member name (DescribeAddresses has no pages)."""
    response = client.describe_addresses(Filters=_filters(consortium, names, ADDRESS_ROLE))
    addresses: dict[str, ElasticIp] = {}
    for address in response["Addresses"]:
        addresses.setdefault(
            tags_of(address).get(TAG_MEMBER, ""),
            ElasticIp(
                public_ip=address["PublicIp"],
                allocation_id=address["AllocationId"],
                association_id=address.get("AssociationId"),
            ),
        )
    return addresses
