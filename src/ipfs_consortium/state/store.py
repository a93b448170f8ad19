"""The state directory, and every file in it: this module is their one owner.

Above all it keeps what each peer asked for the last time it was read in full: the "last
known good" record that lets a peer which fails to resolve keep all its pins, and lets an
unchanged peer cost no RPC calls beyond resolving its name (policy/known_good.py says
how a run uses it). Every file is replaced atomically through one writer,
``replace_atomically``, so a sync killed half-way leaves the previous record intact.

Each peer has a small record, ``peers/<name>.json``, rewritten every run, and the list of
CIDs it wants, ``peers/<name>.<n>.cids``, rewritten only when that list changes: at ten
thousand CIDs a peer, rewriting every list on every run would cost more than the run.
The record names its list, and a new list gets a new name before the record is replaced,
so a run killed between the two leaves the old record with its own list. Beside them:
``releases.json`` (pins waiting for their release), ``verified.json`` (the last full
check), ``reach.json`` (the members Kubo was connected to), ``last_success.json`` (the
last run that reached Kubo throughout), ``report.json`` (this member's holdings report as
last published), ``reports.json`` (the other members' as last read), ``checks.json``
(the possession checks of the others as last made), ``records.json`` (the other
members' IPNS records as kept and put back, sync/keepalive.py), ``cluster.json`` (where the
member's cluster held its pins at the last full check), ``blocks.txt`` (the blocks of this
member's own content, which the checks sample) and ``sync.lock``.
"""

import base64
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar

from ..config import Config
from ..errors import StateError
from ..ipfs.cid import CidKey, key_of_canonical
from ..policy.release import ReleaseBook
from ..sync.reach import Reach
from .lock import SyncLock

_PEERS = "peers"
_RELEASES = "releases.json"
_VERIFIED = "verified.json"
_REACH = "reach.json"
LAST_SUCCESS_FILE = "last_success.json"
_REPORT = "report.json"
_REPORTS = "reports.json"
_CHECKS = "checks.json"
_CLUSTER = "cluster.json"
_RECORDS = "records.json"
_BLOCKS = "blocks.txt"

# CID -> the bytes it cost the peer's quota (0: nothing, or not known).
Wanted = dict[CidKey, int]
T = TypeVar("T")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Limits(NamedTuple):
    """The settings a peer's wanted list was cut with (policy/known_good.py)."""

    max_pins: int
    max_bytes: int | None
    max_manifest_bytes: int
    max_manifest_files: int


@dataclass
class PeerState:
    """What we know of one peer across runs: above all, what it asked for when it was
    last read in full, which is what keeps its pins when it cannot be read."""

    peer: str
    ipns: str
    # The root, manifest count and limits of the last reading in full, and when that
    # root was first seen (None: before records kept it).
    root: str | None = None
    root_first_seen: str | None = None
    manifests: int = 0
    limits: Limits | None = None
    # The file holding what the peer wanted, and how many CIDs that is.
    wanted_file: str | None = None
    wanted_count: int = 0
    # Whether the last run read the peer in full and got every pin it wanted.
    complete: bool = False
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    failing_since: str | None = None
    pins_held: int = 0
    bytes_held: int = 0
    # Of the last full check: the CIDs the followed root lists (quota aside), and of
    # those not held, how many were over a quota and how many failed to pin.
    listed: int = 0
    over_quota: int = 0
    failed_pins: int = 0
    last_result: dict[str, Any] = field(default_factory=dict)
    # The root the peer's name last resolved to, and since when it has (a run that does
    # not resolve it changes neither): a root not read in full yet shows how far behind
    # the record is.
    seen_root: str | None = None
    seen_root_since: str | None = None

    @classmethod
    def from_json(cls, data: object) -> "PeerState":
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        limits = known.pop("limits", None)
        # A record from before the limits had names holds an empty list: read it again.
        state = cls(**known)
        state.limits = Limits(*limits) if limits else None
        return state

    def resolved(self, root: str) -> None:
        """The peer's name resolved to ``root`` now; the first time, if it did not before."""
        if root != self.seen_root:
            self.seen_root, self.seen_root_since = root, now_iso()

    def read_in_full(self, root: str, manifests: int, limits: Limits) -> None:
        # A root read again keeps the time it was first seen, even if the name resolved
        # elsewhere in between: it is the same content. So does an unknown time, from a
        # record older than these times: better unknown than looking new.
        if root != self.root:
            self.resolved(root)
            self.root_first_seen = self.seen_root_since
        self.root, self.manifests, self.limits = root, manifests, limits

    def behind(self) -> bool:
        """Whether the name last resolved to a root not read in full yet."""
        return self.seen_root is not None and self.seen_root != self.root

    def held(self, pins: int, size: int, listed: int, over_quota: int, failed: int) -> None:
        """What of the peer's list Kubo holds after this run, and why not the rest."""
        self.pins_held, self.bytes_held = pins, size
        self.listed, self.over_quota, self.failed_pins = listed, over_quota, failed

    def ran(self, ok: bool, error: str | None, result: dict[str, Any]) -> None:
        """Record a run's result; a failing peer keeps the time it started failing."""
        now = now_iso()
        self.last_attempt = now
        self.complete = ok
        if ok:
            self.last_success, self.last_error, self.failing_since = now, None, None
        else:
            self.last_error = error
            self.failing_since = self.failing_since or now
        self.last_result = result


@dataclass
class Verified:
    """The last run that compared every pin in Kubo with what the peers want."""

    at: datetime
    # What it was compared for: the config and the Kubo node (see policy/full_check.py).
    config: str
    node: str


@dataclass
class Published:
    """This member's holdings report as the last heartbeat left it (sync/heartbeat.py)."""

    tried_at: str
    # What the report said, less the times (report/holdings.py's digest).
    digest: str
    name: str | None = None
    root: str | None = None
    published_at: str | None = None
    error: str | None = None


@dataclass
class ReportsSeen:
    """The other members' holdings reports as the last heartbeat read them: by peer name,
    the report's JSON or why there is none (sync/heartbeat.py)."""

    read_at: str
    # This member's own content: its IPNS name and the root that points at.
    own_name: str | None
    own_root: str | None
    members: dict[str, dict[str, Any]]


@dataclass
class Checks:
    """The possession checks of the other members as the last one left them, by peer name
    (report/possession.py's MemberCheck as JSON); written by sync/possession.py."""

    # When the last check was made or tried.
    checked_at: str
    # When the next is due, jittered so that members do not all check at once.
    next_at: str
    # The root of this member's own content the blocks were sampled from.
    own_root: str | None
    members: dict[str, dict[str, Any]]
    # Why the last try made no check (this node failed, not a member).
    error: str | None = None


@dataclass
class KeptRecord:
    """A peer's signed IPNS record as this member keeps it, to put it back on the DHT
    when its publisher is gone (sync/keepalive.py). Times are ISO."""

    # The record's bytes, base64.
    record: str
    # What name/inspect read in it: the path it points to, its sequence, until when valid.
    value: str
    sequence: int
    expires: str
    kept_at: str
    # The highest sequence of any valid record seen for the peer: no lower one is put.
    highest_sequence: int
    # The last successful put (None: none yet), the next due (None: keep-alive is off).
    put_at: str | None = None
    next_put_at: str | None = None
    # Why the last put or keep failed (None: it did not).
    error: str | None = None
    # The IPNS name the record is of (None: not noted): a peer given another name starts over.
    ipns: str | None = None

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.record, validate=True)

    def of(self, ipns: str) -> bool:
        """Whether this is (as far as noted) the record of the IPNS name ``ipns``."""
        return self.ipns in (None, ipns)


@dataclass
class KeptRecords:
    """Every peer's kept IPNS record, by peer name (records.json)."""

    peers: dict[str, KeptRecord]

    @classmethod
    def from_json(cls, data: Any) -> "KeptRecords":
        peers = {name: KeptRecord(**entry) for name, entry in data["peers"].items()}
        for entry in peers.values():
            # Raises ValueError for what is not base64: such a file is as none.
            base64.b64decode(entry.record, validate=True)
        return cls(peers)


@dataclass
class Allocation:
    """Where the member's cluster held its pins at the last full check, by node name
    (report/cluster.py's figures as JSON); written by sync/run.py."""

    at: str
    nodes: dict[str, dict[str, Any]]


@contextmanager
def replace_atomically(path: Path, mode: int = 0o600) -> Iterator[IO[str]]:
    """Write a file so that readers see the old one or the new one, never half of one;
    its directory is made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, data: object) -> None:
    with replace_atomically(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


@dataclass
class Snapshot:
    """What the state directory holds for a config, read at once: a run keeps it up to
    date as it writes, so the figures it reports need no second reading."""

    records: dict[str, PeerState]
    book: ReleaseBook
    verified: Verified | None
    reach: Reach | None
    published: Published | None = None
    seen: ReportsSeen | None = None
    checks: Checks | None = None
    cluster: Allocation | None = None
    kept: KeptRecords | None = None


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def snapshot(self, config: Config) -> Snapshot:
        self.readable()
        return Snapshot(
            {p.name: self.load(p.name, p.ipns) for p in config.peers},
            self.load_releases(),
            self.load_verified(),
            self.load_reach(),
            self.load_published(),
            self.load_seen(),
            self.load_checks(),
            self.load_cluster(),
            self.load_kept(),
        )

    def lock(self) -> SyncLock:
        """One sync (or forget) at a time on this directory."""
        return SyncLock(self.path / "sync.lock")

    def _check(self, access: int, what: str) -> None:
        """Say what is wrong with the directory itself: otherwise a file at its path, or a
        directory this user cannot read, is reported as each file in it being unreadable,
        with advice (move that file aside) that is wrong and risky there."""
        use = "point state_dir (or --state-dir) at a directory this user can use"
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return  # nothing kept yet: it is made by the first run that writes
        except NotADirectoryError:
            raise StateError(
                f"state directory {self.path} cannot exist: a path above it is a file; {use}"
            ) from None
        except OSError as exc:
            raise StateError(
                f"state directory {self.path} cannot be reached ({exc.strerror}); {use}"
            ) from None
        if not stat.S_ISDIR(mode):
            raise StateError(f"state directory {self.path} is a file, not a directory; {use}")
        if not os.access(self.path, access):
            raise StateError(
                f"state directory {self.path} is not {what} by this user; run the command "
                "as the user the sync runs as, or fix the directory's owner"
            )

    def readable(self) -> None:
        """StateError unless the directory is one this user can read, or is not there yet."""
        self._check(os.R_OK | os.X_OK, "readable")

    def ensure(self) -> None:
        self._check(os.R_OK | os.W_OK | os.X_OK, "readable and writable")
        try:
            (self.path / _PEERS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"state directory {self.path} cannot be created ({exc})") from None

    def _peer_file(self, name: str) -> Path:
        # Peer names are restricted to filename-safe characters by the config loader.
        return self.path / _PEERS / f"{name}.json"

    def load(self, name: str, ipns: str) -> PeerState:
        """A peer's record; a new one when there is none, or it is of another IPNS name."""
        file = self._peer_file(name)
        try:
            state = PeerState.from_json(json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return PeerState(peer=name, ipns=ipns)
        except (OSError, ValueError, TypeError) as exc:
            raise StateError(
                f"{file}: unreadable state ({exc}); move it aside to start over"
            ) from None
        if state.ipns != ipns:
            # The operator pointed this peer at another name: nothing known still holds.
            return PeerState(peer=name, ipns=ipns)
        return state

    def load_wanted(self, state: PeerState) -> Wanted:
        """What the peer wanted when its record was written (empty: nothing known)."""
        if state.wanted_file is None:
            return self._legacy_wanted(state)
        file = self.path / _PEERS / state.wanted_file
        wanted: Wanted = {}
        try:
            with file.open(encoding="ascii") as lines:
                for line in lines:
                    key, _, size = line.partition(" ")
                    wanted[int(key, 16)] = int(size)
        except FileNotFoundError:
            # Lost with nothing else: the peer is read again, and its pins stay meanwhile
            # (a pin naming a peer that failed is never released).
            return {}
        except (OSError, ValueError) as exc:
            raise StateError(f"{file}: unreadable ({exc}); move it aside to start over") from None
        return wanted

    def _legacy_wanted(self, state: PeerState) -> Wanted:
        """The list a record held itself, from before lists had files of their own."""
        file = self._peer_file(state.peer)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            if data.get("ipns") != state.ipns:
                return {}
            sizes = data.get("sizes") or {}
            return {key_of_canonical(cid): int(sizes.get(cid, 0)) for cid in data.get("wanted", [])}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise StateError(f"{file}: unreadable state ({exc}); move it aside") from None

    def save(self, state: PeerState, wanted: Mapping[CidKey, int] | None = None) -> None:
        """Write a peer's record, and its wanted list when given (it changed)."""
        old = state.wanted_file
        try:
            if wanted is not None:
                serial = int(old.split(".")[-2]) + 1 if old else 1
                state.wanted_file = f"{state.peer}.{serial}.cids"
                state.wanted_count = len(wanted)
                with replace_atomically(self.path / _PEERS / state.wanted_file) as handle:
                    handle.writelines(f"{key:x} {size}\n" for key, size in wanted.items())
            _write_json(self._peer_file(state.peer), asdict(state))
            if old and old != state.wanted_file:
                (self.path / _PEERS / old).unlink(missing_ok=True)
        except OSError as exc:
            raise StateError(f"state for peer {state.peer} cannot be written ({exc})") from None

    def forget(self, name: str) -> None:
        record = self._peer_file(name)
        try:
            if record.exists():
                wanted_file = PeerState.from_json(json.loads(record.read_text())).wanted_file
                if wanted_file:
                    (self.path / _PEERS / wanted_file).unlink(missing_ok=True)
            record.unlink(missing_ok=True)
        except (OSError, ValueError, TypeError) as exc:
            raise StateError(f"state for peer {name} cannot be removed ({exc})") from None

    def load_releases(self) -> ReleaseBook:
        file = self.path / _RELEASES
        try:
            return ReleaseBook.from_json(json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return ReleaseBook()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StateError(
                f"{file}: unreadable ({exc}); move it aside to start every grace period again"
            ) from None

    def save_releases(self, book: ReleaseBook) -> None:
        try:
            _write_json(self.path / _RELEASES, book.to_json())
        except OSError as exc:
            raise StateError(f"{self.path / _RELEASES} cannot be written ({exc})") from None

    def load_verified(self) -> Verified | None:
        file = self.path / _VERIFIED
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return Verified(datetime.fromisoformat(data["at"]), data["config"], data["node"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StateError(f"{file}: unreadable ({exc}); remove it to verify every pin") from None

    def save_verified(self, verified: Verified) -> None:
        data = {**asdict(verified), "at": verified.at.isoformat(timespec="seconds")}
        try:
            _write_json(self.path / _VERIFIED, data)
        except OSError as exc:
            raise StateError(f"{self.path / _VERIFIED} cannot be written ({exc})") from None

    def load_reach(self) -> Reach | None:
        """Which members Kubo was connected to at the last run (None: not known)."""
        file = self.path / _REACH
        try:
            return Reach.from_json(json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StateError(f"{file}: unreadable ({exc}); remove it, a sync writes it") from None

    def save_reach(self, reach: Reach) -> None:
        try:
            _write_json(self.path / _REACH, reach.to_json())
        except OSError as exc:
            raise StateError(f"{self.path / _REACH} cannot be written ({exc})") from None

    def load_last_success(self) -> float:
        """When a run last reached Kubo throughout, as a Unix time (0: never, or the file
        is unreadable: the next success mends it)."""
        try:
            data = json.loads((self.path / LAST_SUCCESS_FILE).read_text(encoding="utf-8"))
            return datetime.fromisoformat(data["at"]).timestamp()
        except (OSError, ValueError, TypeError, KeyError):
            return 0.0

    def save_last_success(self, at: float) -> None:
        try:
            moment = datetime.fromtimestamp(at, UTC).isoformat()
            _write_json(self.path / LAST_SUCCESS_FILE, {"at": moment})
        except OSError as exc:
            raise StateError(f"{self.path / LAST_SUCCESS_FILE} cannot be written ({exc})") from None

    def _load_advice(self, name: str, kind: type[T]) -> T | None:
        """A file that only reports, never protects a pin: unreadable or of another shape
        is as missing, and the next heartbeat writes it again."""
        try:
            return kind(**json.loads((self.path / name).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, name: str, data: object) -> None:
        try:
            _write_json(self.path / name, data)
        except OSError as exc:
            raise StateError(f"{self.path / name} cannot be written ({exc})") from None

    def load_published(self) -> Published | None:
        return self._load_advice(_REPORT, Published)

    def save_published(self, published: Published) -> None:
        self._save(_REPORT, asdict(published))

    def load_seen(self) -> ReportsSeen | None:
        return self._load_advice(_REPORTS, ReportsSeen)

    def save_seen(self, seen: ReportsSeen) -> None:
        self._save(_REPORTS, asdict(seen))

    def load_checks(self) -> Checks | None:
        return self._load_advice(_CHECKS, Checks)

    def save_checks(self, checks: Checks) -> None:
        self._save(_CHECKS, asdict(checks))

    def load_cluster(self) -> Allocation | None:
        return self._load_advice(_CLUSTER, Allocation)

    def save_cluster(self, allocation: Allocation) -> None:
        self._save(_CLUSTER, asdict(allocation))

    def load_kept(self) -> KeptRecords | None:
        """The kept records; advice like checks.json: unreadable is as none, which a
        sync's next get replaces while the peers' names still resolve."""
        try:
            return KeptRecords.from_json(
                json.loads((self.path / _RECORDS).read_text(encoding="utf-8"))
            )
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def save_kept(self, kept: KeptRecords) -> None:
        self._save(_RECORDS, asdict(kept))

    def save_own_blocks(self, root: str, blocks: Iterable[str]) -> None:
        """The blocks of this member's own content under ``root``, one CID a line."""
        path = self.path / _BLOCKS
        try:
            with replace_atomically(path) as handle:
                handle.write(f"{root}\n")
                handle.writelines(f"{block}\n" for block in blocks)
        except OSError as exc:
            raise StateError(f"{path} cannot be written ({exc})") from None

    def own_blocks(self, root: str) -> Iterator[str] | None:
        """The blocks saved for ``root``; None when none are, or those of another root."""
        try:
            handle = (self.path / _BLOCKS).open(encoding="utf-8")
        except OSError:
            return None
        if handle.readline().strip() != root:
            handle.close()
            return None
        return _lines(handle)


def _lines(handle: IO[str]) -> Iterator[str]:
    with handle:
        yield from (line.strip() for line in handle)
