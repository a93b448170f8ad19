"""Fixtures: real Kubo daemons on loopback, and the command line run in-process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.clusternet import Cluster, cluster_binaries
from harness.kubonet import KuboNode, Net, kubo_binary
from ipfs_consortium.cli import main
from ipfs_consortium.ipfs.cid import parse_cid
from ipfs_consortium.report.exchange import REPORT_PIN


@pytest.fixture(autouse=True)
def root_logger(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Each test leaves the root logger's handlers and level as it found them.

    ipfs_consortium.cli.main configures the root logger (logging.basicConfig(force=True))
    with the sys.stderr of the moment, under capsys a stream that pytest closes after the
    test: a later test's log record would go there ("--- Logging error ---"). The handlers
    pytest adds and removes for each phase of a test (of caplog's type) are left to it.
    """
    root = logging.getLogger()

    def ours() -> list[logging.Handler]:
        return [h for h in root.handlers if not isinstance(h, type(caplog.handler))]

    handlers, level = ours(), root.level
    yield
    for handler in ours():
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def kubo_bin() -> Path:
    return kubo_binary()


@pytest.fixture(scope="session")
def cluster_bin() -> Path:
    return cluster_binaries()[0]


@pytest.fixture
def net(kubo_bin: Path, tmp_path: Path) -> Iterator[Net]:
    network = Net(kubo_bin, tmp_path / "kubo")
    yield network
    network.close()


def mirrored(node: KuboNode) -> dict[str, str]:
    """The node's recursive pins but its own holdings report, which each heartbeat
    replaces."""
    return {cid: name for cid, name in node.recursive_pins().items() if name != REPORT_PIN}


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    """The command line, in-process: its exit code, stdout and stderr."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@dataclass
class Member:
    """The syncing member: its node, its config file and its state directory; with a
    cluster, the cluster holds its pins."""

    node: KuboNode
    config_path: Path
    state_dir: Path
    capsys: pytest.CaptureFixture[str]
    cluster: Cluster | None = None

    def config(self, peers: list[Any], **settings: Any) -> dict[str, Any]:
        """A config of this member's node (and cluster): its own state directory unless
        ``settings`` names another."""
        config = {
            "peers": peers, "api": self.node.api, "gateway": self.node.gateway,
            "state_dir": str(self.state_dir),
        }  # fmt: skip
        if self.cluster is not None:
            config["pinning"] = self.cluster.pinning()
        return config | settings

    def configure(self, peers: list[Any], **settings: Any) -> None:
        self.config_path.write_text(json.dumps(self.config(peers, **settings)))

    def pins(self) -> dict[str, str]:
        """Every pin the member holds: CID -> name."""
        return self.node.recursive_pins() if self.cluster is None else self.cluster.pins()

    def pin(self, cid: str, name: str) -> None:
        """Pin as an operator would, where the member's pins are."""
        if self.cluster is None:
            self.node.rpc("pin/add", cid, name=name)
        else:
            self.cluster.pin(cid, name)

    def cli(self, *args: str) -> Run:
        return run_cli(self.capsys, *args)

    def sync(self, *args: str) -> Run:
        return self.cli("sync", "--config", str(self.config_path), "--json", *args)


REPORT_KEY = "ipfs-consortium-report"


@dataclass
class Party:
    """A member: its node, its report's name, its config and state directory."""

    name: str
    node: KuboNode
    report: str
    cids: list[str]
    home: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def config(self) -> Path:
        return self.home / "config.json"

    def configure(self, others: list[Party], peer: dict[str, dict[str, Any]] | None = None,
                  **settings: Any) -> None:  # fmt: skip
        peers = [
            {"name": o.name, "ipns": o.node.peer_id, "report": o.report}
            | (peer or {}).get(o.name, {})
            for o in others
        ]
        config = {
            "peers": peers, "api": self.node.api, "gateway": self.node.gateway,
            "state_dir": str(self.home / "state"), "metrics_file": str(self.home / "metrics.prom"),
            # Every sync is a heartbeat: it publishes and reads the reports.
            "report_interval": 0.001,
            "resolve_timeout": 10,
        }  # fmt: skip
        self.config.write_text(json.dumps(config | settings))

    def sync(self) -> Run:
        return run_cli(self.capsys, "sync", "--config", str(self.config), "--json")

    def copies(self) -> Run:
        return run_cli(self.capsys, "copies", "--config", str(self.config), "--json")

    def verify(self) -> Run:
        return run_cli(self.capsys, "verify", "--config", str(self.config), "--json")

    def metric(self, name: str) -> float | None:
        for line in (self.home / "metrics.prom").read_text().splitlines():
            if line.startswith(f"ipfs_consortium_{name} "):
                return float(line.split()[-1])
        return None


def party_of(
    net: Net,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    api_socket: bool = False,
) -> Party:
    node = net.node(name=name, api_socket=api_socket)
    cids = [parse_cid(node.add(f"{name}'s file {i}".encode(), pin=True)) for i in range(4)]
    node.publish_json_dir({"files.json": cids})
    # As the kubo role makes it for a new member, so that the others know its name.
    report = node.new_key(REPORT_KEY)
    return Party(name, node, report, cids, tmp_path / name, capsys)


@pytest.fixture
def member(net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Member:
    return Member(net.node(), tmp_path / "config.json", tmp_path / "state", capsys)
