"""The consortium-ec2 command: list and manage consortium members' EC2 instances.

Members are selected by the tags the ec2_member role puts on them. Every failure (a
selection that matches no instance is one) is one line on stderr and exit status 1; a
usage error exits 2, Ctrl-C 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import PROG, actions
from .errors import Aborted, Ec2Error, MemberNotFound, ec2_errors
from .members import (
    DEFAULT_CONSORTIUM,
    TAG_CONSORTIUM,
    AwsSettings,
    Member,
    ec2_client,
    find_members,
)


def _aws_options(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before and after the command; after it, SUPPRESS keeps an absent option from
    # overwriting one given before it.
    parser.add_argument("--region", default=default, help="AWS region (default: boto3's)")
    parser.add_argument("--profile", default=default, help="AWS profile (default: boto3's)")
    parser.add_argument(
        "--endpoint-url", default=default, help="EC2 endpoint URL (default: AWS's own)"
    )
    parser.add_argument(
        "--consortium",
        default=DEFAULT_CONSORTIUM if default is None else default,
        help=f"consortium name, the ipfs-consortium:consortium tag (default: {DEFAULT_CONSORTIUM})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    _aws_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    _aws_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", parents=[common], help="print a table of members")
    listing.add_argument("members", nargs="*", metavar="MEMBER", help="default: all")

    for name, verb in (("start", "start"), ("stop", "stop")):
        sub = commands.add_parser(name, parents=[common], help=f"{verb} members' instances")
        _selection(sub)
        sub.add_argument("--wait", action="store_true", help="wait until the state is reached")

    terminate = commands.add_parser(
        "terminate",
        parents=[common],
        help="turn termination protection off and terminate instances (the data volumes stay)",
    )
    terminate.add_argument("members", nargs="+", metavar="MEMBER")
    terminate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    terminate.add_argument(
        "--delete-data-volume",
        action="store_true",
        help="also delete each member's data volume (its Kubo repository), once a final "
        "snapshot of it has completed",
    )
    terminate.add_argument(
        "--release-address",
        action="store_true",
        help="also release each member's Elastic IP (kept by default for its next instance)",
    )

    snapshot = commands.add_parser(
        "snapshot", parents=[common], help="snapshot members' data volumes"
    )
    _selection(snapshot)
    snapshot.add_argument("--description", default="", help="snapshot description")

    resize = commands.add_parser(
        "resize-volume", parents=[common], help="grow a member's data volume"
    )
    resize.add_argument("member", metavar="MEMBER")
    resize.add_argument("--size", type=int, required=True, metavar="GiB", help="new size in GiB")

    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="give a stopped member a new data volume from a snapshot (the old one is kept)",
    )
    restore.add_argument("member", metavar="MEMBER")
    restore.add_argument(
        "--snapshot",
        required=True,
        metavar="SNAP_ID",
        help="the snapshot to restore from, e.g. one taken by consortium-ec2 snapshot",
    )
    restore.add_argument(
        "--kms-key-id",
        metavar="KEY",
        help="KMS key that encrypts the new volume (default: the key of the member's data "
        "volume, or of its root volume when it has none)",
    )
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("members", nargs="*", metavar="MEMBER")
    parser.add_argument("--all", action="store_true", help="every member of the consortium")


def _confirm(question: str) -> None:
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        print()  # no Enter ended the question's line, and the error needs one of its own
        raise
    if answer not in ("y", "yes"):
        raise Aborted("not confirmed; nothing changed")


def _terminate_question(members: Sequence[Member], args: argparse.Namespace, region: str) -> str:
    """What terminate will do, where: the account and region, and each thing deleted."""
    steps = []
    for m in members:
        steps.append(
            f"terminate {m.name} ({m.instance_id}) and its root volume, "
            "turning its termination protection off"
        )
        volume = m.data_volume
        if volume is not None:
            what = f"data volume {volume.volume_id} ({volume.size_gib} GiB) of {m.name}"
            steps.append(
                f"DELETE {what}, after a final snapshot"
                if args.delete_data_volume
                else f"keep {what}"
            )
        if m.address is not None:
            what = f"Elastic IP {m.address.public_ip} of {m.name}"
            steps.append(f"RELEASE {what}" if args.release_address else f"keep {what}")
    account = members[0].account_id
    return "\n".join(
        [f"In AWS account {account}, region {region}:", *(f"  {s}" for s in steps), "Go on?"]
    )


def _restore_question(member: Member, plan: actions.Restore, region: str) -> str:
    old = member.data_volume
    kept = f", in place of {old.volume_id} (kept)" if old else ""
    return (
        f"In AWS account {member.account_id}, region {region}: give {member.name} "
        f"({member.instance_id}) a new data volume from {plan.snapshot_id}"
        f"{kept}, encrypted with {actions.describe_key(plan.kms_key_id)}?"
    )


def _run(args: argparse.Namespace) -> list[str]:
    settings = AwsSettings(args.region, args.profile, args.endpoint_url)
    client = ec2_client(settings)
    # Commands about one member call it `member`, the others `members`.
    names: list[str] = [args.member] if "member" in args else args.members
    members = find_members(client, args.consortium, names)
    if args.command == "list":
        return actions.table(members)
    # Only --all can find nobody (a named member not found is an error already), and a
    # command that does nothing must not look like one that did it.
    if not members:
        raise MemberNotFound(
            f"no instance tagged {TAG_CONSORTIUM}={args.consortium} that is not terminated: "
            f"nothing to {args.command}"
        )
    if args.command == "start":
        return actions.start(client, members, wait=args.wait)
    if args.command == "stop":
        return actions.stop(client, members, wait=args.wait)
    if args.command == "terminate":
        if not args.yes:
            _confirm(_terminate_question(members, args, client.meta.region_name))
        return actions.terminate(
            client,
            members,
            delete_data_volume=args.delete_data_volume,
            release_address=args.release_address,
        )
    if args.command == "snapshot":
        return actions.snapshot(client, members, description=args.description)
    if args.command == "restore":
        plan = actions.restore_plan(client, members[0], args.snapshot, kms_key_id=args.kms_key_id)
        if not args.yes:
            _confirm(_restore_question(members[0], plan, client.meta.region_name))
        return actions.restore(client, members[0], plan)
    return actions.resize_volume(client, members[0], size_gib=args.size)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("start", "stop", "snapshot") and not (args.members or args.all):
        parser.error(f"{args.command}: name the members, or pass --all")
    if getattr(args, "all", False) and args.members:
        parser.error(f"{args.command}: name members or pass --all, not both")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        # All of it, so that Ctrl-C is one line wherever it comes.
        with ec2_errors():
            for line in _run(_parse(argv)):
                print(line)
    except Ec2Error as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0
