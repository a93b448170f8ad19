"""consortium-ec2 against moto in-process (mock_aws)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    WaiterError,
)
from botocore.waiter import Waiter
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.responses.elastic_block_store import ElasticBlockStore

from consortium_ec2 import cli, errors, members
from consortium_ec2.cli import main
from harness.loopback_http import serving

from .ansible_run import ROOT
from .conftest import REGION, allocate_address, launch_member


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # moto's hundreds of default images take seconds to load and no test needs them.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def _state(ec2: Any, instance_id: str) -> str:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return str(instance["Instances"][0]["State"]["Name"])


def _volume_of(ec2: Any, instance_id: str) -> dict[str, Any]:
    volumes = ec2.describe_volumes(
        Filters=[{"Name": f"tag:{members.TAG_ROLE}", "Values": [members.DATA_ROLE]}]
    )["Volumes"]
    [volume] = [v for v in volumes if any(a["InstanceId"] == instance_id for a in v["Attachments"])]
    return volume


@pytest.fixture
def alice_with_volume(ec2: Any) -> tuple[str, str]:
    """Member alice's instance id and data volume id."""
    alice = launch_member(ec2, "alice")
    return alice, _volume_of(ec2, alice)["VolumeId"]


Terminate = Callable[..., int]
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def terminate(monkeypatch: pytest.MonkeyPatch) -> Terminate:
    """``terminate alice`` with more arguments, answering its question with ``answer``."""

    def run(*args: str, answer: str = "y") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{answer}\n"))
        return main(["terminate", "alice", *args])

    return run


def test_tag_keys_are_the_roles() -> None:
    role_vars = yaml.safe_load((ROOT / "roles/ec2_member/vars/main.yml").read_text())
    assert role_vars["_ec2_member_tag_consortium"] == members.TAG_CONSORTIUM
    assert role_vars["_ec2_member_tag_member"] == members.TAG_MEMBER
    assert role_vars["_ec2_member_tag_role"] == members.TAG_ROLE
    assert role_vars["_ec2_member_data_role"] == members.DATA_ROLE
    assert role_vars["_ec2_member_address_role"] == members.ADDRESS_ROLE
    defaults = yaml.safe_load((ROOT / "roles/ec2_member/defaults/main.yml").read_text())
    assert defaults["ec2_member_consortium"] == members.DEFAULT_CONSORTIUM
    assert defaults["ec2_member_data_volume_device"] == members.DATA_DEVICE


def test_help_says_how_every_failure_ends(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert (
        "Every failure (a selection that matches no instance is one) is one line on stderr "
        "and exit status 1; a usage error exits 2, Ctrl-C 130." in said
    )
    readme = (ROOT / "consortium-ec2" / "README.md").read_text()
    assert _exit_statuses(said) == _exit_statuses(readme) == {1, 2, 130}


def _exit_statuses(text: str) -> set[int]:
    """The exit statuses a text gives: "exit status 1", "exit 2", "exits 2", "Ctrl-C 130"."""
    found = re.findall(r"exit status (\d+)|exits? (\d+)|Ctrl-C (\d+)", " ".join(text.split()))
    return {int(number) for match in found for number in match if number}


def test_list_prints_an_aligned_table_of_this_consortium(
    ec2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = launch_member(ec2, "bob", data_gib=None)
    alice = launch_member(ec2, "alice", data_gib=250)
    launch_member(ec2, "mallory", consortium="another")
    # Not associated, so the instance's own public IP differs from it.
    alice_ip = allocate_address(ec2, "alice")
    [bob_instance] = ec2.describe_instances(InstanceIds=[bob])["Reservations"][0]["Instances"]
    bob_ip = bob_instance["PublicIpAddress"]

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["MEMBER", "alice", "bob"]
    header, alice_row, bob_row = lines
    assert alice_row.split()[1:6] == [alice, "running", "t3.small", alice_ip, "250"]
    assert bob_row.split()[1:6] == [bob, "running", "t3.small", bob_ip, "-"]
    # Aligned: every column starts where its heading does.
    for heading in ("INSTANCE", "STATE", "TYPE", "PUBLIC IP", "DATA GiB"):
        column = header.index(heading)
        assert alice_row[column - 1] == " " and alice_row[column] != " "
        assert bob_row[column - 1] == " " and bob_row[column] != " "


def test_stop_and_start_selected_members(ec2: Any, capsys: pytest.CaptureFixture[str]) -> None:
    alice = launch_member(ec2, "alice")
    bob = launch_member(ec2, "bob")

    assert main(["stop", "alice", "--wait"]) == 0
    assert capsys.readouterr().out == f"alice ({alice}): running -> stopped\n"
    assert (_state(ec2, alice), _state(ec2, bob)) == ("stopped", "running")

    assert main(["start", "--all"]) == 0
    assert _state(ec2, alice) == "running"


def test_start_needs_members_or_all(ec2: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["start"])
    assert exit_info.value.code == 2
    assert "name the members, or pass --all" in capsys.readouterr().err


def _protected(ec2: Any, instance_id: str) -> bool:
    attribute = ec2.describe_instance_attribute(
        InstanceId=instance_id, Attribute="disableApiTermination"
    )
    return bool(attribute["DisableApiTermination"]["Value"])


def test_terminate_asks_and_keeps_the_data_volume(
    ec2: Any, alice_with_volume: tuple[str, str], terminate: Terminate, capsys: Capsys
) -> None:
    alice, volume_id = alice_with_volume

    assert terminate(answer="n") == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"In AWS account {ACCOUNT_ID}, region {REGION}:",
        f"  terminate alice ({alice}) and its root volume, turning its termination protection off",
        f"  keep data volume {volume_id} (100 GiB) of alice",
        "Go on? [y/N] ",
    ]
    assert "not confirmed" in err
    assert _state(ec2, alice) == "running" and _protected(ec2, alice)

    assert terminate() == 0
    assert f"kept data volume {volume_id}" in capsys.readouterr().out
    assert _state(ec2, alice) in ("shutting-down", "terminated")
    assert ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"


def test_terminate_deletes_the_data_volume_only_when_told_after_a_final_snapshot(
    ec2: Any, alice_with_volume: tuple[str, str], terminate: Terminate, capsys: Capsys
) -> None:
    assert terminate("--delete-data-volume") == 0
    _, volume_id = alice_with_volume
    out = capsys.readouterr().out
    assert f"  DELETE data volume {volume_id} (100 GiB) of alice, after a final snapshot\n" in out
    [snapshot] = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert (snapshot["VolumeId"], snapshot["State"]) == (volume_id, "completed")
    assert _tags(snapshot) == _data_tags("alice")  # what restore requires
    assert out.endswith(
        f"alice: final snapshot {snapshot['SnapshotId']} of {volume_id} completed\n"
        f"deleted data volume {volume_id}\n"
    )
    assert volume_id not in [v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]]


def test_a_failed_final_snapshot_keeps_the_data_volume(
    ec2: Any,
    alice_with_volume: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, volume_id = alice_with_volume
    original_wait = Waiter.wait

    def wait(self: Waiter, **kwargs: Any) -> None:
        if self.name == "SnapshotCompleted":
            raise WaiterError(self.name, "terminal failure state: error", {})
        original_wait(self, **kwargs)

    monkeypatch.setattr(Waiter, "wait", wait)
    assert main(["terminate", "alice", "--yes", "--delete-data-volume"]) == 1
    err = _one_line_error(capsys.readouterr().err)
    assert f"of {volume_id} did not complete" in err and "the data volume is kept" in err
    assert ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"


def test_terminate_keeps_the_elastic_ip_unless_told(
    ec2: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alice_ip = allocate_address(ec2, "alice", launch_member(ec2, "alice"))
    bob_ip = allocate_address(ec2, "bob", launch_member(ec2, "bob"))

    assert main(["terminate", "alice", "--yes"]) == 0
    assert f"kept Elastic IP {alice_ip} (eipalloc-" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["terminate", "bob", "--release-address"]) == 0
    out = capsys.readouterr().out
    assert f"  RELEASE Elastic IP {bob_ip} of bob\nGo on? [y/N]" in out
    assert f"released Elastic IP {bob_ip} (eipalloc-" in out
    assert [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]] == [alice_ip]


def test_snapshot_tags_the_snapshot_like_the_volume(
    ec2: Any, alice_with_volume: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, volume_id = alice_with_volume

    assert main(["snapshot", "alice", "--description", "before upgrade"]) == 0
    [snapshot] = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume_id]}])[
        "Snapshots"
    ]
    assert snapshot["VolumeId"] == volume_id
    assert snapshot["Description"] == "before upgrade"
    tags = {t["Key"]: t["Value"] for t in snapshot["Tags"]}
    assert tags[members.TAG_CONSORTIUM] == "ipfs-consortium"
    assert tags[members.TAG_MEMBER] == "alice"
    assert tags[members.TAG_ROLE] == members.DATA_ROLE
    assert snapshot["SnapshotId"] in capsys.readouterr().out


def test_snapshot_without_data_volume_is_an_error(
    ec2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    launch_member(ec2, "bob", data_gib=None)
    assert main(["snapshot", "bob"]) == 1
    assert "has no volume tagged ipfs-consortium:role=data" in capsys.readouterr().err


def test_resize_volume_grows_and_refuses_to_shrink(
    ec2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = launch_member(ec2, "alice", data_gib=100)
    assert main(["resize-volume", "alice", "--size", "50"]) == 1
    assert "only grow" in capsys.readouterr().err
    assert main(["resize-volume", "alice", "--size", "200"]) == 0
    assert _volume_of(ec2, alice)["Size"] == 200


def _snapshot(member: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The id of a snapshot taken with consortium-ec2 snapshot."""
    assert main(["snapshot", member]) == 0
    return capsys.readouterr().out.split()[2]


def _stop(member: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", member, "--wait"]) == 0
    capsys.readouterr()


def _scratch_snapshot(ec2: Any, size_gib: int, tags: dict[str, str]) -> str:
    """A snapshot of a volume of its own (moto gives a snapshot its volume's current size)."""
    scratch = ec2.create_volume(Size=size_gib, AvailabilityZone=f"{REGION}a")["VolumeId"]
    return str(
        ec2.create_snapshot(
            VolumeId=scratch,
            TagSpecifications=[
                {
                    "ResourceType": "snapshot",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )["SnapshotId"]
    )


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Tags"]}


def _data_tags(member: str, consortium: str = "ipfs-consortium") -> dict[str, str]:
    return {
        "Name": f"{consortium}-{member}-data",
        members.TAG_CONSORTIUM: consortium,
        members.TAG_MEMBER: member,
        members.TAG_ROLE: members.DATA_ROLE,
    }


def _kms_key(name: str) -> str:
    return str(
        boto3.client("kms", region_name=REGION).create_key(Description=name)["KeyMetadata"]["Arn"]
    )


def test_restore_replaces_the_data_volume_and_keeps_the_old_one(
    ec2: Any, alice_with_volume: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    alice, old_id = alice_with_volume
    # Smaller than the 100 GiB data volume, which has grown since.
    snapshot_id = _scratch_snapshot(ec2, 50, _data_tags("alice"))
    _stop("alice", capsys)

    assert main(["restore", "alice", "--snapshot", snapshot_id, "--yes"]) == 0
    out = capsys.readouterr().out

    new = _volume_of(ec2, alice)
    old = ec2.describe_volumes(VolumeIds=[old_id])["Volumes"][0]
    assert new["VolumeId"] != old_id
    assert (new["SnapshotId"], new["Size"], new["Encrypted"]) == (snapshot_id, 100, True)
    assert new["VolumeType"] == old["VolumeType"]
    assert _tags(new) == _data_tags("alice")
    assert new["Attachments"][0]["Device"] == "/dev/xvdb"
    [instance] = ec2.describe_instances(InstanceIds=[alice])["Reservations"][0]["Instances"]
    [mapping] = [m for m in instance["BlockDeviceMappings"] if m["DeviceName"] == "/dev/xvdb"]
    assert mapping["Ebs"]["VolumeId"] == new["VolumeId"]
    assert mapping["Ebs"]["DeleteOnTermination"] is False
    assert (old["State"], old["Attachments"]) == ("available", [])
    assert _tags(old)[members.TAG_ROLE] == members.REPLACED_DATA_ROLE
    assert _tags(old)[members.TAG_REPLACED_BY] == new["VolumeId"]
    assert _tags(old)["Name"] != _data_tags("alice")["Name"]  # the role finds it by Name
    [member] = members.find_members(ec2, "ipfs-consortium", ["alice"])
    assert member.data_volume is not None and member.data_volume.volume_id == new["VolumeId"]
    assert f"kept the old data volume {old_id} (tagged data-replaced)" in out
    assert out.endswith("start the member: consortium-ec2 start alice --wait\n")


@pytest.mark.parametrize("option", [False, True], ids=["members-key", "kms-key-id-option"])
def test_restore_encrypts_with_the_members_kms_key_unless_told(
    ec2: Any, option: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    members_key, other_key = _kms_key("alice's"), _kms_key("another")
    alice = launch_member(ec2, "alice", kms_key_id=members_key)
    snapshot_id = _snapshot("alice", capsys)
    _stop("alice", capsys)
    expected = other_key if option else members_key

    extra = ["--kms-key-id", other_key] if option else []
    assert main(["restore", "alice", "--snapshot", snapshot_id, "--yes", *extra]) == 0
    assert f"GiB gp2, KMS key {expected}) from {snapshot_id}" in capsys.readouterr().out
    new = _volume_of(ec2, alice)
    assert new["SnapshotId"] == snapshot_id
    assert (new["Encrypted"], new["KmsKeyId"]) == (True, expected)


def test_restore_asks_then_gives_a_member_without_data_volume_one(
    ec2: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot_id = _scratch_snapshot(ec2, 30, _data_tags("bob"))
    key = _kms_key("bob's")
    bob = launch_member(ec2, "bob", data_gib=None, kms_key_id=key)
    _stop("bob", capsys)
    volumes = ec2.describe_volumes()["Volumes"]  # bob's root volume, the scratch one

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["restore", "bob", "--snapshot", snapshot_id]) == 1
    out, err = capsys.readouterr()
    # Without a data volume, the key is the root volume's (the role encrypts both with it).
    assert out == (
        f"In AWS account {ACCOUNT_ID}, region {REGION}: give bob ({bob}) a new data volume "
        f"from {snapshot_id}, encrypted with KMS key {key}? [y/N] "
    )
    assert "not confirmed" in err
    assert ec2.describe_volumes()["Volumes"] == volumes

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["restore", "bob", "--snapshot", snapshot_id]) == 0
    new = _volume_of(ec2, bob)
    assert (new["SnapshotId"], new["Size"], new["VolumeType"]) == (snapshot_id, 30, "gp3")
    assert new["KmsKeyId"] == key
    assert _tags(new) == _data_tags("bob")
    assert new["Attachments"][0]["Device"] == "/dev/xvdb"
    assert "kept the old data volume" not in capsys.readouterr().out


@pytest.fixture
def owner_ids_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers DescribeSnapshots with every snapshot it holds, whatever OwnerIds says;
    AWS lists only the snapshots of the owners named there ("self": the caller's account),
    and without it also those that other accounts shared, or made public."""

    def describe_snapshots(self: ElasticBlockStore) -> ActionResult:
        owners = {
            self.current_account if owner == "self" else owner
            for owner in self._get_param("OwnerIds", [])
        }
        snapshots = self.ec2_backend.describe_snapshots(
            snapshot_ids=self._get_param("SnapshotIds", []),
            filters=self._filters_from_querystring(),
        )
        return ActionResult(
            {"Snapshots": [s for s in snapshots if not owners or s.owner_id in owners]}
        )

    monkeypatch.setattr(ElasticBlockStore, "describe_snapshots", describe_snapshots)


def _shared_by_another_account(ec2: Any, capsys: pytest.CaptureFixture[str]) -> str:
    """A snapshot tagged as alice's data, but another account's, shared with this one."""
    snapshot_id = _scratch_snapshot(ec2, 100, _data_tags("alice"))
    ec2_backends[ACCOUNT_ID][REGION].snapshots[snapshot_id].owner_id = "111122223333"
    return snapshot_id


def _snapshot_tagged(tags: dict[str, str]) -> Callable[[Any, Any], str]:
    return lambda ec2, capsys: _scratch_snapshot(ec2, 100, tags)


_WITHOUT_ROLE = {k: v for k, v in _data_tags("alice").items() if k != members.TAG_ROLE}


@pytest.mark.parametrize(
    ("stopped", "make_snapshot", "message"),
    [
        (
            False,
            lambda ec2, capsys: _snapshot("alice", capsys),
            "is running; stop it first: consortium-ec2 stop alice --wait",
        ),
        (
            True,
            lambda ec2, capsys: _snapshot("bob", capsys),
            "is tagged ipfs-consortium:member=bob, not alice: it holds another member's data",
        ),
        (
            True,
            _snapshot_tagged(_data_tags("alice", consortium="another")),
            "is tagged ipfs-consortium:consortium=another, not ipfs-consortium",
        ),
        (
            True,
            _snapshot_tagged({"Name": "by hand"}),
            "has no tag ipfs-consortium:consortium=ipfs-consortium, "
            "ipfs-consortium:member=alice, ipfs-consortium:role=data, so nothing says it holds "
            "alice's data: restore a snapshot taken by `consortium-ec2 snapshot alice`, or, ",
        ),
        (
            True,
            _snapshot_tagged(_WITHOUT_ROLE),
            "has no tag ipfs-consortium:role=data, so nothing says it holds alice's data: "
            "restore a snapshot taken by `consortium-ec2 snapshot alice`, or, sure that it holds "
            "alice's repository, tag it: aws ec2 create-tags --resources snap-",
        ),
        (
            True,
            _shared_by_another_account,
            f"of this account ({ACCOUNT_ID}) in us-east-1; another account's snapshot is "
            "never restored",
        ),
        (
            True,
            lambda ec2, capsys: "snap-0123456789abcdef0",
            "no snapshot snap-0123456789abcdef0 of this account",
        ),
    ],
    ids=[
        "running",
        "another-members-snapshot",
        "another-consortiums-snapshot",
        "untagged-snapshot",
        "snapshot-without-role-tag",
        "another-accounts-snapshot",
        "unknown-snapshot",
    ],
)
@pytest.mark.usefixtures("owner_ids_honoured")
def test_restore_refuses_in_one_line_and_changes_nothing(
    ec2: Any,
    stopped: bool,
    make_snapshot: Callable[[Any, Any], str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    launch_member(ec2, "alice")
    launch_member(ec2, "bob")
    snapshot_id = make_snapshot(ec2, capsys)
    if stopped:
        _stop("alice", capsys)
    volumes = ec2.describe_volumes()["Volumes"]

    assert main(["restore", "alice", "--snapshot", snapshot_id, "--yes"]) == 1
    assert message in _one_line_error(capsys.readouterr().err)
    assert ec2.describe_volumes()["Volumes"] == volumes


def test_unknown_member_is_one_line(ec2: Any, capsys: pytest.CaptureFixture[str]) -> None:
    launch_member(ec2, "alice")
    assert main(["stop", "alice", "zoe", "yannick"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "consortium-ec2: error: no instance tagged ipfs-consortium:consortium=ipfs-consortium"
        " for member(s): yannick, zoe\n"
    )
    assert _state(ec2, launch_member(ec2, "bob")) == "running"


def test_no_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    # Signing fails before any request, so the (closed) loopback endpoint is never called.
    assert main(["--endpoint-url", "http://127.0.0.1:9", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("consortium-ec2: error: no AWS credentials found")
    assert err.count("\n") == 1


def test_aws_options_are_accepted_after_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[members.AwsSettings] = []
    monkeypatch.setattr(cli, "ec2_client", lambda settings: seen.append(settings))
    monkeypatch.setattr(cli, "find_members", lambda client, consortium, names: [])
    assert main(["--region", "eu-west-1", "list", "--profile", "ops"]) == 0
    assert seen == [members.AwsSettings("eu-west-1", "ops", None)]


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "DescribeInstances")


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (NoCredentialsError(), errors.ConfigurationError, "no AWS credentials found"),
        (NoRegionError(), errors.ConfigurationError, "no AWS region"),
        (ProfileNotFound(profile="ops"), errors.ConfigurationError, "check --profile"),
        (
            EndpointConnectionError(endpoint_url="https://ec2.example"),
            errors.EndpointUnreachable,
            'no answer from the EC2 endpoint: Could not connect to the endpoint URL: "https://ec2.',
        ),
        (
            ConnectTimeoutError(endpoint_url="https://ec2.example"),
            errors.EndpointUnreachable,
            'no answer from the EC2 endpoint: Connect timeout on endpoint URL: "https://ec2.',
        ),
        # Its message spans lines, one per invalid parameter.
        (
            ParamValidationError(report="Invalid type for parameter Size\nMissing VolumeId"),
            errors.Ec2Error,
            "Parameter validation failed: Invalid type for parameter Size Missing VolumeId",
        ),
        (_client_error("RequestLimitExceeded"), errors.Throttled, "throttling"),
        (_client_error("UnauthorizedOperation"), errors.AwsApiError, "(UnauthorizedOperation)"),
    ],
)
def test_botocore_errors_become_one_line(
    raised: Exception,
    expected: type[errors.Ec2Error],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: object) -> None:
        raise raised

    monkeypatch.setattr(cli, "find_members", fail)
    with pytest.raises(expected), errors.ec2_errors():
        fail()
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _one_line_error(err: str) -> str:
    """``err``, consortium-ec2's stderr, once checked to be one error line."""
    assert "Traceback" not in err
    assert err.startswith("consortium-ec2: error: ") and err.count("\n") == 1
    return err


_PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1><p>The upstream server is unreachable.<br></body></html>
"""


@pytest.mark.parametrize(
    ("status", "page"),
    [(200, _PAGE), (502, _PAGE), (200, b"<html><body>It works!</body></html>")],
    ids=["page", "bad-gateway", "page-that-parses-as-xml"],
)
def test_an_endpoint_answering_html_is_one_line(
    status: int, page: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(status, page) as url:
        assert main(["--endpoint-url", url, "list"]) == 1
    assert "not an EC2 response" in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("url", ["notaurl", "http://127.0.0.1:99999", "http://[::1"])
def test_a_malformed_endpoint_url_is_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--endpoint-url", url, "list"]) == 1
    assert f"the endpoint URL {url!r} is not" in _one_line_error(capsys.readouterr().err)


class _CtrlC(io.StringIO):
    """A stdin at which the operator presses Ctrl-C."""

    def readline(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("stdin", "code", "message"),
    [
        (io.StringIO(""), 1, "no answer (end of input); nothing changed"),
        (_CtrlC(), 130, "interrupted"),
    ],
    ids=["end-of-input", "ctrl-c"],
)
def test_no_answer_at_the_prompt_is_one_line_and_changes_nothing(
    stdin: io.StringIO,
    code: int,
    message: str,
    ec2: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice = launch_member(ec2, "alice")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["terminate", "alice"]) == code
    out, err = capsys.readouterr()
    assert out.endswith("[y/N] \n")  # the error is not printed after the question
    assert message in _one_line_error(err)
    assert _state(ec2, alice) == "running"


def test_ctrl_c_while_waiting_is_one_line_and_exit_130(
    ec2: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = launch_member(ec2, "alice")

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("botocore.waiter.Waiter.wait", ctrl_c)
    assert main(["stop", "alice", "--wait"]) == 130
    err = _one_line_error(capsys.readouterr().err)
    assert "requests already sent to AWS still take effect" in err
    assert _state(ec2, alice) in ("stopping", "stopped")


@pytest.mark.parametrize("command", ["start", "stop", "snapshot"])
def test_all_selecting_no_instance_is_one_line(
    command: str, ec2: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    launch_member(ec2, "mallory", consortium="another")
    assert main([command, "--all"]) == 1
    assert _one_line_error(capsys.readouterr().err) == (
        "consortium-ec2: error: no instance tagged ipfs-consortium:consortium=ipfs-consortium"
        f" that is not terminated: nothing to {command}\n"
    )
