"""RayPool: the runner pool's interface (what the dispatcher uses of services/dispatch/runner_pool.py) on a Ray
cluster, one Ray task per job.

- Slots are CPUs: `size` / `idle_count` count the cluster's CPUs (refreshed every HEALTH_S, so nodes that join or
  leave change them); `take_idle()` / `acquire()` hand out one, and `run()` asks Ray for `request.threads` CPUs
  (`num_cpus`), taking the extra ones from the idle count and capping at the largest node, so a big job gets a
  whole node and small ones run side by side.
- Inputs travel in the task's arguments: Ray inlines small ones in the task and moves larger ones through its
  object store (the service's node to the worker's); see the README's "Running on a cluster" for what was measured.
- Progress and cancel go through the job board (remote.py). Cancel is cooperative first (the solver stops between
  chunks, within POLL_S of the cancel), then `ray.cancel(force=True)` (the worker process is killed) at the hard
  deadline; a job past its own hard deadline gets the same. The caller gets `RunnerKilled`.
- Tasks are never retried by Ray (`max_retries=0`): a worker or node that dies gives `RunnerCrashed`, and the
  dispatcher requeues the job (it runs again on whichever node has room) until OPENQIO_MAX_ATTEMPTS. Job state is
  only ever written by the dispatcher into the service's SQLite; a task that finishes after its job was requeued
  or ended is ignored, so a job is never done twice after it is Succeeded.
- The Ray head is probed every HEALTH_S; once it is unreachable every running job is handed back (`RunnerCrashed`,
  so requeued), no slot is free, and the pool reconnects when the head answers again.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import ray
from ray.exceptions import TaskUnschedulableError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from contracts import errors
from contracts.runner import Progress, RunOutcome, RunRequest
from services.dispatch.runner_pool import RunnerCrashed, RunnerKilled

from . import link, remote
from .link import RayUnavailable, hostport, reachable

log = logging.getLogger(__name__)

HEALTH_S = 2.0  # the head is probed, and the cluster's CPUs are counted, this often (seconds)
WARM_TIMEOUT_S = 900.0  # a node's first warm-up may compile every kernel (about a minute on one core; slow disks more)
CRASHES = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError,
           ray.exceptions.OwnerDiedError, ray.exceptions.LocalRayletDiedError, ray.exceptions.RaySystemError,
           ray.exceptions.ActorDiedError, ray.exceptions.OutOfMemoryError)


@dataclass
class _Slot:
    """One job's claim on the cluster: `cpus` CPUs of the pool's count while it runs."""

    index: int
    cpus: int = 1
    job_id: str | None = None
    key: str | None = None  # this run's name on the job board: job id and slot index
    ref: Any = None
    node_id: str | None = None
    pid: int | None = None
    cancelled: bool = False
    killed: bool = False
    lost: asyncio.Future | None = None  # set with an exception when the head is lost
    on_progress: Callable[[Progress], Any] | None = None


class RayPool:
    def __init__(self, address: str = "", *, local_cpus: int | None = None,
                 entry_point: str = "solver_runner.entry:run", warm_entry: str = "solver_runner.warmup:warm"):
        self.address = address
        self.local_cpus = local_cpus  # CPUs of the local Ray started when `address` is empty
        self.entry_point = entry_point
        self.warm_entry = warm_entry
        self.size = 1  # the cluster's CPUs (at least 1, so the dispatcher's read-ahead has a size)
        self._capacity = 0  # CPUs of the live nodes
        self._largest = 1  # CPUs of the largest live node: the most one job can get
        self._busy = 0  # CPUs held by handed-out slots
        self._nodes: dict[str, int] = {}  # live node id -> its CPUs
        self._run_job: Any = None  # the remote function (made once connected)
        self._free = asyncio.Event()
        self._by_job: dict[str, _Slot] = {}
        self._handed = 0
        self._board: Any = None
        self._probe: tuple[str, int] | None = None
        self._healthy = False
        self._warmed: set[str] = set()
        self._background: list[asyncio.Task] = []
        self.jobs_by_node: Counter[str] = Counter()  # jobs each node finished since start (logged, see _health_loop)
        self._logged_counts: tuple[Counter[str], float] = (Counter(), 0.0)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self, wait_ready: bool = True) -> None:
        """Connect (with the job board on the head node), count the CPUs, warm every node's numba cache.
        RayUnavailable (one line) when the cluster cannot be reached."""
        self._probe = hostport(self.address)
        if self._probe is not None:
            why = await asyncio.to_thread(reachable, self._probe)
            if why is not None:
                raise RayUnavailable(f"cannot reach the Ray head at {self.address} ({why}): start it (ray start "
                                     "--head) or correct OPENQIO_RAY_ADDRESS")
        await asyncio.to_thread(self._connect)
        log.info("connected to Ray at %s (this service's Ray node: %s)", self.address or "a new local Ray",
                 ray.get_runtime_context().get_node_id())
        self._healthy = True
        await self._refresh()
        warming = self._warm_new_nodes()
        if wait_ready and warming:
            await asyncio.gather(*warming)
        self._background = [asyncio.create_task(self._health_loop(), name="ray-health"),
                            asyncio.create_task(self._progress_loop(), name="ray-progress")]

    def _connect(self) -> None:
        """Connect (link.connect, blocking: run in a thread) and keep what it made."""
        self._board, self._run_job, probe = link.connect(self.address, self.local_cpus)
        self._probe = self._probe or probe

    async def close(self, timeout: float = 5.0) -> None:
        for task in self._background:
            task.cancel()
        for slot in list(self._by_job.values()):
            self._cancel_ref(slot, force=True)
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.to_thread(ray.shutdown), timeout)

    # -- capacity -------------------------------------------------------------------------------------------------

    async def _refresh(self) -> None:
        """Count the live nodes' CPUs (Ray's view) and wake waiters when slots were added."""
        nodes = await asyncio.to_thread(ray.nodes)
        alive = {n["NodeID"]: int(n.get("Resources", {}).get("CPU", 0)) for n in nodes if n.get("Alive")}
        self._nodes = alive
        capacity = sum(alive.values())
        if capacity != self._capacity:
            log.info("Ray cluster: %d CPU(s) on %d node(s) with CPUs", capacity, sum(1 for c in alive.values() if c))
        self._capacity = capacity
        self._largest = max([1, *alive.values()])
        self.size = max(1, capacity)
        if self.idle_count > 0:
            self._free.set()

    def _warm_new_nodes(self) -> list[asyncio.Task]:
        """A warm-up task on every live node with CPUs not warmed yet (a node that joins gets one on its arrival)."""
        tasks = []
        for node_id, cpus in self._nodes.items():
            if cpus and node_id not in self._warmed:
                self._warmed.add(node_id)
                tasks.append(asyncio.create_task(self._warm(node_id), name=f"ray-warm-{node_id[:8]}"))
        return tasks

    async def _warm(self, node_id: str) -> None:
        warm = ray.remote(num_cpus=1, max_retries=0)(remote.warm_node).options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
        try:
            _, seconds = await asyncio.wait_for(asyncio.wrap_future(warm.remote(self.warm_entry).future()),
                                                WARM_TIMEOUT_S)
            log.info("Ray node %s: solver kernels loaded in %.1f s", node_id, seconds)
        except TaskUnschedulableError:  # the node left (a killed node stays listed a few seconds): nothing to warm
            log.info("Ray node %s left before its warm-up ran", node_id)
        except Exception as exc:  # noqa: BLE001 - a node that cannot warm up still runs jobs (they compile)
            cause = getattr(exc, "cause", None) or exc  # a RayTaskError carries the node's own exception
            log.warning("Ray node %s: warm-up failed (%s: %s)", node_id, type(cause).__name__,
                        " ".join(str(cause).split())[:300])

    @property
    def idle_count(self) -> int:
        if not self._healthy:
            return 0
        return max(0, self._capacity - self._busy)

    def busy_jobs(self) -> list[str]:
        return list(self._by_job)

    # -- slots ----------------------------------------------------------------------------------------------------

    def take_idle(self) -> _Slot | None:
        """A free CPU without waiting, or None."""
        if self.idle_count < 1:
            return None
        self._busy += 1
        self._handed += 1
        return _Slot(index=self._handed)

    async def acquire(self) -> _Slot:
        while True:
            slot = self.take_idle()
            if slot is not None:
                return slot
            self._free.clear()
            await self._free.wait()

    def release(self, slot: _Slot) -> None:
        """Return a slot unused (or after its job): its CPUs are free again."""
        self._busy -= slot.cpus
        slot.cpus = 0
        if self.idle_count > 0:
            self._free.set()

    # -- work -----------------------------------------------------------------------------------------------------

    async def run(self, slot: _Slot, request: RunRequest, on_progress: Callable[[Progress], Any] | None = None,
                  deadline_s: float | None = None) -> RunOutcome:
        """Run `request` as a Ray task on `slot`. Raises RunnerCrashed (worker, node or head lost) or RunnerKilled."""
        extra = min(request.threads, self._largest) - 1
        extra = max(0, min(extra, self.idle_count))
        self._busy += extra
        slot.cpus += extra
        if request.threads != slot.cpus:
            request = replace(request, threads=slot.cpus)
        slot.job_id, slot.key, slot.on_progress = request.job_id, f"{request.job_id}/{slot.index}", on_progress
        slot.lost = asyncio.get_running_loop().create_future()
        self._by_job[request.job_id] = slot
        watchdog = asyncio.ensure_future(self._watchdog(slot, request.job_id, deadline_s)) if deadline_s else None
        result: asyncio.Future | None = None
        try:
            task = self._run_job.options(num_cpus=slot.cpus, name=f"openqio-job-{request.job_id}")
            slot.ref = task.remote(request, self._board, self.entry_point, slot.key)
            result = asyncio.wrap_future(slot.ref.future())
            await asyncio.wait({result, slot.lost}, return_when=asyncio.FIRST_COMPLETED)
            if not result.done():
                raise RunnerCrashed(str(slot.lost.exception()))
            return await self._outcome(slot, request.job_id, result)
        finally:
            if result is None or not result.done():  # handed back (head lost, service stopping): stop the task too
                self._cancel_ref(slot, force=True)
                if result is not None:
                    result.cancel()
            if watchdog is not None:
                watchdog.cancel()
            if slot.lost.done():  # the head was lost after the task had ended by itself: nothing more to say
                slot.lost.exception()
            slot.lost.cancel()
            self._by_job.pop(request.job_id, None)
            slot.job_id = slot.ref = slot.on_progress = None
            self.release(slot)

    async def _outcome(self, slot: _Slot, job_id: str, result: asyncio.Future) -> RunOutcome:
        """The finished task's outcome; RunnerKilled / RunnerCrashed for a task stopped by force or lost."""
        try:
            outcome, node_id = result.result()
        except ray.exceptions.TaskCancelledError:
            if slot.killed:
                raise RunnerKilled("the job passed its hard deadline and its Ray task was stopped") from None
            return RunOutcome(job_id=job_id, status=RunOutcome.CANCELLED)
        except ray.exceptions.RayTaskError as exc:  # the task itself failed (e.g. a node without the solvers)
            detail = " ".join(str(exc.cause if exc.cause is not None else exc).split())[:300]
            return RunOutcome(job_id=job_id, status=RunOutcome.FAILED, error_code=errors.SOLVER_ERROR,
                              error_message=f"the Ray task failed: {detail}")
        except (*CRASHES, ray.exceptions.RayError) as exc:
            raise await self._crashed(slot, exc) from None
        self.jobs_by_node[node_id] += 1
        return outcome

    async def _crashed(self, slot: _Slot, exc: Exception) -> RunnerCrashed:
        """What a lost task means: its worker or node died, or (this service's own raylet died, or the head does not
        answer now) the head is gone, and then every running job goes back to the queue at once and no job starts
        until it answers, rather than each burning its attempts on a cluster that is not there."""
        if self._healthy:
            why = "its raylet died" if isinstance(exc, ray.exceptions.LocalRayletDiedError) else None
            if why is None and self._probe is not None:
                why = await asyncio.to_thread(reachable, self._probe)
            if why is not None:
                self._head_lost(why)
        if not self._healthy:
            return RunnerCrashed("lost the Ray head while the job ran")
        where = f" on Ray node {slot.node_id}" if slot.node_id else ""
        return RunnerCrashed(f"the Ray worker running the job died{where} ({type(exc).__name__})")

    async def _watchdog(self, slot: _Slot, job_id: str, deadline_s: float) -> None:
        await asyncio.sleep(deadline_s)
        if slot.job_id == job_id and slot.ref is not None:
            log.warning("job %s passed its hard deadline (%.1f s); force-cancelling its Ray task", job_id, deadline_s,
                        extra={"job_id": job_id})
            slot.killed = True
            self._cancel_ref(slot, force=True)

    def _cancel_ref(self, slot: _Slot, force: bool) -> None:
        if slot.ref is not None:
            with contextlib.suppress(Exception):
                ray.cancel(slot.ref, force=force)

    def stage(self, slot: _Slot, request: RunRequest) -> None:
        """No job waits behind another here (RunnerPool.stage): Ray starts each task as a slot frees."""
        return None

    def withdraw(self, job_id: str) -> bool:
        return False

    def cancel(self, job_id: str, hard_deadline_s: float | None = None) -> bool:
        """Ask the job's task to stop (its solver reads the flag between chunks); force-cancel it after
        `hard_deadline_s`. False when the job is not running here."""
        slot = self._by_job.get(job_id)
        if slot is None:
            return False
        slot.cancelled = True
        with contextlib.suppress(Exception):
            self._board.cancel.remote(slot.key)
        if hard_deadline_s is not None:
            asyncio.ensure_future(self._watchdog(slot, job_id, hard_deadline_s))
        return True

    def kill(self, job_id: str) -> bool:
        """Force-cancel the job's task now (its worker process is killed); the caller gets RunnerKilled."""
        slot = self._by_job.get(job_id)
        if slot is None:
            return False
        slot.killed = True
        self._cancel_ref(slot, force=True)
        return True

    def pid_of(self, job_id: str) -> int | None:
        """The Ray worker process running the job (on its node), once the task has reported; else None."""
        slot = self._by_job.get(job_id)
        return slot.pid if slot is not None else None

    # -- background: progress, health -------------------------------------------------------------------------------

    async def _progress_loop(self) -> None:
        """While jobs run: collect the board's reports every POLL_S, hand progress to each job's callback, and send
        the board the cancelled jobs (all of them, so a restarted board learns them again)."""
        while True:
            await asyncio.sleep(remote.POLL_S)
            if not self._by_job or not self._healthy:
                continue
            cancelled = [slot.key for slot in self._by_job.values() if slot.cancelled]
            try:
                reports = await asyncio.wait_for(
                    asyncio.wrap_future(self._board.collect.remote(cancelled).future()), remote.BOARD_CALL_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - progress is best effort; cancels are re-sent next round
                log.debug("job board unavailable: %s", exc)
                continue
            for key, (node_id, pid, progress) in reports.items():
                job_id = key.rpartition("/")[0]
                slot = self._by_job.get(job_id)
                if slot is None or slot.key != key:  # a run that ended (or an earlier run of the job)
                    continue
                if slot.node_id is None:
                    slot.node_id, slot.pid = node_id, pid
                    log.info("job %s running on Ray node %s (worker pid %d, %d CPU(s))", job_id, node_id, pid,
                             slot.cpus, extra={"job_id": job_id})
                if progress is not None and slot.on_progress is not None:
                    with contextlib.suppress(Exception):
                        result = slot.on_progress(progress)
                        if asyncio.iscoroutine(result):
                            await result

    async def _health_loop(self) -> None:
        """Probe the head and recount CPUs every HEALTH_S; on the head's loss hand every running job back, and
        reconnect once it answers again."""
        failures = 0
        while True:
            await asyncio.sleep(HEALTH_S)
            why = await asyncio.to_thread(reachable, self._probe) if self._probe is not None else None
            if why is None and self._healthy:
                failures = 0
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._refresh(), HEALTH_S * 5)
                    self._warm_new_nodes()
                self._log_counts()
                continue
            if why is not None:
                failures += 1
                if self._healthy and failures >= 2:
                    self._head_lost(why)
                continue
            await self._reconnect()

    def _log_counts(self) -> None:
        """The jobs each node finished since start, when they changed and the pool is idle (or a minute passed): where
        the work went, for operators (and tests) without Ray's dashboard."""
        counts, at = self._logged_counts
        if self.jobs_by_node == counts or (self._by_job and time.monotonic() - at < 60):
            return
        self._logged_counts = (Counter(self.jobs_by_node), time.monotonic())
        log.info("Ray jobs finished per node since start: %s",
                 ", ".join(f"{node}={n}" for node, n in sorted(self.jobs_by_node.items())))

    @property
    def _head(self) -> str:
        if self._probe is not None:
            return f"{self._probe[0]}:{self._probe[1]}"
        return self.address or "the local Ray"

    def health(self) -> str | None:
        """None while the Ray head answers; else why no job can start (GET /healthz answers 503 with it)."""
        return None if self._healthy else f"the Ray head at {self._head} does not answer; jobs wait until it does"

    def _head_lost(self, why: str) -> None:
        self._healthy = False
        running = list(self._by_job)
        log.error("lost the Ray head at %s (%s): %d running job(s) handed back to the queue; no job starts until "
                  "the head answers again", self._head, why, len(running))
        for job_id in running:
            slot = self._by_job[job_id]
            if slot.lost is not None and not slot.lost.done():
                slot.lost.set_exception(RunnerCrashed("lost the Ray head while the job ran"))

    async def _reconnect(self) -> None:
        """The head answers again: a new connection (the old driver state died with the head), board and warm-ups."""
        log.info("the Ray head at %s answers again; reconnecting", self._head)
        try:
            await asyncio.wait_for(asyncio.to_thread(ray.shutdown), 30)
            await asyncio.to_thread(self._connect)
            self._warmed.clear()
            await self._refresh()
        except Exception as exc:  # noqa: BLE001 - tried again at the next probe
            log.error("reconnecting to the Ray head failed: %s", " ".join(str(exc).split())[:300])
            return
        self._healthy = True
        self._warm_new_nodes()
        self._free.set()
        log.info("reconnected to the Ray head: %d CPU(s)", self._capacity)
