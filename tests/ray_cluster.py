"""A real multi-node Ray cluster on this machine for the Ray integration tests: `ray start --head` plus worker nodes
started with `ray start --address=...`, each its own process group with its own --num-cpus, on free ports.

Lean on purpose (the test machine has 2 cores): no dashboard, small object stores, no usage stats. Nodes listen on
127.0.0.2, a loopback address (Ray turns 127.0.0.1 into the machine's network address, and traffic must stay on
loopback). Nodes are started one at a time (two `ray start` at once on one host can hang). Killing a node kills
its `ray start` process group (raylet, agents) and its worker processes, which Ray puts in groups of their own.
Each `ray start --block` gets SIGTERM from the kernel if the test process dies, and then stops its node.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from services.supervise import die_with_parent

NODE_IP = "127.0.0.2"
OBJECT_STORE_BYTES = 80 * 1024 * 1024  # Ray's minimum is 75 MiB
READY_LINE = "Ray runtime started"


class RayClusterError(RuntimeError):
    pass


def free_ports(count: int, taken: Collection[int] = ()) -> list[int]:
    """`count` distinct free ports, none of them in `taken`. Every socket stays bound until all are found: asked one
    at a time, the kernel can hand the same port out twice (two of a node's ports once came back equal, and Ray
    refused to start the node)."""
    ports: list[int] = []
    with contextlib.ExitStack() as bound:
        while len(ports) < count:
            s = bound.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] not in taken:
                ports.append(s.getsockname()[1])
    return ports


def ray_env() -> dict[str, str]:
    """The nodes' environment. Token authentication off, said explicitly: with RAY_AUTH_MODE unset, `ray start
    --head` turns it on whenever ~/.ray/auth_token exists (a plain local ray.init() writes one), and the worker
    nodes are then refused."""
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1", "RAY_AUTH_MODE": "disabled"}


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@dataclass
class RayNode:
    name: str
    cpus: int
    head: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)
    log: Path | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def raylet_pid(self) -> int | None:
        if self.process is None:
            return None
        for child in _children(self.process.pid):
            try:
                if "raylet/raylet" in Path(f"/proc/{child}/cmdline").read_text():
                    return child
            except OSError:
                continue
        return None


@dataclass
class RayCluster:
    worker_cpus: tuple[int, ...] = (1, 1)
    head_cpus: int = 0
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="oqr-")))  # short: Ray's socket paths
    port: int = 0  # the head's GCS; 0: a free port, chosen with client_port
    client_port: int = 0  # the head's Ray Client server (ray://); 0: a free port
    nodes: list[RayNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.port or not self.client_port:
            self.port, self.client_port = free_ports(2)

    @property
    def address(self) -> str:
        return f"{NODE_IP}:{self.port}"

    @property
    def client_address(self) -> str:
        return f"ray://{NODE_IP}:{self.client_port}"

    @property
    def workers(self) -> list[RayNode]:
        return [n for n in self.nodes if not n.head]

    def start(self) -> RayCluster:
        head = RayNode("head", self.head_cpus, head=True)
        self.nodes = [head] + [RayNode(f"worker{i}", cpus) for i, cpus in enumerate(self.worker_cpus, start=1)]
        try:
            for node in self.nodes:
                self.start_node(node)
        except Exception:
            self.stop()
            raise
        return self

    def start_node(self, node: RayNode, timeout: float = 90.0) -> None:
        agent, agent_grpc, metrics, runtime_env, dashboard = free_ports(5, taken=(self.port, self.client_port))
        common = ["--node-ip-address", NODE_IP, "--num-cpus", str(node.cpus), "--disable-usage-stats",
                  "--object-store-memory", str(OBJECT_STORE_BYTES), "--block",
                  "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port", str(agent_grpc),
                  "--metrics-export-port", str(metrics), "--runtime-env-agent-port", str(runtime_env)]
        if node.head:
            args = ["--head", "--port", str(self.port), "--include-dashboard=false",
                    "--dashboard-port", str(dashboard), "--ray-client-server-port", str(self.client_port),
                    "--temp-dir", str(self.base / "ray")]
        else:
            args = ["--address", self.address]
        node.log = self.base / f"{node.name}.log"
        with open(node.log, "ab") as out:
            node.process = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", *args, *common],
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=ray_env(), start_new_session=True,
                                            preexec_fn=die_with_parent(signal.SIGTERM))
        deadline = time.monotonic() + timeout
        while READY_LINE not in node.log.read_text(errors="replace"):
            if node.process.poll() is not None or time.monotonic() > deadline:
                tail = node.log.read_text(errors="replace")[-3000:]
                self.kill_node(node)
                raise RayClusterError(f"ray node {node.name} did not start:\n{tail}")
            time.sleep(0.2)

    def kill_node(self, node: RayNode) -> None:
        """SIGKILL the node: its raylet's workers (own process groups), then its `ray start` group."""
        if node.process is None:
            return
        raylet = node.raylet_pid()
        for pid in _children(raylet) if raylet else []:
            try:
                os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(node.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.process.wait(timeout=10)
        node.process = None

    def restart_node(self, node: RayNode) -> None:
        self.kill_node(node)
        self.start_node(node)

    def node_of_pid(self, pid: int) -> RayNode | None:
        """The node whose processes include `pid` (a Ray worker: worker → raylet → `ray start`)."""
        owners = {n.process.pid: n for n in self.nodes if n.process is not None}
        seen = 0
        while pid and seen < 6:
            if pid in owners:
                return owners[pid]
            pid = _ppid(pid) or 0
            seen += 1
        return None

    def head_logs(self, pattern: str, chars: int = 3000) -> str:
        """The end of each of the head's log files matching `pattern` (e.g. "ray_client_server*"), for a failure
        message: the cluster's files are gone once it stops."""
        logs = sorted((self.base / "ray" / "session_latest" / "logs").glob(pattern))
        return "\n".join(f"--- {path.name}:\n{path.read_text(errors='replace')[-chars:]}" for path in logs
                         if path.stat().st_size) or f"(no non-empty head log matches {pattern})"

    def stop(self) -> None:
        for node in reversed(self.nodes):  # worker nodes first, the head (GCS) last
            self.kill_node(node)
        shutil.rmtree(self.base, ignore_errors=True)
