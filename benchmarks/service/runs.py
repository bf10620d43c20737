"""One run of the service benchmark's load phases, and what several runs say together (median and range).

A run measures the capacity with a burst on the service as `make run` configures it (each service started is first
warmed up with an unmeasured burst of the same size: `warm_up` in `one_run`), then offers paced load to a
service with a queueing-delay limit (OPENQIO_MAX_QUEUE_DELAY_S): 100 jobs/s, then 50 %, 100 % and 200 % of the
capacity just measured (200 % twice: as the native client submits, and with every submission sent, UNHELD; which
comes first alternates from run to run), then a flood (a burst, at that service: refused clients wait as told and
retry, as the SDK's and the native client's do), and ends with a second burst ("burst after"). Each phase gives the
same figures (`phase_figures`): CPU per job per component (the primary figure: steadier than wall time on a shared
VM), completed jobs/s, server latency, submissions refused (429).

Why the second burst: the 200 % phase is judged against the burst capacity and CPU per job, and a shared VM's speed
drifts from minute to minute (the load generator, unchanged, cost 1.9-3.0 ms per job between runs of one night).
Against the burst a minute before alone, the runs with the fastest bursts missed the 200 % goals and the slowest
met them; the mean of the bursts before and after brackets the 200 % phase in time (`bracketed`).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import load, stack
from .cpu import CpuMeter

COMPONENTS = ("client", "azurite", "service", "runners")
# 200 % again, every submission sent: the native client holds a workspace's submissions while a 429 asks it to wait
# (services/client/_transport.py); the SDK's clients send each one, and each refusal costs both sides ~1.4 ms of CPU
UNHELD = "200 %, every submission sent"
# a paced phase whose admitted jobs took longer than this (p99) keeps its service's log (keep_log): one held 200 %
# phase stalled for seconds (p99 8.2 s, 2026-12-06 afternoon) and its log was gone with the temporary directory
KEEP_LOG_P99_MS = 2000.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Plan:
    burst_jobs: int
    clients: int
    runners: int
    paced_s: float  # length of the 100 jobs/s, 50 % and 100 % phases
    overload_s: float  # length of the 200 % phase
    max_queue_delay_s: float  # OPENQIO_MAX_QUEUE_DELAY_S of the paced phases' service
    stack: str  # "supervised" or "external" (benchmarks/service/stack.py)


def cpu_figures(cpu: dict[str, float], jobs: int) -> dict[str, float]:
    """CPU milliseconds per completed job, per component and in all; busy cores (all, outside the stack)."""
    out = {f"cpu_{name}_ms": cpu.get(name, 0.0) / jobs * 1000 for name in COMPONENTS} if jobs else {}
    if out:
        out["cpu_total_ms"] = sum(out.values())
    for key in ("machine_busy_cores", "other_cores"):
        if key in cpu:
            out[key] = cpu[key]
    return out


def phase_figures(result: Any, offered_per_s: float | None = None) -> dict[str, Any]:
    """The figures of a burst (BurstResult) or paced (PacedResult) phase."""
    if isinstance(result, load.BurstResult):
        return {"jobs": result.jobs, "jobs_per_s": result.server_jobs_per_s, "server_p50_ms": result.server.p50_ms,
                "server_p99_ms": result.server.p99_ms, "queue_p50_ms": result.queue.p50_ms, "refused": result.refused,
                "failures": len(result.failures) + result.jobs - result.verified,
                **cpu_figures(result.cpu, result.jobs)}
    return {"offered_per_s": offered_per_s, "jobs": result.jobs, "jobs_per_s": result.achieved_per_s,
            "server_p50_ms": result.server.p50_ms, "server_p99_ms": result.server.p99_ms,
            "queue_p50_ms": result.queue.p50_ms, "refused": result.refused,
            "refused_without_retry_after": result.refused_without_retry_after, "held": result.held,
            "none_waiting": result.none_waiting,
            "failures": len(result.failures),
            **cpu_figures(result.cpu, result.jobs)}


def keep_log(figures: dict[str, dict], log_file: Path, keep: Path | None, name: str) -> Path | None:
    """Copy a service's log to `keep`/`name` when one of its phases' admitted jobs took over KEEP_LOG_P99_MS (p99)."""
    slow = [p for p, f in figures.items()  # paced phases only: a burst's p99 is its own queue of 1000 jobs
            if f.get("offered_per_s") is not None and f.get("server_p99_ms", 0.0) > KEEP_LOG_P99_MS]
    if keep is None or not slow or not log_file.exists():
        return None
    keep.mkdir(parents=True, exist_ok=True)
    kept = keep / name
    shutil.copyfile(log_file, kept)
    log(f"{name}: p99 over {KEEP_LOG_P99_MS:g} ms in {', '.join(slow)}: the service's log kept in {kept}")
    return kept


def one_run(index: int, plan: Plan, work: Path, external: Any | None,
            keep: Path | None = None) -> tuple[dict[str, dict], list[str]]:
    """{phase: figures} of one run, and its correctness failures. A paced service whose admitted jobs took over
    KEEP_LOG_P99_MS leaves its log in `keep` (keep_log)."""
    blob_url = external.blob_url if external is not None else None
    figures: dict[str, dict] = {}
    failures: list[str] = []

    def meter_for(svc: Any) -> Callable[[], CpuMeter]:
        return lambda: CpuMeter.for_stack(os.getpid(), stack.processes(svc, external))

    def warm_up(conn: str, seed: int) -> None:
        """A burst as large as the measured one, unmeasured, on every service started, so that each phase measures
        a service in its steady state: Azurite's JavaScript runs slower until V8 has compiled its hot paths, and
        the first thousand jobs of a fresh stack cost Azurite 3.9-4.8 ms of CPU each, later ones 2.4-3.2
        (2026-12-06, six bursts back to back on one service, twice). With a warm-up of 20 jobs the bursts measured a
        colder stack than the 200 % phase, which ran after ~3000 jobs of the earlier phases, and flattered it."""
        result = asyncio.run(load.burst(conn, jobs=plan.burst_jobs, clients=plan.clients, seed=seed))
        failures.extend(result.failures)

    def burst(phase: str, seed: int) -> None:
        with stack.service(work / f"run{index}-{phase.replace(' ', '-')}", blob_url, plan.runners) as svc:
            conn = str(svc.connection_file)
            warm_up(conn, seed=3000 + seed)
            log(f"run {index}: {phase} of {plan.burst_jobs} jobs from {plan.clients} clients")
            result = asyncio.run(load.burst(conn, jobs=plan.burst_jobs, clients=plan.clients, seed=seed,
                                            meter=meter_for(svc)()))
            failures.extend(result.failures)
            figures[phase] = phase_figures(result)

    burst("burst", index)
    capacity = figures["burst"]["jobs_per_s"]
    env = {"OPENQIO_MAX_QUEUE_DELAY_S": f"{plan.max_queue_delay_s:g}"}
    with stack.service(work / f"run{index}-paced", blob_url, plan.runners, env) as svc:
        conn, meter = str(svc.connection_file), meter_for(svc)
        warm_up(conn, seed=4000 + index)  # (clients refused past the queueing limit wait as told, as in the flood)
        overload = [("200 %", 2 * capacity, plan.overload_s), (UNHELD, 2 * capacity, plan.overload_s)]
        if index % 2 == 0:  # the two alternate, so that neither is always the later one on this service
            overload.reverse()
        for phase, rate, seconds in (("paced 100/s", 100.0, plan.paced_s), ("50 %", 0.5 * capacity, plan.paced_s),
                                     ("100 %", capacity, plan.paced_s), *overload):
            log(f"run {index}: {phase}: {rate:.0f} jobs/s offered for {seconds:g} s")
            result = asyncio.run(load.paced(conn, offered_per_s=rate, seconds=seconds, clients=plan.clients,
                                            seed=index * 10 + len(figures), meter=meter(), hold=phase != UNHELD))
            failures += result.failures
            figures[phase] = phase_figures(result, rate)
            time.sleep(1.0)
        log(f"run {index}: flood: {plan.burst_jobs} jobs from {plan.clients} clients that wait as told when refused")
        result = asyncio.run(load.burst(conn, jobs=plan.burst_jobs, clients=plan.clients, seed=2000 + index,
                                        meter=meter()))
        failures.extend(result.failures)
        figures["flood"] = phase_figures(result)
    keep_log(figures, svc.log_file, keep, f"run{index}-paced-{time.strftime('%Y%m%d-%H%M%S')}.log")
    burst("burst after", 1000 + index)
    return figures, failures


# Cores busy outside the stack (CpuMeter's `other_cores`) past which a phase measured a machine something else was
# using: idle runs show 0.00-0.10; an invocation of 2026-12-07 evening with a second benchmark running beside it
# showed up to 1.25, its bursts down to 186-314 jobs/s from ~340, and nothing else said so.
DISTURBED_CORES = 0.25


def disturbed(runs: list[dict[str, dict]]) -> str | None:
    """A line naming the runs in which some phase had more than DISTURBED_CORES busy outside the stack, or None."""
    worst = {number: max(busy) for number, run in enumerate(runs, 1)
             if (busy := [f["other_cores"] for f in run.values() if f.get("other_cores", 0.0) > DISTURBED_CORES])}
    if not worst:
        return None
    named = ", ".join(f"{number} (up to {cores:.2f})" for number, cores in worst.items())
    return (f"a disturbed machine: more than {DISTURBED_CORES:g} cores busy outside the stack in run(s) {named}; "
            "their figures are not this stack's alone: run again on an idle machine")


def bracketed(run: dict[str, dict], key: str) -> float:
    """A burst figure for the phases between the two bursts: the mean of the burst before and the burst after them
    (the burst before alone when a run has no burst after)."""
    values = [run[phase][key] for phase in ("burst", "burst after") if run.get(phase, {}).get(key) is not None]
    return sum(values) / len(values)


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    values: tuple[float, ...]

    def brief(self, digits: int = 1) -> str:
        if len(self.values) == 1:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


def spread(runs: list[dict[str, dict]], phase: str, key: str) -> Spread | None:
    values = tuple(float(r[phase][key]) for r in runs if phase in r and r[phase].get(key) is not None)
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), values)
