"""config.json: load, validate, and turn into typed settings.

The seed's format, ``{"peers": ["<IPNS name>", ...]}``, is valid as it is. Every other key
is optional; an unknown key or a value of the wrong type is an error naming the key, so
that a typo never silently falls back to a default.
"""

import base64
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .errors import CIDError, ConfigError
from .ipfs.cid import (
    LIBP2P_KEY,
    b58decode,
    cid_key,
    codec_name,
    is_multihash,
    libp2p_key_text,
    parse_cid_codec,
    peer_id_text,
)
from .jsondoc import decode_json

DEFAULT_API = "http://127.0.0.1:5001"
CONFIG_VARIABLE = "IPFS_CONSORTIUM_CONFIG"
API_VARIABLE = "IPFS_CONSORTIUM_API"
# Where the consortium role writes config.json: a command finds it there on a member.
SYSTEM_CONFIG = Path("/etc/ipfs-consortium/config.json")
DEFAULT_STATE_DIR = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "ipfs-consortium"
)
_MiB = 1024 * 1024
_GiB = 1024 * _MiB

T = TypeVar("T")

# A DNSLink name (``example.org``) is a valid IPNS name too; Kubo resolves it.
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
_PEER_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_LABEL_RULE = "may hold only letters, digits, '.', '_' and '-' (1-64)"
_CONSORTIUM = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_MULTIADDR_API = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/([^/]+)/tcp/(\d+)(/http)?$")
# A swarm address other members dial: TCP, or QUIC (the only libp2p transport on UDP).
_SWARM_ADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/([^/]+)/(tcp/(\d+)|udp/(\d+)/quic-v1)$")
# Visible ASCII only: a space or a control character cannot travel in an HTTP header.
_TOKEN = re.compile(r"[!-~]+")
_USER_PASSWORD = re.compile(r"[!-9;-~]+:[!-~]+")


@dataclass(frozen=True)
class Peer:
    """A member whose manifests we mirror."""

    name: str
    ipns: str
    max_pins: int
    max_bytes: int | None
    # The peer ID of the member's Kubo node, which tells whether this node is connected
    # to it (sync/reach.py); None when not known.
    peer_id: str | None
    # The IPNS name of the member's holdings report (report/holdings.py); None: not known.
    report: str | None = None
    # Swarm addresses (without /p2p) at which the member's node is dialled: the directory
    # carries them to a newcomer, which peers with them (directory.py, join.py).
    addrs: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"/ipns/{self.ipns}"


@dataclass(frozen=True)
class ApiAuth:
    """The secret of ``api_auth_file``, as the Authorization header Kubo expects."""

    file: Path
    header: str = field(repr=False)


@dataclass(frozen=True)
class ClusterPinning:
    """``pinning``: the IPFS Cluster that holds this member's pins (ipfs/cluster.py)."""

    api: str
    # Basic authentication from ``auth_file`` (one line, ``user:password``).
    auth: ApiAuth
    # On how many of the cluster's nodes each pin must be (-1 and -1: on every node).
    replication_min: int
    replication_max: int


def normalize_ipns_name(value: str) -> str:
    """Return the bare IPNS name (no ``/ipns/``), or raise ValueError saying why not."""
    name = value.removeprefix("/ipns/")
    if not name:
        raise ValueError("is empty")
    if name.startswith(("Qm", "1")):
        # Base58 peer IDs: Qm… (sha2-256) and 12D3Koo… (identity multihash).
        try:
            if is_multihash(b58decode(name)):
                return name
        except ValueError:
            pass
    else:
        try:
            _, codec = parse_cid_codec(name)
        except CIDError:
            pass
        else:
            # Kubo takes any other CID for a DNSLink name and asks DNS about it.
            if codec != LIBP2P_KEY:
                raise ValueError(
                    f"is a CID of {codec_name(codec)} content, not an IPNS key (libp2p-key)"
                )
            return name
    if _DNS_NAME.match(name):
        return name
    raise ValueError("is not a peer ID, an IPNS key or a DNSLink domain")


def normalize_swarm_addr(value: str) -> str:
    """Accept a multiaddr at which libp2p dials a node, without /p2p
    (``/ip4/203.0.113.10/tcp/4001``, ``/dns4/a.example.org/udp/4001/quic-v1``), or raise
    ValueError saying why not."""
    match = _SWARM_ADDR.match(value)
    if not match:
        raise ValueError(
            "is not a swarm address like /ip4/203.0.113.10/tcp/4001 or "
            "/dns4/a.example.org/udp/4001/quic-v1 (no /p2p/ part)"
        )
    proto, host, port = match.group(1), match.group(2), int(match.group(4) or match.group(5))
    try:
        if proto in ("ip4", "ip6"):
            version = ipaddress.ip_address(host).version
            if f"ip{version}" != proto:
                raise ValueError
        elif not _DNS_NAME.match(host):
            raise ValueError
    except ValueError:
        raise ValueError(f"names {host!r}, which is not an {proto} host") from None
    if not 0 < port < 65536:
        raise ValueError(f"names port {port}, outside 1-65535")
    return value


def node_of(ipns: str) -> str | None:
    """The peer ID (base58btc, as ``swarm/peers`` writes it) of a normalized IPNS name
    that is a key: the node's own when it publishes under its ``self`` key, as members do.
    None for a DNSLink name."""
    if ipns.startswith(("Qm", "1")):
        return ipns
    try:
        return peer_id_text(cid_key(ipns))
    except CIDError:
        return None


def _key_field(reader: "_Reader", key: str, what: str) -> str | None:
    """A peer object's ``key`` naming a node's key (a peer ID or libp2p-key), as the
    peer ID; null for not known."""
    if reader.data.get(key) is None:
        return None
    value = reader.string(key)
    try:
        name = normalize_ipns_name(value)
    except ValueError as exc:
        raise reader.fail(key, f"{value!r} {exc}") from None
    node = node_of(name)
    if node is None:
        raise reader.fail(key, f"{value!r} is a DNSLink domain, not {what}")
    return node


def is_peer_label(text: str) -> bool:
    """Whether ``text`` can name a peer: a label, or the IPNS name a peer is named after."""
    if _PEER_LABEL.match(text):
        return True
    try:
        return normalize_ipns_name(text) == text
    except ValueError:
        return False


def normalize_api(value: str) -> str:
    """Accept ``http(s)://host:port``, a multiaddr like ``/ip4/127.0.0.1/tcp/5001``, or a
    unix socket's ``/unix/<absolute path>``."""
    if value.startswith("/unix/"):
        if "\0" in value or len(value) == len("/unix/"):
            raise ValueError("is not a /unix/<absolute path> multiaddr")
        return value
    match = _MULTIADDR_API.match(value)
    if match:
        proto, host, port = match.group(1), match.group(2), match.group(3)
        if proto == "ip6":
            host = f"[{host}]"
        return f"http://{host}:{port}"
    if re.match(r"^https?://[^/\s]+/?$", value):
        return value.rstrip("/")
    raise ValueError(
        "is not an http(s)://host:port URL, a /ip4/…/tcp/… multiaddr or a /unix/<path> one"
    )


def _authorization_header(secret: str) -> str:
    """The header Kubo matches an AuthSecret against (its config.ConvertAuthSecret)."""
    scheme, _, value = secret.partition(":")
    if scheme == "bearer" and _TOKEN.fullmatch(value):
        return f"Bearer {value}"
    if scheme == "basic" and _USER_PASSWORD.fullmatch(value):
        return f"Basic {base64.b64encode(value.encode()).decode()}"
    raise ValueError("holds neither 'bearer:<token>' nor 'basic:<user>:<password>'")


def _read_file(path: Path, what: str) -> bytes:
    """The bytes in ``path``, or ValueError saying why not."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"no such {what}") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror})") from None


def _read_api_auth(path: Path) -> ApiAuth:
    """Read the secret in ``path``; errors name the file, never what it holds."""
    # Bytes that are not ASCII become U+FFFD, which no spelling accepts; whitespace
    # around the secret cannot be part of a header, so a final newline is no error.
    try:
        secret = _read_file(path, "file").decode("ascii", errors="replace").strip()
        return ApiAuth(path, _authorization_header(secret))
    except ValueError as exc:
        raise ValueError(f"names {path}: {exc}") from None


def _read_basic_auth(path: Path) -> ApiAuth:
    """``user:password`` in ``path`` as a Basic Authorization header; errors name the file,
    never what it holds."""
    try:
        secret = _read_file(path, "file").decode("ascii", errors="replace").strip()
    except ValueError as exc:
        raise ValueError(f"names {path}: {exc}") from None
    if not _USER_PASSWORD.fullmatch(secret):
        raise ValueError(f"names {path}, which does not hold one line '<user>:<password>'")
    return ApiAuth(path, f"Basic {base64.b64encode(secret.encode()).decode()}")


class _Reader:
    """Reads typed values out of one JSON object, naming the key in every error."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: key {key!r} {problem}")

    def check_keys(self, allowed: Collection[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{self.where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
            )

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {json.dumps(value)}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, not {value}")
        return value

    def optional_integer(self, key: str, default: int | None) -> int | None:
        if key not in self.data:
            return default
        if self.data[key] is None:
            return None
        return self.integer(key, 1, minimum=1)

    def number(self, key: str, default: float, low: float, high: float, what: str) -> float:
        value = self.data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.fail(key, f"must be {what}, not {json.dumps(value)}")
        return float(value)

    def seconds(self, key: str, default: float) -> float:
        value = self.number(key, default, 0, math.inf, "a positive number of seconds")
        if value == 0:
            raise self.fail(key, "must be a positive number of seconds, not 0")
        return value

    def string(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {json.dumps(value)}")
        return value

    def path(self, key: str, default: Path | None = None) -> Path:
        value = self.string(key, None if default is None else str(default))
        # The system calls take no NUL in a path: it would surface as a ValueError later.
        if "\0" in value:
            raise self.fail(key, "holds a NUL character")
        return Path(value)

    def optional_path(self, key: str, default: Path | None = None) -> Path | None:
        return None if self.data.get(key, default) is None else self.path(key, default)


# How a setting is read from config.json: (reader, key, default) -> value.
_Read = Callable[[_Reader, str, T], T]


def _setting(default: T, read: _Read[T], key: str | None = None, full_check: bool = False) -> T:
    """A Config field that config.json sets under ``key`` (default: the field's name);
    ``full_check``: a change to it makes the next run list every pin
    (policy/full_check.py)."""
    return field(default=default, metadata={"read": read, "key": key, "full_check": full_check})


def _whole(minimum: int) -> _Read[int]:
    return lambda reader, key, default: reader.integer(key, default, minimum)


def _whole_span(low: int, high: int, what: str) -> _Read[int]:
    def read(reader: _Reader, key: str, default: int) -> int:
        value = reader.integer(key, default, low)
        if value > high:
            raise reader.fail(key, f"must be {what}, not {value}")
        return value

    return read


def _optional(read: _Read[T]) -> _Read[T | None]:
    """``read``, or None for null."""

    def optional(reader: _Reader, key: str, default: T | None) -> T | None:
        value = reader.data.get(key, default)
        return None if value is None else read(reader, key, value)

    return optional


def _span(low: float, high: float, what: str) -> _Read[float]:
    return lambda reader, key, default: reader.number(key, default, low, high, what)


def _api(reader: _Reader, key: str, default: str) -> str:
    value = reader.string(key, default)
    try:
        return normalize_api(value)
    except ValueError as exc:
        raise reader.fail(key, f"{value!r} {exc}") from None


def _gateway(reader: _Reader, key: str, default: str) -> str:
    """The gateway as the multiaddr ``p2p listen`` hands streams to. Loopback only: every
    member that opens the protocol reaches it."""
    value = reader.string(key, default)
    try:
        url = urlsplit(normalize_api(value))
        host = "127.0.0.1" if url.hostname == "localhost" else url.hostname or ""
        address, port = ipaddress.ip_address(host), url.port
    except ValueError as exc:
        raise reader.fail(key, f"{value!r} {exc}") from None
    if not address.is_loopback or port is None:
        raise reader.fail(key, f"{value!r} must be a loopback address with a port")
    return f"/ip{address.version}/{address}/tcp/{port}"


def _api_auth(reader: _Reader, key: str, default: ApiAuth | None) -> ApiAuth | None:
    path = reader.optional_path(key)
    try:
        return default if path is None else _read_api_auth(path)
    except ValueError as exc:
        raise reader.fail(key, str(exc)) from None


_PINNING_KEYS = {"cluster_api", "auth_file", "replication_min", "replication_max"}


def _pinning(reader: _Reader, key: str, default: ClusterPinning | None) -> ClusterPinning | None:
    value = reader.data.get(key)
    if value is None:
        return default
    if not isinstance(value, dict):
        raise reader.fail(
            key, f"must be an object with {sorted(_PINNING_KEYS)}, not {json.dumps(value)}"
        )
    inner = _Reader(value, f"{reader.where}: pinning")
    inner.check_keys(_PINNING_KEYS)
    missing = sorted(_PINNING_KEYS - set(value))
    if missing:
        raise ConfigError(f"{inner.where}: key {missing[0]!r} is required")
    api = inner.string("cluster_api")
    url = urlsplit(api)
    try:
        loopback = ipaddress.ip_address(url.hostname or "").is_loopback
    except ValueError:
        loopback = url.hostname == "localhost"
    if url.scheme not in ("http", "https") or not loopback or url.path.strip("/"):
        raise inner.fail("cluster_api", f"{api!r} must be a loopback http(s)://host:port URL")
    try:
        auth = _read_basic_auth(inner.path("auth_file"))
    except ValueError as exc:
        raise inner.fail("auth_file", str(exc)) from None
    low = inner.integer("replication_min", 1, minimum=-1)
    high = inner.integer("replication_max", 1, minimum=-1)
    if 0 in (low, high) or (low == -1) != (high == -1) or low > high:
        raise ConfigError(
            f"{inner.where}: replication_min ({low}) and replication_max ({high}) must be "
            "whole numbers with 1 <= min <= max, or both -1 (every node)"
        )
    return ClusterPinning(api.rstrip("/"), auth, low, high)


def _key_name(reader: _Reader, key: str, default: str) -> str:
    # Kubo's own rule for a key's name: not empty, no '/', no surrounding space.
    text = reader.string(key, default)
    if not text or "/" in text or text != text.strip():
        raise reader.fail(key, f"{text!r} is not a Kubo key name")
    return text


def _swarm_addrs(reader: _Reader, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = reader.data.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise reader.fail(key, f"must be a list of swarm addresses, not {json.dumps(value)}")
    addrs = []
    for item in value:
        try:
            addrs.append(normalize_swarm_addr(item))
        except ValueError as exc:
            raise reader.fail(key, f"{item!r} {exc}") from None
    return tuple(addrs)


def _member_name(reader: _Reader, key: str, default: str | None) -> str | None:
    value = reader.data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not _PEER_LABEL.match(value):
        raise reader.fail(key, _LABEL_RULE)
    return value


def _consortium(reader: _Reader, key: str, default: str) -> str:
    value = reader.string(key, default)
    if not _CONSORTIUM.match(value):
        raise reader.fail(key, "may hold only letters, digits, '.', '_' and '-' (1-32)")
    return value


_SECONDS_OR_ZERO = _span(0, math.inf, "a number of seconds (0 or more)")
# A member's disk must hold every peer's quota, so none is unlimited unless config.json
# says so (null): the size of Kubo's default StorageMax (10GB).
_MAX_BYTES: int | None = 10 * _GiB
_REPORT_KEY: str | None = "ipfs-consortium-report"
_CHECK_INTERVAL: float | None = 3 * 3600.0
_DAY = 86400
_RECORD_PUT_INTERVAL: int | None = 12 * 3600


@dataclass(frozen=True)
class Config:
    """Every setting of config.json; each field's default is the only one there is."""

    peers: tuple[Peer, ...]
    api: str = _setting(DEFAULT_API, _api, full_check=True)
    state_dir: Path = _setting(DEFAULT_STATE_DIR, _Reader.path)
    concurrency: int = _setting(32, _whole(1))
    # The quota of each peer that sets none of its own.
    max_pins: int = _setting(10_000, _whole(0))
    max_bytes: int | None = _setting(_MAX_BYTES, _Reader.optional_integer)
    max_manifest_bytes: int = _setting(8 * _MiB, _whole(1), full_check=True)
    max_manifest_files: int = _setting(1_000, _whole(1), full_check=True)
    connect_timeout: float = _setting(5.0, _Reader.seconds)
    request_timeout: float = _setting(60.0, _Reader.seconds)
    resolve_timeout: float = _setting(60.0, _Reader.seconds)
    stall_timeout: float = _setting(120.0, _Reader.seconds)
    metrics_file: Path | None = _setting(None, _Reader.optional_path)
    api_auth: ApiAuth | None = _setting(None, _api_auth, key="api_auth_file")
    consortium: str = _setting("default", _consortium, full_check=True)
    release_after: float = _setting(3 * 86400.0, _SECONDS_OR_ZERO, full_check=True)
    max_release_fraction: float = _setting(
        0.5, _span(0, 1, "a fraction from 0 to 1"), full_check=True
    )
    # How long a run may trust its records instead of listing every pin (policy/full_check.py).
    verify_interval: float = _setting(3600.0, _SECONDS_OR_ZERO)
    # The holdings report (report/holdings.py): the Kubo key it is published under (None:
    # not published), how often at least, and when another member's counts as stale.
    report_key: str | None = _setting(_REPORT_KEY, _optional(_key_name))
    report_interval: float = _setting(3600.0, _Reader.seconds)
    report_stale_after: float = _setting(3 * 3600.0, _Reader.seconds)
    # The key this member's manifests are published under, which names its own content.
    publish_key: str = _setting("self", _key_name)
    # Full copies of this member's content the other members must hold (0: no minimum).
    min_copies: int = _setting(0, _whole(0))
    # The possession checks (sync/possession.py): this node's gateway, which the others'
    # checks reach; how often this member checks them (None: never), and how many blocks.
    gateway: str = _setting("/ip4/127.0.0.1/tcp/8080", _gateway)
    check_interval: float | None = _setting(_CHECK_INTERVAL, _optional(_Reader.seconds))
    check_blocks: int = _setting(16, _whole(1))
    # The IPNS records (sync/keepalive.py): how long each this member signs is valid, and
    # how often the kept record of each peer is put back on the DHT (None: never), well
    # inside the 48 hours DHT nodes keep a record nobody puts again.
    record_lifetime: int = _setting(
        30 * _DAY, _whole_span(_DAY, 365 * _DAY, "seconds from 86400 (a day) to 31536000 (a year)")
    )
    record_put_interval: int | None = _setting(
        _RECORD_PUT_INTERVAL,
        _optional(_whole_span(0, _DAY, "seconds from 0 (every sync) to 86400 (a day), or null")),
    )
    # Where pins go: None for the Kubo node at ``api``, else an IPFS Cluster of the member.
    pinning: ClusterPinning | None = _setting(None, _pinning, full_check=True)
    # What the consortium directory (directory.py) says of this member: its name (None:
    # its peer ID) and the swarm addresses the others dial; and the key it is published under.
    name: str | None = _setting(None, _member_name)
    addrs: tuple[str, ...] = _setting((), _swarm_addrs)
    directory_key: str = _setting("ipfs-consortium-directory", _key_name)
    source: str = field(default="<defaults>", compare=False)


# config.json's key of each setting, by field name.
_SETTINGS = {f.name: f.metadata["key"] or f.name for f in fields(Config) if "read" in f.metadata}
_PEER_KEYS = {"name", "ipns", "max_pins", "max_bytes", "peer_id", "report", "addrs"}


def parse_peers(
    items: list[object], where: str, defaults: Mapping[str, Any], key: str = "peers"
) -> tuple[Peer, ...]:
    """The peers listed in ``items`` (``where``'s list ``key``), each validated, none
    named twice; ``defaults`` holds the quotas of a peer that sets none."""
    peers = tuple(_parse_peer(p, f"{where}: {key}[{i}]", defaults) for i, p in enumerate(items))
    seen: dict[str, int] = {}
    for index, peer in enumerate(peers):
        for label in {peer.name, peer.ipns}:
            if label in seen:
                raise ConfigError(
                    f"{where}: {key}[{index}] repeats {label!r} from {key}[{seen[label]}]"
                )
            seen[label] = index
    return peers


def _parse_peer(item: object, place: str, defaults: Mapping[str, Any]) -> Peer:
    if isinstance(item, str):
        try:
            ipns = normalize_ipns_name(item)
        except ValueError as exc:
            raise ConfigError(f"{place} {item!r} {exc}") from None
        return Peer(ipns, ipns, defaults["max_pins"], defaults["max_bytes"], node_of(ipns))
    if not isinstance(item, dict):
        raise ConfigError(f"{place} must be an IPNS name or an object, not {json.dumps(item)}")
    reader = _Reader(item, place)
    reader.check_keys(_PEER_KEYS)
    if "ipns" not in item:
        raise ConfigError(f"{place}: key 'ipns' is required")
    try:
        ipns = normalize_ipns_name(reader.string("ipns"))
    except ValueError as exc:
        raise reader.fail("ipns", str(exc)) from None
    name = reader.string("name", ipns)
    if name != ipns and not _PEER_LABEL.match(name):
        raise reader.fail("name", _LABEL_RULE)
    return Peer(
        name=name,
        ipns=ipns,
        max_pins=reader.integer("max_pins", defaults["max_pins"], minimum=0),
        max_bytes=reader.optional_integer("max_bytes", defaults["max_bytes"]),
        peer_id=_key_field(reader, "peer_id", "a peer ID") if "peer_id" in item else node_of(ipns),
        report=_key_field(reader, "report", "an IPNS key"),
        addrs=_swarm_addrs(reader, "addrs", ()),
    )


def _no_byte_quota(data: Mapping[str, Any], source: str) -> None:
    """A cluster fetches on its own nodes, out of the sync's sight, and asynchronously:
    no byte quota can stop a pin midway there, so none may be set."""
    places = [("", data)] + [
        (f"peers[{i}]: ", p) for i, p in enumerate(data.get("peers") or []) if isinstance(p, dict)
    ]
    for place, item in places:
        if item.get("max_bytes") is not None:
            raise ConfigError(
                f"{source}: {place}key 'max_bytes' cannot be enforced with "
                "pinning.cluster_api (the cluster fetches on its nodes, where the sync cannot "
                "stop a pin midway); set it to null or remove it (max_pins still applies)"
            )


def parse_config(data: object, source: str) -> Config:
    """Validate decoded JSON and build a Config; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object with a 'peers' key")
    reader = _Reader(data, source)
    reader.check_keys({"peers", *_SETTINGS.values()})
    peers_value = data.get("peers")
    if not isinstance(peers_value, list):
        raise reader.fail("peers", "is required and must be a list of IPNS names or objects")
    settings = {
        f.name: f.metadata["read"](reader, _SETTINGS[f.name], f.default)
        for f in fields(Config)
        if f.name in _SETTINGS
    }
    if settings["pinning"] is not None:
        _no_byte_quota(data, source)
        settings["max_bytes"] = None
    peers = parse_peers(peers_value, source, settings)
    return Config(peers=peers, source=source, **settings)


def load_config(path: Path, chosen: str | None = None) -> Config:
    """Read and validate config.json at ``path``; ``chosen`` (how the path was chosen, and
    the fix) completes the error when the file cannot be read."""
    try:
        raw = _read_file(path, "configuration file")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}" + (f" ({chosen})" if chosen else "")) from None
    data = decode_json(raw, str(path), ConfigError)
    return parse_config(data, str(path))


def find_config(option: Path | None, environ: Mapping[str, str]) -> tuple[Path | None, str]:
    """The config.json a command reads: --config's, else $IPFS_CONSORTIUM_CONFIG's, else
    the first of ./config.json and SYSTEM_CONFIG that exists (None: neither does); and how
    it was chosen, with the fix, for an error about it. An empty variable counts as unset."""
    if option is not None:
        return option, "the path --config gave; correct it"
    if environ.get(CONFIG_VARIABLE):
        return (
            Path(environ[CONFIG_VARIABLE]),
            f"the path ${CONFIG_VARIABLE} gave; correct it, or unset it to use the default",
        )
    places = (Path("config.json").absolute(), SYSTEM_CONFIG)
    how = (
        f"looked at {places[0]}, then {places[1]}, as neither --config nor "
        f"${CONFIG_VARIABLE} gave a path"
    )
    return next((place for place in places if place.exists()), None), how


def chosen_api(option: str | None, environ: Mapping[str, str]) -> str | None:
    """The API a command is told to call instead of the config's: --api's, else
    $IPFS_CONSORTIUM_API's (empty counts as unset), normalized; None when neither says.
    One rule for every command that talks to Kubo."""
    if option is not None:
        source, api = "--api", option
    elif environ.get(API_VARIABLE):
        source, api = f"environment variable {API_VARIABLE}", environ[API_VARIABLE]
    else:
        return None
    try:
        return normalize_api(api)
    except ValueError as exc:
        raise ConfigError(f"{source} {api!r} {exc}") from None


def command_config(
    option: Path | None,
    api: str | None = None,
    environ: Mapping[str, str] = os.environ,
    required: bool = True,
) -> Config:
    """The settings a command runs with: the config.json find_config chooses (without
    ``required``, the defaults when the search finds none), its ``api`` replaced by
    chosen_api's (``api`` is --api). Its other settings, api_auth_file too, stay."""
    path, how = find_config(option, environ)
    if path is not None:
        config = load_config(path, how)
    elif required:
        raise ConfigError(f"no config.json: {how}; give --config FILE")
    else:
        config = Config(peers=())
    chosen = chosen_api(api, environ)
    return config if chosen is None else replace(config, api=chosen)


def config_warnings(config: Config) -> list[str]:
    """What a valid config says that is likely a mistake: check-config and sync log it."""
    warnings = []
    if not config.peers:
        warnings.append(
            f"{config.source}: 'peers' is empty, so this member mirrors nobody's content: "
            "add the other members"
        )
    for index, peer in enumerate(config.peers):
        # Valid as the name of an old RSA node's key, so not refused: RSA members exist.
        if peer.ipns.startswith("Qm"):
            warnings.append(
                f"{config.source}: peers[{index}] {peer.ipns!r} is in CIDv0 form, which "
                "content shares with RSA peer IDs: if it is a member's key, write it as "
                f"{libp2p_key_text(peer.ipns)!r} (the same key as a CIDv1 libp2p-key); "
                "a content CID is no IPNS name"
            )
    return warnings
