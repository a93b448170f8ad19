"""Faults: Kubo stopping or restarting mid-sync, a sync killed half-way, syncs racing.

In every case the run says what happened, the next run completes, and no pin is lost.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

from ipfs_consortium.config import load_config
from ipfs_consortium.report.run_report import SyncReport
from ipfs_consortium.sync.run import run_sync
from tests.conftest import Member, Net
from tests.test_sync import ours


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def pinned_some(member: Member, count: int = 5) -> Callable[[], bool]:
    return lambda: len(ours(member.node.recursive_pins())) >= count


def big_peer(net: Net, member: Member, count: int = 400) -> list[str]:
    alice = net.node()
    cids = alice.add_many("fault", count)
    root = alice.publish_json_dir({"m.json": cids})
    member.configure([{"name": "alice", "ipns": alice.peer_id}], concurrency=1)
    return [*cids, root]


def sync_in_background(member: Member) -> tuple[threading.Thread, list[SyncReport]]:
    reports: list[SyncReport] = []
    config = load_config(member.config_path)
    thread = threading.Thread(target=lambda: reports.append(run_sync(config, member.state_dir)))
    thread.start()
    return thread, reports


def spawn_sync(member: Member) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ipfs_consortium", "sync", "--config", str(member.config_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kubo_stopped_during_a_sync(net: Net, member: Member) -> None:
    wanted = big_peer(net, member)
    thread, reports = sync_in_background(member)
    wait_for(pinned_some(member))
    before = set(ours(member.node.recursive_pins()))
    member.node.stop()
    thread.join(120)

    (report,) = reports
    assert report.exit_code == 3
    assert report.kubo_error and "Kubo" in report.kubo_error
    member.node.start()
    assert before <= set(member.node.recursive_pins()), "no pin is lost"
    run = member.sync()
    assert run.code == 0, run.err
    assert set(wanted) <= set(member.node.recursive_pins())


def test_kubo_restarted_with_a_pin_in_progress(net: Net, member: Member) -> None:
    wanted = big_peer(net, member)
    thread, reports = sync_in_background(member)
    wait_for(pinned_some(member))
    member.node.restart()
    thread.join(120)

    assert reports[0].exit_code != 0
    run = member.sync()
    assert run.code == 0, run.err
    assert set(wanted) <= set(member.node.recursive_pins())


def test_sync_killed_half_way(net: Net, member: Member) -> None:
    wanted = big_peer(net, member)
    process = spawn_sync(member)
    wait_for(pinned_some(member, 20))
    process.kill()
    process.wait()
    before = set(ours(member.node.recursive_pins()))

    run = member.sync()

    assert run.code == 0, "no stale lock blocks the next run: " + run.err
    after = set(member.node.recursive_pins())
    assert before <= after and set(wanted) <= after


def test_two_syncs_started_together(net: Net, member: Member) -> None:
    big_peer(net, member)
    first, second = spawn_sync(member), spawn_sync(member)
    results = sorted([(p.wait(180), p.stderr.read()) for p in (first, second) if p.stderr])

    assert [code for code, _ in results] == [0, 4]
    assert "another sync (pid" in results[1][1] and "is running" in results[1][1]
