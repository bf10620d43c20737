"""The dispatcher: claims Waiting jobs, feeds them to runners, and records how each one ends.

Order of effects for every job (side effects before state):
  claim (Waiting → Executing, CAS) → read input blob → run on a runner → write `rawOutputData` → Succeeded.
Anything that goes wrong ends the job Failed with errorData, or requeues it (runner crash, storage outage) until
`max_attempts`; nothing leaves a job Executing once its runner is gone. On start, jobs left Executing by a previous
process (a crash) are requeued or failed.

Cores are shared out per job: a job that starts while no other job waits gets numba threads for its own core plus
every idle runner's (when its input is PARALLEL_MIN_INPUT_BYTES or more), so a lone job uses the whole machine for
its restarts / replicas / population. The idle runners stay in the pool: a job submitted meanwhile starts at once
on one of them (one thread), and the OS shares the cores until one ends. (Taking idle runners out of the pool for
the lone job's whole run instead made every later job wait behind a long one.) When jobs queue, each gets one
thread, so many small jobs run side by side.

Read-ahead: while every runner is busy, the inputs of the next `prefetch` Waiting jobs (up to FIRST_GET_BYTES each)
are read in the background, without claiming them (they stay Waiting, and a cancel still finds them Waiting). A job claimed
later then starts without a storage round trip: for tiny jobs that round trip is most of the time a runner spends
per job. A read ahead that failed, or whose job went elsewhere, is dropped, and the job's input is read again when
it is claimed, with the usual limits and retries.

Followers: while jobs wait and no runner is idle, a job that starts on a runner has the next Waiting job claimed at
once and queued behind it (RunnerPool.stage), so the runner goes from one job to the next without waiting for the
event loop: the outcome's trip back, a claim through aiosqlite's thread and the hand-over took longer than a tiny
job (under overload 14 ms a job per runner: 5 from handing a job over to its outcome back, 9 on to the next one),
and that gap, not the CPU, set the rate.
A follower whose runner is still busy when another frees up starts there instead, one cancelled while it waits ends
Cancelled at once, and one whose runner dies runs as any other job.

Held inputs: the gateway checks every input when the job is submitted and hands small ones (the bytes came with that
check) to `hold_input`; a job whose input is held starts without reading storage at all, and still runs if storage
loses the blob meanwhile (Azurite keeps its index in memory for up to 5 s). Held inputs are bounded by
HELD_INPUT_BYTES, oldest dropped first. A job whose input was checked at submission but is gone when it runs (and is
not held) ends Failed `InputDataLost`, not `InputDataNotFound`: storage lost it.

Results: a Succeeded job's result is kept in the store (fsynced) in the same transaction that marks it Succeeded, after
the `rawOutputData` blob was written; services/dispatch/outputs.py restores the blob from there if storage loses it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

from contracts import errors, targets
from contracts.errors import ContractError
from contracts.events import EventKind
from contracts.jobs import ErrorData
from contracts.results import encode_result
from contracts.runner import Progress, RunOutcome, RunRequest
from contracts.status import JobStatus
from contracts.summary import unavailable
from services.blobs import InputError, StorageFull, StorageUnavailable, WorkspaceStorage
from services.blobs.azure_store import FIRST_GET_BYTES
from services.jobs.store import ClaimedJob, JobStore, StoredOutput, StoreFull

from .runner_pool import NotStarted, RunnerCrashed, RunnerKilled, RunnerPool

log = logging.getLogger(__name__)

# Inputs smaller than this (as stored, gzip or not: some hundreds of terms) run on one thread even when cores are
# idle: their sweeps take microseconds, so waking a second thread, and sharing a core with the next job's runner,
# cost more than they save (measured: runner CPU per tiny job doubled, paced latency up, in the service benchmark).
PARALLEL_MIN_INPUT_BYTES = 16 * 1024
HELD_INPUT_BYTES = 64 * 1024 * 1024  # inputs held from submission (hold_input), at most this many bytes in all


def _quiet(task: asyncio.Task) -> None:
    """Retrieve a read-ahead's exception, so a dropped one is not reported as 'never retrieved'."""
    if not task.cancelled():
        task.exception()


class Dispatcher:
    def __init__(
        self,
        store: JobStore,
        blobs: WorkspaceStorage,
        pool: RunnerPool,
        *,
        limits: Any = None,
        max_attempts: int = 3,
        hard_deadline_grace_s: float = 10.0,
        max_job_seconds: float | None = None,
        storage_retry_s: float = 0.5,
        storage_max_wait_s: float = 300.0,
        progress_event_interval_s: float = 1.0,
        prefetch: int | None = None,
    ):
        self.store = store
        self.blobs = blobs
        self.pool = pool
        self.limits = limits
        self.max_attempts = max_attempts
        self.hard_deadline_grace_s = hard_deadline_grace_s
        self.max_job_seconds = max_job_seconds
        self.storage_retry_s = storage_retry_s
        self.storage_max_wait_s = storage_max_wait_s
        self.progress_event_interval_s = progress_event_interval_s
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None
        self._stopping = False
        self.prefetch = pool.size if prefetch is None else max(0, prefetch)  # inputs read ahead (default: runners)
        self._prefetched: dict[str, asyncio.Task] = {}  # Waiting job id -> its input being read ahead
        self._prefetch_wake = asyncio.Event()
        self._prefetch_task: asyncio.Task | None = None
        self._starting = 0  # jobs claimed for a free runner that have not taken it yet (reading their input)
        self._cancelled: set[str] = set()  # claimed jobs cancelled before they reached a runner
        self._staging: set[int] = set()  # runners whose follower is being claimed (_stage_next)
        self._held: OrderedDict[str, tuple[bytes, str | None]] = OrderedDict()  # job id -> input from submission
        self._held_bytes = 0
        self.progress: dict[str, Progress] = {}  # latest progress per running job (for streaming / dashboards)
        self._waiting_for_space: dict[str, float] = {}  # job id -> since when its result waits for blob storage's disk

    # -- the gateway's interface ----------------------------------------------------------------------------------

    def wake(self) -> None:
        """A job was submitted (or a runner freed up): look for work now rather than at the next poll."""
        self._wake.set()
        self._prefetch_wake.set()

    def results_waiting_for_space(self) -> tuple[int, float] | None:
        """While finished jobs' results wait for space on blob storage's disk (StorageFull): how many, and since when
        (time.time() of the oldest's first refusal); None otherwise. Known only from results refused: a full disk
        with no job ending meanwhile shows here when one ends."""
        if not self._waiting_for_space:
            return None
        return len(self._waiting_for_space), min(self._waiting_for_space.values())

    def hold_input(self, job_id: str, data: bytes, content_type: str | None) -> bool:
        """Keep a job's input (read by the gateway's check) for its run; oldest dropped past HELD_INPUT_BYTES. A
        dropped one is read from storage when the job runs, as without holding. The gateway holds it before it
        stores the job. True when held by this call (False: too big, or held already)."""
        if len(data) > HELD_INPUT_BYTES // 4 or job_id in self._held:
            return False
        self._held[job_id] = (data, content_type)
        self._held_bytes += len(data)
        while self._held_bytes > HELD_INPUT_BYTES:
            _, (dropped, _) = self._held.popitem(last=False)
            self._held_bytes -= len(dropped)
        return True

    def drop_input(self, job_id: str) -> None:
        """Forget an input held for a job the gateway did not store after all (a conflict, a re-PUT, an error)."""
        self._take_held(job_id)

    def _take_held(self, job_id: str) -> tuple[bytes, str | None] | None:
        held = self._held.pop(job_id, None)
        if held is not None:
            self._held_bytes -= len(held[0])
        return held

    async def cancel(self, job_id: str) -> None:
        """Ask the runner of an Executing job to stop; it is killed after the grace period if it does not."""
        if self.pool.withdraw(job_id) or not self.pool.cancel(job_id, hard_deadline_s=self.hard_deadline_grace_s):
            # Claimed but not on a runner yet (reading its input), or its runner just finished: a job about to take
            # a runner looks here first and ends Cancelled instead (only a DELETE, through here, can cancel a
            # claimed job, so this replaces reading the job back from the store before every run).
            self._cancelled.add(job_id)
            log.info("cancel for job %s: not on a runner yet", job_id, extra={"job_id": job_id})

    # -- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.recover()
        self._loop_task = asyncio.create_task(self._run_loop(), name="dispatcher")
        if self.prefetch > 0:
            self._prefetch_task = asyncio.create_task(self._prefetch_loop(), name="dispatcher-read-ahead")

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop claiming work; give running jobs `grace_s` to finish, then requeue what is left."""
        self._stopping = True
        self._wake.set()
        for background in (self._loop_task, self._prefetch_task):
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
        for read in self._prefetched.values():
            read.cancel()
        self._prefetched.clear()
        if self._tasks and grace_s > 0:
            await asyncio.wait(self._tasks, timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self) -> None:
        """Requeue (or fail, past max_attempts) every job a previous process left Executing."""
        for claimed in await self.store.executing():
            await self._requeue_or_fail(claimed, "the service stopped while the job was executing")

    # -- main loop ------------------------------------------------------------------------------------------------

    async def _run_loop(self) -> None:
        """Claim a Waiting job whenever a runner is free and not yet promised to another claimed job, and start it.

        A claimed job reads its input before it takes its runner (_execute), so a runner is busy only while it
        solves: holding it through the storage round trip and the event loop's queue made a runner's time per tiny
        job several times its solve time, and with one runner per core that, not the CPU, capped throughput (the
        service benchmark kept a backlog with 20 % of the cores idle)."""
        while not self._stopping:
            self._wake.clear()  # before looking: a submission or a freed runner during the claim sets it again
            claimed = None
            if self._free_runners() > 0:
                claimed = await self._claim()
            if claimed is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            self._starting += 1
            ahead = self._prefetched.pop(claimed.details.id, None)
            self._track(asyncio.create_task(self._execute(claimed, ahead), name=f"job-{claimed.details.id}"))
            self._prefetch_wake.set()

    async def _claim(self) -> ClaimedJob | None:
        """The oldest Waiting job, claimed; None when none waits or the claim failed (the run loop claims again
        within a second): a full disk is logged once by the store, anything else here."""
        try:
            return await self.store.claim_next()
        except StoreFull:
            return None
        except Exception:  # noqa: BLE001 - the store is local SQLite; log and keep the loop alive
            log.exception("claiming a job failed")
            return None

    def _track(self, task: asyncio.Task) -> None:
        """Keep a job's task (runs and outcome recordings) until it ends: stop() waits for, or cancels, them."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _free_runners(self) -> int:
        """Idle runners not promised to a claimed job that is still reading its input."""
        return self.pool.idle_count - self._starting


    async def _prefetch_loop(self) -> None:
        """Keep the inputs of the next Waiting jobs read while no runner is idle (see the module docstring)."""
        while not self._stopping:
            await self._prefetch_wake.wait()
            self._prefetch_wake.clear()
            if self._free_runners() > 0:
                continue  # a job submitted now is claimed at once: nothing to win by reading ahead
            try:
                upcoming = await self.store.next_waiting(self.prefetch)
            except Exception:  # a failed read-ahead costs nothing but the head start
                log.exception("looking up the next waiting jobs failed")
                continue
            wanted = {job.id for _, job in upcoming}
            for job_id in [j for j in self._prefetched if j not in wanted]:  # cancelled, or claimed meanwhile
                self._prefetched.pop(job_id).cancel()
            for workspace, job in upcoming:
                if job.id not in self._prefetched and job.id not in self._held:
                    read = asyncio.create_task(
                        self.blobs.for_workspace(workspace).read_input(job.input_data_uri, job.container_uri,
                                                                       max_bytes=FIRST_GET_BYTES),
                        name=f"read-ahead-{job.id}")
                    read.add_done_callback(_quiet)
                    self._prefetched[job.id] = read

    async def _input_of(self, claimed: ClaimedJob, ahead: asyncio.Task | None) -> tuple[bytes, str | None]:
        """The job's input: held from submission, else from its read-ahead when that succeeded, else read now
        (limits, retries, errors)."""
        held = self._take_held(claimed.details.id)
        if held is not None:
            if ahead is not None:
                ahead.cancel()
            return held
        if ahead is not None:
            await asyncio.wait({ahead})  # never raises: a failed or cancelled read-ahead just falls through
            if not ahead.cancelled() and ahead.exception() is None:
                return ahead.result()
        return await self._read_input(claimed)

    async def _threads_for(self, input_bytes: int) -> int:
        """Threads for a job starting now: its own core, plus every idle runner's when no other job waits and the
        problem is big enough (PARALLEL_MIN_INPUT_BYTES) for a second thread to pay for waking it."""
        spare = self._free_runners()  # idle runners beyond the one this job takes (it is still counted as starting)
        if spare <= 0 or input_bytes < PARALLEL_MIN_INPUT_BYTES or await self._others_waiting():
            return 1
        return 1 + spare

    async def _others_waiting(self) -> bool:
        return await self.store.has_waiting()

    async def _execute(self, claimed: ClaimedJob | None, ahead: asyncio.Task | None = None,
                       behind: Any = None) -> None:
        """Run the claimed job; then, while Waiting jobs are there for the runner it freed, claim and run the next one
        in this same task, and record each outcome (output write, store) in a task of its own.

        Why the chain: between two jobs a runner waits for every turn of the event loop its next job needs (wake the
        run loop, claim, start a task, hand the request over). When the loop is busy with requests (a flood of
        submissions, clients polling), each turn takes milliseconds, and with tiny jobs the runners spent most of
        their time waiting: completed throughput fell to a third of capacity under overload. Claiming straight from
        here, and the outcome off the runner's path, halves the turns per job. `behind`: the first job is staged
        behind that runner's current one (_follow_on)."""
        while claimed is not None:
            freed = await self._execute_one(claimed, ahead, behind)
            behind = None
            claimed, ahead = await self._claim_for_freed_runner() if freed else (None, None)

    def _stage_next(self, runner: Any) -> None:
        """While Waiting jobs queue and no runner is idle, claim the next one now and stage it behind the job
        `runner` has just started (RunnerPool.stage): it then starts the moment that job ends, instead of after
        the outcome's trip to the event loop and a claim (a runner's gap between two tiny jobs was longer than the
        jobs, and the rate completed under overload was two runners over that gap: benchmarks/README.md)."""
        if (self._stopping or id(runner) in self._staging or self._free_runners() > 0
                or not self.store.backlog().waiting):
            return
        self._staging.add(id(runner))
        self._track(asyncio.create_task(self._follow_on(runner), name="follow-on"))

    async def _follow_on(self, runner: Any) -> None:
        try:
            claimed = await self._claim()
        finally:
            self._staging.discard(id(runner))
        if claimed is not None:
            self._prefetch_wake.set()
            await self._execute(claimed, self._prefetched.pop(claimed.details.id, None), behind=runner)

    async def _claim_for_freed_runner(self) -> tuple[ClaimedJob | None, asyncio.Task | None]:
        """The next Waiting job, claimed for the runner just freed, and its read-ahead if any (None when no job
        waits or no runner is free)."""
        if self._stopping or self._free_runners() <= 0 or not self.store.backlog().waiting:
            return None, None
        self._starting += 1
        claimed = await self._claim()
        if claimed is None:
            self._starting -= 1
            return None, None
        self._prefetch_wake.set()
        return claimed, self._prefetched.pop(claimed.details.id, None)

    async def _execute_one(self, claimed: ClaimedJob, ahead: asyncio.Task | None = None, behind: Any = None) -> bool:
        """Read the input and check the job, then take the runner promised to it (see _run_loop), or with `behind`
        queue it behind that runner's job (falling back to any runner), and run. True when the job ran and its runner
        is free or running its staged follower (the outcome is being recorded by a task of its own)."""
        job = claimed.details
        job_id = job.id
        extra = {"job_id": job_id}
        starting = behind is None  # promised an idle runner (counted in _starting) until it takes one
        try:
            try:
                data, content_type = await self._input_of(claimed, ahead)
            except InputError as exc:
                await self._finish_failed(job_id, exc.code, exc.message,
                                          summary=unavailable(f"the input could not be read: {exc.message}"))
                return False
            try:  # the solver's flat, normalised params (stored valid; a newer rule may still refuse them)
                params = targets.validate_params(job.target, job.input_params)
            except ContractError as exc:
                await self._finish_failed(job_id, exc.code, exc.message)
                return False
            deadline = self._hard_deadline(job.target, params)
            progress = self._progress_recorder(job_id)
            try:
                staged = None
                if behind is not None and job_id not in self._cancelled:
                    staged = self.pool.stage(behind, self._request(job, params, data, content_type, 1))
                if staged is not None:
                    log.info("job %s queued behind runner %d's job", job_id, behind.index, extra=extra)
                    try:
                        outcome = await self.pool.run_staged(staged, progress, deadline, on_start=self._stage_next)
                    except NotStarted:  # its runner died first, or it was cancelled: as any other job from here
                        staged = None
                if staged is None:
                    if job_id in self._cancelled:  # a DELETE came after the claim (a follower's, while it waited)
                        await self._end_cancelled(job_id, "cancelled before it started")
                        return False
                    threads = await self._threads_for(len(data)) if starting else 1
                    runner = self.pool.take_idle() or await self.pool.acquire()  # (the promised one died: its replacement)
                    if starting:
                        self._starting -= 1
                        starting = False
                    if job_id in self._cancelled:  # ... or while it waited for a runner: only this dispatcher moves it on
                        self.pool.release(runner)
                        await self._end_cancelled(job_id, "cancelled before it started")
                        return False
                    log.info("job %s running on runner %d with %d thread(s)", job_id, runner.index, threads, extra=extra)
                    running = self.pool.run(runner, self._request(job, params, data, content_type, threads), progress,
                                            deadline)
                    self._stage_next(runner)  # claims in a task of its own, once this job is on its runner
                    outcome = await running
            except RunnerKilled:
                await self._after_kill(job_id)
                return False
            except RunnerCrashed as exc:
                await self._requeue_or_fail(claimed, str(exc))
                return False
            finally:
                self.progress.pop(job_id, None)
            # the runner is free again: the next job need not wait for this one's output write
            self._track(asyncio.create_task(self._record_outcome(job, claimed.workspace, outcome),
                                            name=f"outcome-{job_id}"))
            return True
        except asyncio.CancelledError:
            # Service shutdown with the job unfinished: hand it back to the queue for the next start.
            with contextlib.suppress(Exception):
                self.pool.withdraw(job_id)
                self.pool.cancel(job_id)
                await asyncio.shield(self.store.transition(job_id, JobStatus.WAITING, expected=[JobStatus.EXECUTING],
                                                           event_data={"reason": "service shutdown"}))
            raise
        except Exception as exc:  # never leave a job Executing because of a bug here
            log.exception("job %s: unexpected dispatcher error", job_id, extra=extra)
            await self._finish_failed(job_id, errors.INTERNAL_ERROR, f"internal error while running the job ({type(exc).__name__})")
            return False
        finally:
            if starting:
                self._starting -= 1
            self._cancelled.discard(job_id)
            self.wake()

    def _request(self, job: Any, params: dict[str, Any], data: bytes, content_type: str | None,
                 threads: int) -> RunRequest:
        return RunRequest(
            job_id=job.id,
            target=job.target,
            params=params,
            input_data=data,
            content_type=content_type,
            threads=threads,
            **({"limits": self.limits} if self.limits is not None else {}),
        )

    def _hard_deadline(self, target: str, params: dict[str, Any]) -> float | None:
        """When the runner is killed if it has not answered: the job's effective timeout (the limit its solver stops
        at) plus 10 %, the grace period and 30 s for decoding and compiling; OPENQIO_MAX_JOB_SECONDS without one."""
        timeout = targets.effective_timeout(target, params)
        if timeout is not None and timeout > 0:
            return timeout * 1.1 + self.hard_deadline_grace_s + 30.0
        return self.max_job_seconds

    def _progress_recorder(self, job_id: str):
        # The first event comes one interval into the run, not at once: most jobs are tiny and end sooner (their
        # terminal event has the cost), and an event at start-up cost every one of them an extra SQLite write.
        last = [time.monotonic()]

        async def record(progress: Progress) -> None:
            if progress.summary is not None:  # a long job's first report: its summary shows while it runs
                await self.store.set_summary(job_id, progress.summary)
            self.progress[job_id] = progress
            now = time.monotonic()
            if now - last[0] >= self.progress_event_interval_s:
                last[0] = now
                await self.store.add_event(
                    job_id,
                    EventKind.PROGRESS,
                    {"elapsed_s": progress.elapsed_s, "sweeps_done": progress.sweeps_done, "best_cost": progress.best_cost},
                )

        return record

    async def _read_input(self, claimed: ClaimedJob) -> tuple[bytes, str | None]:
        job = claimed.details
        blobs = self.blobs.for_workspace(claimed.workspace)  # the job's workspace's storage account
        waited = 0.0
        attempt = 0
        while True:
            try:
                return await blobs.read_input(job.input_data_uri, job.container_uri)
            except InputError as exc:
                if exc.code == errors.INPUT_NOT_FOUND and claimed.input_bytes is not None:
                    raise InputError(errors.INPUT_LOST, f"blob storage lost the job's input: {exc.message}, yet it "
                                     f"held {claimed.input_bytes} bytes when the job was submitted; submit the job "
                                     "again") from None
                raise
            except StorageUnavailable as exc:
                if waited >= self.storage_max_wait_s:
                    raise InputError(errors.STORAGE_UNAVAILABLE, f"blob storage unavailable: {exc}") from None
                log.warning("job %s: storage unavailable, retrying (%s)", job.id, exc, extra={"job_id": job.id})
                delay = self._backoff(attempt)
                attempt += 1
                await asyncio.sleep(delay)
                waited += delay

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff for storage retries: storage_retry_s · 2^attempt, at most 5 s."""
        return min(self.storage_retry_s * (2**attempt), 5.0)

    async def _write_output(self, job: Any, workspace: str, body: bytes) -> str:
        blobs = self.blobs.for_workspace(workspace)
        container, _ = blobs.output_location(None, job.container_uri)
        waited = 0.0
        attempt = 0
        try:
            while True:
                try:
                    url = await blobs.write_output(container, body)
                except StorageFull as exc:  # the result waits here for space, however long: the operator frees it
                    if job.id not in self._waiting_for_space:
                        self._waiting_for_space[job.id] = time.time()  # (/healthz and the load say so meanwhile)
                        log.warning("job %s: its result waits until space is freed on blob storage's disk (%s)",
                                    job.id, exc, extra={"job_id": job.id})
                except StorageUnavailable as exc:
                    if waited >= self.storage_max_wait_s:
                        raise
                    log.warning("job %s: storage unavailable writing output, retrying (%s)", job.id, exc,
                                extra={"job_id": job.id})
                    waited += self._backoff(attempt)
                else:
                    if job.id in self._waiting_for_space:
                        log.info("job %s: its result stored, space freed", job.id, extra={"job_id": job.id})
                    return url
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1
        finally:
            self._waiting_for_space.pop(job.id, None)

    async def _record_outcome(self, job: Any, workspace: str, outcome: RunOutcome) -> None:
        try:
            await self._record(job, workspace, outcome)
        except Exception as exc:  # never leave a job Executing because of a bug here
            log.exception("job %s: recording how it ended failed", job.id, extra={"job_id": job.id})
            await self._finish_failed(job.id, errors.INTERNAL_ERROR,
                                      f"internal error while recording the job's outcome ({type(exc).__name__})")

    async def _record(self, job: Any, workspace: str, outcome: RunOutcome) -> None:
        """Side effects before state: the output blob, then Succeeded with the result kept in the store (one durable
        transaction), so a Succeeded job always has its result even if storage loses the blob."""
        job_id = job.id
        if outcome.status == RunOutcome.SUCCEEDED and outcome.result is not None:
            body = encode_result(outcome.result, job)  # in the target's output format (contracts.results)
            try:
                url = await self._write_output(job, workspace, body)
            except StorageUnavailable as exc:
                await self._finish_failed(job_id, errors.STORAGE_UNAVAILABLE, f"could not write the output blob: {exc}",
                                          summary=outcome.summary)
                return
            done = await self._transition(
                job_id,
                JobStatus.SUCCEEDED,
                output_data_uri=url,
                event_data={"cost": outcome.result.get("cost"), "elapsed_s": outcome.elapsed_s},
                output=StoredOutput(body, "application/json", time.time()),
                summary=outcome.summary,
            )
            if done is None:
                log.warning("job %s finished but was no longer Executing", job_id, extra={"job_id": job_id})
            # the store logs the transition itself (one line per status change, with the cost)
        elif outcome.status == RunOutcome.CANCELLED:
            await self._end_cancelled(job_id, summary=outcome.summary)
        else:
            await self._finish_failed(job_id, outcome.error_code or errors.SOLVER_ERROR,
                                      outcome.error_message or "the solver failed", summary=outcome.summary)

    async def _transition(self, job_id: str, to: JobStatus, **changes: Any) -> Any:
        """Move an Executing job on (it ended, or goes back to the queue): a write that must land. While the job
        database's disk is full (StoreFull, logged once by the store) it is tried again, after 0.5 s and then every
        5 s at most, until space is freed: how the job ended waits in memory, the job shows Executing, and a
        restart meanwhile runs it again."""
        attempt = 0
        while True:
            try:
                return await self.store.transition(job_id, to, expected=[JobStatus.EXECUTING], **changes)
            except StoreFull:
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1

    async def _end_cancelled(self, job_id: str, reason: str | None = None,
                             summary: dict[str, Any] | None = None) -> None:
        """Every way an Executing job ends Cancelled (cancelled before its run, stopped by the solver, its runner
        killed after the grace period, or its runner gone while a cancel was pending)."""
        await self._transition(job_id, JobStatus.CANCELLED, summary=summary,
                               event_data={"reason": reason} if reason else None)

    async def _finish_failed(self, job_id: str, code: str, message: str, summary: dict[str, Any] | None = None) -> None:
        # the store's transition line carries error_code and error_message
        await self._transition(job_id, JobStatus.FAILED, error=ErrorData(code=code, message=message), summary=summary)

    async def _after_kill(self, job_id: str) -> None:
        current = await self.store.get(None, job_id)
        if current is not None and current.is_cancelling:
            await self._end_cancelled(job_id, "runner killed after the cancel grace period")
        else:
            await self._finish_failed(job_id, errors.DEADLINE_EXCEEDED,
                                      "the job passed its hard deadline and its runner was stopped")

    async def _requeue_or_fail(self, claimed: ClaimedJob, reason: str) -> None:
        job_id = claimed.details.id
        if claimed.details.is_cancelling:
            await self._end_cancelled(job_id, reason)
        elif claimed.attempts < self.max_attempts:
            log.warning("job %s: %s; requeued (attempt %d of %d)", job_id, reason, claimed.attempts, self.max_attempts,
                        extra={"job_id": job_id})
            await self._transition(job_id, JobStatus.WAITING,
                                   event_data={"reason": reason, "attempts": claimed.attempts})
            self.wake()
        else:
            await self._finish_failed(
                job_id, errors.RUNNER_CRASHED, f"the runner crashed {claimed.attempts} time(s) running this job: {reason}"
            )
