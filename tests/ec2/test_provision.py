"""playbooks/provision.yml (the ec2_member role) against moto's server on loopback.

ssh is /bin/false in these runs (see ansible_run.run_playbook), and the hosts that are not
EC2 members point at a closed loopback port: nothing connects to any machine, least of all
to the addresses moto makes up.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consortium_ec2.cli import main
from consortium_ec2.members import DATA_ROLE, TAG_CONSORTIUM, TAG_MEMBER, TAG_ROLE

from .ansible_run import BIN, ROOT, PlaybookRun, run_playbook
from .conftest import REGION, MotoServer

PROVISION = ROOT / "playbooks/provision.yml"
ONBOARDING = ROOT / "playbooks/onboarding.yml"
ADMIN_CIDR = "203.0.113.0/24"


def _public_key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519.pub"
    if path.exists():  # the same key on every run, as an operator's would be
        return path
    key = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    path.write_bytes(key + b" operator@example\n")
    return path


def _provision(
    tmp_path: Path,
    moto: MotoServer,
    hosts: dict[str, dict[str, Any]],
    *,
    playbook: Path = PROVISION,
    options: list[str] | None = None,
    check: bool = True,
    **extra_vars: Any,
) -> PlaybookRun:
    """Run ``playbook`` on ``hosts`` (group consortium_members) against moto."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"consortium_members": {"hosts": hosts}}))
    return run_playbook(
        playbook,
        inventory=str(inventory),
        extra_vars={
            "ec2_member_endpoint_url": moto.url,
            "ec2_member_region": REGION,
            "ec2_admin_cidrs": [ADMIN_CIDR],
            "ec2_member_public_key_file": str(_public_key(tmp_path)),
            **extra_vars,
        },
        options=options,
        check=check,
    )


# An EC2 member as these tests declare it: the role's wait_for_connection then runs on the
# controller instead of over ssh to the address moto made up.
ON_EC2 = {
    "ec2_member_enabled": True,
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}

# Any connection to this host would fail the run: nothing listens on port 9 (discard),
# and ssh is /bin/false anyway.
NOT_ON_EC2 = {"ansible_host": "127.0.0.1", "ansible_port": 9}


def _resources(ec2: Any, consortium: str) -> dict[str, Any]:
    by_consortium = [{"Name": f"tag:{TAG_CONSORTIUM}", "Values": [consortium]}]
    return {
        "instances": sorted(
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=by_consortium)["Reservations"]
            for i in r["Instances"]
        ),
        "volumes": sorted(
            v["VolumeId"] for v in ec2.describe_volumes(Filters=by_consortium)["Volumes"]
        ),
        "groups": sorted(
            g["GroupId"]
            for g in ec2.describe_security_groups(Filters=by_consortium)["SecurityGroups"]
        ),
        "keys": sorted(
            k["KeyName"] for k in ec2.describe_key_pairs(Filters=by_consortium)["KeyPairs"]
        ),
        "addresses": sorted(
            a["AllocationId"] for a in ec2.describe_addresses(Filters=by_consortium)["Addresses"]
        ),
    }


NOTHING = {"instances": [], "volumes": [], "groups": [], "keys": [], "addresses": []}


def _instance(ec2: Any, consortium: str, member: str) -> dict[str, Any]:
    [reservation] = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{TAG_CONSORTIUM}", "Values": [consortium]},
            {"Name": f"tag:{TAG_MEMBER}", "Values": [member]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )["Reservations"]
    [instance] = reservation["Instances"]
    return dict(instance)


def _ingress(group: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    return {
        (p["IpProtocol"], p["FromPort"], p["ToPort"], r.get("CidrIp") or r.get("CidrIpv6"))
        for p in group["IpPermissions"]
        for r in p.get("IpRanges", []) + p.get("Ipv6Ranges", [])
    }


def test_provisions_once_and_a_second_run_changes_nothing(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    ec2 = moto_server.client()
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    consortium = "test-idempotent"
    hosts = {
        # On the public network in the subnet given; in the default VPC with a private swarm
        # (TCP only); on Graviton.
        "alice": {**ON_EC2, "ec2_member_subnet_id": subnet, "kubo_network": "public"},
        "bob": {**ON_EC2, "kubo_network": "private"},
        "carol": NOT_ON_EC2,
        "dave": {**ON_EC2, "ec2_member_instance_type": "t4g.small"},
    }

    first = _provision(tmp_path, moto_server, hosts, ec2_member_consortium=consortium)
    assert all(first.stats[host]["changed"] > 0 for host in ("alice", "bob", "dave"))
    assert first.stats["carol"]["changed"] == 0 and first.stats["carol"]["ok"] == 0
    created = _resources(ec2, consortium)
    # Each member's root and data volumes carry the tags.
    assert {k: len(v) for k, v in created.items()} == {
        "instances": 3,
        "volumes": 6,
        "groups": 3,
        "keys": 3,
        "addresses": 3,
    }

    alice = _instance(ec2, consortium, "alice")
    assert alice["SubnetId"] == subnet
    assert alice["ImageId"] == "ami-0deb13new0000001"  # the newest Debian 13 for amd64
    dave = _instance(ec2, consortium, "dave")
    assert dave["ImageId"] == "ami-0deb13arm0000001"  # t4g is Graviton: arm64
    [address] = ec2.describe_addresses(
        Filters=[{"Name": "instance-id", "Values": [alice["InstanceId"]]}]
    )["Addresses"]
    assert address["PublicIp"] == alice["PublicIpAddress"]
    address_tags = {t["Key"]: t["Value"] for t in address["Tags"]}
    assert address_tags[TAG_MEMBER] == "alice" and address_tags[TAG_ROLE] == "address"
    assert alice["InstanceType"] == "t3.small"
    assert alice["KeyName"] == f"{consortium}-alice"
    assert alice["MetadataOptions"]["HttpTokens"] == "required"
    assert alice["MetadataOptions"]["HttpEndpoint"] == "enabled"

    devices = {m["DeviceName"]: m["Ebs"] for m in alice["BlockDeviceMappings"]}
    assert set(devices) == {"/dev/xvda", "/dev/xvdb"}
    assert devices["/dev/xvda"]["DeleteOnTermination"] is True
    assert devices["/dev/xvdb"]["DeleteOnTermination"] is False
    volumes = {
        v["VolumeId"]: v
        for v in ec2.describe_volumes(VolumeIds=[e["VolumeId"] for e in devices.values()])[
            "Volumes"
        ]
    }
    assert all(v["Encrypted"] for v in volumes.values())
    data = volumes[devices["/dev/xvdb"]["VolumeId"]]
    assert data["Size"] == 100
    data_tags = {t["Key"]: t["Value"] for t in data["Tags"]}
    assert data_tags[TAG_ROLE] == DATA_ROLE and data_tags[TAG_MEMBER] == "alice"

    [group] = ec2.describe_security_groups(
        GroupIds=[g["GroupId"] for g in alice["SecurityGroups"]]
    )["SecurityGroups"]
    assert group["VpcId"] == vpc
    assert _ingress(group) == {
        ("tcp", 22, 22, ADMIN_CIDR),
        ("tcp", 4001, 4001, "0.0.0.0/0"),
        ("tcp", 4001, 4001, "::/0"),
        ("udp", 4001, 4001, "0.0.0.0/0"),
        ("udp", 4001, 4001, "::/0"),
    }
    bob = _instance(ec2, consortium, "bob")
    [bob_group] = ec2.describe_security_groups(
        GroupIds=[g["GroupId"] for g in bob["SecurityGroups"]]
    )["SecurityGroups"]
    assert {rule[0] for rule in _ingress(bob_group)} == {"tcp"}  # private network: no QUIC

    second = _provision(tmp_path, moto_server, hosts, ec2_member_consortium=consortium)
    assert {host: s["changed"] for host, s in second.stats.items()} == {
        "alice": 0,
        "bob": 0,
        "carol": 0,
        "dave": 0,
    }
    assert _resources(ec2, consortium) == created
    # Only consortium-ec2 terminate, once confirmed, turns it off.
    for instance_id in created["instances"]:
        protection = ec2.describe_instance_attribute(
            InstanceId=instance_id, Attribute="disableApiTermination"
        )["DisableApiTermination"]
        assert protection == {"Value": True}

    # A port opened by hand is closed by the next run.
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5001,
                "ToPort": 5001,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    _provision(tmp_path, moto_server, hosts, ec2_member_consortium=consortium)
    [group] = ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"]
    assert not any(rule[1] <= 5001 <= rule[2] for rule in _ingress(group))


def test_hands_the_instance_to_the_node_roles(tmp_path: Path, moto_server: MotoServer) -> None:
    consortium = "test-handoff"
    hosts = {"alice": {**ON_EC2}}
    playbook = tmp_path / "site.yml"
    # site.yml's shape: provisioning, then a play on the members that records what the
    # node roles would see (on the controller: nothing connects to moto's addresses). The
    # record is tagged like the kubo role's tasks, to show that a run limited to them
    # still provisions and connects to the instance.
    playbook.write_text(f"""
- ansible.builtin.import_playbook: {PROVISION}
- name: What the node roles will see
  hosts: consortium_members
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{tmp_path}/{{{{ inventory_hostname }}}}.yml"
        content: "{{{{ dict(ansible_host=ansible_host, ansible_user=ansible_user,
          data_volume_enabled=data_volume_enabled, data_volume_id=data_volume_id,
          kubo_peering_addresses=kubo_peering_addresses,
          ssh_args=ansible_ssh_extra_args.split()) | to_yaml }}}}"
      delegate_to: localhost
      tags: [kubo]
""")
    extra_vars = {
        "ec2_member_consortium": consortium,
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    _provision(tmp_path, moto_server, hosts, playbook=playbook, **extra_vars)
    seen = yaml.safe_load((tmp_path / "alice.yml").read_text())
    instance = _instance(moto_server.client(), consortium, "alice")
    data_volume = next(
        m["Ebs"]["VolumeId"]
        for m in instance["BlockDeviceMappings"]
        if m["DeviceName"] == "/dev/xvdb"
    )
    [address] = moto_server.client().describe_addresses(
        Filters=[{"Name": "instance-id", "Values": [instance["InstanceId"]]}]
    )["Addresses"]
    elastic_ip = address["PublicIp"]
    expected = {
        "ansible_host": elastic_ip,
        "ansible_user": "admin",
        "data_volume_enabled": True,
        "data_volume_id": data_volume,
    }
    host_key_options = [
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"HostKeyAlias={instance['InstanceId']}",
    ]
    assert seen == {
        **expected,
        "kubo_peering_addresses": [f"/ip4/{elastic_ip}/tcp/4001"],
        "ssh_args": host_key_options,
    }

    # The example dynamic inventory finds the same member with the same variables.
    example = yaml.safe_load((ROOT / "examples/ec2/aws_ec2.yml").read_text())
    example["endpoint_url"] = moto_server.url
    example["filters"][f"tag:{TAG_CONSORTIUM}"] = consortium
    dynamic = tmp_path / "aws_ec2.yml"
    dynamic.write_text(yaml.safe_dump(example))
    listed = json.loads(
        subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(dynamic), "--list"],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        ).stdout
    )
    assert listed["consortium_members"]["hosts"] == ["alice"]
    hostvars = listed["_meta"]["hostvars"]["alice"]
    # ansible-inventory marks strings from AWS as unsafe: {"__ansible_unsafe": "..."}.
    assert {
        k: v["__ansible_unsafe"] if isinstance(v, dict) else v
        for k, v in ((k, hostvars[k]) for k in expected)
    } == expected
    assert hostvars["ansible_ssh_extra_args"]["__ansible_unsafe"].split() == host_key_options
    assert [a["__ansible_unsafe"] for a in hostvars["kubo_peering_addresses"]] == [
        f"/ip4/{elastic_ip}/tcp/4001"
    ]

    # Terminated with consortium-ec2 (data volume and Elastic IP stay), provisioned again
    # in a run limited to --tags kubo: the new instance gets the same data volume and
    # address back, and its host key is filed under its own ID.
    aws = ["--endpoint-url", moto_server.url, "--region", REGION, "--consortium", consortium]
    assert main([*aws, "terminate", "alice", "--yes"]) == 0
    _provision(
        tmp_path, moto_server, hosts, playbook=playbook, options=["--tags", "kubo"], **extra_vars
    )
    new_instance = _instance(moto_server.client(), consortium, "alice")
    assert new_instance["InstanceId"] != instance["InstanceId"]
    assert new_instance["PublicIpAddress"] == elastic_ip
    seen = yaml.safe_load((tmp_path / "alice.yml").read_text())
    assert (seen["ansible_host"], seen["data_volume_id"]) == (elastic_ip, data_volume)
    assert seen["ssh_args"][-1] == f"HostKeyAlias={new_instance['InstanceId']}"


@pytest.mark.parametrize(
    "variables",
    [{"ec2_member_swarm_port": 5001}, {"ec2_member_ssh_port": 8080}],
    ids=["swarm-port-5001", "ssh-port-8080"],
)
def test_never_opens_kubo_api_or_gateway(
    tmp_path: Path, moto_server: MotoServer, variables: dict[str, int]
) -> None:
    consortium = "test-forbidden-" + next(iter(variables.values())).__str__()
    run = _provision(
        tmp_path,
        moto_server,
        {"eve": {**ON_EC2, **variables}},
        check=False,
        ec2_member_consortium=consortium,
    )
    assert run.returncode != 0
    assert "are never opened to the network" in str(run.output)
    assert _resources(moto_server.client(), consortium) == NOTHING


def test_refuses_without_admin_cidrs(tmp_path: Path, moto_server: MotoServer) -> None:
    run = _provision(
        tmp_path,
        moto_server,
        {"eve": {**ON_EC2}},
        check=False,
        ec2_admin_cidrs=[],
        ec2_member_consortium="test-no-admin",
    )
    assert run.returncode != 0
    assert "Set ec2_admin_cidrs" in str(run.output)


def test_does_nothing_for_hosts_not_on_ec2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No credentials, no endpoint: provisioning must not need them for these hosts.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "consortium_members": {
                    "hosts": {
                        "container1": NOT_ON_EC2,
                        "container2": {**NOT_ON_EC2, "ec2_member_enabled": False},
                    }
                }
            }
        )
    )
    run = run_playbook(PROVISION, inventory=str(inventory), extra_vars={})
    for host in ("container1", "container2"):
        stats = run.stats[host]
        assert (stats["ok"], stats["changed"], stats["failures"], stats["unreachable"]) == (
            0,
            0,
            0,
            0,
        )


def test_builds_a_lost_members_data_volume_from_a_snapshot(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    ec2 = moto_server.client()
    old_volume = ec2.create_volume(Size=20, AvailabilityZone=f"{REGION}a")["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=old_volume)["SnapshotId"]
    consortium = "test-snapshot"
    hosts = {"alice": {**ON_EC2, "ec2_member_data_volume_snapshot": snapshot}}
    _provision(tmp_path, moto_server, hosts, ec2_member_consortium=consortium)
    instance = _instance(ec2, consortium, "alice")
    [data_volume] = [
        m["Ebs"]["VolumeId"]
        for m in instance["BlockDeviceMappings"]
        if m["DeviceName"] == "/dev/xvdb"
    ]
    [volume] = ec2.describe_volumes(VolumeIds=[data_volume])["Volumes"]
    assert volume["SnapshotId"] == snapshot and volume["Size"] == 100


def test_check_mode_creates_nothing(tmp_path: Path, moto_server: MotoServer) -> None:
    consortium = "test-check-mode"
    run = _provision(
        tmp_path,
        moto_server,
        {"alice": {**ON_EC2}},
        options=["--check"],
        ec2_member_consortium=consortium,
    )
    assert run.stats["alice"]["changed"] > 0  # it says what it would create
    assert _resources(moto_server.client(), consortium) == NOTHING


def _facts_set(run: PlaybookRun, host: str, fact: str) -> list[Any]:
    """Every value that ``run``'s set_fact tasks gave ``fact`` on ``host``."""
    return [
        result["ansible_facts"][fact]
        for play in run.output["plays"]
        for task in play["tasks"]
        for result in [task["hosts"].get(host, {})]
        if fact in result.get("ansible_facts", {})
    ]


def test_onboarding_creates_nothing_for_a_member_without_instance(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    consortium = "test-onboarding-new"
    run = _provision(
        tmp_path,
        moto_server,
        {"zoe": {**ON_EC2}},
        playbook=ONBOARDING,
        check=False,
        ec2_member_consortium=consortium,
    )
    assert run.returncode != 0
    assert run.stats["zoe"]["failures"] == 1 and run.stats["zoe"]["changed"] == 0
    assert "zoe has no EC2 instance yet" in str(run.output)
    assert "provision it first with site.yml" in str(run.output)
    assert _resources(moto_server.client(), consortium) == NOTHING


def test_onboarding_finds_a_provisioned_member_and_changes_nothing(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    ec2 = moto_server.client()
    consortium = "test-onboarding"
    hosts = {"alice": {**ON_EC2}, "carol": NOT_ON_EC2}
    provisioned = _facts_set(
        _provision(tmp_path, moto_server, hosts, ec2_member_consortium=consortium),
        "alice",
        "ec2_member_provisioned",
    )
    created = _resources(ec2, consortium)

    # Only the EC2 lookup: the Kubo identity is read on the host, which moto has not.
    run = _provision(
        tmp_path,
        moto_server,
        hosts,
        playbook=ONBOARDING,
        options=["--tags", "ec2_member"],
        ec2_member_consortium=consortium,
    )
    assert run.stats["alice"]["changed"] == 0 and run.stats["carol"]["ok"] == 0
    assert _resources(ec2, consortium) == created
    [found] = _facts_set(run, "alice", "ec2_member_provisioned")
    assert found == provisioned[-1]
    elastic_ip = _instance(ec2, consortium, "alice")["PublicIpAddress"]
    assert found["peering_addresses"] == [f"/ip4/{elastic_ip}/tcp/4001"]
    assert _facts_set(run, "alice", "kubo_peering_addresses") == [found["peering_addresses"]]
