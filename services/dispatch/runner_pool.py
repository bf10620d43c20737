"""The runner pool: the only bridge between the async service and the runner processes.

Each runner is a `spawn`-started process running `solver_runner.worker.worker_main` (named by a dotted path in the
settings, so `services` never imports `solver_runner`), connected by a duplex pipe and a cancel event.

- `run(request, on_progress, deadline_s)` hands a request to an idle runner and awaits its outcome.
- `cancel(job_id)` sets that runner's cancel event; the solver notices between bounded chunks.
- A runner that outlives its hard deadline (a solver ignoring its timeout or a cancel) is killed and replaced; the
  caller gets `RunnerKilled`. A runner that dies by itself (SIGKILL, segfault, OOM) gives `RunnerCrashed`.
Blocking pipe reads happen in threads (`asyncio.to_thread`), so the event loop never waits on a runner.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts import logformat
from contracts.runner import Progress, RunOutcome, RunRequest

log = logging.getLogger(__name__)


class RunnerCrashed(Exception):
    """The runner process died while running the job."""


class RunnerKilled(Exception):
    """The runner passed its hard deadline and was killed by the pool."""


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class _Runner:
    index: int
    process: Any
    conn: Any
    cancel_event: Any
    job_id: str | None = None
    killed: bool = False
    ready: asyncio.Future | None = None
    started_at: float = field(default_factory=time.monotonic)


class RunnerPool:
    def __init__(self, size: int, entry_point: str = "solver_runner.worker:worker_main", threads_per_runner: int | None = None):
        if size < 1:
            raise ValueError("a runner pool needs at least one runner")
        self.size = size
        self.entry_point = entry_point
        self.threads_per_runner = threads_per_runner or size
        self._ctx = mp.get_context("spawn")
        self._runners: list[_Runner] = []
        self._idle: asyncio.Queue[_Runner] | None = None
        self._by_job: dict[str, _Runner] = {}
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self, wait_ready: bool = True) -> None:
        self._idle = asyncio.Queue()
        self._runners = [self._spawn(i) for i in range(self.size)]
        if wait_ready:
            await asyncio.gather(*(self._await_ready(r) for r in self._runners))
        else:
            for r in self._runners:
                asyncio.ensure_future(self._await_ready(r))

    def _spawn(self, index: int) -> _Runner:
        parent, child = self._ctx.Pipe(duplex=True)
        cancel_event = self._ctx.Event()
        _resolve(self.entry_point)  # fail here, in the service, on a bad entry point
        level, fmt = logformat.current()  # the runner logs in the service's format (json lines stay parseable)
        process = self._ctx.Process(
            target=logformat.child_entry, args=(level, fmt, self.entry_point, child, cancel_event, self.threads_per_runner),
            name=f"openqio-runner-{index}", daemon=True,
        )
        process.start()
        child.close()
        log.info("runner %d started (pid %s)", index, process.pid)
        return _Runner(index=index, process=process, conn=parent, cancel_event=cancel_event)

    async def _await_ready(self, runner: _Runner) -> None:
        try:
            kind, _ = await asyncio.to_thread(runner.conn.recv)
            if kind != "ready":
                raise RunnerCrashed(f"runner {runner.index} sent {kind!r} before ready")
        except (EOFError, OSError) as exc:
            log.error("runner %d failed to start: %s", runner.index, exc)
            if not self._closed:
                await asyncio.sleep(1.0)
                self._replace(runner)
            return
        assert self._idle is not None
        self._idle.put_nowait(runner)

    def _replace(self, runner: _Runner) -> None:
        with contextlib.suppress(Exception):
            runner.conn.close()
        if runner.process.is_alive():
            runner.process.kill()
        runner.process.join(timeout=5)
        if self._closed:
            return
        fresh = self._spawn(runner.index)
        self._runners[runner.index] = fresh
        asyncio.ensure_future(self._await_ready(fresh))

    async def close(self, timeout: float = 5.0) -> None:
        self._closed = True
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
        assert self._idle is not None
        self._idle.put_nowait(runner)

    async def run(
        self,
        runner: _Runner,
        request: RunRequest,
        on_progress: Callable[[Progress], Any] | None = None,
        deadline_s: float | None = None,
    ) -> RunOutcome:
        """Run `request` on an acquired runner. Raises RunnerCrashed or RunnerKilled."""
        runner.cancel_event.clear()
        runner.job_id = request.job_id
        runner.killed = False
        runner.started_at = time.monotonic()
        self._by_job[request.job_id] = runner
        watchdog = asyncio.ensure_future(self._watchdog(runner, request.job_id, deadline_s)) if deadline_s else None
        try:
            await asyncio.to_thread(runner.conn.send, request)
            while True:
                try:
                    kind, payload = await asyncio.to_thread(runner.conn.recv)
                except (EOFError, OSError, ConnectionResetError):
                    if runner.killed:
                        raise RunnerKilled("runner passed the job's hard deadline and was killed") from None
                    await asyncio.to_thread(runner.process.join, 2.0)  # reap it, so the exit code is known
                    code = runner.process.exitcode
                    raise RunnerCrashed(f"runner process exited unexpectedly (exit code {code})") from None
                if kind == "progress":
                    if on_progress is not None:
                        with contextlib.suppress(Exception):
                            result = on_progress(payload)
                            if asyncio.iscoroutine(result):
                                await result
                elif kind == "outcome":
                    return payload
        except (RunnerCrashed, RunnerKilled):
            runner.job_id = None
            self._by_job.pop(request.job_id, None)
            self._replace(runner)
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if runner.job_id == request.job_id:
                runner.job_id = None
                self._by_job.pop(request.job_id, None)
                assert self._idle is not None
                self._idle.put_nowait(runner)

    async def _watchdog(self, runner: _Runner, job_id: str, deadline_s: float) -> None:
        await asyncio.sleep(deadline_s)
        if runner.job_id == job_id and runner.process.is_alive():
            log.warning("job %s passed its hard deadline (%.1f s); killing runner %d", job_id, deadline_s, runner.index,
                        extra={"job_id": job_id})
            runner.killed = True
            runner.process.kill()

    def cancel(self, job_id: str, hard_deadline_s: float | None = None) -> bool:
        """Signal the runner of `job_id` to stop; kill it if it hasn't after `hard_deadline_s`. False if not running."""
        runner = self._by_job.get(job_id)
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
