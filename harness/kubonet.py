"""Real Kubo daemons on loopback for tests and benchmarks.

Every node is cut off from the public network: a private swarm key, no bootstrap peers,
no AutoConf, no delegated routing or publishing, no DNS (its resolver is a closed
loopback port), no AutoTLS, no mDNS, no relays, no AutoNAT, no NAT port mapping,
telemetry off, and every listener on 127.0.0.1 with a port the kernel picks. Nodes find
each other only by explicit peering.

A node's ``Routing.Type`` is ``dht`` unless a test names another: which nodes store IPNS
records decides whether a name outlives its publisher, so a test of that starts DHT servers
(``dhtserver``, storing records for others whatever the network looks like) and clients
(``dhtclient``, storing none). The isolation settings hold for every type.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
CLOSED_DOH = "https://127.0.0.1:9/dns-query"

# Settings applied to the repo's config file before the daemon first starts.
ISOLATED_CONFIG: dict[str, Any] = {
    "Bootstrap": [],
    "AutoConf.Enabled": False,
    "AutoTLS.Enabled": False,
    "Discovery.MDNS.Enabled": False,
    # A closed loopback DNS-over-HTTPS port: DNSLink lookups fail at once, never leave.
    "DNS.Resolvers": {".": CLOSED_DOH},
    "Routing.DelegatedRouters": [],
    "Ipns.DelegatedPublishers": [],
    "Swarm.DisableNatPortMap": True,
    "Swarm.RelayClient.Enabled": False,
    "Swarm.RelayService.Enabled": False,
    "Swarm.Transports.Network.Websocket": False,
    "AutoNAT.ServiceMode": "disabled",
    "Plugins.Plugins.telemetry.Config.Mode": "off",
    "Addresses.API": "/ip4/127.0.0.1/tcp/0",
    "Addresses.Gateway": "/ip4/127.0.0.1/tcp/0",
    "Addresses.Swarm": ["/ip4/127.0.0.1/tcp/0"],
    # What a member's node has for the possession checks: its gateway answers from its
    # own blocks only, and the sync may mount it on a libp2p protocol.
    "Gateway.NoFetch": True,
    "Experimental.Libp2pStreamMounting": True,
}


def kubo_binary() -> Path:
    """The ipfs binary from the archive scripts/kubo-build packs (built once, cached)."""
    archive = Path(
        subprocess.run(
            [ROOT / "scripts" / "kubo-build"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    binary = archive.parent / "bin" / "ipfs"
    if not binary.exists():
        staging = archive.parent / "bin.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extract("kubo/ipfs", staging, filter="data")
        (staging / "kubo" / "ipfs").rename(staging / "ipfs")
        (staging / "kubo").rmdir()
        staging.rename(binary.parent)
    return binary


def new_swarm_key() -> str:
    return f"/key/swarm/psk/1.0.0/\n/base16/\n{secrets.token_hex(32)}\n"


def _set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    node = config
    *parents, last = key.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def end_process(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    """Send ``sig`` to a daemon that still runs and wait for it (SIGKILL after 30 s)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class KuboNode:
    """One daemon with its own repo. Start, stop and restart it at will.

    ``authorizations`` (AuthSecret -> AllowedPaths) makes its RPC API demand one of those
    secrets; the test helpers then send a bearer token of their own, allowed everything.
    ``api_socket`` makes its RPC API also listen on ``<repo>/api.sock``, as an IPFS Cluster
    peer's connector reaches it; that connector sends no Authorization header, so the two
    exclude each other. ``routing`` is its ``Routing.Type`` (the module's docstring says
    when a test needs another).
    """

    def __init__(
        self,
        binary: Path,
        repo: Path,
        swarm_key: str,
        authorizations: dict[str, list[str]] | None = None,
        *,
        api_socket: bool = False,
        routing: str = "dht",
    ) -> None:
        if api_socket and authorizations:
            raise ValueError("a node with api_socket has no API.Authorizations")
        self.binary = binary
        self.repo = repo
        self._api_socket = repo / "api.sock" if api_socket else None
        # The kernel's limit for a socket's path (sun_path, 108 bytes with its NUL).
        if self._api_socket is not None and len(bytes(self._api_socket)) > 107:
            raise ValueError(f"{self._api_socket} is too long a path for a unix socket")
        self.env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}
        self.process: subprocess.Popen[bytes] | None = None
        self.api = ""
        self.peers: list[KuboNode] = []
        self.headers: dict[str, str] = {}
        self._init(swarm_key, authorizations or {}, routing)

    def _init(self, swarm_key: str, authorizations: dict[str, list[str]], routing: str) -> None:
        self.repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [self.binary, "init", "--profile", "test", "--empty-repo"],
            env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        (self.repo / "swarm.key").write_text(swarm_key)
        config_file = self.repo / "config"
        config = json.loads(config_file.read_text())
        for key, value in ISOLATED_CONFIG.items():
            _set_dotted(config, key, value)
        _set_dotted(config, "Routing.Type", routing)
        if authorizations:
            token = secrets.token_hex(16)
            self.headers["Authorization"] = f"Bearer {token}"
            scopes = {"tests": {"AuthSecret": f"bearer:{token}", "AllowedPaths": ["/api/v0"]}}
            for index, (secret, paths) in enumerate(authorizations.items()):
                scopes[f"member{index}"] = {"AuthSecret": secret, "AllowedPaths": paths}
            _set_dotted(config, "API.Authorizations", scopes)
        if self._api_socket is not None:
            # TCP first: Kubo names the first API address in the repo's api file.
            config["Addresses"]["API"] = [config["Addresses"]["API"], f"/unix{self._api_socket}"]
        config_file.write_text(json.dumps(config, indent=2))
        self.peer_id = config["Identity"]["PeerID"]

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        (self.repo / "api").unlink(missing_ok=True)
        (self.repo / "gateway").unlink(missing_ok=True)
        if self._api_socket is not None:
            # A daemon that was killed leaves its socket behind, and Kubo will not listen
            # on a path that exists.
            self._api_socket.unlink(missing_ok=True)
        log = open(self.repo / "daemon.log", "ab")  # noqa: SIM115 - lives as long as the daemon
        self.process = subprocess.Popen(
            [self.binary, "daemon", "--enable-gc=false"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kubo daemon exited: {(self.repo / 'daemon.log').read_text()[-2000:]}"
                )
            api_file = self.repo / "api"
            # Kubo writes each file once that listener is up, the gateway's last or not.
            if api_file.exists() and (self.repo / "gateway").exists():
                host, port = api_file.read_text().strip().split("/")[2::2]
                self.api = f"http://{host}:{port}"
                try:
                    self.rpc("id")
                    break
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        else:
            raise RuntimeError("kubo daemon did not come up in time")
        self._keep_ports()
        for peer in self.peers:
            if peer.running:
                self.connect(peer)

    def _keep_ports(self) -> None:
        """Pin the ports the kernel picked, so a restart comes back at the same address."""
        config_file = self.repo / "config"
        config = json.loads(config_file.read_text())
        api = config["Addresses"]["API"]
        if (api[0] if isinstance(api, list) else api).endswith("/tcp/0"):
            kept = (self.repo / "api").read_text().strip()
            config["Addresses"]["API"] = [kept, *api[1:]] if isinstance(api, list) else kept
            config["Addresses"]["Swarm"] = [self.swarm_addr().split("/p2p/")[0]]
            config["Addresses"]["Gateway"] = "/ip4/127.0.0.1/tcp/" + self.gateway.rsplit(":", 1)[1]
            config_file.write_text(json.dumps(config, indent=2))

    @property
    def api_socket(self) -> Path:
        """The unix socket its RPC API also listens on (a node made with ``api_socket``)."""
        if self._api_socket is None:
            raise AttributeError("this node's API listens on TCP only (api_socket=False)")
        return self._api_socket

    @property
    def gateway(self) -> str:
        """The gateway's URL, as the daemon wrote it into the repo."""
        return (self.repo / "gateway").read_text().strip()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        end_process(self.process, sig)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def discard(self, others: list[KuboNode]) -> None:
        """Stop for good: the others no longer reconnect to it, and its repo is removed."""
        self.stop()
        for other in others:
            if self in other.peers:
                other.peers.remove(self)
        shutil.rmtree(self.repo, ignore_errors=True)

    # -- RPC helpers for tests ---------------------------------------------------------

    def rpc(
        self, command: str, *args: str, timeout: float = 120, files: Any = None, **params: Any
    ) -> Any:
        query = [("arg", a) for a in args] + [
            (k.replace("_", "-"), str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in params.items()
        ]
        response = requests.post(
            f"{self.api}/api/v0/{command}",
            params=query,
            files=files,
            headers=self.headers,
            timeout=timeout,
        )
        if response.status_code != 200:
            raise RuntimeError(f"{command} {args}: {response.text}")
        lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        return lines[-1] if len(lines) == 1 else lines

    def ipns_record(self, name: str) -> bytes:
        """The signed IPNS record of ``name`` as this node finds it (``name/get`` answers
        the record's bytes, not JSON)."""
        response = requests.post(
            f"{self.api}/api/v0/name/get", params={"arg": name}, headers=self.headers, timeout=60
        )
        if response.status_code != 200:
            raise RuntimeError(f"name/get {name}: {response.text}")
        return response.content

    def swarm_addr(self) -> str:
        for addr in self.rpc("id")["Addresses"]:
            if addr.startswith("/ip4/127.0.0.1/tcp/"):
                return str(addr)
        raise RuntimeError("no loopback swarm address")

    def connect(self, other: KuboNode) -> None:
        if other not in self.peers:
            self.peers.append(other)
        if self not in other.peers:
            other.peers.append(self)
        self.rpc("swarm/connect", other.swarm_addr())

    def add(self, data: bytes, pin: bool = False) -> str:
        answer = self.rpc(
            "add", files={"file": ("data", data)}, pin=pin, cid_version=1, raw_leaves=True
        )
        return str(answer["Hash"])

    def add_many(self, label: str, count: int) -> list[str]:
        """Add ``count`` small distinct files in one call; return their CIDs."""
        parts = [("file", (f"{i}", f"{label} {i}".encode())) for i in range(count)]
        entries = self.rpc("add", files=parts, pin=False, cid_version=1, raw_leaves=True)
        entries = entries if isinstance(entries, list) else [entries]
        return [e["Hash"] for e in entries]

    def new_key(self, name: str) -> str:
        return str(self.rpc("key/gen", name, type="ed25519")["Id"])

    def publish_json_dir(
        self, files: dict[str, Any], key: str = "self", lifetime: str = "48h"
    ) -> str:
        """Add ``files`` (name -> JSON value, or bytes as they are) as a directory, publish it."""
        parts = [("file", ("manifests", b"", "application/x-directory"))]
        for name, value in files.items():
            content = value if isinstance(value, bytes) else json.dumps(value).encode()
            parts.append(("file", (f"manifests%2F{name}", content, "application/octet-stream")))
        entries = self.rpc("add", files=parts, pin=True)
        entries = entries if isinstance(entries, list) else [entries]
        root = next(e["Hash"] for e in entries if e["Name"] == "manifests")
        self.rpc("name/publish", f"/ipfs/{root}", key=key, allow_offline=True, lifetime=lifetime)
        return str(root)

    def recursive_pins(self) -> dict[str, str]:
        answer = self.rpc("pin/ls", type="recursive", names=True)
        return {cid: entry.get("Name", "") for cid, entry in answer["Keys"].items()}


class Net:
    """A private swarm of Kubo nodes, every node peered with every other that runs."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.key = new_swarm_key()
        self.nodes: list[KuboNode] = []

    def node(
        self,
        authorizations: dict[str, list[str]] | None = None,
        *,
        name: str | None = None,
        api_socket: bool = False,
        routing: str = "dht",
    ) -> KuboNode:
        """A new node; ``authorizations``, ``api_socket`` and ``routing`` as in KuboNode; its
        repo ``root/name`` (``node0``, ``node1``, ... by default)."""
        path = self.root / (name or f"node{len(self.nodes)}")
        node = KuboNode(
            self.binary, path, self.key, authorizations, api_socket=api_socket, routing=routing
        )
        node.start()
        for other in self.nodes:
            if other.running:
                node.connect(other)
        self.nodes.append(node)
        return node

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
