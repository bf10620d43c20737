"""The loop a runner process runs: receive a RunRequest over a pipe, solve it, send progress and the outcome back.

Started by the service's runner pool with the `spawn` method, so the child imports only this module and its
compute-side dependencies (never asyncio, aiohttp or azure). Messages on the pipe, child → parent:
("ready", pid) once warmed up, ("progress", Progress) while running, ("outcome", RunOutcome) at the end.
Parent → child: a RunRequest, or None to exit.
"""
from __future__ import annotations

import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from contracts.runner import Progress, RunOutcome, RunRequest


def worker_main(conn: Connection, cancel_event: Any, threads: int) -> None:
    # Ctrl-C in the terminal reaches the whole process group; the service decides when runners stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(1, threads)))
    from solver_runner import entry  # imported after NUMBA_NUM_THREADS is set

    entry.init_worker()
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
