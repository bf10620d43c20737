"""The runner pool: the only bridge between the async service and the runner processes.

Each runner is a `spawn`-started process running `solver_runner.worker.worker_main` (named by a dotted path, so
`services` never imports `solver_runner`: the entry point is checked with importlib.util.find_spec, and numba and
the kernels are only ever imported in child processes), connected by a duplex pipe and a cancel event.

- `start()` first runs the solver warm-up (`solver_runner.warmup.warm_up`) in one process (with a second one of its
  own on a cold start: not daemonic, so it may), so a first start compiles the numba kernels once, with progress in
  the log, instead of in every runner at the same time; runners then only load the cache.
- `run(request, on_progress, deadline_s)` hands a request to an idle runner and awaits its outcome.
- `stage(runner, request)` queues a job behind the one a runner is running (`run_staged` awaits it): the thread that
  reads the running job's outcome sends it at once, or, should another runner free up first, that runner takes it.
  `withdraw(job_id)` takes it back while it is not sent; a runner that dies leaves it unstarted (`NotStarted`).
- `cancel(job_id)` sets that runner's cancel event; the solver notices between bounded chunks.
- A runner that outlives its hard deadline (a solver ignoring its timeout or a cancel) is killed and replaced; the
  caller gets `RunnerKilled`. A runner that dies by itself (SIGKILL, segfault, OOM) gives `RunnerCrashed`.
- A runner that cannot start (its warm-up fails, or it dies before it is ready) is started again after a backoff
  that doubles from FIRST_BACKOFF_S to MAX_BACKOFF_S; meanwhile `health()` says why the service cannot solve
  (GET /healthz answers 503 with that reason) and the log says it at every failed start.
- Every child dies with the service, also on SIGKILL (contracts.lifeline: parent-death signal and a watchdog).
  Children are started only from the event loop's thread, because Linux sends the parent-death signal when the
  *thread* that started a child ends.
Blocking pipe reads happen in threads (`asyncio.to_thread`), so the event loop never waits on a runner; so do writes,
except small requests to an idle runner (INLINE_SEND_BYTES), which cannot block.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.reduction import ForkingPickler
from typing import Any

from contracts import logformat
from contracts.runner import Progress, RunOutcome, RunRequest

log = logging.getLogger(__name__)

RUNNER_ENTRY = "solver_runner.worker:worker_main"
WARMUP_ENTRY = "solver_runner.warmup:warm_up"
# A request up to this size is written to the runner's pipe from the event loop (a pipe holds 64 KiB, and an idle
# runner's is empty): a thread hand-over per job cost tiny jobs two turns of a busy event loop.
INLINE_SEND_BYTES = 32 * 1024
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0


class RunnerCrashed(Exception):
    """The runner process died while running the job."""


class RunnerKilled(Exception):
    """The runner passed its hard deadline and was killed by the pool."""


class NotStarted(Exception):
    """A staged job did not start (its runner died first, or it was withdrawn): run it as any other job."""


def _check_entry(path: str) -> None:
    """Fail in the service, at once, on an entry point whose module does not exist, without importing it."""
    module, _, name = path.partition(":")
    if not name or importlib.util.find_spec(module) is None:
        raise ValueError(f"entry point {path!r}: no module {module!r} (want 'package.module:function')")


def _exit_text(code: int | None) -> str:
    """A process exit code in words: 'exit code 3', 'killed by SIGKILL'."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


@dataclass
class _Runner:
    index: int
    process: Any
    conn: Any
    cancel_event: Any
    job_id: str | None = None
    killed: bool = False
    started_at: float = field(default_factory=time.monotonic)
    staged: Staged | None = None  # the job that follows this one (RunnerPool.stage), until it is sent
    hand_over: threading.Lock = field(default_factory=threading.Lock)  # `staged` between the loop and the reader


@dataclass(eq=False)
class Staged:
    """A job queued behind a runner's current job (RunnerPool.stage): sent by the thread that reads that job's
    outcome, or by the loop to the first other runner that frees up, whichever comes first."""

    request: RunRequest
    payload: Any  # the pickled request (a buffer), sent as is
    behind: _Runner  # the runner it waits on
    started: asyncio.Future  # the runner it was sent to, or None: not started (run it as any other job)
    sent: bool = False  # set under `behind.hand_over`


@dataclass
class _Slot:
    """Start-up health of one runner position: consecutive failed starts and the last reason."""

    failures: int = 0
    error: str | None = None
    retry: asyncio.TimerHandle | None = None


class RunnerPool:
    def __init__(self, size: int, entry_point: str = RUNNER_ENTRY, threads_per_runner: int | None = None,
                 warmup_entry: str | None = None, on_child: Callable[[str, int], Any] | None = None):
        """`warmup_entry`: run once before the runners start (default: the solver warm-up when `entry_point` is the
        solver runner, none otherwise; "" for none). `on_child(name, pid)` is told of every process started (the
        service records them, so a start after a crash stops what is left: services/supervise.py)."""
        if size < 1:
            raise ValueError("a runner pool needs at least one runner")
        self.size = size
        self.entry_point = entry_point
        if warmup_entry is None:
            warmup_entry = WARMUP_ENTRY if entry_point == RUNNER_ENTRY else ""
        self.warmup_entry = warmup_entry
        self.threads_per_runner = threads_per_runner or size
        self._ctx = mp.get_context("spawn")
        self._runners: list[_Runner] = []
        self._slots = [_Slot() for _ in range(size)]
        self._idle: asyncio.Queue[_Runner] | None = None
        self._by_job: dict[str, _Runner] = {}
        self._staged: dict[str, Staged] = {}  # job id -> staged and not yet started on the event loop's side
        self._warmup: Any = None
        self._closed = False
        self._on_child = on_child

    # -- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self, wait_ready: bool = True) -> None:
        """Warm the solver cache (one process), then start the runners; with `wait_ready`, return once every runner
        is ready or has failed its first start (the service then runs, unhealthy, and says why)."""
        _check_entry(self.entry_point)
        self._idle = asyncio.Queue()
        if self.warmup_entry:
            _check_entry(self.warmup_entry)
            await self._warm_up()
        self._runners = [self._spawn(i) for i in range(self.size)]
        if wait_ready:
            await asyncio.gather(*(self._await_ready(r) for r in self._runners))
        else:
            for r in self._runners:
                asyncio.ensure_future(self._await_ready(r))

    def _child(self, name: str, entry_point: str, *args: Any, daemon: bool = True) -> Any:
        """Start a child process running `entry_point`(*args), logging like the service and dying with it (its
        lifeline; `daemon` only adds multiprocessing's own kill at exit, and forbids the child children)."""
        level, fmt = logformat.current()  # the child logs in the service's format (json lines stay parseable)
        process = self._ctx.Process(target=logformat.child_entry, args=(level, fmt, entry_point, *args),
                                    kwargs={"parent_pid": os.getpid()}, name=name, daemon=daemon)
        process.start()
        if self._on_child is not None and process.pid is not None:
            self._on_child(name, process.pid)
        return process

    async def _warm_up(self) -> None:
        """Run the warm-up process to its end. A failure is logged, not fatal: the runners then compile for
        themselves, and a runner whose solvers fail refuses to start (the service reports itself unhealthy)."""
        t0 = time.monotonic()
        # not daemonic: a cold warm-up compiles half the groups in a child of its own (solver_runner.warmup.warm)
        self._warmup = process = self._child("openqio-warmup", self.warmup_entry, daemon=False)
        log.info("solver warm-up started (pid %s)", process.pid)
        try:
            await asyncio.to_thread(process.join)
        except asyncio.CancelledError:  # the service stops during its start-up
            process.kill()
            raise
        finally:
            self._warmup = None
        code = process.exitcode
        if code != 0 and not self._closed:
            log.error("solver warm-up failed (%s) after %.1f s; each runner compiles the solvers it needs itself",
                      _exit_text(code), time.monotonic() - t0)

    def _spawn(self, index: int) -> _Runner:
        parent, child = self._ctx.Pipe(duplex=True)
        cancel_event = self._ctx.Event()
        process = self._child(f"openqio-runner-{index}", self.entry_point, child, cancel_event,
                              self.threads_per_runner)
        child.close()
        log.info("runner %d started (pid %s)", index, process.pid)
        return _Runner(index=index, process=process, conn=parent, cancel_event=cancel_event)

    async def _await_ready(self, runner: _Runner) -> None:
        """Wait for the runner's ("ready", pid); anything else is a failed start (see _start_failed)."""
        try:
            kind, payload = await asyncio.to_thread(runner.conn.recv)
        except (EOFError, OSError):
            await asyncio.to_thread(runner.process.join, 5.0)
            code = _exit_text(runner.process.exitcode)
            kind, payload = "died", f"the runner process ended during its warm-up ({code})"
        if self._closed or self._runners[runner.index] is not runner:
            return
        if kind != "ready":
            self._start_failed(runner, payload if kind in ("failed", "died") else f"it sent {kind!r} before 'ready'")
            return
        slot = self._slots[runner.index]
        if slot.failures:
            log.info("runner %d ready after %d failed start(s)", runner.index, slot.failures)
        slot.failures, slot.error = 0, None
        self._release(runner)

    def _start_failed(self, runner: _Runner, reason: str) -> None:
        """Count a failed start, say why, and start the runner again after the slot's backoff."""
        slot = self._slots[runner.index]
        slot.failures += 1
        slot.error = reason
        delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (slot.failures - 1))
        log.error("runner %d cannot start (%d failed start(s) in a row): %s; next try in %.0f s",
                  runner.index, slot.failures, reason, delay)
        slot.retry = asyncio.get_running_loop().call_later(delay, self._replace, runner)

    def health(self) -> str | None:
        """None while every runner can run jobs; otherwise why not (what GET /healthz answers with its 503)."""
        failing = [(i, slot) for i, slot in enumerate(self._slots) if slot.failures]
        if not failing:
            return None
        index, slot = failing[0]
        return (f"{len(failing)} of {self.size} runner(s) cannot start; runner {index} failed {slot.failures} "
                f"time(s) in a row: {slot.error}")

    def _replace(self, runner: _Runner) -> None:
        with contextlib.suppress(Exception):
            runner.conn.close()
        if runner.process.is_alive():
            runner.process.kill()
        runner.process.join(timeout=5)
        self._slots[runner.index].retry = None
        if self._closed:
            return
        fresh = self._spawn(runner.index)
        self._runners[runner.index] = fresh
        asyncio.ensure_future(self._await_ready(fresh))

    async def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        for runner in self._runners:
            self._orphan(runner)
        for slot in self._slots:
            if slot.retry is not None:
                slot.retry.cancel()
        if self._warmup is not None and self._warmup.is_alive():
            self._warmup.kill()
        for r in self._runners:
            r.cancel_event.set()
            with contextlib.suppress(Exception):
                if r.job_id is None:
                    r.conn.send(None)
        deadline = time.monotonic() + timeout
        for r in self._runners:
            await asyncio.to_thread(r.process.join, max(0.0, deadline - time.monotonic()))
            if r.process.is_alive():
                r.process.kill()
                await asyncio.to_thread(r.process.join, 2)
            with contextlib.suppress(Exception):
                r.conn.close()

    # -- work -----------------------------------------------------------------------------------------------------

    @property
    def idle_count(self) -> int:
        return self._idle.qsize() if self._idle is not None else 0

    def busy_jobs(self) -> list[str]:
        return list(self._by_job)

    async def acquire(self) -> _Runner:
        assert self._idle is not None, "pool not started"
        while True:
            runner = await self._idle.get()
            if runner.process.is_alive() and self._runners[runner.index] is runner:
                return runner

    def take_idle(self) -> _Runner | None:
        """An idle live runner without waiting, or None."""
        assert self._idle is not None
        while not self._idle.empty():
            runner = self._idle.get_nowait()
            if runner.process.is_alive() and self._runners[runner.index] is runner:
                return runner
        return None

    def release(self, runner: _Runner) -> None:
        """Return an acquired runner unused (the caller found no work for it)."""
        self._release(runner)

    async def run(
        self,
        runner: _Runner,
        request: RunRequest,
        on_progress: Callable[[Progress], Any] | None = None,
        deadline_s: float | None = None,
    ) -> RunOutcome:
        """Run `request` on an acquired runner. Raises RunnerCrashed or RunnerKilled."""
        runner.cancel_event.clear()
        self._took(runner, request.job_id)
        payload = ForkingPickler.dumps(request)  # what conn.send does
        return await self._follow(runner, request.job_id, on_progress, deadline_s, payload=payload)

    def stage(self, runner: _Runner, request: RunRequest) -> Staged | None:
        """Queue `request` behind the job `runner` is running: the thread that reads that job's outcome sends it
        at once, so the runner starts it without waiting for the event loop (whose turns, claims and hand-overs
        made the gap between two tiny jobs on a runner longer than the jobs: benchmarks/README.md). Should another
        runner free up first, it takes the job instead: a staged job never waits behind a long one. Await
        `run_staged`. None (run the job as any other) when the runner is not running a job, already has one staged,
        or the request is too big to be sent from the reading thread without blocking."""
        if self._closed or runner.job_id is None or runner.staged is not None or not runner.process.is_alive():
            return None
        payload = ForkingPickler.dumps(request)
        if len(payload) > INLINE_SEND_BYTES:
            return None
        staged = Staged(request, payload, runner, asyncio.get_running_loop().create_future())
        runner.staged = staged
        self._staged[request.job_id] = staged
        return staged

    async def run_staged(self, staged: Staged, on_progress: Callable[[Progress], Any] | None = None,
                         deadline_s: float | None = None, on_start: Callable[[_Runner], Any] | None = None
                         ) -> RunOutcome:
        """The outcome of a staged job (see `stage`); the hard deadline counts from its start, when `on_start` is
        told its runner. Raises NotStarted when it did not start (its runner died first, or it was withdrawn),
        RunnerCrashed or RunnerKilled."""
        try:
            runner = await asyncio.shield(staged.started)
        except asyncio.CancelledError:
            self.withdraw(staged.request.job_id)
            runner = staged.started.result() if staged.started.done() else None
            if runner is not None:  # it started meanwhile: end it as run() ends a cancelled job
                self._stop_following(runner, staged.request.job_id)
            raise
        if runner is None:
            raise NotStarted(f"job {staged.request.job_id} did not start on runner {staged.behind.index}")
        if on_start is not None:
            on_start(runner)
        return await self._follow(runner, staged.request.job_id, on_progress, deadline_s)

    def withdraw(self, job_id: str) -> bool:
        """Take a staged job back before it is sent (its `run_staged` raises NotStarted). False if it was sent."""
        staged = self._staged.get(job_id)
        if staged is None:
            return False
        with staged.behind.hand_over:
            if staged.sent:
                return False
            staged.behind.staged = None
        self._started(staged, None)
        return True

    def _took(self, runner: _Runner, job_id: str) -> None:
        runner.job_id = job_id
        runner.killed = False
        runner.started_at = time.monotonic()
        self._by_job[job_id] = runner

    def _started(self, staged: Staged, runner: _Runner | None) -> None:
        """On the loop: `staged` is running on `runner` (it was sent there), or will not start (None)."""
        self._staged.pop(staged.request.job_id, None)
        if runner is not None:
            self._took(runner, staged.request.job_id)
        if not staged.started.done():
            staged.started.set_result(runner)

    @staticmethod
    def _send_staged(runner: _Runner, staged: Staged) -> None:
        """Under `staged.behind.hand_over`: start `staged` on `runner` (its cancel flag cleared first, so an earlier
        job's cancel is not carried over). The request is small, and the runner reads its pipe: this cannot block.
        Raises OSError when the runner is dead."""
        runner.cancel_event.clear()
        runner.conn.send_bytes(staged.payload)
        staged.sent = True
        staged.behind.staged = None

    def _stop_following(self, runner: _Runner, job_id: str) -> None:
        """Nobody reads `job_id`'s messages any more: forget it, and free its runner unless a staged job took it."""
        if self._by_job.get(job_id) is runner:
            self._by_job.pop(job_id)
        if runner.job_id == job_id:
            runner.job_id = None
            self._release(runner)

    def _receive(self, runner: _Runner) -> tuple[tuple[str, Any], Staged | None]:
        """In a thread: the runner's next message; after an outcome, its staged job sent at once (if any)."""
        message = runner.conn.recv()
        if message[0] != "outcome":
            return message, None
        with runner.hand_over:
            staged, runner.staged = runner.staged, None
            if staged is not None:
                with contextlib.suppress(OSError):  # the runner died: the job starts elsewhere (see _handed_over)
                    self._send_staged(runner, staged)
        return message, staged

    def _handed_over(self, runner: _Runner, job_id: str, staged: Staged) -> None:
        """On the loop, once the thread that read `job_id`'s outcome sent `staged` to `runner` (or could not: then
        the staged job starts elsewhere, and the runner is freed as after any job)."""
        if staged.sent:
            self._by_job.pop(job_id, None)
        self._started(staged, runner if staged.sent else None)

    def _release(self, runner: _Runner) -> None:
        """A runner free for work: it starts the oldest staged job still waiting behind another runner's, if any;
        otherwise it goes back to the idle queue."""
        for staged in list(self._staged.values()):
            if staged.started.done():
                continue
            with staged.behind.hand_over:
                if staged.sent:  # its runner's reader got there first
                    continue
                try:
                    self._send_staged(runner, staged)
                except OSError:  # this runner is dead: the job waits where it was, the runner is replaced
                    self._replace(runner)
                    return
            self._started(staged, runner)
            return
        assert self._idle is not None
        self._idle.put_nowait(runner)

    async def _follow(self, runner: _Runner, job_id: str, on_progress: Callable[[Progress], Any] | None,
                      deadline_s: float | None, payload: Any = None) -> RunOutcome:
        """Send `payload` (None: already sent) and read the job's messages to its outcome; the runner is freed, or
        has taken its staged job, after."""
        watchdog = asyncio.ensure_future(self._watchdog(runner, job_id, deadline_s)) if deadline_s else None
        try:
            if payload is not None:
                if len(payload) <= INLINE_SEND_BYTES:  # fits in the idle runner's empty pipe: the write cannot block
                    runner.conn.send_bytes(payload)
                else:
                    await asyncio.to_thread(runner.conn.send_bytes, payload)
            while True:
                try:
                    (kind, data), staged = await asyncio.to_thread(self._receive, runner)
                except (EOFError, OSError, ConnectionResetError):
                    if runner.killed:
                        raise RunnerKilled("runner passed the job's hard deadline and was killed") from None
                    await asyncio.to_thread(runner.process.join, 2.0)  # reap it, so the exit code is known
                    raise RunnerCrashed(f"runner process exited unexpectedly ({_exit_text(runner.process.exitcode)})"
                                        ) from None
                if kind == "progress":
                    if on_progress is not None:
                        with contextlib.suppress(Exception):
                            result = on_progress(data)
                            if asyncio.iscoroutine(result):
                                await result
                elif kind == "outcome":
                    if staged is not None:
                        self._handed_over(runner, job_id, staged)
                    return data
        except (RunnerCrashed, RunnerKilled):
            runner.job_id = None
            self._by_job.pop(job_id, None)
            self._orphan(runner)
            self._replace(runner)
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._stop_following(runner, job_id)

    def _orphan(self, runner: _Runner) -> None:
        """The runner is gone: its staged job, not sent, starts elsewhere."""
        with runner.hand_over:
            staged, runner.staged = runner.staged, None
        if staged is not None:
            self._started(staged, None)

    async def _watchdog(self, runner: _Runner, job_id: str, deadline_s: float) -> None:
        await asyncio.sleep(deadline_s)
        if runner.job_id == job_id and runner.process.is_alive():
            log.warning("job %s passed its hard deadline (%.1f s); killing runner %d", job_id, deadline_s, runner.index,
                        extra={"job_id": job_id})
            runner.killed = True
            runner.process.kill()

    def cancel(self, job_id: str, hard_deadline_s: float | None = None) -> bool:
        """Signal the runner of `job_id` to stop; kill it if it hasn't after `hard_deadline_s`. False if not running
        (a staged job not sent yet: `withdraw` it)."""
        runner = self._by_job.get(job_id)
        staged = self._staged.get(job_id)
        if runner is None and staged is not None and staged.sent:  # sent by the reader; the loop does not know yet
            runner = staged.behind
        if runner is None:
            return False
        runner.cancel_event.set()
        if hard_deadline_s is not None:
            asyncio.ensure_future(self._watchdog(runner, job_id, hard_deadline_s))
        return True

    def kill(self, job_id: str) -> bool:
        """Kill the runner of `job_id` now (tests and fault injection use this via the pid)."""
        runner = self._by_job.get(job_id)
        if runner is None:
            return False
        runner.killed = True
        runner.process.kill()
        return True

    def pid_of(self, job_id: str) -> int | None:
        runner = self._by_job.get(job_id)
        return runner.process.pid if runner is not None else None
