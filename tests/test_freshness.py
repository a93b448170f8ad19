"""How fresh each peer's root is, against real Kubo daemons: when the root it is followed
at was first seen, and a newer root its name resolves to that is not followed yet."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.kubonet import KuboNode
from ipfs_consortium.ipfs.cid import parse_cid
from tests.conftest import Member, Net
from tests.test_monitoring import samples
from tests.test_sync import content

# Records keep times to the second: a test waits this long for a later time to differ.
TICK = 1.1


def record(member: Member, peer: str = "alice") -> dict[str, Any]:
    return dict(json.loads((member.state_dir / "peers" / f"{peer}.json").read_text()))


def metrics_path(member: Member) -> Path:
    return member.state_dir.parent / "consortium.prom"


def peer_metrics(member: Member, peer: str = "alice") -> dict[str, float]:
    """The metrics file's samples of ``peer``, by metric name without its prefix."""
    prefix, labels = "ipfs_consortium_peer_", f'{{peer="{peer}"}}'
    return {
        sample.removeprefix(prefix).removesuffix(labels): value
        for sample, value in samples(metrics_path(member).read_text()).items()
        if sample.startswith(prefix) and sample.endswith(labels)
    }


def status(member: Member) -> str:
    run = member.cli("status", "--config", str(member.config_path))
    assert run.code == 0, run.err
    return run.out


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def first_sync(
    net: Net, member: Member, lifetime: str = "48h", **settings: Any
) -> tuple[KuboNode, str]:
    """alice publishing one manifest, and the member's first sync of her, with a metrics
    file: her node and her root."""
    alice = net.node()
    root = parse_cid(alice.publish_json_dir({"a.json": content(alice, "a")}, lifetime=lifetime))
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}],
        metrics_file=str(metrics_path(member)),
        **settings,
    )
    assert member.sync().code == 0
    return alice, root


def test_first_seen_holds_while_the_root_does_and_moves_with_a_new_root(
    net: Net, member: Member
) -> None:
    alice, first = first_sync(net, member)
    state = record(member)
    seen = state["root_first_seen"]
    assert seen is not None and state["seen_root_since"] == seen
    assert state["seen_root"] == state["root"] == first

    time.sleep(TICK)
    assert member.sync().code == 0, "unchanged: no full check"
    assert member.sync("--verify").code == 0, "the same root read in full again"

    state = record(member)
    assert (state["root_first_seen"], state["seen_root_since"]) == (seen, seen)
    assert re.search(rf" bytes held; root {first} first seen [1-9]s ago\n", status(member))
    assert "newer root" not in status(member)
    assert peer_metrics(member)["root_first_seen_timestamp_seconds"] == epoch(seen)
    assert peer_metrics(member)["newer_root_seen_timestamp_seconds"] == 0

    second = parse_cid(alice.publish_json_dir({"a.json": content(alice, "b")}))
    time.sleep(TICK)
    assert member.sync().code == 0

    state = record(member)
    assert state["root"] == state["seen_root"] == second
    assert state["root_first_seen"] == state["seen_root_since"] > seen
    assert peer_metrics(member)["root_first_seen_timestamp_seconds"] == epoch(
        state["root_first_seen"]
    )


def test_a_newer_root_not_read_in_full_is_seen_but_not_followed(net: Net, member: Member) -> None:
    alice, followed = first_sync(net, member)
    first_seen = record(member)["root_first_seen"]
    broken = parse_cid(alice.publish_json_dir({"a.json": b'["unterminated'}))
    time.sleep(TICK)

    assert member.sync().code == 1
    state = record(member)
    assert (state["root"], state["root_first_seen"]) == (followed, first_seen)
    assert state["seen_root"] == broken and state["seen_root_since"] > first_seen
    time.sleep(TICK)
    assert member.sync().code == 1
    assert record(member)["seen_root_since"] == state["seen_root_since"], "the same root"

    text = status(member)
    assert re.search(
        rf"; root {followed} first seen \d+s ago; newer root {broken} seen \d+s ago, "
        "not yet followed; FAILING since ",
        text,
    )
    (peer,) = member.cli("status", "--config", str(member.config_path), "--json").json["peers"]
    assert peer["root_behind"] is True
    assert (peer["root"], peer["seen_root"]) == (followed, broken)
    figures = peer_metrics(member)
    assert figures["root_first_seen_timestamp_seconds"] == epoch(first_seen)
    assert figures["newer_root_seen_timestamp_seconds"] == epoch(state["seen_root_since"])

    mended = parse_cid(alice.publish_json_dir({"a.json": content(alice, "b")}))
    assert member.sync().code == 0
    (peer,) = member.cli("status", "--config", str(member.config_path), "--json").json["peers"]
    assert (peer["root"], peer["seen_root"], peer["root_behind"]) == (mended, mended, False)
    assert peer["root_first_seen"] == peer["seen_root_since"]
    assert peer_metrics(member)["newer_root_seen_timestamp_seconds"] == 0


def test_a_name_that_does_not_resolve_leaves_the_seen_root_alone(net: Net, member: Member) -> None:
    alice, root = first_sync(net, member, lifetime="3s", resolve_timeout=2)
    before = record(member)
    alice.stop()
    time.sleep(4)

    assert member.sync().code == 1

    after = record(member)
    assert after["last_error"] is not None
    for key in ("root", "root_first_seen", "seen_root", "seen_root_since"):
        assert after[key] == before[key], key
    assert after["seen_root"] == root


def test_a_dry_run_writes_no_root_it_saw(net: Net, member: Member) -> None:
    alice, _ = first_sync(net, member)
    before = (member.state_dir / "peers" / "alice.json").read_bytes()
    alice.publish_json_dir({"a.json": content(alice, "b")})

    assert member.sync("--dry-run").code == 0

    assert (member.state_dir / "peers" / "alice.json").read_bytes() == before
    assert "newer root" not in status(member)


def test_a_record_from_before_freshness_loads_as_unknown(net: Net, member: Member) -> None:
    _, root = first_sync(net, member)
    legacy = record(member)
    for key in ("root_first_seen", "seen_root", "seen_root_since"):
        del legacy[key]
    (member.state_dir / "peers" / "alice.json").write_text(json.dumps(legacy))

    assert f"; root {root} first seen at an unknown time\n" in status(member)

    assert member.sync("--verify").code == 0
    state = record(member)
    assert state["root_first_seen"] is None, "when it was first seen is still not known"
    assert state["seen_root"] == root and state["seen_root_since"] is not None
    assert "root_first_seen_timestamp_seconds" not in peer_metrics(member)
    assert peer_metrics(member)["newer_root_seen_timestamp_seconds"] == 0
    assert "newer root" not in status(member)


def test_a_metrics_file_in_a_missing_directory_is_written_and_one_that_cannot_be_fails(
    net: Net, member: Member
) -> None:
    """The directory is made as the state directory is; a path that cannot be a file
    fails the run with exit code 2 and one line, after the sync did its work."""
    alice = net.node()
    alice.publish_json_dir({"a.json": content(alice, "a")})
    path = member.state_dir.parent / "not" / "yet" / "consortium.prom"
    member.configure([{"name": "alice", "ipns": alice.peer_id}], metrics_file=str(path))
    assert member.sync().code == 0
    assert samples(path.read_text())["ipfs_consortium_last_run_exit_code"] == 0

    blocked = member.state_dir.parent / "a-file"
    blocked.write_text("")
    member.configure(
        [{"name": "alice", "ipns": alice.peer_id}], metrics_file=str(blocked / "consortium.prom")
    )
    run = member.sync()
    assert run.code == 2
    assert run.json["metrics_error"].startswith(f"metrics file {blocked / 'consortium.prom'}")
    assert "Traceback" not in run.err
    assert record(member)["last_success"] is not None
