"""A real IPFS Cluster on loopback for tests and benchmarks: one ipfs-cluster-service per
Kubo node of a kubonet.Net.

The daemons come from scripts/cluster-build, the build whose libp2p host has no NAT port
mapping, AutoNAT, relay, AutoRelay or hole punching. Each peer listens on 127.0.0.1 only,
finds the others by their loopback addresses (no mDNS, no bootstrap beyond them), trusts
exactly them (CRDT) and serves only its REST API, behind basic auth. Its connector talks to
its own Kubo over that node's unix socket, which carries no API.Authorizations. Monitor
intervals are short, so a dead peer's pins move to another peer within seconds.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import requests

from harness.kubonet import ROOT, KuboNode, end_process

USER = "consortium"
PROGRAMS = ("ipfs-cluster-service", "ipfs-cluster-ctl")

# What a test changes in the configuration that `ipfs-cluster-service init` writes.
FAST_CLUSTER: dict[str, Any] = {
    "enable_relay_hop": False,
    "mdns_interval": "0s",
    # A peer whose ping metric (valid twice the interval) lapses is dead: its pins are
    # allocated again within seconds.
    "monitor_ping_interval": "2s",
    "peer_watch_interval": "2s",
    "disable_repinning": False,
    "state_sync_interval": "10s",
    "pin_recover_interval": "10s",
    "pubsub": {"heartbeat_interval": "1s"},
}
METRIC_TTL = "10s"
# The liveness metric and those the balanced allocator ranks peers by (its allocate_by).
ALLOCATION_METRICS = ("ping", "tag:group", "freespace")


def cluster_binaries() -> tuple[Path, Path]:
    """ipfs-cluster-service and ipfs-cluster-ctl from the archives scripts/cluster-build
    packs (built once, cached)."""
    archives = subprocess.run(
        [ROOT / "scripts" / "cluster-build"], check=True, capture_output=True, text=True
    ).stdout.split()
    bin_dir = Path(archives[0]).parent / "bin"
    if not bin_dir.exists():
        staging = bin_dir.with_name("bin.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        for archive, program in zip(archives, PROGRAMS, strict=True):
            with tarfile.open(archive) as tar:
                tar.extract(f"{program}/{program}", staging, filter="data")
            (staging / program / program).rename(staging / f"{program}.bin")
            (staging / program).rmdir()
            (staging / f"{program}.bin").rename(staging / program)
        staging.rename(bin_dir)
    return bin_dir / PROGRAMS[0], bin_dir / PROGRAMS[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_loopback(address: str) -> bool:
    """Whether an address as `ss` prints it (``127.0.0.1:80``, ``[::1]:80``,
    ``127.0.0.53%lo:53``) is on loopback; ``*`` and an unspecified address are not."""
    host = address.rsplit(":", 1)[0].strip("[]").split("%")[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


class ClusterPeer:
    """One ipfs-cluster-service daemon beside its Kubo node."""

    def __init__(self, binary: Path, directory: Path, kubo: KuboNode, name: str) -> None:
        self.binary = binary
        self.directory = directory
        self.kubo = kubo
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [binary, "--config", directory, "init", "--consensus", "crdt"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.peer_id: str = json.loads((directory / "identity.json").read_text())["id"]
        self.swarm_port = free_port()
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"

    @property
    def swarm_addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.swarm_port}/p2p/{self.peer_id}"

    def configure(
        self, secret: str, peers: list[ClusterPeer], password: str, replication: tuple[int, int]
    ) -> None:
        config_file = self.directory / "service.json"
        config = json.loads(config_file.read_text())
        cluster = config["cluster"]
        cluster.update(FAST_CLUSTER, pubsub=cluster["pubsub"] | FAST_CLUSTER["pubsub"])
        cluster.update(
            peername=self.name,
            secret=secret,
            listen_multiaddress=[f"/ip4/127.0.0.1/tcp/{self.swarm_port}"],
            peer_addresses=[p.swarm_addr for p in peers if p is not self],
            replication_factor_min=replication[0],
            replication_factor_max=replication[1],
        )
        crdt = config["consensus"]["crdt"]
        crdt["trusted_peers"] = [p.peer_id for p in peers]
        # A peer that missed the broadcast of a burst's last pins learns of them only at the
        # next rebroadcast of the heads (a minute by default).
        crdt["rebroadcast_interval"] = "5s"
        # One whose walk of the pinset's DAG broke off under load (seen: a node that did
        # not know 3 of 5005 pins for over two minutes) mends it only at the next repair
        # (an hour by default).
        crdt["repair_interval"] = "10s"
        # Only the REST API: a missing section is a component that does not start.
        restapi = config["api"]["restapi"]
        restapi["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{self.api_port}"
        restapi["basic_auth_credentials"] = {USER: password}
        config["api"] = {"restapi": restapi}
        config["ipfs_connector"]["ipfshttp"]["node_multiaddress"] = f"/unix{self.kubo.api_socket}"
        config["monitor"]["pubsubmon"]["check_interval"] = "1s"
        for informer in config["informer"].values():
            informer["metric_ttl"] = METRIC_TTL
        config_file.write_text(json.dumps(config, indent=2))

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start its Kubo node (unless it runs) and then the daemon."""
        if not self.kubo.running:
            self.kubo.start()
        log = open(self.directory / "daemon.log", "ab")  # noqa: SIM115 - lives as long as the daemon
        self.process = subprocess.Popen(
            [self.binary, "--config", self.directory, "daemon"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the daemon and then its Kubo node."""
        end_process(self.process, sig)
        self.process = None
        self.kubo.stop(sig)

    def kill(self) -> None:
        """SIGKILL the daemon and its Kubo node: a machine that dies."""
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return (self.directory / "daemon.log").read_text(errors="replace")

    def outside_sockets(self) -> list[str]:
        """The daemon's TCP and UDP sockets that are not on loopback at both ends (`ss`
        lines): the network rule wants none."""
        if self.process is None:
            return []
        listing = subprocess.run(
            ["ss", "-H", "-tuanp"], check=True, capture_output=True, text=True
        ).stdout
        outside = []
        for line in listing.splitlines():
            if f"pid={self.process.pid}," not in line:
                continue
            local, remote = line.split()[4:6]
            if not _is_loopback(local) or not (remote.endswith(":*") or _is_loopback(remote)):
                outside.append(line)
        return outside


class Cluster:
    """One cluster peer per Kubo node (each node made with ``api_socket``), replication
    ``replication_min``/``replication_max`` by default."""

    def __init__(
        self,
        binary: Path,
        root: Path,
        kubos: list[KuboNode],
        replication_min: int,
        replication_max: int,
    ) -> None:
        self.replication = (replication_min, replication_max)
        self.password = secrets.token_urlsafe(16)
        self.auth_file = root / "cluster-api-auth"
        root.mkdir(parents=True, exist_ok=True)
        self.auth_file.touch(mode=0o600)
        self.auth_file.write_text(f"{USER}:{self.password}\n")
        self.peers = [
            ClusterPeer(binary, root / f"peer{i}", kubo, f"peer{i}") for i, kubo in enumerate(kubos)
        ]
        secret = secrets.token_hex(32)
        for peer in self.peers:
            peer.configure(secret, self.peers, self.password, (replication_min, replication_max))
        for peer in self.peers:
            peer.start()

    @property
    def api(self) -> str:
        """The REST API's URL on the first peer."""
        return self.peers[0].api

    @property
    def auth(self) -> tuple[str, str]:
        """Basic-auth credentials for requests."""
        return USER, self.password

    def _get(self, peer: ClusterPeer, path: str) -> Any:
        answer = requests.get(f"{peer.api}{path}", auth=self.auth, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def _sees(self, peer: ClusterPeer, wanted: set[str]) -> bool:
        """Whether ``peer`` reaches its Kubo node and has the metrics of all ``wanted``
        peers that it needs to allocate a pin (a pin sent any earlier fails with "not
        enough peers to allocate")."""
        own = self._get(peer, "/id")
        if own.get("error") or own.get("ipfs", {}).get("error"):
            return False
        return all(
            {metric["peer"] for metric in self._get(peer, f"/monitor/metrics/{name}")} >= wanted
            for name in ALLOCATION_METRICS
        )

    def wait_ready(self, timeout: float = 90) -> None:
        """Until every running peer can allocate pins to every running peer."""
        running = [p for p in self.peers if p.running]
        wanted = {p.peer_id for p in running}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for peer in running:
                if peer.process is not None and peer.process.poll() is not None:
                    raise RuntimeError(f"cluster peer {peer.name} exited: {peer.log()[-2000:]}")
            try:
                if all(self._sees(p, wanted) for p in running):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        logs = "\n".join(f"{p.name}: {p.log()[-1500:]}" for p in running)
        raise RuntimeError(f"the cluster did not come together in time:\n{logs}")

    def allocations(self, cid: str) -> set[str]:
        """The Kubo peer IDs of the running nodes holding a recursive pin of ``cid``, read
        from each Kubo node directly."""
        holders = set()
        for peer in self.peers:
            if peer.kubo.running and cid in peer.kubo.recursive_pins():
                holders.add(peer.kubo.peer_id)
        return holders

    def outside_sockets(self) -> list[str]:
        return [line for peer in self.peers for line in peer.outside_sockets()]

    def close(self) -> None:
        for peer in self.peers:
            peer.stop()

    def pinning(self) -> dict[str, Any]:
        """The sync's ``pinning`` setting for this cluster (config.json)."""
        return {
            "cluster_api": self.api,
            "auth_file": str(self.auth_file),
            "replication_min": self.replication[0],
            "replication_max": self.replication[1],
        }

    def pins(self) -> dict[str, str]:
        """The cluster's pinset: CID -> pin name."""
        answer = requests.get(
            f"{self.api}/allocations", params={"filter": "pin"}, auth=self.auth, timeout=30
        )
        answer.raise_for_status()
        return {
            pin["cid"]: pin.get("name", "")
            for pin in (json.loads(line) for line in answer.text.splitlines() if line.strip())
        }

    def pin(self, cid: str, name: str) -> None:
        """Pin ``cid`` under ``name`` through the REST API."""
        answer = requests.post(
            f"{self.api}/pins/{cid}", params={"name": name}, auth=self.auth, timeout=30
        )
        answer.raise_for_status()
