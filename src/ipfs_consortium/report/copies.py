"""The consortium view: how many full copies of each member's content the members hold.

For this member's own content, and for each peer's, every other member is one holder,
judged by its holdings report (holdings.py): ``full`` (it follows the content's current
root and holds every CID that root lists), ``partial`` (same root, some missing, and
why), ``other_root`` (it follows another root), ``not_following``, or, not counted,
``stale`` (its report is older than report_stale_after), ``no_report`` (its report's name
is not known) and ``refused`` (its report could not be read or was refused). A holder
whose report claims a full copy of this member's content but whose last possession check
(possession.py) found blocks missing or wrong is ``failed_check``, not counted. For a
peer's content this member is a holder too, judged from its own records. The full copies of this
member's content are the headline; below ``min_copies`` the ``copies`` command fails.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..errors import ReportError
from ..state.store import Checks, ReportsSeen
from .figures import PeerFigures
from .holdings import Holding, Holdings, holding, holdings_of
from .possession import FAILED, NOT_CHECKED, MemberCheck, member_checks

THIS_MEMBER = "(this member)"
# Why a peer has no report when its report's IPNS name is not known (config.json ``report``).
NO_REPORT = "no report name known"


@dataclass(frozen=True)
class MemberReport:
    """A peer's report as read, or why there is none."""

    peer: str
    report: Holdings | None
    problem: str | None


@dataclass(frozen=True)
class Holder:
    member: str
    state: str
    listed: int = 0
    held: int = 0
    missing: int = 0
    missing_why: dict[str, int] = field(default_factory=dict)
    report_made: str | None = None
    detail: str = ""
    # The last possession check of this member's own content at the holder.
    check: MemberCheck | None = None
    # The Kubo peer IDs of the holder's nodes, when its report names several (a member
    # of an IPFS Cluster): a block is held when one of them serves it.
    nodes: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return self.state == "full"

    def to_json(self) -> dict[str, Any]:
        check = None if self.check is None else self.check.to_json()
        return {f: v for f, v in asdict(self).items() if f != "check"} | {"check": check}


@dataclass(frozen=True)
class Content:
    """One member's content and who holds it."""

    member: str
    ipns: str | None
    root: str | None
    holders: list[Holder]

    @property
    def full_copies(self) -> int:
        return sum(holder.full for holder in self.holders)

    def to_json(self) -> dict[str, Any]:
        holders = [holder.to_json() for holder in self.holders]
        head = {"member": self.member, "ipns": self.ipns, "root": self.root}
        return head | {"full_copies": self.full_copies, "holders": holders}


@dataclass(frozen=True)
class View:
    made: str
    min_copies: int
    own: Content
    peers: list[Content]

    @property
    def too_few(self) -> bool:
        return self.own.full_copies < self.min_copies

    def to_json(self) -> dict[str, Any]:
        return {
            "made": self.made,
            "min_copies": self.min_copies,
            "own": self.own.to_json(),
            "peers": [content.to_json() for content in self.peers],
        }

    def headline(self) -> str:
        own = self.own
        text = (
            f"this member's content (root {own.root or 'not published'}): "
            f"{_full_copies(own.full_copies)} elsewhere"
        )
        if self.min_copies:
            text += f" (min_copies {self.min_copies})"
        return f"TOO FEW COPIES: {text}" if self.too_few else text

    def render(self) -> str:
        lines = [self.headline()]
        lines += [_holder_line(holder, self.made) for holder in self.own.holders]
        for content in self.peers:
            lines.append(
                f"{content.member}'s content (root {content.root or 'not known'}): "
                f"{_full_copies(content.full_copies)}"
            )
            lines += [_holder_line(holder, self.made) for holder in content.holders]
        return "\n".join(lines)


def stored_report(peer: str, entry: dict[str, Any], config: Config) -> MemberReport:
    """A report as a heartbeat kept it (state/store.py's ReportsSeen), checked again."""
    data, problem = entry.get("report"), entry.get("problem")
    if data is None:
        return MemberReport(peer, None, str(problem or NO_REPORT))
    member = next((p for p in config.peers if p.name == peer), None)
    peer_id = member.peer_id if member else None
    try:
        report = holdings_of(data, f"peer {peer}: report", peer_id, config.consortium)
    except ReportError as exc:
        return MemberReport(peer, None, str(exc))
    return MemberReport(peer, report, None)


def stored_view(
    config: Config,
    seen: ReportsSeen | None,
    mine: list[PeerFigures],
    now: datetime,
    checks: Checks | None,
) -> View | None:
    """The view from the reports the last heartbeat kept (None: none was read yet) and the
    last possession checks."""
    if seen is None:
        return None
    reports = [stored_report(peer, entry, config) for peer, entry in seen.members.items()]
    return view(config, (seen.own_name, seen.own_root), mine, reports, now, member_checks(checks))


def view(
    config: Config,
    own: tuple[str | None, str | None],
    mine: list[PeerFigures],
    reports: list[MemberReport],
    now: datetime,
    checks: Mapping[str, MemberCheck] | None = None,
) -> View:
    """The view from this member: its own content's ``own`` (IPNS name, root), what it
    holds of each peer (``mine``), each peer's report, and the possession checks of this
    member's content at each peer (``checks``)."""
    checks = checks or {}
    by_peer = {r.peer: r for r in reports}
    stale_before = now - timedelta(seconds=config.report_stale_after)
    made = now.isoformat(timespec="seconds")
    name, root = own
    own_content = Content(
        THIS_MEMBER,
        name,
        root,
        [
            _checked(_judge(p.name, by_peer.get(p.name), name, root, stale_before), checks)
            for p in config.peers
        ],
    )
    peers = []
    for figures in mine:
        root_now = figures.seen_root or figures.root
        holders = [_holder(THIS_MEMBER, holding(figures), root_now, made)]
        holders += [
            _judge(p.name, by_peer.get(p.name), figures.ipns, root_now, stale_before)
            for p in config.peers
            if p.name != figures.peer
        ]
        peers.append(Content(figures.peer, figures.ipns, root_now, holders))
    return View(made, config.min_copies, own_content, peers)


def _judge(
    member: str,
    read: MemberReport | None,
    ipns: str | None,
    root: str | None,
    stale_before: datetime,
) -> Holder:
    if read is None or read.report is None:
        problem = read.problem if read and read.problem else NO_REPORT
        return Holder(member, "no_report" if problem == NO_REPORT else "refused", detail=problem)
    report = read.report
    if datetime.fromisoformat(report.made) < stale_before:
        return Holder(member, "stale", report_made=report.made, detail="report is stale")
    entry = report.of(ipns) if ipns else None
    if entry is None:
        return Holder(member, "not_following", report_made=report.made)
    nodes = tuple(n.peer_id for n in report.nodes or () if n.peer_id is not None)
    return replace(_holder(member, entry, root, report.made), nodes=nodes)


def _checked(holder: Holder, checks: Mapping[str, MemberCheck]) -> Holder:
    """``holder`` with its last possession check: a full copy that failed it is none."""
    check = checks.get(holder.member)
    if check is None:
        return holder
    failed = holder.full and check.result == FAILED
    return replace(holder, state="failed_check" if failed else holder.state, check=check)


def _holder(member: str, entry: Holding, root: str | None, made: str) -> Holder:
    if root is not None and entry.root != root:
        state = "other_root"
    elif entry.missing or not entry.listed:
        state = "partial"
    else:
        state = "full"
    detail = f"follows root {entry.root}" if state == "other_root" else ""
    return Holder(
        member, state, entry.listed, entry.held, entry.missing, entry.missing_why, made, detail
    )


def _full_copies(count: int) -> str:
    return f"{count} full {'copy' if count == 1 else 'copies'}"


def _holder_line(holder: Holder, now: str) -> str:
    text = f"  {holder.member}: {holder.state.replace('_', ' ')}"
    if holder.state in ("full", "partial", "other_root", "failed_check"):
        text += f" ({holder.held} of {holder.listed} CIDs"
        if holder.missing:
            why = ", ".join(f"{n} {k}" for k, n in holder.missing_why.items() if n)
            text += f"; {holder.missing} missing: {why}" if why else f"; {holder.missing} missing"
        check = holder.check
        if check is not None and check.result != NOT_CHECKED and check.checked_at:
            text += f"; blocks checked {_minutes(check.checked_at, now)} ago: {check.summary()}"
        text += ")"
    if holder.detail:
        text += f": {holder.detail}"
    if holder.report_made and holder.member != THIS_MEMBER:
        text += f", report {_minutes(holder.report_made, now)} old"
    return text


def _minutes(stamp: str, now: str) -> str:
    age = datetime.fromisoformat(now) - datetime.fromisoformat(stamp)
    return f"{int(age.total_seconds()) // 60}m"
