"""Status and metrics show the config's peers (and removed ones whose pins still wait);
the alerting rules and the dashboard use only metrics the tool writes.

The state directory is written through StateDir and ReleaseBook, and the real status
command and metrics writer read it; no Kubo is needed for that.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipfs_consortium.config import load_config
from ipfs_consortium.policy.release import ReleaseBook, Waiting
from ipfs_consortium.report.holdings import Holding, Holdings
from ipfs_consortium.report.metrics import write_metrics
from ipfs_consortium.report.possession import MemberCheck
from ipfs_consortium.report.run_report import SyncReport
from ipfs_consortium.state.store import (
    LAST_SUCCESS_FILE,
    Checks,
    KeptRecord,
    KeptRecords,
    PeerState,
    ReportsSeen,
    StateDir,
    Verified,
)
from ipfs_consortium.sync.reach import Reach
from tests.conftest import run_cli
from tests.test_config import KEY, PEER, SEED_PEER
from tests.test_release import cid

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "files" / "prometheus" / "ipfs-consortium.rules.yml"
DASHBOARD = ROOT / "files" / "grafana" / "ipfs-consortium.json"
# Where each is documented: the metrics in the sync tool's page, the alerts beside the rules.
METRICS_DOC = ROOT / "src" / "ipfs_consortium" / "README.md"
ALERTS_DOC = RULES.parent / "README.md"
ALERTS = {
    "IpfsConsortiumPeerFailing",
    "IpfsConsortiumIsolated",
    "IpfsConsortiumKuboDown",
    "IpfsConsortiumNoSuccessfulSync",
    "IpfsConsortiumQuotaReached",
    "IpfsConsortiumReleaseHeld",
    "IpfsConsortiumRootNotFollowed",
    "IpfsConsortiumPeerRecordExpiring",
    "IpfsConsortiumUnderReplicated",
    "IpfsConsortiumMemberReportStale",
    "IpfsConsortiumReportNotPublished",
    "IpfsConsortiumPossessionCheckFailing",
}
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


class Member:
    """A config.json, its state directory and its metrics file, written by hand."""

    def __init__(self, tmp_path: Path) -> None:
        self.config_path = tmp_path / "config.json"
        self.store = StateDir(tmp_path / "state")
        self.metrics_path = tmp_path / "consortium.prom"

    def configure(self, *peers: dict[str, Any]) -> None:
        self.config_path.write_text(
            json.dumps(
                {
                    "peers": list(peers),
                    "state_dir": str(self.store.path),
                    "metrics_file": str(self.metrics_path),
                    "release_after": 3 * 86400,
                }
            )
        )

    def record(self, name: str, ipns: str, failing_days: int = 0, **known: Any) -> None:
        """A peer synced a day ago, failing for ``failing_days`` days since; ``known``:
        more of its record."""
        synced = (NOW - DAY - timedelta(days=failing_days)).isoformat(timespec="seconds")
        failing = (NOW - timedelta(days=failing_days)).isoformat(timespec="seconds")
        self.store.ensure()
        self.store.save(
            PeerState(
                peer=name,
                ipns=ipns,
                last_attempt=synced,
                last_success=synced,
                pins_held=3,
                bytes_held=300,
                **({"last_error": "boom", "failing_since": failing} if failing_days else {}),
                **known,
            )  # fmt: skip
        )

    def waiting(self, *named: tuple[str, ...], held: str | None = None) -> None:
        """One pin waiting per tuple of peer names, unclaimed for a day less an hour: the
        first is due in 2 days and an hour."""
        since = NOW - DAY + timedelta(hours=1)
        book = ReleaseBook(
            {cid(i): Waiting(since, peers) for i, peers in enumerate(named)}, 3 * 86400.0, held
        )
        self.store.ensure()
        self.store.save_releases(book)

    def status(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        run = run_cli(capsys, "status", "--config", str(self.config_path), *args)
        assert run.code == 0, run.err
        return run.out

    def status_json(self, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
        return {p["peer"]: p for p in json.loads(self.status(capsys, "--json"))["peers"]}

    def metrics(self, report: SyncReport | None = None) -> dict[str, float]:
        """The metrics file a sync with ``report`` writes: sample -> value."""
        config = load_config(self.config_path)
        write_metrics(self.metrics_path, config, self.store, report or SyncReport(), None)
        return samples(self.metrics_path.read_text())


def samples(text: str) -> dict[str, float]:
    lines = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return {sample: float(value) for sample, value in lines}


def metric_names(text: str) -> set[str]:
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


@pytest.fixture
def member(tmp_path: Path) -> Member:
    return Member(tmp_path)


def test_a_peer_removed_from_the_config_disappears_from_status_and_metrics(
    member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    member.record("alice", PEER)
    member.record("bob", KEY, failing_days=1060)
    member.configure({"name": "alice", "ipns": PEER})

    text = member.status(capsys)
    metrics = member.metrics()

    assert text.startswith(
        "alice: last success 1d ago, 3 pins, 300 bytes held; no root read in full yet\n"
    )
    assert "bob" not in text and "FAILING" not in text
    assert list(member.status_json(capsys)) == ["alice"]
    assert metrics['ipfs_consortium_peer_ok{peer="alice"}'] == 1
    assert not [sample for sample in metrics if "bob" in sample]


def test_a_removed_peer_with_pins_awaiting_release_is_shown_as_such(
    member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    member.record("alice", PEER)
    member.record("bob", KEY, failing_days=1060)
    member.waiting(("bob",), ("bob",), ("alice", "bob"))
    member.configure({"name": "alice", "ipns": PEER})

    text = member.status(capsys)
    peers = member.status_json(capsys)
    metrics = member.metrics()

    assert "bob: removed from config; 3 pins wait for release, the next due in 2d\n" in text
    assert "3 pins no peer lists wait for release (named for alice 1, bob 3)" in text
    assert "FAILING" not in text
    assert peers["bob"] == {
        "peer": "bob", "configured": False, "pins_awaiting_release": 3,
        "next_release": (NOW + 2 * DAY + timedelta(hours=1)).isoformat(timespec="seconds"),
    }  # fmt: skip
    assert peers["alice"]["configured"] and peers["alice"]["pins_awaiting_release"] == 1
    assert metrics['ipfs_consortium_peer_configured{peer="bob"}'] == 0
    assert metrics['ipfs_consortium_peer_configured{peer="alice"}'] == 1
    assert metrics['ipfs_consortium_peer_pins_awaiting_release{peer="bob"}'] == 3
    assert metrics["ipfs_consortium_pins_awaiting_release"] == 3
    for name in ("ok", "failing_since_timestamp_seconds", "pins_held", "max_pins"):
        assert f'ipfs_consortium_peer_{name}{{peer="bob"}}' not in metrics
        assert f'ipfs_consortium_peer_{name}{{peer="alice"}}' in metrics


def test_a_configured_peer_never_synced_shows_as_never_synced(
    member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    member.record("alice", PEER)
    member.configure(
        {"name": "alice", "ipns": PEER, "max_bytes": None},
        {"name": "carol", "ipns": SEED_PEER, "max_pins": 5, "max_bytes": 1000},
    )

    text = member.status(capsys)
    carol = member.status_json(capsys)["carol"]
    metrics = member.metrics()

    assert "\ncarol: never synced\n" in text
    assert (carol["configured"], carol["ok"], carol["last_attempt"]) == (True, False, None)
    assert metrics['ipfs_consortium_peer_ok{peer="carol"}'] == 0
    assert metrics['ipfs_consortium_peer_last_success_timestamp_seconds{peer="carol"}'] == 0
    assert metrics['ipfs_consortium_peer_max_pins{peer="carol"}'] == 5
    assert metrics['ipfs_consortium_peer_max_bytes{peer="carol"}'] == 1000
    assert metrics['ipfs_consortium_peer_max_pins{peer="alice"}'] == 10_000
    assert 'ipfs_consortium_peer_max_bytes{peer="alice"}' not in metrics, "alice has no quota"


def test_a_peers_root_shows_its_age_and_a_newer_root_not_followed(
    member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    week_ago = (NOW - 7 * DAY).isoformat(timespec="seconds")
    hour_ago = (NOW - timedelta(hours=1)).isoformat(timespec="seconds")
    newer = {"seen_root": "bafynew", "seen_root_since": hour_ago}
    member.record("alice", PEER, root="bafyold", root_first_seen=week_ago, **newer)
    member.record("bob", KEY, failing_days=1, **newer)
    member.configure({"name": "alice", "ipns": PEER}, {"name": "bob", "ipns": KEY})

    text = member.status(capsys)
    metrics = member.metrics()

    assert (
        "alice: last success 1d ago, 3 pins, 300 bytes held; root bafyold first seen 7d ago; "
        "newer root bafynew seen 1h ago, not yet followed\n"
    ) in text
    assert (
        "bob: last success 2d ago, 3 pins, 300 bytes held; no root read in full yet; "
        "newer root bafynew seen 1h ago, not yet followed; FAILING since 1d ago: boom\n"
    ) in text
    first_seen = "ipfs_consortium_peer_root_first_seen_timestamp_seconds"
    newer_seen = "ipfs_consortium_peer_newer_root_seen_timestamp_seconds"
    assert metrics[f'{first_seen}{{peer="alice"}}'] == datetime.fromisoformat(week_ago).timestamp()
    assert f'{first_seen}{{peer="bob"}}' not in metrics, "not known"
    for peer in ("alice", "bob"):
        assert (
            metrics[f'{newer_seen}{{peer="{peer}"}}']
            == datetime.fromisoformat(hour_ago).timestamp()
        )


def test_a_kept_record_shows_its_expiry_its_last_put_and_the_fallback(
    member: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    def kept(expires: timedelta, put: timedelta | None) -> KeptRecord:
        return KeptRecord(
            "AA==", "/ipfs/bafyroot", 3, (NOW + expires).isoformat(), NOW.isoformat(), 3,
            put_at=None if put is None else (NOW - put).isoformat(),
        )  # fmt: skip

    member.record("alice", PEER, last_result={"root": "bafyroot"})
    member.record("bob", KEY, failing_days=2, last_result={"root": None})
    member.record("carol", SEED_PEER, failing_days=40, last_result={"root": None})
    member.record("dave", "dave.example.org")
    alice, bob = kept(29 * DAY + timedelta(hours=1), timedelta(hours=2)), kept(9 * DAY, None)
    carol = kept(-DAY, timedelta(days=41))
    member.store.save_kept(KeptRecords({"alice": alice, "bob": bob, "carol": carol}))
    member.configure(
        {"name": "alice", "ipns": PEER}, {"name": "bob", "ipns": KEY},
        {"name": "carol", "ipns": SEED_PEER}, {"name": "dave", "ipns": "dave.example.org"},
    )  # fmt: skip

    lines = member.status(capsys).splitlines()
    found = member.status_json(capsys)
    metrics = member.metrics()

    def record_line(peer: str) -> str:
        return lines[next(i for i, line in enumerate(lines) if line.startswith(f"{peer}:")) + 1]

    day = (NOW + 29 * DAY + timedelta(hours=1)).date()
    assert record_line("alice") == f"  record: sequence 3, valid until {day} (29d), put back 2h ago"
    assert record_line("bob") == (
        f"  record: sequence 3, valid until {(NOW + 9 * DAY).date()} (8d), not put back yet; "
        "name not resolved; keeping what its kept record lists"
    )
    assert (
        record_line("carol") == f"  record: sequence 3, EXPIRED at {NOW - DAY:%Y-%m-%d %H:%M} UTC"
    )
    assert record_line("dave") == "  record: not kept"
    assert found["alice"]["record"] == {
        "sequence": 3, "value": "/ipfs/bafyroot", "expires": alice.expires,
        "kept_at": alice.kept_at, "put_at": alice.put_at, "next_put_at": None, "error": None,
    }  # fmt: skip
    assert found["dave"]["record"] is None and not found["bob"]["resolved"]
    expiry = "ipfs_consortium_peer_record_expiry_timestamp_seconds"
    assert metrics[f'{expiry}{{peer="bob"}}'] == (NOW + 9 * DAY).timestamp()
    assert metrics['ipfs_consortium_peer_record_sequence{peer="alice"}'] == 3
    put = "ipfs_consortium_peer_record_put_timestamp_seconds"
    assert metrics[f'{put}{{peer="alice"}}'] == (NOW - timedelta(hours=2)).timestamp()
    assert f'{put}{{peer="bob"}}' not in metrics, "never put"
    assert f'{expiry}{{peer="dave"}}' not in metrics, "a DNSLink name has no record"


def test_status_with_state_dir_still_shows_the_configs_peers(
    member: Member, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    member.configure({"name": "alice", "ipns": PEER})
    member.store = StateDir(tmp_path / "elsewhere")
    member.record("alice", PEER)
    member.record("bob", KEY)

    text = member.status(capsys, "--state-dir", str(member.store.path))

    assert text.startswith("alice: last success 1d ago") and "bob" not in text


def test_the_last_success_survives_runs_that_cannot_reach_kubo(member: Member) -> None:
    member.configure({"name": "alice", "ipns": PEER})
    member.store.ensure()
    down = SyncReport(kubo_error="Kubo's RPC API at http://127.0.0.1:9 is unreachable")

    assert member.metrics(down)["ipfs_consortium_last_success_timestamp_seconds"] == 0

    earlier = NOW - DAY
    (member.store.path / LAST_SUCCESS_FILE).write_text(json.dumps({"at": earlier.isoformat()}))
    metrics = member.metrics(down)
    assert metrics["ipfs_consortium_last_success_timestamp_seconds"] == earlier.timestamp()
    assert metrics["ipfs_consortium_kubo_up"] == 0
    assert metrics["ipfs_consortium_last_run_exit_code"] == 3

    metrics = member.metrics(SyncReport())
    assert (
        metrics["ipfs_consortium_last_success_timestamp_seconds"]
        == metrics["ipfs_consortium_last_run_timestamp_seconds"]
        >= NOW.timestamp()
    )
    metrics = member.metrics(down)
    assert metrics["ipfs_consortium_last_success_timestamp_seconds"] > earlier.timestamp()


@pytest.fixture
def written(member: Member) -> set[str]:
    """The name of every metric in a metrics file with peers, quotas, a removed peer with
    pins waiting, a release held, a full check, a possession check, a node connected to
    no member and a peer's IPNS record kept and put back."""
    member.record("alice", PEER)
    member.record("bob", KEY, failing_days=2)
    member.waiting(("bob",), ("gone",), held="refusing to release 16 of 20 pins")
    member.store.save_verified(Verified(NOW, "config", "node"))
    member.store.save_reach(Reach(("alice", "bob"), (), (), NOW.isoformat(), NOW.isoformat()))
    # Alice's report says she holds this member's content in full; bob's could not be read.
    made = NOW.isoformat()
    holds = Holding(SEED_PEER, "bafkqaaa", made, 3, 3, 0, 0, 10, made, None)
    report = Holdings(PEER, "default", made, "0.43.1", 1, 2, (holds,)).to_json()
    members = {
        "alice": {"report": report, "problem": None},
        "bob": {"report": None, "problem": "x"},
    }
    member.store.save_seen(ReportsSeen(made, SEED_PEER, "bafkqaaa", members))
    # Alice's node lacked a block of this member's content at its possession check.
    check = MemberCheck(PEER, asked=16, verified=15, missing=1, checked_at=made)
    member.store.save_checks(Checks(made, made, "bafkqaaa", {"alice": check.to_json()}))
    # Alice's IPNS record is kept and was put back; bob's is not kept.
    expires = (NOW + 30 * DAY).isoformat()
    record = KeptRecord("AA==", "/ipfs/bafkqaaa", 3, expires, made, 3, made, made)
    member.store.save_kept(KeptRecords({"alice": record}))
    member.configure(
        {"name": "alice", "ipns": PEER, "max_pins": 5, "max_bytes": 10_000},
        {"name": "bob", "ipns": KEY},
    )
    member.metrics()
    return metric_names(member.metrics_path.read_text())


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\bipfs_consortium_\w+", expr))


def rules() -> list[dict[str, Any]]:
    (group,) = yaml.safe_load(RULES.read_text())["groups"]
    assert group["name"] == "ipfs-consortium"
    rules: list[dict[str, Any]] = group["rules"]
    return rules


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_every_metric_the_rules_and_the_dashboard_use_is_written(written: set[str]) -> None:
    for expr in [rule["expr"] for rule in rules()] + dashboard_exprs():
        used = names_in(expr)
        assert used, f"no ipfs-consortium metric in {expr!r}"
        assert used <= written, f"{expr!r} uses metrics the tool does not write"


def test_every_metric_written_is_documented(written: set[str]) -> None:
    doc = METRICS_DOC.read_text()
    assert {name for name in written if f"`{name}`" not in doc} == set()


def test_the_rules_are_the_documented_alerts() -> None:
    doc = ALERTS_DOC.read_text()
    assert {rule["alert"] for rule in rules()} == ALERTS
    assert {alert for alert in ALERTS if f"`{alert}`" not in doc} == set()
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert {"summary", "description"} <= set(rule["annotations"])


def test_the_dashboard_takes_its_data_source_and_members_as_variables() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["instance"]["includeAll"]
    targets = [t for p in dashboard["panels"] for t in p.get("targets", [])]
    for target in targets:
        assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
        selectors = re.findall(r"\bipfs_consortium_\w+(\{[^}]*\})?", target["expr"])
        assert selectors and all(s == '{instance=~"$instance"}' for s in selectors), target
