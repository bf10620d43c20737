"""The load phases, driven through the native async client exactly as the SDK submits (POST storage/sasUri →
create container → upload inputData → PUT jobs/{id}) over HTTPS.

- burst: `jobs` jobs from `clients` concurrent clients (one Workspace, i.e. one HTTP session, each); every job must
  reach a terminal state, appear exactly once in list_jobs, have exactly one terminal event, and succeed with a
  result whose cost equals the cost recomputed from the problem. A submission answered 429 waits as told and is
  sent again (the client's default), each such answer counted.
- paced: open-loop submissions at a fixed offered rate, each tried once: a submission the service refuses (429 with
  Retry-After, services/gateway/admission.py) is counted, not retried; latency per admitted job from the service's
  own timestamps (creationTime → endExecutionTime). Every admitted job must succeed. A client told by a 429 to wait
  refuses its own further submissions until then without sending them (`held`, services/client/_transport.py), unless
  `hold=False`: then every submission is sent, as the SDK's clients send theirs.
- cancel: long SA jobs, cancelled once they report progress (the solver loop is running); latency from DELETE
  sent to cancellationTime recorded by the service (same machine clock), and to Cancelled seen by the client.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.status import JobStatus
from services.client.aio import Workspace
from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
from services.client.errors import ClientError

from .cpu import CpuMeter
from .problems import TinyProblem, check_result, tiny_problem
from .stats import none_waiting_share, rate, span_seconds, summarize

TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
TERMINAL_EVENTS = {"succeeded", "failed", "cancelled"}
TINY_SWEEPS = 20


def _status(job: Any) -> JobStatus:
    return JobStatus(job.details.status)


def _solver(ws: Workspace, seed: int) -> SimulatedAnnealing:
    return SimulatedAnnealing(ws, sweeps=TINY_SWEEPS, restarts=1, beta_start=0.1, beta_stop=3.0, seed=seed)


class BenchFailure(AssertionError):
    """A correctness check of the benchmark failed (a lost, duplicated, failed or wrong job)."""


@dataclass
class BurstResult:
    jobs: int
    clients: int
    submit_s: float  # wall time for all submissions
    server_jobs_per_s: float  # jobs / (last endExecutionTime − first creationTime)
    client_jobs_per_s: float  # jobs / (last terminal seen − first submit started); polling makes it a lower bound
    verified: int
    failures: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process from first submit to last seen
    queue: Any = None  # Summary: creationTime → beginExecutionTime (≈ 0 when the service keeps up with arrivals)
    server: Any = None  # Summary: creationTime → endExecutionTime
    refused: int = 0  # 429 answers the clients waited on as told before the service admitted their submissions


async def _wait_terminal(ws: Workspace, job: Any, max_poll_s: float) -> Any:
    await job.wait_until_completed(max_poll_wait_secs=max_poll_s, timeout_secs=600, print_progress=False)
    return job


async def burst(connection_file: str, jobs: int, clients: int, seed: int = 1,
                meter: CpuMeter | None = None) -> BurstResult:
    problems = [tiny_problem(seed * 1_000_000 + i) for i in range(jobs)]
    shares = [problems[c::clients] for c in range(clients)]
    submitted: dict[str, TinyProblem] = {}
    done_at: list[float] = []

    async def client(mine: list[TinyProblem], index: int, ws: Workspace) -> list[Any]:
        handles = []
        for k, problem in enumerate(mine):
            job = await _solver(ws, seed=index * 1000 + k).submit(problem.to_client())
            submitted[job.id] = problem
            handles.append(job)
        await submitted_all.wait()
        for job in handles:  # SDK-style polling (0.2 s growing ×1.5), capped at 1 s so 50 clients stay light
            await _wait_terminal(ws, job, max_poll_s=1.0)
            done_at.append(time.monotonic())
        return handles

    # Clients exist before the clock starts: building one (its TLS context loads the CA bundle) is a one-off cost.
    workspaces = [Workspace(connection_file=connection_file, user_agent=f"bench-client-{i}") for i in range(clients)]
    refused: list[float] = []  # the wait of each 429 (a service with a queueing limit: clients wait as told)
    for ws in workspaces:
        await ws.__aenter__()
        ws._rest.on_backoff = lambda status, wait, message: refused.append(wait)
    submitted_all = asyncio.Event()
    try:
        if meter is not None:
            meter.start()
        start = time.monotonic()
        tasks = [asyncio.create_task(client(share, i, workspaces[i])) for i, share in enumerate(shares)]
        watcher = asyncio.create_task(_when_submitted(submitted, jobs, submitted_all, tasks))
        handles = [job for group in await asyncio.gather(*tasks) for job in group]
        cpu = meter.stop() if meter is not None else {}
        await watcher
    finally:
        for ws in workspaces:
            await ws.close()
    submit_s = watcher.result() - start
    client_end = max(done_at)

    failures: list[str] = []
    ids = [job.id for job in handles]
    if len(set(ids)) != jobs:
        failures.append(f"{jobs} submissions produced {len(set(ids))} distinct job ids")
    async with Workspace(connection_file=connection_file) as ws:
        listed = [j.id for j in await ws.list_jobs()]
        mine = [i for i in listed if i in submitted]
        if len(mine) != len(set(mine)):
            failures.append(f"list_jobs returned {len(mine) - len(set(mine))} duplicate entries")
        missing = set(ids) - set(mine)
        if missing:
            failures.append(f"{len(missing)} submitted jobs are missing from list_jobs, e.g. {sorted(missing)[:3]}")
        verified = 0
        sem = asyncio.Semaphore(16)

        async def verify(job: Any) -> None:
            nonlocal verified
            async with sem:
                if _status(job) != JobStatus.SUCCEEDED:
                    failures.append(f"job {job.id} ended {job.details.status}: {job.details.error_data}")
                    return
                events = await ws.job_events(job.id)
                ends = [e["kind"] for e in events if e["kind"] in TERMINAL_EVENTS]
                starts = [e for e in events if e["kind"] == "started"]
                if ends != ["succeeded"] or len(starts) != 1:
                    failures.append(f"job {job.id}: terminal events {ends}, {len(starts)} start(s)")
                    return
                check_result(submitted[job.id], await job.get_results())
                verified += 1

        results = await asyncio.gather(*(verify(j) for j in handles), return_exceptions=True)
        failures += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    succeeded = [j for j in handles if _status(j) == JobStatus.SUCCEEDED]
    if not succeeded:
        raise BenchFailure(f"no burst job succeeded: {failures[:3]}")
    first_created = min(j.details.creation_time for j in handles)
    last_end = max(j.details.end_execution_time or j.details.creation_time for j in handles)
    return BurstResult(
        jobs=jobs, clients=clients, submit_s=submit_s,
        server_jobs_per_s=jobs / span_seconds(first_created, last_end),
        client_jobs_per_s=rate(jobs, start, client_end), verified=verified, failures=failures, cpu=cpu,
        queue=summarize([span_seconds(j.details.creation_time, j.details.begin_execution_time) for j in succeeded]),
        server=summarize([span_seconds(j.details.creation_time, j.details.end_execution_time) for j in succeeded]),
        refused=len(refused),
    )


async def _when_submitted(submitted: dict, jobs: int, event: asyncio.Event, tasks: list[asyncio.Task]) -> float:
    while len(submitted) < jobs and not all(t.done() for t in tasks):
        await asyncio.sleep(0.005)
    event.set()
    return time.monotonic()


@dataclass
class PacedResult:
    offered_per_s: float
    jobs: int
    achieved_per_s: float  # completions / (last endExecutionTime − first creationTime), service clock
    server: Any  # Summary: creationTime → endExecutionTime
    queue: Any  # Summary: creationTime → beginExecutionTime
    submit: Any  # Summary: the submit call (sasUri, container, upload, PUT)
    refused: int = 0  # submissions answered 429 (the service at capacity)
    refused_without_retry_after: int = 0  # of which without a Retry-After (none should be)
    held: int = 0  # of which the client refused without sending them (held by an earlier 429's Retry-After)
    none_waiting: float = 0.0  # share of the phase with none of its admitted jobs Waiting (stats.none_waiting_share)
    failures: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)


def tried_once(ws: Workspace) -> Workspace:
    """A workspace whose requests are not retried: a 429 surfaces at once (its Retry-After in the error)."""
    ws._rest.RETRY_TOTAL = 0
    ws._rest.BACKPRESSURE_WAIT_S = 0.0
    return ws


async def open_loop(count: int, per_s: float, send: Callable[[int], Awaitable[None]],
                    return_exceptions: bool = False) -> list[Any]:
    """`send(k)` started at t0 + k / per_s, whatever happened to the earlier ones (behind schedule, on a busy machine,
    the late ones go at once); the results of all, once all are done."""
    start = time.monotonic() + 0.1
    tasks = []
    for k in range(count):
        delay = start + k / per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(k)))
    return await asyncio.gather(*tasks, return_exceptions=return_exceptions)


async def paced(connection_file: str, offered_per_s: float, seconds: float, clients: int, seed: int = 2,
                meter: CpuMeter | None = None, hold: bool = True) -> PacedResult:
    """Open loop: job k is submitted at start + k / offered_per_s, whatever happened to earlier ones. Admitted jobs
    are polled once every job is in, as the burst's clients poll theirs once all are submitted: the phases pay for
    the same polls per job, and none grow with a backlog. (Until 2026-12-06 one job in ten was polled from 20 ms on
    while the phase ran, for a client-side latency that no figure reported any more: at 200 % those jobs waited
    ~0.45 s and were polled ~10 times each, 1.56 `GET`s per completed job in all against 1.00 now.)

    The generator holds only what a client would: a submission's task is made at its time (not all of them up
    front), and a refusal is kept as its Retry-After alone. Tasks made up front for a 30 s phase at 200 % (~14 000)
    and the refusals' exceptions (their tracebacks hold the submit call's frames) made the generator's own garbage
    collection 6.3 s of its 19.9 s of CPU in that phase (1.2 ms per completed job), charged to "client"
    (benchmarks/README.md, item 19; the benchmark's process also freezes its heap once started, __main__.py)."""
    count = max(1, int(offered_per_s * seconds))
    problems = [tiny_problem(seed * 1_000_000 + k) for k in range(count)]  # before the clock, as the burst's
    workspaces = [Workspace(connection_file=connection_file) for _ in range(clients)]
    for ws in workspaces:
        tried_once(await ws.__aenter__())._rest.HOLD_SUBMISSIONS = hold
    failures: list[str] = []
    refused: list[float | None] = []  # the Retry-After of each refusal
    held = [0]
    submit_s: list[float] = []
    finished: list[Any] = []
    all_in = asyncio.Event()
    polling = [asyncio.Lock() for _ in range(clients)]

    async def one(k: int) -> None:
        ws = workspaces[k % clients]
        problem = problems[k]
        t0 = time.monotonic()
        try:
            job = await _solver(ws, seed=k).submit(problem.to_client())
        except ClientError as exc:
            if exc.status != 429:
                raise
            refused.append(exc.retry_after)
            held[0] += exc.held
            return
        finally:
            submit_s.append(time.monotonic() - t0)
            if len(submit_s) == count:
                all_in.set()
        # polled as the SDK does (capped at 1 s) once every job is in: polls made while jobs still arrive would be
        # load that grows with any backlog (the service falling behind would be buried under polls of the jobs it
        # is behind on). One job at a time per client, as in the burst: polled all at once, a client's jobs each
        # opened a TLS connection of their own (~0.6 handshakes per job at 20 jobs/s), a cost the burst never paid
        await all_in.wait()
        async with polling[k % clients]:
            await _wait_terminal(ws, job, max_poll_s=1.0)
        if _status(job) != JobStatus.SUCCEEDED:
            failures.append(f"job {job.id} ended {job.details.status}")
            return
        finished.append((job, problem))

    cpu: dict[str, float] = {}
    try:
        if meter is not None:
            meter.start()
        results = await open_loop(count, offered_per_s, one, return_exceptions=True)
        if meter is not None:
            cpu = meter.stop()
        failures += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        for job, problem in finished[:50]:  # spot-check costs (the burst phase checks every one)
            check_result(problem, await job.get_results())
    finally:
        for ws in workspaces:
            await ws.close()
    jobs = [job for job, _ in finished]
    if not jobs:
        raise BenchFailure(f"no paced job succeeded ({len(refused)} refused): {failures[:3]}")
    server = [span_seconds(j.details.creation_time, j.details.end_execution_time) for j in jobs]
    queue = [span_seconds(j.details.creation_time, j.details.begin_execution_time) for j in jobs]
    first = min(j.details.creation_time for j in jobs)
    last = max(j.details.end_execution_time for j in jobs)
    return PacedResult(
        offered_per_s=offered_per_s, jobs=len(jobs), achieved_per_s=len(jobs) / span_seconds(first, last),
        server=summarize(server), queue=summarize(queue), submit=summarize(submit_s), refused=len(refused),
        refused_without_retry_after=refused.count(None), held=held[0], failures=failures, cpu=cpu,
        none_waiting=none_waiting_share([(j.details.creation_time, j.details.begin_execution_time) for j in jobs]),
    )


def long_problem(seed: int, n: int = 2000) -> Problem:
    """A sparse Ising problem big enough that SA with many sweeps runs for minutes unless cancelled."""
    rng = random.Random(seed)
    problem = Problem(name=f"bench-long-{seed}", problem_type=ProblemType.ising)
    for i in range(n):
        problem.add_term(c=rng.choice([-1, 1]), indices=[i, (i + 1) % n])
        problem.add_term(c=rng.choice([-1, 1]), indices=[i, (i + 7) % n])
    return problem


@dataclass
class CancelResult:
    trials: int
    server: Any  # Summary: DELETE sent → cancellationTime (service clock = this machine's clock)
    client: Any  # Summary: DELETE sent → Cancelled seen by polling every poll_s
    delete_call: Any  # Summary: the DELETE request itself
    failures: list[str] = field(default_factory=list)


async def cancels(connection_file: str, trials: int, poll_s: float = 0.005) -> CancelResult:
    server_s: list[float] = []
    client_s: list[float] = []
    delete_s: list[float] = []
    failures: list[str] = []
    async with Workspace(connection_file=connection_file) as ws:
        for t in range(trials):
            job = await SimulatedAnnealing(ws, sweeps=10**9, restarts=4, beta_start=0.1, beta_stop=3.0, timeout=120,
                                           seed=t).submit(long_problem(t))
            deadline = time.monotonic() + 120
            while not any(e["kind"] == "progress" for e in await ws.job_events(job.id)):  # solver loop is running
                if time.monotonic() > deadline:
                    raise BenchFailure(f"long job {job.id} reported no progress within 120 s")
                await asyncio.sleep(0.05)
            await asyncio.sleep(random.Random(t).uniform(0.0, 0.3))  # cancel at a random point of a chunk
            sent_wall = datetime.now(UTC)
            sent = time.monotonic()
            await ws._rest.request("DELETE", ws.connection.url("jobs", job.id), expect=(204,))
            delete_s.append(time.monotonic() - sent)
            while True:
                job = await ws.get_job(job.id)
                if _status(job) in TERMINAL:
                    break
                if time.monotonic() - sent > 60:
                    raise BenchFailure(f"job {job.id} not Cancelled 60 s after DELETE")
                await asyncio.sleep(poll_s)
            client_s.append(time.monotonic() - sent)
            if _status(job) != JobStatus.CANCELLED or job.details.cancellation_time is None:
                failures.append(f"job {job.id} ended {job.details.status} after a cancel")
                continue
            server_s.append(span_seconds(sent_wall, job.details.cancellation_time))
    if not server_s:
        raise BenchFailure(f"no cancel trial ended Cancelled: {failures[:3]}")
    return CancelResult(trials=trials, server=summarize(server_s), client=summarize(client_s),
                        delete_call=summarize(delete_s), failures=failures)
