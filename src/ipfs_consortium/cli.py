"""The ``ipfs-consortium`` command line: sync, publish, status, copies, verify, forget,
check-config, invite, join."""

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TypeAlias

from . import __version__
from .config import (
    API_VARIABLE,
    CONFIG_VARIABLE,
    DEFAULT_API,
    SYSTEM_CONFIG,
    Config,
    chosen_api,
    command_config,
    config_warnings,
    find_config,
    load_config,
)
from .directory import invite
from .errors import ConsortiumError, OutputClosed
from .exit_codes import (
    COMMAND_EXITS,
    EXIT_CHECK_FAILED,
    EXIT_FEW_COPIES,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    MEANINGS,
    exit_code_of,
    exit_help,
)
from .forget import forget_peer
from .ipfs.kubo import KuboClient
from .join import join
from .publish import publish
from .report.exchange import consortium_view
from .report.possession import failed_members, render_checks
from .report.status import render_status, status_json
from .sync.possession import verify_now
from .sync.run import run_sync

log = logging.getLogger("ipfs_consortium")

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipfs-consortium",
        description="Mirror the IPFS content that the members of a consortium list.",
        epilog=exit_help(MEANINGS) + "(each command's --help lists the codes it can return)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _verbosity(parser, False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = _command(
        commands, "sync", "pin what every peer lists, release what none lists any more",
        api=True, state_dir=True,
    )  # fmt: skip
    _flag(sync, "--dry-run", "say what would change; change nothing")
    _flag(
        sync,
        "--allow-mass-release",
        "release what is due even when it is over max_release_fraction of the pins",
    )
    _flag(
        sync,
        "--verify",
        "list every pin in Kubo and restore what is missing, whatever verify_interval says",
    )
    _flag(sync, "--json", "print a JSON summary on stdout")

    pub = _command(
        commands, "publish", "validate a manifest directory, add it and publish it to IPNS",
        api=True, config_help="take the API, its secret and the limits from this config",
    )  # fmt: skip
    pub.add_argument("directory", type=Path)
    pub.add_argument("--key", default="self", help="Kubo key to publish under (default: self)")
    _flag(
        pub,
        "--allow-empty",
        "publish a directory without manifests: the other members release what you listed",
    )
    _flag(pub, "--json", "print the result as JSON")

    status = _command(
        commands,
        "status",
        "the last run's result per configured peer, and the pins awaiting release",
        state_dir=True,
    )
    _flag(status, "--json", "print JSON")

    copies = _command(
        commands, "copies", "read every member's holdings report: who holds whose content in full",
        api=True, state_dir=True,
    )  # fmt: skip
    _flag(copies, "--json", "print JSON")

    verify = _command(
        commands, "verify",
        "check now that the members whose reports claim this member's content hold its blocks",
        api=True, state_dir=True,
    )  # fmt: skip
    _flag(verify, "--json", "print JSON")

    forget = _command(
        commands, "forget", "release now the pins of a peer removed from the config",
        api=True, state_dir=True,
    )  # fmt: skip
    forget.add_argument("peer", help="the peer's name, as in its pins and in status")
    _flag(forget, "--dry-run", "say what would be released")
    _flag(forget, "--json", "print the result as JSON")

    inv = _command(
        commands, "invite", "publish the consortium directory a new member joins with", api=True
    )
    _flag(inv, "--json", "print the result as JSON")

    joining = _command(
        commands, "join", "join a consortium from the directory a member published", api=True,
        config_help="the config.json to write, or add the members to",
    )  # fmt: skip
    joining.add_argument("directory", metavar="NAME", help="the directory: /ipns/…, or /ipfs/CID")
    joining.add_argument(
        "--via", action="append", default=[], metavar="MULTIADDR",
        help="a member's swarm address with /p2p/<peer ID>, as invite prints it (repeatable)",
    )  # fmt: skip
    joining.add_argument("--name", help="this member's name (default: its peer ID)")
    joining.add_argument(
        "--addr", action="append", default=[], metavar="MULTIADDR",
        help="a swarm address (no /p2p) at which the others dial this node (repeatable)",
    )  # fmt: skip
    joining.add_argument(
        "--api-auth-file", type=Path, metavar="FILE",
        help="the secret of Kubo's admin API, as api_auth_file (default: the config's)",
    )  # fmt: skip
    _flag(joining, "--dry-run", "connect and read the directory; write nothing, peer with nobody")
    _flag(joining, "--json", "print the result as JSON")

    check = _command(
        commands, "check-config", "validate a config.json as sync loads it, offline", config=False
    )
    check.add_argument("file", type=Path)
    return parser


def _verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log every pin"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="log warnings and errors only"
    )


def _command(
    commands: Commands,
    name: str,
    help_text: str,
    *,
    config: bool = True,
    api: bool = False,
    state_dir: bool = False,
    config_help: str = "config.json",
) -> argparse.ArgumentParser:
    """A command: -v/-q after its name as before it; --config (unless ``config`` is
    False), --api (``api``: it talks to Kubo) and --state-dir (``state_dir``), read by
    _config and _state_dir; its --help ends with the exit codes exit_codes.COMMAND_EXITS
    gives it (a command without an entry there is an error)."""
    command = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=exit_help(COMMAND_EXITS[name]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # SUPPRESS: an option not given after the command leaves the one given before it.
    _verbosity(command, argparse.SUPPRESS)
    if config:
        command.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help=f"{config_help} (default: ${CONFIG_VARIABLE}, else ./config.json, else "
            f"{SYSTEM_CONFIG})",
        )
    if api:
        command.add_argument(
            "--api",
            metavar="URL",
            help=f"Kubo RPC API (default: ${API_VARIABLE}, else the config's api, else "
            f"{DEFAULT_API})",
        )
    else:
        command.set_defaults(api=None)
    if state_dir:
        command.add_argument(
            "--state-dir",
            type=Path,
            metavar="DIR",
            help="state directory (default: the config's state_dir)",
        )
    return command


def _flag(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(name, action="store_true", help=help_text)


def _print(text: str) -> None:
    """Print now, so that a reader gone away raises OutputClosed here, not at exit."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python flushes standard output again at exit, and would print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise OutputClosed("standard output was closed before all was written") from None


def _config(args: argparse.Namespace, required: bool = True) -> Config:
    """The command's settings: --config, --api and the environment (config.command_config)."""
    return command_config(args.config, args.api, required=required)


def _state_dir(args: argparse.Namespace, config: Config) -> Path:
    return args.state_dir if args.state_dir is not None else config.state_dir


def _warn(config: Config) -> None:
    for warning in config_warnings(config):
        log.warning("%s", warning)


def _sync(args: argparse.Namespace) -> int:
    config = _config(args)
    _warn(config)
    report = run_sync(
        config,
        _state_dir(args, config),
        args.dry_run,
        args.allow_mass_release,
        verify=args.verify,
        list_all=args.json or args.verbose,
    )
    if args.json:
        _print(json.dumps(report.to_json(), indent=2))
    return report.exit_code


def _publish(args: argparse.Namespace) -> int:
    # Publishing needs no peers: without a config found, the defaults.
    config = _config(args, required=False)
    client = KuboClient.from_config(config)
    try:
        result = publish(
            client, args.directory, args.key, config.max_manifest_bytes, args.allow_empty,
            config.record_lifetime,
        )  # fmt: skip
    finally:
        client.close()
    if args.json:
        _print(json.dumps(result.__dict__, indent=2))
    elif result.changed:
        _print(f"Published {result.root} as /ipns/{result.name}")
    else:
        _print(f"Unchanged: /ipns/{result.name} already points at {result.root}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    # The config always: its peers are the ones shown (--state-dir changes only where).
    config = _config(args)
    state_dir = _state_dir(args, config)
    if args.json:
        _print(json.dumps(status_json(config, state_dir), indent=2))
    else:
        _print(render_status(config, state_dir))
    return EXIT_OK


def _copies(args: argparse.Namespace) -> int:
    config = _config(args)
    state_dir = _state_dir(args, config)
    found = consortium_view(config, state_dir)
    _print(json.dumps(found.to_json(), indent=2) if args.json else found.render())
    return EXIT_FEW_COPIES if found.too_few else EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    config = _config(args)
    checks = verify_now(config, _state_dir(args, config))
    _print(json.dumps(asdict(checks), indent=2) if args.json else render_checks(checks))
    return EXIT_CHECK_FAILED if failed_members(checks) else EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    config = _config(args)
    result = forget_peer(config, _state_dir(args, config), args.peer, args.dry_run)
    if args.json:
        _print(json.dumps(result.__dict__, indent=2))
    else:
        verb = "would release" if result.dry_run else "released"
        _print(
            f"peer {result.peer}: {verb} {len(result.released)} pins, took its name off "
            f"{len(result.renamed)} that other peers claim, kept {len(result.kept)} that "
            "other peers may still list"
        )
    return EXIT_OK


def _invite(args: argparse.Namespace) -> int:
    config = _config(args)
    client = KuboClient.from_config(config)
    try:
        result = invite(client, config)
    finally:
        client.close()
    _print(json.dumps(asdict(result), indent=2) if args.json else result.render())
    return EXIT_OK


def _join(args: argparse.Namespace) -> int:
    # The file the other commands would read, or a new one here.
    path, _ = find_config(args.config, os.environ)
    result = join(
        args.directory, args.via, path or Path("config.json"),
        {"name": args.name, "addrs": args.addr}, chosen_api(args.api, os.environ), args.dry_run,
        args.api_auth_file,
    )  # fmt: skip
    _print(json.dumps(result.to_json(), indent=2) if args.json else result.render())
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    # No client, no state directory: Ansible runs this as root on a temporary copy.
    config = load_config(args.file)
    _warn(config)
    peers = len(config.peers)
    _print(f"{args.file}: valid ({peers} peer{'' if peers == 1 else 's'})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    handlers = {
        "sync": _sync, "publish": _publish, "status": _status, "copies": _copies,
        "verify": _verify, "forget": _forget, "check-config": _check_config,
        "invite": _invite, "join": _join,
    }  # fmt: skip
    try:
        return handlers[args.command](args)
    except ConsortiumError as exc:
        code = exit_code_of(exc)
        # Another sync running is the normal case a cron job meets, not a fault.
        log.log(logging.WARNING if code == EXIT_LOCKED else logging.ERROR, "%s", exc)
        return code
    except KeyboardInterrupt:
        log.error("interrupted")
        return EXIT_INTERRUPTED
