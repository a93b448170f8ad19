"""IPFS Cluster's REST API as the pin backend of a member of several nodes (``pinning``).

The cluster keeps one pinset for the member's Kubo nodes and puts each pin on
``replication_min`` to ``replication_max`` of them, re-allocating when a node dies. Pins
carry the same names as in Kubo, in the cluster's pinset (the cluster does not pass them
on to Kubo), so every rule that reads pin names works unchanged.

A pin is *held* once the cluster reports it ``pinned`` on at least ``replication_min``
nodes. The cluster pins asynchronously: ``pin_add`` asks for each pin at once, and
``settle`` then follows them all, in batches, until they are held, asking the cluster to
``recover`` one a node reports in error; the sync keeps the cluster as busy as it can be,
instead of waiting for each pin in turn. One that is not held in time stays in the
cluster's pinset, listed as unsettled, and the next run follows it up; a pin in error is
never released for it.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import closing
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..config import ClusterPinning, Config
from ..errors import CIDError, ClusterError, ClusterRefused, ClusterUnreachable
from .cid import CidKey, cid_key, key_text
from .pins import NodePins, PinBackend, PinSet

log = logging.getLogger(__name__)

# A node's tracker status -> the state the figures count it in; other statuses (remote:
# not allocated there; unpinning, ...) are not the node's holding.
_STATES = {
    "pinned": "pinned",
    "pinning": "pinning",
    "pin_queued": "queued",
    "pin_error": "error",
    "cluster_error": "error",
    "unexpectedly_unpinned": "error",
}
# How often a pin being followed is asked about: from the first to the last interval,
# doubling.
_FIRST_POLL, _LAST_POLL = 0.05, 1.0
# Ask the cluster to recover a pin in error at most this often while following it.
_RECOVER_EVERY = 10.0
# The states of this many pins are asked in one call (their CIDs fill its URL).
_STATUS_BATCH = 200
# How often following the pins says how far it has got.
_LOG_EVERY = 10.0


class ClusterPins:
    """The member's cluster, through one of its peers' REST API. Safe to share between
    threads."""

    def __init__(
        self,
        pinning: ClusterPinning,
        connect_timeout: float,
        request_timeout: float,
        pool_size: int,
    ) -> None:
        self.pinning = pinning
        self.timeouts = (connect_timeout, request_timeout)
        self.session = requests.Session()
        # A loopback API: no proxy named in the environment may see the calls.
        self.session.trust_env = False
        self.session.headers["Authorization"] = pinning.auth.header
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_config(cls, config: Config, pinning: ClusterPinning) -> "ClusterPins":
        return cls(pinning, config.connect_timeout, config.request_timeout, config.concurrency + 2)

    def close(self) -> None:
        self.session.close()

    # -- transport ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        what = f"IPFS Cluster {method} {path}"
        try:
            response = self.session.request(
                method,
                f"{self.pinning.api}{path}",
                params=params,
                timeout=self.timeouts,
                stream=stream,
            )
        except requests.Timeout:
            raise ClusterError(f"{what}: no answer within {self.timeouts[1]:g}s") from None
        except requests.ConnectionError:
            raise ClusterUnreachable(
                f"IPFS Cluster's REST API at {self.pinning.api} is unreachable"
            ) from None
        except requests.RequestException as exc:
            raise ClusterError(f"{what}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            response.close()
            raise ClusterRefused(
                f"IPFS Cluster at {self.pinning.api} refused the credentials in "
                f"{self.pinning.auth.file} (HTTP {response.status_code}): they must be one of "
                "its restapi basic_auth_credentials"
            )
        if not 200 <= response.status_code < 300:
            with closing(response):
                raise ClusterError(f"{what}: {_message(response)}")
        return response

    def _json(self, method: str, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = self._call(method, path, params)
        try:
            return response.json()
        except ValueError:
            raise ClusterError(f"IPFS Cluster {method} {path}: an answer not in JSON") from None

    def _stream(self, path: str) -> Iterator[Any]:
        """Each JSON value of a streamed answer (one a line)."""
        with closing(self._call("GET", path, stream=True)) as response:
            try:
                for line in response.iter_lines():
                    if line:
                        yield json.loads(line)
            except ValueError:
                raise ClusterError(f"IPFS Cluster GET {path}: a line that is not JSON") from None
            except requests.RequestException as exc:
                raise ClusterError(f"IPFS Cluster GET {path}: {type(exc).__name__}") from None

    # -- the pin backend ---------------------------------------------------------------

    def pinset(self) -> PinSet:
        """The cluster's pinset with each pin's state on every node."""
        names: dict[CidKey, str] = {}
        unsettled: set[CidKey] = set()
        nodes: dict[str, NodePins] = {}
        # Thousands of pins share a name: keep one copy of each.
        shared: dict[str, str] = {}
        for status in self._stream("/pins"):
            key, name, peers = _global_status(status)
            names[key] = shared.setdefault(name, name)
            for peer_id, peer in peers.items():
                # Every node is counted, the ones that hold none of it too.
                label = str(peer.get("peername") or peer_id)
                node = nodes.setdefault(label, NodePins(peer_id, peer.get("ipfs_peer_id")))
                state = _STATES.get(peer.get("status", ""))
                if state is not None:
                    node.counts[state] += 1
            if not self._held(peers):
                unsettled.add(key)
        return PinSet(names, unsettled, nodes)

    def pin_add(
        self,
        key: CidKey,
        name: str,
        stall_timeout: float,
        max_bytes: int | None = None,
        fetched: Callable[[int], None] | None = None,
    ) -> int:
        """Ask for the pin (again, when it is there but not held); ``settle`` follows it.
        The bytes are fetched on the nodes, out of sight: 0. ``max_bytes`` cannot be
        enforced here (config.py refuses a byte quota with a cluster)."""
        self._pin(key_text(key), name)
        return 0

    def settle(self, made: Collection[CidKey], stall_timeout: float) -> dict[CidKey, str]:
        """Follow the pins asked for until each is held, reading their states in batches;
        a pin in error is recovered. Once none of them has moved for ``stall_timeout``
        seconds, the ones not held yet are returned with each node's state of them."""
        waiting = set(made)
        states: dict[CidKey, tuple[int, ...]] = {}
        recovered: dict[CidKey, float] = {}
        last_change = last_log = time.monotonic()
        pause = _FIRST_POLL
        while waiting:
            found = self._statuses(waiting)
            now = time.monotonic()
            for key, peers in found.items():
                if self._held(peers):
                    waiting.discard(key)
                    last_change = now
                    continue
                counts = _states(peers)
                current = (counts["pinned"], counts["pinning"], counts["queued"], counts["error"])
                if states.get(key) != current:
                    states[key], last_change = current, now
                if counts["error"] and now - recovered.get(key, -_RECOVER_EVERY) >= _RECOVER_EVERY:
                    self._json("POST", f"/pins/{key_text(key)}/recover")
                    recovered[key] = now
            if waiting and now - last_change > stall_timeout:
                return {
                    key: self._stalled(key, found.get(key, {}), stall_timeout) for key in waiting
                }
            if now - last_log >= _LOG_EVERY:
                log.info(
                    "the cluster holds %d of the %d pins asked for",
                    len(made) - len(waiting),
                    len(made),
                )
                last_log = now
            if waiting:
                time.sleep(pause)
                pause = min(2 * pause, _LAST_POLL)
        return {}

    def _statuses(self, keys: Collection[CidKey]) -> dict[CidKey, dict[str, Any]]:
        """Each pin's state on every node (its GlobalPinInfo's peer map)."""
        found = {}
        for batch in _batches(sorted(keys), _STATUS_BATCH):
            cids = ",".join(key_text(key) for key in batch)
            for status in self._stream(f"/pins?cids={cids}"):
                key, _, peers = _global_status(status)
                found[key] = peers
        return found

    def _stalled(self, key: CidKey, peers: Mapping[str, Any], stall_timeout: float) -> str:
        pinned, needed = _states(peers)["pinned"], self._needed(peers)
        return (
            f"pin {key_text(key)} is pinned on {pinned} of the {needed} cluster "
            f"nodes it needs after {stall_timeout:g}s without progress ({_describe(peers)}); "
            "it stays in the cluster's pinset and the next run follows it up"
        )

    def pin_rename(self, key: CidKey, name: str) -> None:
        """The same pin with a new name: the cluster keeps its allocations."""
        self._pin(key_text(key), name)

    def pin_rm(self, key: CidKey) -> None:
        self._json("DELETE", f"/pins/{key_text(key)}")

    def _pin(self, cid: str, name: str) -> None:
        self._json(
            "POST",
            f"/pins/{cid}",
            {
                "name": name,
                "mode": "recursive",
                "replication-min": str(self.pinning.replication_min),
                "replication-max": str(self.pinning.replication_max),
            },
        )

    def _needed(self, peers: Mapping[str, Any]) -> int:
        """On how many nodes a pin must be pinned to be held."""
        low = self.pinning.replication_min
        return len(peers) if low == -1 else low

    def _held(self, peers: Mapping[str, Any]) -> bool:
        """Whether a pin is pinned on as many nodes as it needs."""
        return _states(peers)["pinned"] >= self._needed(peers)


def _states(peers: Mapping[str, Any]) -> Counter[str]:
    """How many nodes hold a pin in each state the figures count (NODE_STATES)."""
    return Counter(
        state for peer in peers.values() if (state := _STATES.get(peer.get("status", "")))
    )


def _batches(items: list[CidKey], size: int) -> Iterator[list[CidKey]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _global_status(status: Any) -> tuple[CidKey, str, dict[str, Any]]:
    """A GlobalPinInfo's CID, name and peer map; ClusterError when it is not one."""
    try:
        key = cid_key(status["cid"])
        name = status.get("name") or ""
        peers = status.get("peer_map") or {}
        if (
            isinstance(name, str)
            and isinstance(peers, dict)
            and all(isinstance(peer, dict) for peer in peers.values())
        ):
            return key, name, peers
    except (KeyError, TypeError, AttributeError, CIDError):
        pass
    raise ClusterError(f"IPFS Cluster: an unexpected pin status {str(status)[:120]!r}")


def _describe(peers: Mapping[str, Any]) -> str:
    """Each node's state of a pin, and the error of any that has one."""
    parts = []
    for peer_id, peer in sorted(peers.items()):
        text = f"{peer.get('peername') or peer_id}: {peer.get('status', '?')}"
        if peer.get("error"):
            text += f" ({peer['error']})"
        parts.append(text)
    return ", ".join(parts)


def _message(response: requests.Response) -> str:
    """The cluster's own message for a failed call (``{"code": ..., "message": ...}``)."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError, requests.RequestException):
        message = None
    if isinstance(message, str) and message:
        return message
    return f"HTTP {response.status_code}"


def pin_backend(config: Config, kubo: PinBackend) -> PinBackend:
    """Where this member's pins go: its cluster when ``pinning`` names one, else ``kubo``."""
    if config.pinning is None:
        return kubo
    return ClusterPins.from_config(config, config.pinning)
