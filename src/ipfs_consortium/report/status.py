"""``ipfs-consortium status``: the member's figures (figures.py) as lines for a person, or
as JSON."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..state.store import Checks, StateDir
from ..sync.reach import Reach
from .cluster import render_allocation
from .copies import stored_view
from .figures import Figures, PeerFigures, ReleaseFigures, figures
from .possession import FAILED, member_checks


def _load(config: Config, state_dir: Path) -> Figures:
    return figures(config, StateDir(state_dir).snapshot(config))


def status_json(config: Config, state_dir: Path) -> dict[str, Any]:
    found = _load(config, state_dir)
    copies = stored_view(config, found.seen, found.configured, datetime.now(UTC), found.checks)
    return (
        {"state_dir": str(state_dir)}
        | found.to_json()
        | {"copies": None if copies is None else copies.to_json()}
    )


def span(seconds: int) -> str:
    """A duration as a person reads it: its largest unit only (``12h``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _age(stamp: str | None, now: datetime) -> str:
    if stamp is None:
        return "never"
    return f"{span(int((now - datetime.fromisoformat(stamp)).total_seconds()))} ago"


def _until(stamp: str, now: datetime) -> str:
    return span(int((datetime.fromisoformat(stamp) - now).total_seconds()))


def _line(peer: PeerFigures, now: datetime) -> str:
    name = peer.peer
    if peer.last_attempt is None:
        return f"{name}: never synced"
    if peer.confirmed:
        head = f"last success {_age(peer.last_success, now)}"
    elif peer.last_success:
        head = f"NOT CONFIRMED since {peer.last_success} ({_age(peer.last_success, now)})"
    else:
        head = "never confirmed"
    if peer.connected is False:
        head += ", not connected"
    text = (
        f"{name}: {head}, {peer.pins_held} pins, {peer.bytes_held} bytes held; "
        f"{_freshness(peer, now)}"
    )
    if peer.last_error:
        text += f"; FAILING since {_age(peer.failing_since, now)}: {peer.last_error}"
    return text


def _record_line(config: Config, peer: PeerFigures, now: datetime) -> str:
    """The peer's IPNS record as kept, put back, and fallen back on (sync/keepalive.py)."""
    record = peer.record
    if record is None:
        return "record: not kept"
    expires = datetime.fromisoformat(record.expires)
    if expires <= now:
        return f"record: sequence {record.sequence}, EXPIRED at {expires:%Y-%m-%d %H:%M} UTC"
    text = (
        f"record: sequence {record.sequence}, valid until {expires.date()} "
        f"({_until(record.expires, now)}), "
    )
    if config.record_put_interval is None:
        text += "not put back (record_put_interval is null)"
    elif record.put_at is None:
        text += "not put back yet"
    else:
        text += f"put back {_age(record.put_at, now)}"
    if record.error:
        text += f"; LAST PUT FAILED: {record.error}"
    if peer.last_attempt is not None and not peer.resolved:
        text += "; name not resolved; keeping what its kept record lists"
    return text


def _freshness(peer: PeerFigures, now: datetime) -> str:
    """The root followed and how old it is, and a newer one the peer's name resolves to."""
    if peer.root is None:
        text = "no root read in full yet"
    else:
        first_seen = peer.root_first_seen
        when = _age(first_seen, now) if first_seen else "at an unknown time"
        text = f"root {peer.root} first seen {when}"
    if peer.root_behind:
        text += (
            f"; newer root {peer.seen_root} seen {_age(peer.seen_root_since, now)}, "
            "not yet followed"
        )
    return text


def _release_lines(releases: ReleaseFigures, now: datetime) -> list[str]:
    lines = []
    if releases.waiting and releases.next_due:
        due = releases.next_due
        peers = ", ".join(f"{peer} {n}" for peer, n in releases.waiting_by_peer.items())
        lines.append(
            f"{releases.waiting} pins no peer lists wait for release (named for {peers}); "
            f"the next is due in {_until(due, now)}, at {due}"
        )
    if releases.held:
        lines.append(f"RELEASE HELD: {releases.held}")
    return lines


def _reach_line(reach: Reach, now: datetime) -> str:
    text = f"Kubo was {reach} at the last sync, {_age(reach.at, now)}"
    missing = [name for name in reach.members if name not in reach.connected]
    if missing:
        text += f" (not connected: {', '.join(missing)})"
    if reach.isolated:
        text = (
            f"ISOLATED since {reach.isolated_since}: {text}; no peer's root is confirmed "
            "until it connects again"
        )
    return text


def render_status(config: Config, state_dir: Path) -> str:
    found = _load(config, state_dir)
    now = datetime.now(UTC)
    lines = [
        f"{_line(peer, now)}\n  {_record_line(config, peer, now)}"
        if isinstance(peer, PeerFigures)
        else (
            f"{peer.peer}: removed from config; {peer.pins_awaiting_release} pins wait for "
            f"release, the next due in {_until(peer.next_release, now)}"
        )
        for peer in found.peers
    ] or [f"No peers in {config.source}, and none removed from it whose pins wait."]
    if found.reach is not None:
        lines.append(_reach_line(found.reach, now))
    lines.append(f"last full check of every pin: {_age(found.last_full_check, now)}")
    if found.cluster is not None:
        lines += render_allocation(found.cluster)
    lines += _report_lines(config, found, now)
    return "\n".join(lines + _release_lines(found.releases, now))


def _report_lines(config: Config, found: Figures, now: datetime) -> list[str]:
    published = found.published
    if config.report_key is None:
        lines = ["holdings report: not published (report_key is null)"]
    elif published is None:
        lines = ["holdings report: not published yet (the next sync publishes it)"]
    else:
        lines = [
            f"holdings report: published {_age(published.published_at, now)}"
            + (f" as /ipns/{published.name}" if published.name else "")
        ]
        if published.error:
            lines.append(
                f"HOLDINGS REPORT NOT PUBLISHED {_age(published.tried_at, now)}: {published.error}"
            )
    copies = stored_view(config, found.seen, found.configured, now, found.checks)
    if copies is not None and found.seen is not None:
        lines.append(f"{copies.headline()}, by the reports read {_age(found.seen.read_at, now)}")
    return lines + _check_lines(config, found.checks, now)


def _check_lines(config: Config, checks: Checks | None, now: datetime) -> list[str]:
    if config.check_interval is None:
        return ["possession checks: off (check_interval is null)"]
    if checks is None:
        return ["possession checks: none yet (the next sync makes the first)"]
    if checks.error:
        return [f"POSSESSION CHECKS NOT MADE {_age(checks.checked_at, now)}: {checks.error}"]
    found = member_checks(checks)
    by_result: dict[str, list[str]] = {}
    for member, check in found.items():
        by_result.setdefault(check.result, []).append(member)
    counts = ", ".join(
        f"{len(names)} {result.replace('_', ' ')}" for result, names in by_result.items()
    )
    lines = [
        f"possession checks: last {_age(checks.checked_at, now)} ({counts or 'no members'}), "
        f"next in {_until(checks.next_at, now)}"
    ]
    lines += [
        f"POSSESSION CHECK FAILED: {member} ({found[member].summary()})"
        for member in by_result.get(FAILED, [])
    ]
    return lines
