"""The loop a runner process runs: receive a RunRequest over a pipe, solve it, send progress and the outcome back.

Started by the service's runner pool with the `spawn` method (through contracts.logformat.child_entry, which first
ties the process's life to the service's: contracts.lifeline), so the child imports only this module and its
compute-side dependencies (never asyncio, aiohttp or azure). Messages on the pipe, child → parent:
("ready", pid) once warmed up, or ("failed", reason) when the warm-up failed (the process then exits 1: a runner
that cannot solve must not take jobs); ("progress", Progress) while running, ("outcome", RunOutcome) at the end.
Parent → child: a RunRequest, or None to exit.

Import order matters: numba reads NUMBA_NUM_THREADS once, when it is first imported, and refuses another value at
any later compilation (solver_runner/__init__.py). This module imports nothing that imports numba; `entry` (the
first numba import) is imported only after NUMBA_NUM_THREADS is set.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from contracts.heap import freeze_heap
from contracts.runner import Progress, RunOutcome, RunRequest

log = logging.getLogger(__name__)


def worker_main(conn: Connection, cancel_event: Any, threads: int) -> None:
    # Ctrl-C in the terminal reaches the whole process group; the service decides when runners stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(1, threads)))
    try:
        from solver_runner import entry, warmup  # the first numba import of this process: after NUMBA_NUM_THREADS

        warmup.warm()  # compile, or load from the cache, every kernel: the first job pays no JIT time
        freeze_heap()  # what the warm-up loaded lives as long as the runner
    except Exception as exc:  # noqa: BLE001 - reported to the pool, which marks the service unhealthy
        log.exception("runner %d: warm-up failed", os.getpid())
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:1000]
        try:
            conn.send(("failed", reason))
        except (BrokenPipeError, OSError):
            pass
        sys.exit(1)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        assert isinstance(request, RunRequest)

        def on_progress(progress: Progress) -> None:
            try:
                conn.send(("progress", progress))
            except (BrokenPipeError, OSError):
                pass

        outcome: RunOutcome = entry.run(request, cancel_event.is_set, on_progress)
        try:
            conn.send(("outcome", outcome))
        except (BrokenPipeError, OSError):
            return
