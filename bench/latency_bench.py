"""Benchmark: from "a member published a manifest" to "every other member has it pinned".

Three members, each a loopback Kubo daemon in a private swarm with its own config and
state directory, peered with the other two. A scheduler starts every member's sync as
cron does: the real command line in a process of its own, at the same tick on every
member (cron fires on the minute and members keep their clocks by NTP), the schedule
taken from the consortium role's default. A run still going at the next tick makes that
tick's run exit on the lock, as it would under cron.

Each trial, one member (in turn) adds new files, lists them in a manifest and publishes
it with ``ipfs-consortium publish``, as the role does; the clock starts when that returns
and stops, for each other member, when Kubo holds every listed CID and the directory as
pins. The trials publish at evenly spread points of the schedule's period, in shuffled
order, so a handful of trials sees the waits a publication at any moment would. Right
after each publication both other members resolve the name once with ``nocache``: the
time an update of the name takes to reach them.

The figures for another schedule follow from the same trials: each trial's wait for the
next tick is replaced by the wait at the other period for the same point of its period;
the rest (resolving, reading, pinning) stays as measured.

    .venv/bin/python bench/latency_bench.py --trials 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
# Measure the code of this checkout, whatever the virtualenv has installed.
sys.path[:0] = [str(ROOT)]

from harness.kubonet import KuboNode, kubo_binary, new_swarm_key  # noqa: E402

SIZES = (10, 1000)
CLI = [sys.executable, "-m", "ipfs_consortium"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
POLL = 0.25


def period_of(schedule: str) -> int:
    """Seconds between runs of a crontab schedule that runs every minute or every n."""
    minute, *rest = schedule.split()
    if rest != ["*"] * 4 or not (minute == "*" or minute.startswith("*/")):
        raise SystemExit(f"schedule {schedule!r}: only '* * * * *' and '*/n * * * *' are modelled")
    return 60 if minute == "*" else 60 * int(minute[2:])


def role_schedule() -> str:
    for line in (ROOT / "roles/consortium/defaults/main.yml").read_text().splitlines():
        if line.startswith("consortium_sync_schedule:"):
            return line.split(":", 1)[1].strip().strip("\"'")
    raise SystemExit("no consortium_sync_schedule in the consortium role's defaults")


@dataclass
class Member:
    node: KuboNode
    home: Path

    @property
    def config(self) -> Path:
        return self.home / "config.json"

    @property
    def manifests(self) -> Path:
        return self.home / "manifests"

    def cli(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.home / "sync.log", "ab")  # noqa: SIM115 - the process owns it
        return subprocess.Popen(
            [*CLI, *args, "--config", str(self.config)], env=ENV, stdout=log, stderr=log
        )

    def publish(self, files: dict[str, list[str]]) -> None:
        for old in self.manifests.glob("*.json"):
            old.unlink()
        for name, cids in files.items():
            (self.manifests / f"{name}.json").write_text(json.dumps(cids))
        code = self.cli("publish", str(self.manifests), "--allow-empty").wait()
        if code != 0:
            raise RuntimeError(f"publish exited {code}: {(self.home / 'sync.log').read_text()}")

    def holds(self, cids: list[str]) -> bool:
        pins = self.node.rpc("pin/ls", type="recursive")["Keys"]
        return all(cid in pins for cid in cids)


class Cron:
    """Starts every member's sync at each tick of the period, all at once, like cron."""

    def __init__(self, members: list[Member], period: int) -> None:
        self.members, self.period = members, period
        self.epoch = time.monotonic()
        self.runs: list[subprocess.Popen[bytes]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def next_tick(self, after: float) -> float:
        ticks = int((after - self.epoch) // self.period) + 1
        return self.epoch + ticks * self.period

    def _loop(self) -> None:
        tick = self.epoch
        while not self.stopping.wait(max(0.0, tick - time.monotonic())):
            self.runs = [run for run in self.runs if run.poll() is None]
            self.runs += [member.cli("sync") for member in self.members]
            tick += self.period

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        for run in self.runs:
            run.wait()


@dataclass
class Trial:
    size: int
    publisher: int
    phase: float  # where in the period the publication fell, 0 to 1
    wait: float  # from the publication to the next tick
    name_update: list[float]  # seconds each other member took to resolve the new root
    pinned: list[float]  # seconds until each other member held every CID


def make_members(root: Path) -> list[Member]:
    binary, key = kubo_binary(), new_swarm_key()
    nodes = [KuboNode(binary, root / f"node{i}", key) for i in range(3)]
    members = [Member(node, root / f"member{i}") for i, node in enumerate(nodes)]
    for index, member in enumerate(members):
        member.node.start()
        for other in members[:index]:
            member.node.connect(other.node)
        member.manifests.mkdir(parents=True)
    for index, member in enumerate(members):
        peers = [
            {"name": f"member{i}", "ipns": other.node.peer_id}
            for i, other in enumerate(members)
            if i != index
        ]
        config = {"peers": peers, "api": member.node.api, "state_dir": str(member.home / "state")}
        member.config.write_text(json.dumps(config))
        member.publish({})
    return members


def trial(members: list[Member], cron: Cron, size: int, number: int, phase: float) -> Trial:
    publisher = members[number % len(members)]
    others = [m for m in members if m is not publisher]
    cids = publisher.node.add_many(f"trial {number}", size)
    # Publish at the next moment that falls at the chosen point of a period.
    start = cron.next_tick(time.monotonic()) - (1 - phase) * cron.period
    if start < time.monotonic():
        start += cron.period
    time.sleep(max(0.0, start - time.monotonic()))
    publisher.publish({f"trial{number}": cids})
    published = time.monotonic()
    root = publisher.node.rpc("name/resolve", publisher.node.peer_id, offline=True)["Path"]
    name_update = []
    for other in others:
        began = time.monotonic()
        got = other.node.rpc("name/resolve", publisher.node.peer_id, nocache=True)["Path"]
        name_update.append(time.monotonic() - began)
        if got != root:
            raise RuntimeError(f"{other.home.name} resolved {got}, not the new {root}")
    wanted = [*cids, root.removeprefix("/ipfs/")]
    pinned: dict[int, float] = {}
    deadline = published + 10 * cron.period
    while len(pinned) < len(others):
        if time.monotonic() > deadline:
            raise RuntimeError(f"trial {number}: not pinned within {10 * cron.period} s")
        for index, other in enumerate(others):
            if index not in pinned and other.holds(wanted):
                pinned[index] = time.monotonic() - published
        time.sleep(POLL)
    wait = cron.next_tick(published) - published
    return Trial(size, members.index(publisher), phase, wait, name_update, [pinned[0], pinned[1]])


def at_period(t: Trial, other: int) -> list[float]:
    """The trial's latencies had the schedule run every ``other`` seconds."""
    wait = (1 - t.phase) * other
    return [p - t.wait + wait for p in t.pinned]


def show(trials: list[Trial], schedule: str, period: int, before_schedule: str) -> None:
    before = period_of(before_schedule) if before_schedule else None
    print(f"schedule {schedule!r}: every {period} s; {len(trials) // len(SIZES)} trials a size")
    print("size  publisher  phase  wait     name update (nocache)  pinned on member a / b")
    for t in trials:
        update_text = " / ".join(f"{s * 1000:.0f} ms" for s in t.name_update)
        pinned_text = " / ".join(f"{s:.1f} s" for s in t.pinned)
        where = f"{t.size:>4}  member{t.publisher}    {t.phase:.2f}   {t.wait:5.1f} s"
        print(f"{where}  {update_text:>21}  {pinned_text}")
    print()
    header = "first member  last member  max      rest after the tick"
    print(f"{'manifest':<11}  {'schedule':<25}  {header}")
    for size in SIZES:
        runs = [t for t in trials if t.size == size]
        rows = [(schedule, [t.pinned for t in runs])]
        if before:
            rows.append((f"{before_schedule} (computed)", [at_period(t, before) for t in runs]))
        for name, pins in rows:
            first, last = [min(p) for p in pins], [max(p) for p in pins]
            rest = [max(t.pinned) - t.wait for t in runs]
            print(
                f"{size:>4} CIDs    {name:<25}  {median(first):8.1f} s  {median(last):9.1f} s"
                f"  {max(last):5.1f} s  {median(rest):5.1f} s"
            )
    updates = [s for t in trials for s in t.name_update]
    print(
        f"name update seen with nocache: median {median(updates) * 1000:.0f} ms, "
        f"max {max(updates) * 1000:.0f} ms over {len(updates)} resolutions"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per manifest size")
    parser.add_argument("--schedule", default=role_schedule(), help="crontab schedule")
    parser.add_argument(
        "--before", default="*/15 * * * *", help="schedule to compute figures for ('' none)"
    )
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    period = period_of(args.schedule)
    shuffle = random.Random(args.seed).shuffle
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
        members = make_members(Path(tmp))
        cron = Cron(members, period)
        try:
            cron.start()
            trials = []
            number = 0
            for size in SIZES:
                phases = [(i + 0.5) / args.trials for i in range(args.trials)]
                shuffle(phases)
                for phase in phases:
                    trials.append(trial(members, cron, size, number, phase))
                    number += 1
                    print(f"trial {number}: {trials[-1]}", file=sys.stderr, flush=True)
        finally:
            cron.stop()
            for member in members:
                member.node.stop()
    show(trials, args.schedule, period, args.before)


if __name__ == "__main__":
    main()
