"""A small client for Kubo's HTTP RPC API (``POST /api/v0/<command>``).

One ``requests.Session`` with explicit timeouts; every failure becomes a KuboError whose
message says which call failed and why, and a refused or dropped connection becomes
KuboUnreachable so the command line can tell "Kubo is down" from "a peer is broken".
A call Kubo refuses for want of authorization (401, 403) is KuboRefused instead: no
peer is at fault and Kubo is up, the configuration is wrong. An answer Kubo never gives
(not JSON, or an HTTP error without Kubo's JSON message) is NotKubo: the address points
at something else, a web server or a proxy whose Kubo is gone.
"""

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..config import ApiAuth, Config
from ..errors import (
    CIDError,
    KuboError,
    KuboRefused,
    KuboTimeout,
    KuboUnreachable,
    NotKubo,
    PinStalled,
    QuotaExceeded,
)
from . import unix_socket
from .cid import CidKey, key_of_canonical, key_text, parse_cid
from .pins import PinSet

# The UnixFS link type `ls` reports for a file.
LINK_FILE = 2

# Every RPC path this client calls but join's: all that a token for the sync, publish and
# invite needs in Kubo's API.Authorizations (AllowedPaths, which Kubo matches as string
# prefixes; none of these is the prefix of another command but refs, which lets the token
# also list the node's blocks through refs/local: no more than it may read). The client
# refuses any other path (but ADMIN_PATHS, below), so a new call cannot be added without
# adding it here; playbooks/member.yml gives the sync's token exactly this list
# (tests/test_sync_token.py checks the two agree and that a token allowed only these runs
# a sync and a publish).
RPC_PATHS = tuple(
    f"/api/v0/{command}"
    for command in (
        "add", "cat", "dag/resolve", "files/stat", "id", "key/gen", "key/list", "ls",
        "name/get", "name/inspect", "name/publish", "name/put", "name/resolve",
        "p2p/close", "p2p/forward", "p2p/listen", "p2p/ls", "pin/add", "pin/ls", "pin/rm",
        "refs", "repo/stat", "swarm/peers", "version",
    )
)  # fmt: skip
# The calls of ``join``, which joins this node to the consortium's swarm: made with the
# node's own admin API, and never allowed to the sync's token (a sync that could rewrite
# Kubo's config or its peering would hold the node). Only a client made with
# ``admin=True`` makes them.
ADMIN_PATHS = tuple(
    f"/api/v0/{command}" for command in ("config", "swarm/connect", "swarm/peering/add")
)


@dataclass(frozen=True)
class Stream:
    """A libp2p stream mount (``p2p/ls``): a listener's listen address is this node's
    /p2p/ address, a forward's target is the other node's."""

    protocol: str
    listen: str
    target: str


# The largest IPNS record Kubo accepts (the IPNS spec's limit).
MAX_RECORD = 10 * 1024
# Kubo writes a record's validity to the nanosecond; Python reads six digits at most.
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class RecordInfo:
    """What ``name/inspect`` read from a signed IPNS record, checked against one name."""

    value: str
    sequence: int
    # When the record stops being valid (UTC).
    expires: datetime
    # Whether it is signed by the name's key and not expired; ``reason`` says why not.
    valid: bool
    reason: str


@dataclass(frozen=True)
class Link:
    name: str
    cid: str
    size: int
    type: int


class KuboClient:
    """Talks to one Kubo node. Safe to share between threads."""

    def __init__(
        self,
        api: str,
        connect_timeout: float,
        request_timeout: float,
        pool_size: int,
        auth: ApiAuth | None = None,
        *,
        admin: bool = False,
    ) -> None:
        self.paths = RPC_PATHS + ADMIN_PATHS if admin else RPC_PATHS
        # What messages name: the URL, or the socket's /unix/ multiaddr.
        self.api = api.rstrip("/")
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.auth = auth
        self.session = requests.Session()
        # Kubo's API is a local address: no proxy named in the environment (cron reads
        # /etc/environment) may see the calls and the secret in their header.
        self.session.trust_env = False
        if auth is not None:
            self.session.headers["Authorization"] = auth.header
        adapter: HTTPAdapter
        if self.api.startswith("/unix/"):
            self.base = f"http://{unix_socket.HOST}"
            adapter = unix_socket.UnixSocketAdapter(self.api.removeprefix("/unix"), pool_size)
        else:
            self.base = self.api
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._calls_lock = threading.Lock()
        self.calls = 0

    @classmethod
    def from_config(cls, config: Config, *, admin: bool = False) -> "KuboClient":
        # A connection for each pin in flight, and spares for the run's other calls.
        return cls(
            config.api,
            config.connect_timeout,
            config.request_timeout,
            pool_size=config.concurrency + 2,
            auth=config.api_auth,
            admin=admin,
        )

    def close(self) -> None:
        self.session.close()

    # -- transport ---------------------------------------------------------------------

    def _post(
        self,
        command: str,
        params: list[tuple[str, str]] | None = None,
        *,
        timeout: float | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        path = f"/api/v0/{command}"
        if path not in self.paths:
            raise ValueError(f"{path} is not in RPC_PATHS, the paths the sync's token allows")
        with self._calls_lock:
            self.calls += 1
        url = f"{self.base}{path}"
        read = self.request_timeout if timeout is None else timeout
        try:
            response = self.session.post(
                url, params=params, timeout=(self.connect_timeout, read), stream=stream, **kwargs
            )
        except requests.Timeout:
            raise KuboTimeout(f"Kubo {command}: no answer within {read:g}s") from None
        except requests.ConnectionError as exc:
            raise KuboUnreachable(
                f"Kubo's RPC API at {self.api} is unreachable ({_reason(exc)})"
            ) from None
        except requests.RequestException as exc:
            raise KuboError(f"Kubo {command}: {_reason(exc)}") from None
        if response.status_code in (401, 403):
            response.close()
            raise KuboRefused(self._refusal(command, response.status_code))
        if response.status_code != 200:
            with closing(response):
                raise self._failure(command, response)
        return response

    def _failure(self, command: str, response: requests.Response) -> KuboError:
        """Kubo's own message for a failed call; an answer without one is not Kubo's."""
        try:
            body = response.content
        except requests.RequestException as exc:
            return _stream_failure(command, exc)
        message = _field(self._decode(command, response.status_code, body), "Message")
        if not isinstance(message, str):
            return self._not_kubo(command, response.status_code, body)
        return KuboError(f"Kubo {command}: {message}")

    def _decode(self, command: str, status: int, body: bytes) -> Any:
        """The value of a JSON answer; Kubo answers nothing else, so anything else is NotKubo."""
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise self._not_kubo(command, status, body) from None

    def _not_kubo(self, command: str, status: int, body: bytes) -> NotKubo:
        start = body[:80].decode(errors="replace")
        return NotKubo(
            f"the API at {self.api} does not answer as Kubo ({command}: HTTP {status} {start!r})"
        )

    def _refusal(self, command: str, status: int) -> str:
        refused = f"Kubo at {self.api} refused {command} (HTTP {status})"
        if self.auth is None:
            return f"{refused}: its RPC API needs authorization; set api_auth_file in the config"
        return (
            f"{refused} with the secret in {self.auth.file}: not one of its "
            f"API.Authorizations, or one whose AllowedPaths leave out /api/v0/{command}"
        )

    def _json(self, command: str, params: list[tuple[str, str]], **kwargs: Any) -> Any:
        response = self._post(command, params, **kwargs)
        return self._decode(command, response.status_code, response.content)

    def _lines(
        self, command: str, params: list[tuple[str, str]], **kwargs: Any
    ) -> Generator[Any, None, None]:
        """Yield each JSON value of a streamed answer; a streamed error raises KuboError."""
        response = self._post(command, params, stream=True, **kwargs)
        try:
            for line in response.iter_lines():
                if not line:
                    continue
                value = self._decode(command, response.status_code, line)
                if _field(value, "Type") == "error":
                    raise KuboError(f"Kubo {command}: {value.get('Message', 'error')}")
                yield value
        except requests.RequestException as exc:
            raise _stream_failure(command, exc) from None
        finally:
            response.close()

    # -- commands ----------------------------------------------------------------------

    def node_id(self) -> str:
        """The peer ID of the Kubo node: which repo this is, across restarts."""
        return _required("id", self._json("id", []), "ID")

    def swarm_peers(self) -> set[str]:
        """The peer IDs this node has a connection to now."""
        answer = self._json("swarm/peers", [])
        peers = _field(answer, "Peers") or []
        if not isinstance(peers, list):
            raise _unexpected("swarm/peers", answer)
        return {_required("swarm/peers", entry, "Peer") for entry in peers}

    def recursive_pins(self) -> dict[CidKey, str]:
        """Every recursive pin as CID key -> pin name ("" when unnamed)."""
        pins: dict[CidKey, str] = {}
        # Thousands of pins share a name: keep one copy of each.
        names: dict[str, str] = {}
        for entry in self._lines(
            "pin/ls", [("type", "recursive"), ("names", "true"), ("stream", "true")]
        ):
            try:
                # Kubo answers in canonical form: decoding is enough, no need to validate.
                key = key_of_canonical(entry["Cid"])
                name = entry.get("Name", "")
                pins[key] = names.setdefault(name, name)
            except (KeyError, TypeError, ValueError):
                raise _unexpected("pin/ls", entry) from None
        return pins

    def pinset(self) -> PinSet:
        """Kubo holds a pin once it is listed: none is unsettled."""
        return PinSet(self.recursive_pins())

    def settle(self, made: Collection[CidKey], stall_timeout: float) -> dict[CidKey, str]:
        """A pin is held once pin/add returns: nothing to follow."""
        return {}

    def pin_name(self, key: CidKey) -> str | None:
        """The name of ``key``'s recursive pin ("" when unnamed); None when it has none."""
        params = [("arg", key_text(key)), ("type", "recursive"), ("names", "true")]
        try:
            answer = self._json("pin/ls", params)
        except KuboUnreachable:
            raise
        except KuboError as exc:
            if "not pinned" in str(exc):
                return None
            raise
        keys = _field(answer, "Keys")
        if not isinstance(keys, dict) or len(keys) != 1:
            raise _unexpected("pin/ls", answer)
        name = _field(next(iter(keys.values())), "Name")
        return name if isinstance(name, str) else ""

    def resolve(self, name: str, timeout: float) -> str:
        """Resolve an IPNS name to an /ipfs/ path."""
        # nocache: a cron run must see what the peer published since the last run, not
        # what this node remembered for the record's TTL.
        params = [
            ("arg", name), ("recursive", "true"), ("nocache", "true"),
            ("dht-timeout", f"{timeout:g}s"),
        ]  # fmt: skip
        # Allow Kubo its own DHT timeout plus a margin before giving up on the socket.
        command = f"name/resolve {name}"
        answer = self._json("name/resolve", params, timeout=timeout + 10)
        path = _required(command, answer, "Path")
        if not path.startswith("/ipfs/"):
            raise _unexpected(command, answer)
        return path

    def path_cid(self, path: str) -> str:
        """The CID an /ipfs/ path ends at (the path itself when it has no sub-path)."""
        head, _, rest = path.removeprefix("/ipfs/").partition("/")
        if not rest:
            return parse_cid(head)
        return _cid(f"dag/resolve {path}", self._json("dag/resolve", [("arg", path)]), "Cid", "/")

    def unixfs_type(self, path: str) -> str:
        """What the UnixFS node at ``path`` is: "directory", "file", ..."""
        return _required(f"files/stat {path}", self._json("files/stat", [("arg", path)]), "Type")

    def ls(self, path: str) -> list[Link]:
        answer = self._json("ls", [("arg", path)])
        try:
            links = answer["Objects"][0]["Links"] or []
            return [Link(k["Name"], k["Hash"], int(k["Size"]), int(k["Type"])) for k in links]
        except (KeyError, IndexError, TypeError, ValueError):
            raise _unexpected(f"ls {path}", answer) from None

    def cat(self, cid: str, max_bytes: int) -> Generator[bytes, None, None]:
        """Stream at most ``max_bytes + 1`` bytes, so the reader can tell "too large"."""
        params = [("arg", cid), ("length", str(max_bytes + 1))]
        response = self._post("cat", params, stream=True)
        try:
            yield from response.iter_content(chunk_size=65536)
        except requests.RequestException as exc:
            raise _stream_failure("cat", exc) from None
        finally:
            response.close()

    def pin_add(
        self,
        key: CidKey,
        name: str,
        stall_timeout: float,
        max_bytes: int | None = None,
        fetched: Callable[[int], None] | None = None,
    ) -> int:
        """Pin recursively; return the bytes Kubo reported fetching (and tell ``fetched``
        each time that figure grows).

        Kubo streams a progress line every half second; the pin is abandoned (and Kubo
        cancels it when the connection closes) once the figures stop moving for
        ``stall_timeout`` seconds, or once more than ``max_bytes`` have been fetched.
        """
        cid = key_text(key)
        params = [("arg", cid), ("name", name), ("progress", "true"), ("recursive", "true")]
        last_change = time.monotonic()
        last: tuple[int, int] = (0, 0)
        stalled = PinStalled(f"pin {cid} made no progress for {stall_timeout:g}s")
        try:
            with closing(self._lines("pin/add", params, timeout=stall_timeout)) as events:
                for event in events:
                    done = isinstance(event, dict) and "Pins" in event
                    if not done:
                        current = _progress(cid, event)
                        if current != last:
                            last, last_change = current, time.monotonic()
                            if fetched is not None:
                                fetched(last[1])
                    if max_bytes is not None and last[1] > max_bytes:
                        break
                    if done:
                        return last[1]
                    if time.monotonic() - last_change > stall_timeout:
                        raise stalled
                else:
                    raise KuboError(f"Kubo pin/add {cid}: the answer ended before the pin did")
        except KuboTimeout:
            raise stalled from None
        # Kubo may finish the pin before it notices the closed connection: undo it.
        self._unpin_if_pinned(key)
        raise QuotaExceeded(
            f"pin {cid} abandoned after {last[1]} bytes: its peers' byte quota left it {max_bytes}"
        )

    def _unpin_if_pinned(self, key: CidKey) -> None:
        try:
            self.pin_rm(key)
        except KuboUnreachable:
            raise
        except KuboError as exc:
            if "not pinned" not in str(exc):
                raise

    def pin_rename(self, key: CidKey, name: str) -> None:
        """Give an existing recursive pin a new name (Kubo renames on a repeated add)."""
        self._json("pin/add", [("arg", key_text(key)), ("name", name), ("recursive", "true")])

    def pin_rm(self, key: CidKey) -> None:
        self._json("pin/rm", [("arg", key_text(key)), ("recursive", "true")])

    def add_directory(self, dirname: str, files: dict[str, bytes], pin_name: str) -> str:
        """Add ``files`` as one directory named ``dirname``, pinned; return its CID."""
        quoted_dir = urllib.parse.quote(dirname, safe="")
        parts = [("file", (quoted_dir, b"", "application/x-directory"))]
        for name, content in sorted(files.items()):
            quoted = f"{quoted_dir}%2F{urllib.parse.quote(name, safe='')}"
            parts.append(("file", (quoted, content, "application/octet-stream")))
        params = [("pin", "true"), ("pin-name", pin_name), ("quieter", "false")]
        # Read to the end of the answer: Kubo pins the root after it has streamed the
        # root's entry, and closing the request there cancels that pin.
        roots = [
            _cid("add", entry, "Hash")
            for entry in self._lines("add", params, files=parts)
            if _field(entry, "Name") == dirname
        ]
        if not roots:
            raise KuboError(f"Kubo add: no entry for the directory {dirname!r} in the answer")
        return roots[-1]

    def add_file(self, content: bytes, pin_name: str) -> str:
        """Add ``content`` as one file, pinned as ``pin_name``; return its CID."""
        params = [("pin", "true"), ("pin-name", pin_name), ("cid-version", "1")]
        files = [("file", ("file", content, "application/octet-stream"))]
        # Read to the end of the answer, as add_directory does: the pin comes after it.
        entries = list(self._lines("add", params, files=files))
        if not entries:
            raise KuboError("Kubo add: an empty answer")
        return _cid("add", entries[-1], "Hash")

    def swarm_connect(self, addr: str) -> None:
        """Connect to the node at ``addr`` (a multiaddr ending in /p2p/<peer ID>)."""
        self._json("swarm/connect", [("arg", addr)])

    def peering_add(self, addrs: Sequence[str]) -> None:
        """Keep this node connected to the nodes at ``addrs`` (each ending in /p2p/<ID>)
        until it stops; Kubo's config ``Peering.Peers`` keeps them over a restart."""
        # One line a node, as Kubo adds each.
        for entry in self._lines("swarm/peering/add", [("arg", addr) for addr in addrs]):
            if _field(entry, "Status") != "success":
                raise _unexpected("swarm/peering/add", entry)

    def config_get(self, key: str) -> Any:
        """The value of ``key`` (dotted, as ``ipfs config``) in Kubo's config."""
        answer = self._json("config", [("arg", key)])
        if not isinstance(answer, dict) or "Value" not in answer:
            raise _unexpected(f"config {key}", answer)
        return answer["Value"]

    def config_set(self, key: str, value: Any) -> None:
        """Set ``key`` in Kubo's config to the JSON ``value``."""
        self._json("config", [("arg", key), ("arg", json.dumps(value)), ("json", "true")])

    def key_name(self, key: str) -> str | None:
        """The IPNS name (k51… form) that publishing under ``key`` produces; None when
        Kubo has no key of that name."""
        answer = self._json("key/list", [("l", "true")])
        keys = _field(answer, "Keys")
        if not isinstance(keys, list):
            raise _unexpected("key/list", answer)
        for entry in keys:
            if _field(entry, "Name") == key:
                return _required("key/list", entry, "Id")
        return None

    def key_gen(self, key: str) -> str:
        """Make an ed25519 key named ``key``; return the IPNS name it publishes."""
        answer = self._json("key/gen", [("arg", key), ("type", "ed25519")])
        return _required("key/gen", answer, "Id")

    def version(self) -> str:
        return _required("version", self._json("version", []), "Version")

    def repo_stat(self) -> tuple[int, int]:
        """The repository's size and its StorageMax, in bytes."""
        answer = self._json("repo/stat", [("size-only", "true")])
        try:
            return int(answer["RepoSize"]), int(answer["StorageMax"])
        except (KeyError, TypeError, ValueError):
            raise _unexpected("repo/stat", answer) from None

    def resolve_local(self, name: str) -> str | None:
        """What this node itself holds for an IPNS name, without asking the network."""
        try:
            answer = self._json("name/resolve", [("arg", f"/ipns/{name}"), ("offline", "true")])
        except KuboUnreachable:
            raise
        except KuboError:
            return None
        path = _field(answer, "Path")
        return path if isinstance(path, str) else None

    def refs(self, cids: Sequence[str]) -> Generator[str | KuboError, None, None]:
        """Every block below ``cids`` that this node holds, each once; for a CID whose
        DAG it does not hold in full, a KuboError in the stream, and nothing is fetched."""
        params = [("arg", cid) for cid in cids]
        params += [("recursive", "true"), ("unique", "true"), ("offline", "true")]
        for entry in self._lines("refs", params):
            error = _field(entry, "Err")
            if error:
                yield KuboError(f"Kubo refs: {error}")
            else:
                yield _cid("refs", entry, "Ref")

    def streams(self) -> list[Stream]:
        answer = self._json("p2p/ls", [("headers", "true")])
        entries = _field(answer, "Listeners") or []
        if not isinstance(entries, list):
            raise _unexpected("p2p/ls", answer)
        return [
            Stream(
                _required("p2p/ls", entry, "Protocol"),
                _required("p2p/ls", entry, "ListenAddress"),
                _required("p2p/ls", entry, "TargetAddress"),
            )
            for entry in entries
        ]

    def p2p_listen(self, protocol: str, target: str) -> None:
        """Hand every stream other nodes open for ``protocol`` to ``target``."""
        self._post("p2p/listen", [("arg", protocol), ("arg", target)]).close()

    def p2p_forward(self, protocol: str, listen: str, peer_id: str) -> None:
        """Carry each connection to ``listen`` over a ``protocol`` stream to ``peer_id``."""
        params = [("arg", protocol), ("arg", listen), ("arg", f"/p2p/{peer_id}")]
        self._post("p2p/forward", params).close()

    def p2p_close(self, protocol: str, *, listen: str = "", target: str = "") -> None:
        """Close the mounts of ``protocol`` with that listen or target address."""
        params = [("protocol", protocol)]
        params += [("listen-address", listen)] if listen else []
        params += [("target-address", target)] if target else []
        self._post("p2p/close", params).close()

    def publish(
        self, path: str, key: str, timeout: float | None = None, lifetime: int | None = None
    ) -> str:
        """Point ``key`` at ``path``. With ``timeout``, Kubo gives up putting the record on
        the network after that long; it keeps the record and republishes it itself.
        ``lifetime``: seconds the record is valid (None: Kubo's default, 48 h)."""
        params = [("arg", path), ("key", key), ("allow-offline", "true")]
        if lifetime is not None:
            params.append(("lifetime", f"{lifetime}s"))
        if timeout is None:
            answer = self._json("name/publish", params)
        else:
            params.append(("timeout", f"{timeout:g}s"))
            answer = self._json("name/publish", params, timeout=timeout + 10)
        return _required("name/publish", answer, "Name")

    def name_get(self, name: str, timeout: float) -> bytes:
        """The signed IPNS record of ``name`` as the network (or this node) has it."""
        command = f"name/get {name}"
        response = self._post("name/get", [("arg", name)], timeout=timeout, stream=True)
        record = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=MAX_RECORD + 1):
                record += chunk
                if len(record) > MAX_RECORD:
                    raise KuboError(f"Kubo {command}: a record over {MAX_RECORD} bytes")
        except requests.RequestException as exc:
            raise _stream_failure(command, exc) from None
        finally:
            response.close()
        if not record:
            raise KuboError(f"Kubo {command}: an empty record")
        return bytes(record)

    def name_inspect(self, record: bytes, name: str) -> RecordInfo:
        """Read ``record`` and check it against ``name``'s key; Kubo makes no network call."""
        params = [("verify", name), ("dump", "false")]
        answer = self._json("name/inspect", params, files=_record_file(record))
        entry = _field(answer, "Entry")
        command = f"name/inspect {name}"
        try:
            sequence = int(entry["Sequence"])
            validity = _FRACTION.sub(r"\1", entry["Validity"])
            expires = datetime.fromisoformat(validity).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            raise _unexpected(command, answer) from None
        return RecordInfo(
            value=str(entry.get("Value") or ""),
            sequence=sequence,
            expires=expires,
            valid=_field(answer, "Validation", "Valid") is True,
            reason=str(_field(answer, "Validation", "Reason") or ""),
        )

    def name_put(self, name: str, record: bytes, timeout: float) -> None:
        """Store ``record`` of ``name`` on this node and put it on the network (the DHT);
        Kubo refuses one not signed by the name's key, or older than one it holds."""
        params = [("arg", name)]
        self._json("name/put", params, files=_record_file(record), timeout=timeout)


def _record_file(record: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", ("record", record, "application/vnd.ipfs.ipns-record"))]


def _reason(exc: BaseException) -> str:
    text = str(exc)
    markers = (
        "Connection refused", "Name or service not known", "timed out",
        # A unix socket's: missing, or not this user's to use.
        "No such file or directory", "Permission denied",
    )  # fmt: skip
    for marker in markers:
        if marker in text:
            return marker.lower()
    return text[:200] or type(exc).__name__


def _field(answer: Any, *keys: str) -> Any:
    """What a JSON answer holds at ``keys``: None where it holds no object with the key."""
    for key in keys:
        answer = answer.get(key) if isinstance(answer, dict) else None
    return answer


def _unexpected(command: str, answer: Any) -> KuboError:
    return KuboError(f"Kubo {command}: unexpected answer {answer!r:.80}")


def _required(command: str, answer: Any, *keys: str) -> str:
    """The string a JSON answer holds at ``keys``, or KuboError saying it holds none."""
    value = _field(answer, *keys)
    if not isinstance(value, str):
        raise _unexpected(command, answer)
    return value


def _cid(command: str, answer: Any, *keys: str) -> str:
    """The CID a JSON answer holds at ``keys``, or KuboError saying it holds none."""
    try:
        return parse_cid(_required(command, answer, *keys))
    except CIDError:
        raise _unexpected(command, answer) from None


def _progress(cid: str, event: Any) -> tuple[int, int]:
    """The blocks and bytes a pin/add progress line reports."""
    if not isinstance(event, dict):
        raise _unexpected(f"pin/add {cid}", event)
    try:
        return int(event.get("Progress", 0)), int(event.get("Bytes", 0))
    except (TypeError, ValueError):
        raise _unexpected(f"pin/add {cid}", event) from None


def _stream_failure(command: str, exc: BaseException) -> KuboError:
    """A connection that broke mid-answer is an unreachable daemon, not a bad peer."""
    # requests reports a read timeout during a streamed body as a ConnectionError
    # wrapping urllib3's ReadTimeoutError.
    if isinstance(exc, requests.Timeout) or "Read timed out" in str(exc):
        return KuboTimeout(f"Kubo {command}: the answer stopped coming ({_reason(exc)})")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return KuboUnreachable(f"Kubo {command}: the connection broke ({_reason(exc)})")
    return KuboError(f"Kubo {command}: unreadable answer ({_reason(exc)})")
