"""The holdings report: what a member says it holds of each peer's content.

Every member publishes one (report/exchange.py) under an IPNS key of its own, separate
from its manifests so that those keep the seed's format and change only when the member's
list does. The other members read it to count the copies of their content
(report/copies.py). Schema version 1, a directory holding ``holdings.json``::

    {"schema": "ipfs-consortium/holdings", "version": 1,
     "peer_id": "12D3Koo…", "consortium": "default", "made": "<ISO 8601, UTC>",
     "kubo_version": "0.43.1", "repo_size": 123, "storage_max": 10000000000,
     "peers": [{"ipns": "k51…", "root": "bafy…" | null, "root_since": "<time>" | null,
                "listed": 3, "held": 3, "missing": 0,
                "missing_why": {"quota": 0, "failing": 0, "waiting": 0},
                "bytes_held": 1024, "last_success": "<time>" | null,
                "failing_since": "<time>" | null}, …],
     "nodes": {"<cluster node>": 123, …} | null}

``listed`` counts the CIDs the followed root lists (its directory included), ``held``
those pinned; of the ``missing`` rest, ``quota`` were over a quota (max_pins,
max_bytes), ``failing`` failed to pin, ``waiting`` are not tried yet. ``nodes`` (absent or
null for a member of one Kubo node) counts the pins each node of the member's IPFS Cluster
held at its last full check. Nothing secret is in
it: no API address, no secret, no path. A reader refuses a report that is not JSON, is
larger than MAX_REPORT_BYTES, is another schema or version, or names another node or
consortium than the member it was read for.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..config import Config, node_of, normalize_ipns_name
from ..errors import ReportError
from ..jsondoc import decode_json
from .figures import PeerFigures

SCHEMA = "ipfs-consortium/holdings"
VERSION = 1
REPORT_FILE = "holdings.json"
# A report lists each peer in about 400 bytes: this is room for a thousand and more.
MAX_REPORT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Holding:
    """What one member holds of one peer's content, as it says."""

    ipns: str
    root: str | None
    root_since: str | None
    listed: int
    held: int
    quota: int
    failing: int
    bytes_held: int
    last_success: str | None
    failing_since: str | None

    @property
    def missing(self) -> int:
        return max(self.listed - self.held, 0)

    @property
    def waiting(self) -> int:
        return max(self.missing - self.quota - self.failing, 0)

    @property
    def missing_why(self) -> dict[str, int]:
        return {"quota": self.quota, "failing": self.failing, "waiting": self.waiting}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for why in ("quota", "failing"):
            del data[why]
        return data | {"missing": self.missing, "missing_why": self.missing_why}


@dataclass(frozen=True)
class Holdings:
    """One member's report."""

    peer_id: str
    consortium: str
    made: str
    kubo_version: str
    repo_size: int
    storage_max: int
    peers: tuple[Holding, ...]
    # Pins held on each node of the member's cluster (None: one Kubo node).
    nodes: dict[str, int] | None = None

    def of(self, ipns: str) -> Holding | None:
        """What it holds of the content published under ``ipns``, in any spelling."""
        wanted = same_name(ipns)
        return next((h for h in self.peers if same_name(h.ipns) == wanted), None)

    def to_json(self) -> dict[str, Any]:
        head = {"schema": SCHEMA, "version": VERSION}
        data = asdict(self) | {"peers": [h.to_json() for h in self.peers]}
        return head | data

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), indent=2, sort_keys=True).encode() + b"\n"

    def digest(self) -> str:
        """What changes when the holdings do: not the times every run moves on, nor the
        node's facts (reading them costs calls a run that changes nothing must not make)."""
        peers = [h.to_json() | {"last_success": None} for h in self.peers]
        data = [self.peer_id, self.consortium, peers, self.nodes]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def same_name(ipns: str) -> str:
    """One spelling of an IPNS name, so that ``12D3Koo…`` and ``k51…`` of one key match."""
    return node_of(ipns) or ipns


def holding(peer: PeerFigures) -> Holding:
    return Holding(
        ipns=peer.ipns,
        root=peer.root,
        root_since=peer.root_first_seen,
        listed=peer.listed,
        held=peer.pins_held,
        quota=peer.over_quota,
        failing=peer.failed_pins,
        bytes_held=peer.bytes_held,
        last_success=peer.last_success,
        failing_since=peer.failing_since,
    )


def holdings(
    config: Config,
    peers: list[PeerFigures],
    node: str,
    made: str,
    kubo_version: str,
    repo: tuple[int, int],
    nodes: dict[str, int] | None = None,
) -> Holdings:
    """This member's report, from the figures of its configured peers (and its cluster's
    nodes, if it has one)."""
    return Holdings(
        peer_id=node,
        consortium=config.consortium,
        made=made,
        kubo_version=kubo_version,
        repo_size=repo[0],
        storage_max=repo[1],
        peers=tuple(holding(peer) for peer in peers),
        nodes=nodes,
    )


def parse_holdings(raw: bytes, where: str, peer_id: str | None, consortium: str) -> Holdings:
    """A report as read for a member whose node is ``peer_id`` (None: not known), or
    ReportError naming ``where``."""
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(f"{where}: over {MAX_REPORT_BYTES} bytes; not read")
    return holdings_of(decode_json(raw, where, ReportError), where, peer_id, consortium)


def holdings_of(data: object, where: str, peer_id: str | None, consortium: str) -> Holdings:
    """A report's decoded JSON, checked as parse_holdings checks it."""
    reader = _Fields(data, where)
    if reader.text("schema") != SCHEMA or reader.whole("version") != VERSION:
        raise ReportError(f"{where}: not a holdings report of version {VERSION} ({SCHEMA})")
    report = Holdings(
        peer_id=reader.text("peer_id"),
        consortium=reader.text("consortium"),
        made=reader.time("made"),
        kubo_version=reader.text("kubo_version"),
        repo_size=reader.whole("repo_size"),
        storage_max=reader.whole("storage_max"),
        peers=tuple(
            _holding(item, f"{where}: peers[{i}]") for i, item in enumerate(reader.list("peers"))
        ),
        nodes=reader.counts("nodes"),
    )
    if peer_id is not None and same_name(report.peer_id) != same_name(peer_id):
        raise ReportError(f"{where}: made by node {report.peer_id}, not by {peer_id}")
    if report.consortium != consortium:
        raise ReportError(f"{where}: of consortium {report.consortium!r}, not {consortium!r}")
    return report


def _holding(item: object, where: str) -> Holding:
    reader = _Fields(item, where)
    why = _Fields(reader.data.get("missing_why"), f"{where}: missing_why")
    ipns = reader.text("ipns")
    try:
        normalize_ipns_name(ipns)
    except ValueError as exc:
        raise ReportError(f"{where}: ipns {ipns!r} {exc}") from None
    return Holding(
        ipns=ipns,
        root=reader.optional("root", reader.text),
        root_since=reader.optional("root_since", reader.time),
        listed=reader.whole("listed"),
        held=reader.whole("held"),
        quota=why.whole("quota"),
        failing=why.whole("failing"),
        bytes_held=reader.whole("bytes_held"),
        last_success=reader.optional("last_success", reader.time),
        failing_since=reader.optional("failing_since", reader.time),
    )


class _Fields:
    """Typed fields of one JSON object of a report, naming the field in every error."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ReportError(f"{where}: not a JSON object")
        self.data: dict[str, Any] = data
        self.where = where

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ReportError(f"{self.where}: no {key!r}")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value or len(value) > 256:
            raise ReportError(f"{self.where}: {key!r} is not a short string")
        return value

    def whole(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReportError(f"{self.where}: {key!r} is not a whole number")
        return value

    def time(self, key: str) -> str:
        value = self.text(key)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ReportError(f"{self.where}: {key!r} is not an ISO 8601 time with its zone")
        return value

    def list(self, key: str) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list):
            raise ReportError(f"{self.where}: {key!r} is not a list")
        return value

    def counts(self, key: str) -> dict[str, int] | None:
        """An optional object of short names -> whole numbers (absent or null: None)."""
        value = self.data.get(key)
        if value is None:
            return None
        inner = _Fields(value, f"{self.where}: {key}")
        if any(not name or len(name) > 256 for name in inner.data):
            raise ReportError(f"{inner.where}: a name is not a short string")
        return {name: inner.whole(name) for name in inner.data}

    def optional(self, key: str, read: Callable[[str], str]) -> str | None:
        return None if self._get(key) is None else read(key)
