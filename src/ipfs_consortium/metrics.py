"""A Prometheus text-format file for node_exporter's textfile collector.

Written after every sync (atomically: the collector must never read half a file), with
the figures ``ipfs-consortium status`` shows, so an alert can fire on a peer that has
been failing for a day or a Kubo that the sync could not reach. The per-peer state and
quota gauges cover the config's peers only, so an alert on a peer removed from it clears;
a removed peer whose pins wait for their release keeps ``peer_configured`` 0 and its
``peer_pins_awaiting_release`` until they are gone.
"""

import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Config
from .report import SyncReport
from .state import write_json_atomic
from .status import Figures, figures

# When a sync last ran to its end with Kubo reachable, kept across the runs that do not.
LAST_SUCCESS_FILE = "last_success.json"

Gauge = tuple[str, str, Callable[[dict[str, Any]], float | None]]

# Of each peer in the config.
_CONFIGURED: list[Gauge] = [
    ("ok", "Whether the last sync of the peer succeeded (1) or not (0).",
     lambda s: int(s["ok"])),
    ("last_success_timestamp_seconds", "When the peer was last synced in full (0: never).",
     lambda s: _epoch(s["last_success"])),
    ("failing_since_timestamp_seconds", "Since when the peer has been failing (0: it is not).",
     lambda s: _epoch(s["failing_since"])),
    ("root_first_seen_timestamp_seconds",
     "When the root the peer is followed at was first seen; no sample when not known.",
     lambda s: _epoch(s["root_first_seen"]) if s["root_first_seen"] else None),
    ("newer_root_seen_timestamp_seconds",
     "Since when the peer's name has resolved to a root not read in full yet (0: it does not).",
     lambda s: _epoch(s["seen_root_since"]) if s["root_behind"] else 0),
    ("connected", "Whether Kubo was connected to the peer's node at the last sync (1) or not "
     "(0); no sample when its node is not known or is this one.",
     lambda s: None if s["connected"] is None else int(s["connected"])),
    ("pins_held", "Pins held for the peer, its manifest directory included.",
     lambda s: s["pins_held"]),
    ("bytes_held", "Bytes fetched for the pins held for the peer.", lambda s: s["bytes_held"]),
    ("max_pins", "The peer's quota of pins listed (max_pins).", lambda s: s["max_pins"]),
    ("max_bytes", "The peer's byte quota (max_bytes); no sample when it has none.",
     lambda s: s["max_bytes"]),
]  # fmt: skip
# Of each peer in the config, and each removed from it whose pins wait for release.
_ANY: list[Gauge] = [
    ("configured", "Whether the peer is in the config (1), or removed with pins waiting (0).",
     lambda s: int(s["configured"])),
    ("pins_awaiting_release", "Pins naming the peer that wait for their release.",
     lambda s: s["pins_awaiting_release"]),
]  # fmt: skip


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0


def _number(value: float) -> str:
    """A whole number without a fraction, any other exactly: ``g`` would round a
    timestamp to six digits, an hour or more."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(found: Figures, report: SyncReport, now: float, last_success: float) -> str:
    lines: list[str] = []

    def metric(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP ipfs_consortium_{name} {help_text}")
        lines.append(f"# TYPE ipfs_consortium_{name} gauge")
        lines.extend(
            f"ipfs_consortium_{name}{labels} {_number(value)}" for labels, value in samples
        )

    configured = [s for s in found.peers if s["configured"]]
    for peers, gauges in ((configured, _CONFIGURED), (found.peers, _ANY)):
        for name, help_text, value in gauges:
            samples = [
                (f'{{peer="{_label(s["peer"])}"}}', float(v))
                for s in peers
                if (v := value(s)) is not None
            ]
            metric(f"peer_{name}", help_text, samples)
    releases = found.releases
    metric(
        "pins_awaiting_release",
        "Pins no peer lists any more, kept until their grace period (release_after) ends.",
        [("", releases["waiting"])],
    )
    metric(
        "next_release_timestamp_seconds",
        "When the next waiting pin is due for release (0: none waits).",
        [("", _epoch(releases["next_due"]))],
    )
    metric(
        "release_held",
        "Whether the mass-release brake held the last sync's releases (1) or not (0).",
        [("", int(releases["held"] is not None))],
    )
    metric(
        "last_full_check_timestamp_seconds",
        "When a sync last compared every pin in Kubo with the peers' lists (0: never).",
        [("", _epoch(found.last_full_check))],
    )
    reach = found.reach
    if reach is not None:
        metric(
            "members",
            "Peers of the config whose Kubo node is known (by peer ID), not counting this one.",
            [("", len(reach.members))],
        )
        metric(
            "members_connected",
            "Of those, the members Kubo was connected to at the last sync.",
            [("", len(reach.connected))],
        )
        metric(
            "isolated_since_timestamp_seconds",
            "Since when Kubo has been connected to none of the members (0: it is not).",
            [("", _epoch(reach.isolated_since) if reach.isolated else 0)],
        )
    metric(
        "kubo_up", "Whether the last sync could reach Kubo.", [("", 0 if report.kubo_error else 1)]
    )
    metric("last_run_timestamp_seconds", "When the last sync ended.", [("", now)])
    metric(
        "last_success_timestamp_seconds",
        "When a sync last ran to its end with Kubo reachable, whatever its peers did (0: never).",
        [("", last_success)],
    )
    metric("last_run_duration_seconds", "How long the last sync took.", [("", report.seconds)])
    metric("last_run_exit_code", "The last sync's exit code.", [("", report.exit_code)])
    metric("last_run_rpc_calls", "RPC calls the last sync made.", [("", report.rpc_calls)])
    return "\n".join(lines) + "\n"


def _last_success(state_dir: Path, report: SyncReport, now: float) -> float:
    """``now`` if this run reached Kubo throughout, else the last success the state
    directory remembers (0: none, or the file is unreadable: the next success mends it)."""
    file = state_dir / LAST_SUCCESS_FILE
    if report.kubo_error is None:
        write_json_atomic(file, {"at": datetime.fromtimestamp(now, UTC).isoformat()})
        return now
    try:
        return _epoch(json.loads(file.read_text(encoding="utf-8"))["at"])
    except (OSError, ValueError, TypeError, KeyError):
        return 0.0


def write_metrics(config: Config, state_dir: Path, report: SyncReport) -> None:
    """Write the config's metrics_file, if it has one; OSError and StateError propagate
    (the caller logs them)."""
    path = config.metrics_file
    if path is None:
        return
    now = time.time()
    text = render_metrics(
        figures(config, state_dir), report, now, _last_success(state_dir, report, now)
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
