"""A Prometheus text-format file for node_exporter's textfile collector.

Written after every sync (atomically: the collector must never read half a file), with
the figures ``ipfs-consortium status`` shows, so an alert can fire on a peer that has
been failing for a day or a Kubo that the sync could not reach.
"""

import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .report import SyncReport
from .state import StateDir
from .status import last_full_check, peer_status, release_status

_PEER_METRICS: list[tuple[str, str, Callable[[dict[str, Any]], float]]] = [
    ("ok", "Whether the last sync of the peer succeeded (1) or not (0).",
     lambda s: int(s["ok"])),
    ("last_success_timestamp_seconds", "When the peer was last synced in full (0: never).",
     lambda s: _epoch(s["last_success"])),
    ("failing_since_timestamp_seconds", "Since when the peer has been failing (0: it is not).",
     lambda s: _epoch(s["failing_since"])),
    ("pins_held", "Pins held for the peer.", lambda s: s["pins_held"]),
    ("bytes_held", "Bytes fetched for the pins held for the peer.", lambda s: s["bytes_held"]),
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


def render_metrics(
    states: list[dict[str, Any]],
    releases: dict[str, Any],
    last_full_check: str | None,
    report: SyncReport,
) -> str:
    lines: list[str] = []

    def metric(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP ipfs_consortium_{name} {help_text}")
        lines.append(f"# TYPE ipfs_consortium_{name} gauge")
        lines.extend(
            f"ipfs_consortium_{name}{labels} {_number(value)}" for labels, value in samples
        )

    for name, help_text, value in _PEER_METRICS:
        samples = [(f'{{peer="{_label(s["peer"])}"}}', float(value(s))) for s in states]
        metric(f"peer_{name}", help_text, samples)
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
        [("", _epoch(last_full_check))],
    )
    metric(
        "kubo_up", "Whether the last sync could reach Kubo.", [("", 0 if report.kubo_error else 1)]
    )
    metric("last_run_timestamp_seconds", "When the last sync ended.", [("", time.time())])
    metric("last_run_duration_seconds", "How long the last sync took.", [("", report.seconds)])
    metric("last_run_exit_code", "The last sync's exit code.", [("", report.exit_code)])
    metric("last_run_rpc_calls", "RPC calls the last sync made.", [("", report.rpc_calls)])
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, state_dir: Path, report: SyncReport) -> None:
    """Write the file; OSError propagates (the caller logs it)."""
    store = StateDir(state_dir)
    states = [peer_status(s) for s in store.all()]
    text = render_metrics(
        states, release_status(store.load_releases()), last_full_check(store), report
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
