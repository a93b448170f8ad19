"""What each consortium-ec2 command does to the selected members.

Each action returns the lines to print, so that the command line stays a thin layer and
the tests can call the actions directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import InvalidRequest
from .members import DATA_ROLE, TAG_CONSORTIUM, TAG_MEMBER, TAG_ROLE, Member

_COLUMNS = ("MEMBER", "INSTANCE", "STATE", "TYPE", "PUBLIC IP", "DATA GiB")


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
    """Terminate the instances; their data volumes survive unless ``delete_data_volume``,
    their Elastic IPs unless ``release_address``."""
    for member in members:
        volume = member.data_volume
        if volume is not None and volume.device is not None:
            _keep_on_termination(client, member.instance_id, volume.device)
    client.terminate_instances(InstanceIds=_ids(members))
    lines = [f"{m.name} ({m.instance_id}): terminating" for m in members]
    lines += _addresses_after_termination(client, members, release=release_address)
    volumes = [m.data_volume for m in members if m.data_volume is not None]
    if not delete_data_volume:
        return lines + [f"kept data volume {v.volume_id} ({v.size_gib} GiB)" for v in volumes]
    # A volume can be deleted only once the instance has let go of it.
    client.get_waiter("instance_terminated").wait(InstanceIds=_ids(members))
    for volume in volumes:
        client.get_waiter("volume_available").wait(VolumeIds=[volume.volume_id])
        client.delete_volume(VolumeId=volume.volume_id)
        lines.append(f"deleted data volume {volume.volume_id}")
    return lines


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


def snapshot(client: Any, members: Sequence[Member], *, description: str) -> list[str]:
    """Snapshot each member's data volume, tagged like the volume itself."""
    lines = []
    for member in members:
        volume = member.require_data_volume()
        tags = [
            {"Key": "Name", "Value": f"{member.name}-data"},
            {"Key": TAG_CONSORTIUM, "Value": member.consortium},
            {"Key": TAG_MEMBER, "Value": member.name},
            {"Key": TAG_ROLE, "Value": DATA_ROLE},
        ]
        response = client.create_snapshot(
            VolumeId=volume.volume_id,
            Description=description or f"Kubo repository of {member.name}",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
        )
        lines.append(f"{member.name}: snapshot {response['SnapshotId']} of {volume.volume_id}")
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
