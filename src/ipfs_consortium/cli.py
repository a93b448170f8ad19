"""The ``ipfs-consortium`` command line: sync, publish, status, copies, verify, forget,
check-config."""

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from . import __version__
from .config import DEFAULT_API, Config, load_config, normalize_api
from .directory import invite
from .errors import (
    ConfigError,
    ConsortiumError,
    OutputClosed,
)
from .exit_codes import (
    EXIT_CHECK_FAILED,
    EXIT_FEW_COPIES,
    EXIT_HELP,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    exit_code_of,
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

API_VARIABLE = "IPFS_CONSORTIUM_API"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipfs-consortium",
        description="Mirror the IPFS content that the members of a consortium list.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every pin")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config_help = "config.json path (default: $IPFS_CONSORTIUM_CONFIG, else ./config.json)"
    state_help = "state directory (default: the config's state_dir)"

    sync = _command(commands, "sync", "pin what every peer lists, release what none lists any more")
    sync.add_argument("--config", type=Path, help=config_help)
    sync.add_argument("--state-dir", type=Path, help=state_help)
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
        commands, "publish", "validate a manifest directory, add it and publish it to IPNS"
    )
    pub.add_argument("directory", type=Path)
    pub.add_argument("--key", default="self", help="Kubo key to publish under (default: self)")
    pub.add_argument("--api", help=f"Kubo RPC API (default: ${API_VARIABLE}, else {DEFAULT_API})")
    pub.add_argument("--config", type=Path, help="take the API address and limits from this config")
    _flag(
        pub,
        "--allow-empty",
        "publish a directory without manifests: the other members release what you listed",
    )
    _flag(pub, "--json", "print the result as JSON")

    status = commands.add_parser(
        "status", help="the last run's result per configured peer, and the pins awaiting release"
    )
    status.add_argument("--config", type=Path, help=config_help)
    status.add_argument("--state-dir", type=Path, help=state_help)
    _flag(status, "--json", "print JSON")

    copies = _command(
        commands, "copies", "read every member's holdings report: who holds whose content in full"
    )
    copies.add_argument("--config", type=Path, help=config_help)
    copies.add_argument("--state-dir", type=Path, help=state_help)
    _flag(copies, "--json", "print JSON")

    verify = _command(
        commands,
        "verify",
        "check now that the members whose reports claim this member's content hold its blocks",
    )
    verify.add_argument("--config", type=Path, help=config_help)
    verify.add_argument("--state-dir", type=Path, help=state_help)
    _flag(verify, "--json", "print JSON")

    forget = _command(commands, "forget", "release now the pins of a peer removed from the config")
    forget.add_argument("peer", help="the peer's name, as in its pins and in status")
    forget.add_argument("--config", type=Path, help=config_help)
    forget.add_argument("--state-dir", type=Path, help=state_help)
    _flag(forget, "--dry-run", "say what would be released")
    _flag(forget, "--json", "print the result as JSON")

    inv = _command(commands, "invite", "publish the consortium directory a new member joins with")
    inv.add_argument("--config", type=Path, help=config_help)
    inv.add_argument("--api", help="Kubo RPC API (default: the config's api)")
    _flag(inv, "--json", "print the result as JSON")

    joining = _command(commands, "join", "join a consortium from the directory a member published")
    joining.add_argument("directory", metavar="NAME", help="the directory: /ipns/…, or /ipfs/CID")
    joining.add_argument(
        "--via", action="append", default=[], metavar="MULTIADDR",
        help="a member's swarm address with /p2p/<peer ID>, as invite prints it (repeatable)",
    )  # fmt: skip
    joining.add_argument(
        "--config", type=Path, help=f"the config.json to write or add to ({config_help[1:]}"
    )
    joining.add_argument("--name", help="this member's name (default: its peer ID)")
    joining.add_argument(
        "--addr", action="append", default=[], metavar="MULTIADDR",
        help="a swarm address (no /p2p) at which the others dial this node (repeatable)",
    )  # fmt: skip
    joining.add_argument(
        "--api", help=f"Kubo's admin RPC API (default: ${API_VARIABLE}, else the config's)"
    )
    _flag(joining, "--dry-run", "connect and read the directory; write nothing, peer with nobody")
    _flag(joining, "--json", "print the result as JSON")

    check = commands.add_parser(
        "check-config",
        help="validate a config.json as sync loads it, offline (exit 0 valid, 2 invalid)",
    )
    check.add_argument("file", type=Path)
    return parser


def _command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str, help_text: str
) -> argparse.ArgumentParser:
    """A command whose --help ends with the exit codes."""
    return commands.add_parser(
        name, help=help_text, epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )


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


def _config_path(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    return Path(os.environ.get("IPFS_CONSORTIUM_CONFIG", "config.json"))


def _state_dir(arg: Path | None, config: Config) -> Path:
    return arg if arg is not None else config.state_dir


def _sync(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.config))
    report = run_sync(
        config,
        _state_dir(args.state_dir, config),
        args.dry_run,
        args.allow_mass_release,
        verify=args.verify,
        list_all=args.json or args.verbose,
    )
    if args.json:
        _print(json.dumps(report.to_json(), indent=2))
    return report.exit_code


def _publish_config(args: argparse.Namespace) -> Config:
    """--config's settings, or the defaults; the API address of --api, else (without
    --config) of the environment."""
    config = Config(peers=()) if args.config is None else load_config(args.config)
    if args.api is not None:
        source, api = "--api", args.api
    elif args.config is None and API_VARIABLE in os.environ:
        source, api = f"environment variable {API_VARIABLE}", os.environ[API_VARIABLE]
    else:
        return config
    try:
        return replace(config, api=normalize_api(api))
    except ValueError as exc:
        raise ConfigError(f"{source} {api!r} {exc}") from None


def _publish(args: argparse.Namespace) -> int:
    config = _publish_config(args)
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
    config = load_config(_config_path(args.config))
    state_dir = _state_dir(args.state_dir, config)
    if args.json:
        _print(json.dumps(status_json(config, state_dir), indent=2))
    else:
        _print(render_status(config, state_dir))
    return EXIT_OK


def _copies(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.config))
    state_dir = _state_dir(args.state_dir, config)
    found = consortium_view(config, state_dir)
    _print(json.dumps(found.to_json(), indent=2) if args.json else found.render())
    return EXIT_FEW_COPIES if found.too_few else EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.config))
    checks = verify_now(config, _state_dir(args.state_dir, config))
    _print(json.dumps(asdict(checks), indent=2) if args.json else render_checks(checks))
    return EXIT_CHECK_FAILED if failed_members(checks) else EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.config))
    result = forget_peer(config, _state_dir(args.state_dir, config), args.peer, args.dry_run)
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
    config = load_config(_config_path(args.config))
    if args.api is not None:
        try:
            config = replace(config, api=normalize_api(args.api))
        except ValueError as exc:
            raise ConfigError(f"--api {args.api!r} {exc}") from None
    client = KuboClient.from_config(config)
    try:
        result = invite(client, config)
    finally:
        client.close()
    _print(json.dumps(asdict(result), indent=2) if args.json else result.render())
    return EXIT_OK


def _join(args: argparse.Namespace) -> int:
    result = join(
        args.directory, args.via, _config_path(args.config),
        {"name": args.name, "addrs": args.addr}, args.api or os.environ.get(API_VARIABLE),
        args.dry_run,
    )  # fmt: skip
    _print(json.dumps(result.to_json(), indent=2) if args.json else result.render())
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    # No client, no state directory: Ansible runs this as root on a temporary copy.
    peers = len(load_config(args.file).peers)
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
