"""``join``: a new member's node and config.json joined to a consortium in one step.

The newcomer's node is in the consortium's private network but knows nobody: it connects
to the members named by --via, reads the directory a member published (directory.py),
peers with every member whose addresses it lists (now, and in Kubo's ``Peering.Peers``
over a restart), and writes the members into config.json as peers. What it prints is
what the existing members add to take the newcomer in: one inventory line, or one peer
object of config.json. Its calls need the node's admin API, never the sync's token.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import (
    Config,
    Peer,
    node_of,
    normalize_ipns_name,
    normalize_swarm_addr,
    parse_config,
)
from .directory import Directory, own_entry, read_directory
from .errors import (
    ConfigError,
    DirectoryUnreachable,
    JoinConflict,
    KuboError,
    KuboUnreachable,
)
from .ipfs.kubo import KuboClient
from .jsondoc import decode_json
from .state.store import replace_atomically

# What ``join`` writes into config.json from its command line where the file says nothing:
# config key -> option.
_OWN_FLAGS = {"name": "--name", "addrs": "--addr"}
# YAML reads these plain words as booleans or null, not as strings.
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}
_YAML_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9._/-]*")


@dataclass(frozen=True)
class Joined:
    consortium: str
    added: list[str]
    config: dict[str, Any]
    config_path: Path
    # Members this node now peers with; None on a dry run, which adds no peering.
    peering: int | None
    inventory_line: str
    peer_entry: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "consortium": self.consortium, "added": self.added, "config": self.config,
            "inventory_line": self.inventory_line, "peer_entry": self.peer_entry,
        }  # fmt: skip

    def render(self) -> str:
        added = ", ".join(self.added) if self.added else "nobody (every member was a peer)"
        path = self.config_path
        if self.peering is None:
            lines = [
                "Dry run: connected to --via to read the directory; wrote nothing, added no "
                "peering, made no key.",
                f"Would add {added} to {path}, which would read:",
                json.dumps(self.config, indent=2),
            ]
        else:
            lines = [
                f'Joined consortium "{self.consortium}": added {added} to {path}; '
                f"peering with {self.peering} nodes",
                f"Next: ipfs-consortium sync --config {path}",
            ]
        return "\n".join([
            *lines,
            "For the existing members, one line in their inventory's consortium_peers:",
            f"  {self.inventory_line}",
            "or in their config.json's peers:",
            f"  {json.dumps(self.peer_entry)}",
        ])  # fmt: skip


def join(
    name: str,
    via: list[str],
    path: Path,
    given: dict[str, Any],
    api: str | None,
    dry_run: bool,
    api_auth: Path | None = None,
) -> Joined:
    """Join the consortium whose directory is ``name``, reached through ``via``; write
    ``path`` (unless ``dry_run``). ``given``: config keys from the command line (name,
    addrs), written where the file does not say them; ``api``: the Kubo to use, written
    into a new file; ``api_auth``: the file of its admin secret, never written (the
    sync's secret is another), else the config's."""
    read = _read_config(path)
    existing = None if read is None else read[0]
    # Everything the command line says is checked before the first call to Kubo.
    own = {key: value for key, value in given.items() if value} | ({"api": api} if api else {})
    secret = {} if api_auth is None else {"api_auth_file": str(api_auth)}
    base = parse_config(
        {"peers": []} | (existing or {}) | own | secret, f"{path} as join would use it"
    )
    addrs = [_via(addr) for addr in via]
    client = KuboClient.from_config(base, admin=True)
    try:
        for addr in addrs:
            _connect(client, addr)
        directory = read_directory(client, name, base.resolve_timeout)
        node = client.node_id()
        members = [
            (peer, entry)
            for peer, entry in zip(directory.members, directory.entries, strict=True)
            if peer.peer_id != node
        ]
        data, added = _merged(path, read, own, directory, members)
        config = parse_config(data, str(path))
        if config.name in {peer.name for peer, _ in members}:
            # The members would refuse the line that takes this one in: a name twice.
            raise JoinConflict(
                f"this member's name {config.name!r} ({path}, --name) is another member's in "
                "the directory; nothing written: choose another with --name"
            )
        peering = None
        if not dry_run:
            peering = _peer_with(client, [peer for peer, _ in members])
            if config.report_key is not None and client.key_name(config.report_key) is None:
                client.key_gen(config.report_key)
            _write(path, data)
        entry = own_entry(client, config)
    finally:
        client.close()
    return Joined(directory.consortium, added, data, path, peering, inventory_line(entry), entry)


def _read_config(path: Path) -> tuple[dict[str, Any], Config] | None:
    """The config.json at ``path`` as it is written, and as it reads; None when there is
    none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    data = decode_json(raw, str(path), ConfigError)
    config = parse_config(data, str(path))
    assert isinstance(data, dict)  # parse_config refuses anything else
    return data, config


def _via(addr: str) -> str:
    """A --via address: a swarm address ending in /p2p/<peer ID>."""
    head, _, peer = addr.partition("/p2p/")
    try:
        if not peer:
            raise ValueError("has no /p2p/<peer ID> part")
        normalize_swarm_addr(head)
        if node_of(normalize_ipns_name(peer)) is None:
            raise ValueError("names no peer ID")
    except ValueError as exc:
        raise ConfigError(
            f"--via {addr!r}: {exc}; give a member's swarm address with its peer ID, as "
            "`invite` prints it: /ip4/203.0.113.10/tcp/4001/p2p/12D3KooW…"
        ) from None
    return addr


def _connect(client: KuboClient, addr: str) -> None:
    try:
        client.swarm_connect(addr)
    except KuboUnreachable:
        raise
    except KuboError as exc:
        # Kubo lists each failed dial on a line of its own: the error is one line.
        reason = " ".join(str(exc).split())
        raise DirectoryUnreachable(
            f"--via {addr} did not answer ({reason}); check the address and peer ID, that the "
            "member's swarm port is open to you, and that your node has the consortium's "
            "swarm key"
        ) from None


def _identity(peer: Peer) -> str:
    """What tells two spellings of a member apart: its node's peer ID, else the name."""
    return node_of(peer.ipns) or peer.ipns


def _merged(
    path: Path,
    read: tuple[dict[str, Any], Config] | None,
    own: dict[str, Any],
    directory: Directory,
    members: list[tuple[Peer, dict[str, Any]]],
) -> tuple[dict[str, Any], list[str]]:
    """config.json with the members as peers, and the names of those added; ``read`` is
    the file as written and as it reads (None: no file). A new file takes the directory's
    settings; an existing one gains the members it lacks and the keys of ``own`` it does
    not say, and JoinConflict where it says otherwise."""
    if read is None:
        quotas = {"max_pins": directory.max_pins, "max_bytes": directory.max_bytes}
        data = {"consortium": directory.consortium} | own | quotas
        data["peers"] = [entry for _, entry in members]
        return data, [peer.name for peer, _ in members]
    existing, config = read
    if config.consortium != directory.consortium:
        raise JoinConflict(
            f"{path} is a config of consortium {config.consortium!r}, the directory one of "
            f"{directory.consortium!r}; nothing written: join with another --config (one a "
            "consortium)"
        )
    mine = parse_config(existing | own, str(path))
    for key, flag in _OWN_FLAGS.items():
        if key in own and key in existing and getattr(mine, key) != getattr(config, key):
            raise JoinConflict(
                f"{path} says {key} {json.dumps(existing[key])}, not {json.dumps(own[key])}; "
                f"nothing written: leave out {flag} or change {path}"
            )
    known = {_identity(peer): peer for peer in config.peers}
    names = {label: peer for peer in config.peers for label in (peer.name, peer.ipns)}
    new = [(peer, entry) for peer, entry in members if _identity(peer) not in known]
    for peer, _ in new:
        other = names.get(peer.name)
        if other is not None:
            raise JoinConflict(
                f"{path} names {other.ipns} {peer.name!r}, the directory names "
                f"{peer.ipns} so; nothing written: rename the peer in {path}, then join again"
            )
    # The API of this call is not written: the file's own (or its default) stays the sync's.
    data = existing | {key: own[key] for key in _OWN_FLAGS if key in own and key not in existing}
    data["peers"] = list(existing["peers"]) + [entry for _, entry in new]
    return data, [peer.name for peer, _ in new]


def _peer_with(client: KuboClient, members: list[Peer]) -> int:
    """Peer with every member whose addresses are known, now and in Kubo's config (its
    entries kept); how many."""
    wanted = {peer.peer_id: list(peer.addrs) for peer in members if peer.peer_id and peer.addrs}
    if not wanted:
        return 0
    client.peering_add([f"{addr}/p2p/{node}" for node, addrs in wanted.items() for addr in addrs])
    current = client.config_get("Peering.Peers") or []
    if not isinstance(current, list):
        raise KuboError(f"Kubo's config Peering.Peers is not a list: {current!r:.80}")
    known = {entry.get("ID") for entry in current if isinstance(entry, dict)}
    more = [{"ID": node, "Addrs": addrs} for node, addrs in wanted.items() if node not in known]
    if more:
        client.config_set("Peering.Peers", current + more)
    return len(wanted)


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically, keeping its mode (a new file: readable by all, as it
    holds no secret, only the path of one)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    try:
        with replace_atomically(path, mode) as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror})") from None


def inventory_line(entry: dict[str, Any]) -> str:
    """``entry`` as one YAML list item of an inventory's consortium_peers."""
    return "- {" + ", ".join(f"{key}: {_yaml(value)}" for key, value in entry.items()) + "}"


def _yaml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    text = str(value)
    if _YAML_PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)
