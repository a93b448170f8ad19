"""config.json: load, validate, and turn into typed settings.

The seed's format, ``{"peers": ["<IPNS name>", ...]}``, is valid as it is. Every other key
is optional; an unknown key or a value of the wrong type is an error naming the key, so
that a typo never silently falls back to a default.
"""

import base64
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cid import LIBP2P_KEY, b58decode, codec_name, is_multihash, parse_cid_codec
from .errors import CIDError, ConfigError
from .jsondoc import decode_json

DEFAULT_API = "http://127.0.0.1:5001"
DEFAULT_STATE_DIR = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "ipfs-consortium"
)
_MiB = 1024 * 1024

# A DNSLink name (``example.org``) is a valid IPNS name too; Kubo resolves it.
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
_PEER_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONSORTIUM = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_MULTIADDR_API = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/([^/]+)/tcp/(\d+)(/http)?$")
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

    @property
    def path(self) -> str:
        return f"/ipns/{self.ipns}"


@dataclass(frozen=True)
class ApiAuth:
    """The secret of ``api_auth_file``, as the Authorization header Kubo expects."""

    file: Path
    header: str = field(repr=False)


@dataclass(frozen=True)
class Config:
    peers: tuple[Peer, ...]
    api: str = DEFAULT_API
    state_dir: Path = DEFAULT_STATE_DIR
    concurrency: int = 32
    max_pins: int = 10_000
    max_bytes: int | None = None
    max_manifest_bytes: int = 8 * _MiB
    max_manifest_files: int = 1_000
    connect_timeout: float = 5.0
    request_timeout: float = 60.0
    resolve_timeout: float = 60.0
    stall_timeout: float = 120.0
    metrics_file: Path | None = None
    api_auth: ApiAuth | None = None
    consortium: str = "default"
    release_after: float = 3 * 86400.0
    max_release_fraction: float = 0.5
    # How long a run may trust its records instead of listing every pin (verify.py).
    verify_interval: float = 3600.0
    source: str = field(default="<defaults>", compare=False)


_DEFAULT = Config(peers=())


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


def is_peer_label(text: str) -> bool:
    """Whether ``text`` can name a peer: a label, or the IPNS name a peer is named after."""
    if _PEER_LABEL.match(text):
        return True
    try:
        return normalize_ipns_name(text) == text
    except ValueError:
        return False


def normalize_api(value: str) -> str:
    """Accept ``http(s)://host:port`` or a multiaddr like ``/ip4/127.0.0.1/tcp/5001``."""
    match = _MULTIADDR_API.match(value)
    if match:
        proto, host, port = match.group(1), match.group(2), match.group(3)
        if proto == "ip6":
            host = f"[{host}]"
        return f"http://{host}:{port}"
    if re.match(r"^https?://[^/\s]+/?$", value):
        return value.rstrip("/")
    raise ValueError("is not an http(s)://host:port URL or a /ip4/…/tcp/… multiaddr")


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


class _Reader:
    """Reads typed values out of one JSON object, naming the key in every error."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: key {key!r} {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
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

    def path(self, key: str, default: str | None = None) -> Path:
        value = self.string(key, default)
        # The system calls take no NUL in a path: it would surface as a ValueError later.
        if "\0" in value:
            raise self.fail(key, "holds a NUL character")
        return Path(value)

    def optional_path(self, key: str) -> Path | None:
        return None if self.data.get(key) is None else self.path(key)


_TOP_KEYS = {
    "peers", "api", "state_dir", "concurrency", "max_pins", "max_bytes",
    "max_manifest_bytes", "max_manifest_files", "connect_timeout", "request_timeout",
    "resolve_timeout", "stall_timeout", "metrics_file", "consortium", "release_after",
    "max_release_fraction", "verify_interval", "api_auth_file",
}  # fmt: skip
_PEER_KEYS = {"name", "ipns", "max_pins", "max_bytes"}


def _parse_peer(item: object, index: int, where: str, quota: tuple[int, int | None]) -> Peer:
    place = f"{where}: peers[{index}]"
    if isinstance(item, str):
        try:
            ipns = normalize_ipns_name(item)
        except ValueError as exc:
            raise ConfigError(f"{place} {item!r} {exc}") from None
        return Peer(name=ipns, ipns=ipns, max_pins=quota[0], max_bytes=quota[1])
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
        raise reader.fail("name", "may hold only letters, digits, '.', '_' and '-' (1-64)")
    return Peer(
        name=name,
        ipns=ipns,
        max_pins=reader.integer("max_pins", quota[0], minimum=0),
        max_bytes=reader.optional_integer("max_bytes", quota[1]),
    )


def parse_config(data: object, source: str) -> Config:
    """Validate decoded JSON and build a Config; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object with a 'peers' key")
    reader = _Reader(data, source)
    reader.check_keys(_TOP_KEYS)
    peers_value = data.get("peers")
    if not isinstance(peers_value, list):
        raise reader.fail("peers", "is required and must be a list of IPNS names or objects")
    quota = (
        reader.integer("max_pins", _DEFAULT.max_pins),
        reader.optional_integer("max_bytes", _DEFAULT.max_bytes),
    )
    peers = tuple(_parse_peer(p, i, source, quota) for i, p in enumerate(peers_value))
    seen: dict[str, int] = {}
    for index, peer in enumerate(peers):
        for label in {peer.name, peer.ipns}:
            if label in seen:
                raise ConfigError(
                    f"{source}: peers[{index}] repeats {label!r} from peers[{seen[label]}]"
                )
            seen[label] = index
    api = reader.string("api", _DEFAULT.api)
    try:
        api = normalize_api(api)
    except ValueError as exc:
        raise reader.fail("api", f"{api!r} {exc}") from None
    auth_file = reader.optional_path("api_auth_file")
    try:
        api_auth = None if auth_file is None else _read_api_auth(auth_file)
    except ValueError as exc:
        raise reader.fail("api_auth_file", str(exc)) from None
    consortium = reader.string("consortium", _DEFAULT.consortium)
    if not _CONSORTIUM.match(consortium):
        raise reader.fail("consortium", "may hold only letters, digits, '.', '_' and '-' (1-32)")
    return Config(
        peers=peers,
        api=api,
        state_dir=reader.path("state_dir", str(_DEFAULT.state_dir)),
        concurrency=reader.integer("concurrency", _DEFAULT.concurrency, minimum=1),
        max_pins=quota[0],
        max_bytes=quota[1],
        max_manifest_bytes=reader.integer(
            "max_manifest_bytes", _DEFAULT.max_manifest_bytes, minimum=1
        ),
        max_manifest_files=reader.integer(
            "max_manifest_files", _DEFAULT.max_manifest_files, minimum=1
        ),
        connect_timeout=reader.seconds("connect_timeout", _DEFAULT.connect_timeout),
        request_timeout=reader.seconds("request_timeout", _DEFAULT.request_timeout),
        resolve_timeout=reader.seconds("resolve_timeout", _DEFAULT.resolve_timeout),
        stall_timeout=reader.seconds("stall_timeout", _DEFAULT.stall_timeout),
        metrics_file=reader.optional_path("metrics_file"),
        api_auth=api_auth,
        consortium=consortium,
        release_after=reader.number(
            "release_after", _DEFAULT.release_after, 0, math.inf, "a number of seconds (0 or more)"
        ),
        max_release_fraction=reader.number(
            "max_release_fraction", _DEFAULT.max_release_fraction, 0, 1, "a fraction from 0 to 1"
        ),
        verify_interval=reader.number(
            "verify_interval",
            _DEFAULT.verify_interval,
            0,
            math.inf,
            "a number of seconds (0 or more)",
        ),  # fmt: skip
        source=source,
    )


def load_config(path: Path) -> Config:
    """Read and validate config.json at ``path``."""
    try:
        raw = _read_file(path, "configuration file")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    data = decode_json(raw, str(path), ConfigError)
    return parse_config(data, str(path))
