"""What each consortium-ec2 command does to the selected members.

Each action returns the lines to print, so that the command line stays a thin layer and
the tests can call the actions directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import WaiterError

from .errors import Ec2Error, InvalidRequest, SnapshotNotFound
from .members import (
    DATA_DEVICE,
    DATA_ROLE,
    REPLACED_DATA_ROLE,
    TAG_CONSORTIUM,
    TAG_MEMBER,
    TAG_REPLACED_BY,
    TAG_ROLE,
    DataVolume,
    Member,
    tags_of,
)

_COLUMNS = ("MEMBER", "INSTANCE", "STATE", "TYPE", "PUBLIC IP", "DATA GiB")

# What the role creates a data volume as, when there is none to copy the type from.
_DEFAULT_VOLUME_TYPE = "gp3"


def table(members: Sequence[Member]) -> list[str]:
    """A plain table, columns aligned with spaces (``-`` where a value is missing).

    The public IP is the member's Elastic IP when it has one, associated or not (it is
    the address the member keeps), else whatever public IP the instance has.
    """
    rows = [_COLUMNS] + [
        (
            m.name,
            m.instance_id,
            m.state,
            m.instance_type,
            (m.address.public_ip if m.address else m.public_ip) or "-",
            str(m.data_volume.size_gib) if m.data_volume else "-",
        )
        for m in members
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _ids(members: Sequence[Member]) -> list[str]:
    return [m.instance_id for m in members]


def start(client: Any, members: Sequence[Member], *, wait: bool) -> list[str]:
    response = client.start_instances(InstanceIds=_ids(members))
    if wait:
        client.get_waiter("instance_running").wait(InstanceIds=_ids(members))
    return _transitions(members, response["StartingInstances"], "running" if wait else None)


def stop(client: Any, members: Sequence[Member], *, wait: bool) -> list[str]:
    response = client.stop_instances(InstanceIds=_ids(members))
    if wait:
        client.get_waiter("instance_stopped").wait(InstanceIds=_ids(members))
    return _transitions(members, response["StoppingInstances"], "stopped" if wait else None)


def _transitions(
    members: Sequence[Member], changes: list[dict[str, Any]], reached: str | None
) -> list[str]:
    names = {m.instance_id: m.name for m in members}
    return [
        f"{names[c['InstanceId']]} ({c['InstanceId']}): {c['PreviousState']['Name']} -> "
        f"{reached or c['CurrentState']['Name']}"
        for c in changes
    ]


def _keep_on_termination(client: Any, instance_id: str, device: str) -> None:
    """Set DeleteOnTermination false on a data volume's attachment.

    Attaching already sets it false; it is set again in case someone changed it since,
    because the volume holds the member's Kubo repository.
    """
    client.modify_instance_attribute(
        InstanceId=instance_id,
        BlockDeviceMappings=[{"DeviceName": device, "Ebs": {"DeleteOnTermination": False}}],
    )


def terminate(
    client: Any, members: Sequence[Member], *, delete_data_volume: bool, release_address: bool
) -> list[str]:
    """Terminate the instances; their data volumes survive unless ``delete_data_volume``
    (and then only once a final snapshot of each has completed), their Elastic IPs unless
    ``release_address``.

    The role turns termination protection on; it is turned off here, the operator having
    confirmed (or passed --yes).
    """
    for member in members:
        client.modify_instance_attribute(
            InstanceId=member.instance_id, DisableApiTermination={"Value": False}
        )
        volume = member.data_volume
        if volume is not None and volume.device is not None:
            _keep_on_termination(client, member.instance_id, volume.device)
    client.terminate_instances(InstanceIds=_ids(members))
    lines = [
        f"{m.name} ({m.instance_id}): termination protection off, terminating" for m in members
    ]
    lines += _addresses_after_termination(client, members, release=release_address)
    with_volume = [(m, m.data_volume) for m in members if m.data_volume is not None]
    if not delete_data_volume:
        return lines + [
            f"kept data volume {v.volume_id} ({v.size_gib} GiB)" for _, v in with_volume
        ]
    # A volume can be deleted only once the instance has let go of it; snapshotted then, it
    # is also a quiet copy, with no Kubo writing to it.
    client.get_waiter("instance_terminated").wait(InstanceIds=_ids(members))
    for member, volume in with_volume:
        client.get_waiter("volume_available").wait(VolumeIds=[volume.volume_id])
        snapshot_id = _final_snapshot(client, member, volume)
        lines.append(f"{member.name}: final snapshot {snapshot_id} of {volume.volume_id} completed")
        client.delete_volume(VolumeId=volume.volume_id)
        lines.append(f"deleted data volume {volume.volume_id}")
    return lines


def _final_snapshot(client: Any, member: Member, volume: DataVolume) -> str:
    """A completed snapshot of ``volume``, tagged as ``member``'s data (so that `restore`
    and ec2_member_data_volume_snapshot take it), or an error that keeps the volume."""
    snapshot_id = _snapshot_volume(
        client, member, volume, f"Kubo repository of {member.name}, before its volume was deleted"
    )
    try:
        client.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id])
    except WaiterError as e:
        raise Ec2Error(
            f"the final snapshot {snapshot_id} of {volume.volume_id} did not complete ({e}); "
            f"the data volume is kept: delete it yourself once a snapshot of it has completed"
        ) from e
    return snapshot_id


def _addresses_after_termination(
    client: Any, members: Sequence[Member], *, release: bool
) -> list[str]:
    """Release the members' Elastic IPs, or say that they are kept.

    A kept one waits, tagged, for the member's next instance: the role finds it by its tags.
    """
    lines = []
    for member in members:
        address = member.address
        if address is None:
            continue
        what = f"Elastic IP {address.public_ip} ({address.allocation_id})"
        if not release:
            lines.append(f"kept {what}: a new instance provisioned for {member.name} gets it back")
            continue
        # A VPC address still associated cannot be released.
        if address.association_id is not None:
            client.disassociate_address(AssociationId=address.association_id)
        client.release_address(AllocationId=address.allocation_id)
        lines.append(f"released {what} of {member.name}")
    return lines


def _data_tags(member: Member) -> list[dict[str, str]]:
    """The tags the role puts on a member's data volume (its vars/main.yml), less
    ec2_member_extra_tags, which are not known here (the role's next run adds them)."""
    return [
        {"Key": "Name", "Value": f"{member.consortium}-{member.name}-data"},
        {"Key": TAG_CONSORTIUM, "Value": member.consortium},
        {"Key": TAG_MEMBER, "Value": member.name},
        {"Key": TAG_ROLE, "Value": DATA_ROLE},
    ]


def _snapshot_volume(client: Any, member: Member, volume: DataVolume, description: str) -> str:
    """Start a snapshot of ``member``'s data volume, tagged like the volume itself (the tags
    `restore` requires); its id."""
    response = client.create_snapshot(
        VolumeId=volume.volume_id,
        Description=description,
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": _data_tags(member)}],
    )
    return str(response["SnapshotId"])


def snapshot(client: Any, members: Sequence[Member], *, description: str) -> list[str]:
    """Snapshot each member's data volume."""
    lines = []
    for member in members:
        volume = member.require_data_volume()
        snapshot_id = _snapshot_volume(
            client, member, volume, description or f"Kubo repository of {member.name}"
        )
        lines.append(f"{member.name}: snapshot {snapshot_id} of {volume.volume_id}")
    return lines


def resize_volume(client: Any, member: Member, *, size_gib: int) -> list[str]:
    """Grow the data volume (EBS volumes cannot shrink); the filesystem follows on the next
    site.yml run (the data_volume role grows it)."""
    volume = member.require_data_volume()
    if size_gib <= volume.size_gib:
        raise InvalidRequest(
            f"{member.name}: the data volume {volume.volume_id} is {volume.size_gib} GiB; "
            f"EBS volumes only grow, so ask for more than that"
        )
    client.modify_volume(VolumeId=volume.volume_id, Size=size_gib)
    return [
        f"{member.name}: growing {volume.volume_id} from {volume.size_gib} to {size_gib} GiB; "
        "run site.yml to grow the filesystem"
    ]


@dataclass(frozen=True)
class Restore:
    """What `restore` will do, settled before anything changes (and shown at the prompt)."""

    snapshot_id: str
    size_gib: int
    kms_key_id: str | None
    """The key that encrypts the new volume; ``None`` only where the member's volumes have
    none (then the account's default EBS key)."""


def restore_plan(
    client: Any, member: Member, snapshot_id: str, *, kms_key_id: str | None
) -> Restore:
    """What rebuilding ``member``'s data volume from ``snapshot_id`` takes, once the checks
    pass; ``kms_key_id`` overrides the key of the member's volumes.

    Refused before anything changes: a member whose instance is not stopped (Kubo would
    lose its repository under it), a snapshot that is unknown, another account's (shared
    with this one or public) or not completed, and one that is not tagged exactly as this
    member's data: a volume built from another member's snapshot would give this member
    the other's private key.
    """
    if member.state != "stopped":
        raise InvalidRequest(
            f"{member.name} ({member.instance_id}) is {member.state}; "
            f"stop it first: consortium-ec2 stop {member.name} --wait"
        )
    # A filter rather than SnapshotIds: an unknown or malformed id is then an empty answer,
    # not an AWS error to tell apart from the others.
    found = client.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "snapshot-id", "Values": [snapshot_id]}]
    )
    if not found["Snapshots"]:
        raise SnapshotNotFound(
            f"no snapshot {snapshot_id} of this account ({member.account_id}) in "
            f"{client.meta.region_name}; another account's snapshot is never restored"
        )
    snapshot = found["Snapshots"][0]
    if snapshot["State"] != "completed":
        raise InvalidRequest(
            f"snapshot {snapshot_id} is {snapshot['State']} ({snapshot.get('Progress', '?')}); "
            "restore from it once it is completed"
        )
    _require_data_tags(snapshot_id, tags_of(snapshot), member)
    return Restore(
        snapshot_id,
        int(snapshot["VolumeSize"]),
        kms_key_id or _member_kms_key(client, member),
    )


def _require_data_tags(snapshot_id: str, tags: dict[str, str], member: Member) -> None:
    expected = {t["Key"]: t["Value"] for t in _data_tags(member) if t["Key"] != "Name"}
    for key, value in expected.items():
        if key in tags and tags[key] != value:
            raise InvalidRequest(
                f"snapshot {snapshot_id} is tagged {key}={tags[key]}, not {value}: "
                f"it holds another member's data"
            )
    missing = {key: value for key, value in expected.items() if key not in tags}
    if missing:
        raise InvalidRequest(
            f"snapshot {snapshot_id} has no tag "
            + ", ".join(f"{key}={value}" for key, value in missing.items())
            + f", so nothing says it holds {member.name}'s data: restore a snapshot taken by "
            f"`consortium-ec2 snapshot {member.name}`, or, sure that it holds {member.name}'s "
            f"repository, tag it: aws ec2 create-tags --resources {snapshot_id} --tags "
            + " ".join(f"Key={key},Value={value}" for key, value in missing.items())
        )


def _member_kms_key(client: Any, member: Member) -> str | None:
    """The KMS key of the member's data volume, or of its root volume when it has none:
    the role encrypts both with ec2_member_kms_key_id (the account's default key if unset)."""
    if member.data_volume is not None:
        return member.data_volume.kms_key_id
    if member.root_volume_id is None:
        return None
    [root] = client.describe_volumes(VolumeIds=[member.root_volume_id])["Volumes"]
    key: str | None = root.get("KmsKeyId")
    return key


def restore(client: Any, member: Member, plan: Restore) -> list[str]:
    """Give the (stopped) member a new data volume as ``plan`` says; nothing is deleted.

    The new volume is as large as the snapshot or the current data volume, whichever is
    larger, so that a volume grown since the snapshot does not shrink back.
    """
    old = member.data_volume
    device = (old.device if old else None) or DATA_DEVICE
    size_gib = max(plan.size_gib, old.size_gib if old else 0)
    volume_type = old.volume_type if old else _DEFAULT_VOLUME_TYPE
    # The key is always named when known: left out, AWS would take the snapshot's key, or
    # the account's default one, rather than the member's.
    key = {"KmsKeyId": plan.kms_key_id} if plan.kms_key_id else {}
    new_id = client.create_volume(
        SnapshotId=plan.snapshot_id,
        AvailabilityZone=member.availability_zone,
        Size=size_gib,
        VolumeType=volume_type,
        Encrypted=True,
        **key,
        TagSpecifications=[{"ResourceType": "volume", "Tags": _data_tags(member)}],
    )["VolumeId"]
    client.get_waiter("volume_available").wait(VolumeIds=[new_id])
    lines = [
        f"{member.name}: created {new_id} ({size_gib} GiB {volume_type}, "
        f"{describe_key(plan.kms_key_id)}) from {plan.snapshot_id}"
    ]
    if old is not None:
        lines += _retire(client, member, old, new_id)
    client.attach_volume(VolumeId=new_id, InstanceId=member.instance_id, Device=device)
    client.get_waiter("volume_in_use").wait(VolumeIds=[new_id])
    _keep_on_termination(client, member.instance_id, device)
    lines.append(f"{member.name}: attached {new_id} to {member.instance_id} as {device}")
    if old is not None:
        lines.append(
            f"kept the old data volume {old.volume_id} (tagged {REPLACED_DATA_ROLE}); "
            "delete it yourself once the member is healthy"
        )
    return [*lines, f"start the member: consortium-ec2 start {member.name} --wait"]


def describe_key(kms_key_id: str | None) -> str:
    return f"KMS key {kms_key_id}" if kms_key_id else "AWS's default EBS key"


def _retire(client: Any, member: Member, old: DataVolume, new_id: str) -> list[str]:
    """Detach the old data volume if attached, and retag it as replaced by ``new_id``.

    Retagged before the new volume is attached: should the attach fail, the new volume is
    then the only one either find_members or the role's next run takes as the data volume
    (the role finds it by its Name tag, so the Name changes too).
    """
    lines = []
    if old.device is not None:
        client.detach_volume(VolumeId=old.volume_id, InstanceId=member.instance_id)
        client.get_waiter("volume_available").wait(VolumeIds=[old.volume_id])
        lines.append(f"{member.name}: detached {old.volume_id} from {member.instance_id}")
    client.create_tags(
        Resources=[old.volume_id],
        Tags=[
            {"Key": "Name", "Value": f"{member.consortium}-{member.name}-{REPLACED_DATA_ROLE}"},
            {"Key": TAG_ROLE, "Value": REPLACED_DATA_ROLE},
            {"Key": TAG_REPLACED_BY, "Value": new_id},
        ],
    )
    return lines
