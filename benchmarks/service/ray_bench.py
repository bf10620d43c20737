"""`python -m benchmarks.service --executor ray`: the Ray executor against the local runner pool (issue 16).

On one machine, side by side in one run: the service with its local runner pool (2 runners), then the same service
with `--executor ray` on a real Ray cluster started here (tests/ray_cluster.py: a head without CPUs and worker
nodes of one CPU each), the same Azurite for both. Measured:
- per-job overhead: paced tiny jobs (server clock, created → ended, p50) on Ray minus the same on the local pool;
- tiny-job throughput on Ray (burst, server clock) and the CPU each job costs per process: client, Azurite, the
  service (gateway + dispatcher: what one gateway spends per job, which sizes a cluster) and Ray (every process of
  the cluster: raylets, GCS, workers);
- the speed-up of 16 CPU-heavy jobs on 2 worker nodes over 1 (makespan, server clock);
- cancel latency on Ray (DELETE → Cancelled, server clock).
"""
from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from services.client.aio import Workspace
from services.client.aio.optimization import SimulatedAnnealing
from tests.ray_cluster import RayCluster, RayNode

from . import load, stack
from .cpu import CpuMeter, children, process_cpu_s
from .stats import span_seconds

HEAVY_JOBS = 16
GOAL_OVERHEAD_MS = 10.0


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def ray_pids(cluster: RayCluster) -> list[int]:
    """Every process of the cluster: each node's `ray start` and all below it (raylet, GCS, agents, workers)."""
    roots = [n.process.pid for n in cluster.nodes if n.process is not None]
    return [p for root in roots for p in (root, *descendants(root)) if process_cpu_s(p) is not None]


@dataclass
class HeavyResult:
    jobs: int
    sweeps: int
    makespan_s: float  # first created → last ended (server clock)
    run_s_p50: float  # one job's own run (began → ended)


async def heavy(connection_file: str, jobs: int, sweeps: int, seed: int) -> HeavyResult:
    """`jobs` CPU-bound SA jobs (2000 spins, fixed sweeps: the same work whatever the machine) submitted at once."""
    async with Workspace(connection_file=connection_file) as ws:
        problems = [load.long_problem(seed + i) for i in range(jobs)]
        handles = await asyncio.gather(*(SimulatedAnnealing(ws, sweeps=sweeps, restarts=1, seed=seed + i)
                                         .submit(problem) for i, problem in enumerate(problems)))
        for job in handles:
            await job.wait_until_completed(max_poll_wait_secs=0.5, timeout_secs=900, print_progress=False)
    bad = [j.id for j in handles if j.details.status != "Succeeded"]
    if bad:
        raise load.BenchFailure(f"heavy jobs did not succeed: {bad[:3]}")
    details = [j.details for j in handles]
    runs = sorted(span_seconds(d.begin_execution_time, d.end_execution_time) for d in details)
    return HeavyResult(jobs, sweeps, span_seconds(min(d.creation_time for d in details),
                                                  max(d.end_execution_time for d in details)), runs[len(runs) // 2])


def wait_for_log(service, pattern: str, count: int = 1, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(re.findall(pattern, service.log_file.read_text(errors="replace"))) < count:
        if time.monotonic() > deadline:
            raise load.BenchFailure(f"the service never logged {pattern!r}:\n{service.tail(20)}")
        time.sleep(0.2)


def run(work: Path, blob, args, log) -> dict:
    """Every measurement above; returns the report (the caller prints and writes it)."""
    paced_s = args.paced_seconds or (3.0 if args.quick else 8.0)
    rate = min(args.rate, 20.0)  # low enough that nothing queues: the latency is the per-job path itself
    jobs = args.jobs or (100 if args.quick else 400)
    sweeps = 20_000 if args.quick else 60_000
    report: dict = {"args": {"paced_s": paced_s, "rate": rate, "burst_jobs": jobs, "clients": args.clients,
                             "heavy_jobs": HEAVY_JOBS, "heavy_sweeps": sweeps}}

    log(f"local pool (2 runners): paced {rate:g} jobs/s for {paced_s:g} s")
    with stack.service(work / "local", blob.blob_url, 2) as svc:
        conn = str(svc.connection_file)
        asyncio.run(load.burst(conn, jobs=20, clients=5, seed=99))
        local = asyncio.run(load.paced(conn, offered_per_s=rate, seconds=paced_s, clients=4))

    log("Ray cluster: head (0 CPUs) + 1 worker node (1 CPU)")
    cluster = RayCluster(worker_cpus=(1,)).start()
    try:
        env = {"OPENQIO_EXECUTOR": "ray", "OPENQIO_RAY_ADDRESS": cluster.address}
        with stack.service(work / "ray", blob.blob_url, 2, env) as svc:
            conn = str(svc.connection_file)
            asyncio.run(load.burst(conn, jobs=20, clients=5, seed=98))
            log(f"{HEAVY_JOBS} heavy jobs on 1 node")
            one = asyncio.run(heavy(conn, HEAVY_JOBS, sweeps, seed=500))
            log("adding a second worker node (1 CPU)")
            node = RayNode("worker2", 1)
            cluster.nodes.append(node)
            cluster.start_node(node)
            wait_for_log(svc, r"Ray cluster: 2 CPU\(s\) on 2 node")
            wait_for_log(svc, r"solver kernels loaded", count=2)
            log(f"{HEAVY_JOBS} heavy jobs on 2 nodes")
            two = asyncio.run(heavy(conn, HEAVY_JOBS, sweeps, seed=500))
            log(f"paced {rate:g} jobs/s for {paced_s:g} s on Ray")
            paced = asyncio.run(load.paced(conn, offered_per_s=rate, seconds=paced_s, clients=4))
            log(f"burst: {jobs} jobs from {args.clients} clients on Ray")
            meter = CpuMeter({"client": [os.getpid()], "azurite": [blob.process.pid, *children(blob.process.pid)],
                              "service": [svc.process.pid], "ray": ray_pids(cluster)})
            burst = asyncio.run(load.burst(conn, jobs=jobs, clients=args.clients, meter=meter))
            log("cancel: 5 trials on Ray")
            cancel = asyncio.run(load.cancels(conn, trials=5))
    finally:
        cluster.stop()

    added_ms = paced.server.p50_ms - local.server.p50_ms
    report.update({
        "local_paced": {"server": local.server.to_dict(), "queue": local.queue.to_dict()},
        "ray_paced": {"server": paced.server.to_dict(), "queue": paced.queue.to_dict()},
        "added_p50_ms": added_ms,
        "burst": {"jobs_per_s": burst.server_jobs_per_s, "verified": burst.verified, "cpu": burst.cpu,
                  "failures": burst.failures, "server": burst.server.to_dict()},
        "heavy": {"one_node": vars(one), "two_nodes": vars(two), "speedup": one.makespan_s / two.makespan_s},
        "cancel": {"server": cancel.server.to_dict(), "failures": cancel.failures},
    })
    per_job = {k: burst.cpu[k] / jobs * 1000 for k in ("client", "azurite", "service", "ray") if k in burst.cpu}
    report["table"] = [
        (f"tiny job, paced {rate:g}/s: created → ended p50, local pool / Ray",
         f"{local.server.p50_ms:.1f} / {paced.server.p50_ms:.1f} ms", "", ""),
        ("per-job overhead of Ray at p50", f"{added_ms:+.1f} ms", f"≤ {GOAL_OVERHEAD_MS:g} ms",
         "PASS" if added_ms <= GOAL_OVERHEAD_MS else "MISS"),
        (f"burst on Ray: {jobs} tiny jobs / {args.clients} clients, all verified", f"{burst.verified}/{jobs}",
         f"{jobs}/{jobs}", "PASS" if burst.verified == jobs and not burst.failures else "MISS"),
        ("burst throughput on Ray (server clock)", f"{burst.server_jobs_per_s:.1f} jobs/s", "", ""),
        ("  CPU per job: client / Azurite / service / Ray cluster",
         " / ".join(f"{per_job.get(k, float('nan')):.1f}" for k in ("client", "azurite", "service", "ray")) + " ms",
         "", ""),
        (f"{HEAVY_JOBS} heavy jobs ({sweeps} sweeps, 2000 spins): makespan 1 node / 2 nodes",
         f"{one.makespan_s:.1f} / {two.makespan_s:.1f} s", "", ""),
        ("speed-up, 2 nodes of 1 CPU over 1", f"{one.makespan_s / two.makespan_s:.2f}×", "", ""),
        ("cancel on Ray: DELETE → Cancelled (server clock)", cancel.server.brief(), "", ""),
    ]
    report["failures"] = burst.failures + cancel.failures
    return report
