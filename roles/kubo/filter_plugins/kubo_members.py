"""The members of an inventory group and their known identities: the one rule for which
other members a member lists, which members stop a run because no peer ID is known for
them, and which hosts make up a member (consortium_member). The kubo role lists them as
Peering.Peers, the consortium role as the sync's peers, the ipfs_cluster role a member's
own nodes as its cluster's peers (their filter_plugins link to this file); a member left
out would be dropped by all of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def kubo_group_members(groups: Mapping[str, list[str]], group: str) -> list[str]:
    """The hosts of ``group`` (Ansible's ``groups``); none for an empty group name or for a
    group the inventory does not have."""
    return list(groups.get(group, [])) if group else []


def kubo_unknown_members(
    members: list[str], identities: Mapping[str, Any], spared: Iterable[str] = ()
) -> list[str]:
    """The members without a known identity, but for ``spared``: a check-mode run passes
    the play's hosts (all of its batches), since a new host gets its peer ID in the real run."""
    spared = set(spared)
    return [member for member in members if member not in identities and member not in spared]


def kubo_other_members(members: list[str], identities: Mapping[str, Any], own: str) -> list[str]:
    """The members other than ``own`` whose identity is known, sorted: the ones a member
    lists (all of them once kubo_unknown_members is empty)."""
    return sorted({member for member in members if member != own and member in identities})


def kubo_member_hosts(hosts: list[str], hostvars: Mapping[str, Any]) -> dict[str, list[str]]:
    """The consortium's members by name, each with its hosts in the order of ``hosts``
    (a group's): a host belongs to the member its consortium_member names (read from
    Ansible's ``hostvars``), or, where that is unset or empty, to a member of its own named
    after the host. A member's first host holds its IPNS key, publishes and syncs; the
    others serve its IPFS Cluster."""
    grouped: dict[str, list[str]] = {}
    for host in hosts:
        grouped.setdefault(hostvars[host].get("consortium_member") or host, []).append(host)
    return grouped


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "kubo_group_members": kubo_group_members,
            "kubo_unknown_members": kubo_unknown_members,
            "kubo_other_members": kubo_other_members,
            "kubo_member_hosts": kubo_member_hosts,
        }
