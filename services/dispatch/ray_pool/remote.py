"""What runs inside the Ray cluster: the job task, the node warm-up task and the job board actor.

Imported by Ray workers (by module path, when they unpickle a task), so it imports only the stdlib, `ray` and
`contracts`; the solver is named by a dotted path (`solver_runner.entry:run`) and resolved on the worker, as the
local runner pool does, so `services` never imports `solver_runner`.

The job board is one small actor per service, on the head node (link.connect): running tasks report their
latest progress to it and learn from it whether they were cancelled (one call every POLL_S, only once a job has run
that long: a tiny job never calls it); the pool collects the reports and sends the set of cancelled jobs with each
collection, so a board that was restarted knows them again. Job state is never kept here: the service's SQLite is
the only record of what a job is.
"""
from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import ray

from contracts.runner import Progress, RunOutcome, RunRequest

POLL_S = 0.25  # a running task reports progress and reads its cancel flag this often (seconds)
BOARD_CALL_TIMEOUT_S = 5.0  # a board that does not answer in this time is skipped for one round (progress only)


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class JobBoard:
    """Latest progress per running job (from the tasks) and the cancelled runs (from the pool). Never blocks.
    Runs are named by the key the pool gave each task (run_job)."""

    def __init__(self) -> None:
        self._reports: dict[str, tuple[str, int, Progress | None]] = {}  # run key -> (node id, worker pid, progress)
        self._cancelled: set[str] = set()

    def report(self, key: str, node_id: str, pid: int, progress: Progress | None) -> bool:
        """A task's report (progress None: nothing new since its last); answers whether its run was cancelled.
        What the pool has not collected yet is not lost to a later report: a report without news keeps it, and a
        newer progress keeps its input summary (sent once, with the first). Tasks report every POLL_S and the pool
        collects every POLL_S, so on a busy machine two reports often come between two collections."""
        earlier = self._reports.get(key)
        kept = earlier[2] if earlier is not None else None
        if progress is None:
            progress = kept
        elif progress.summary is None and kept is not None and kept.summary is not None:
            progress = replace(progress, summary=kept.summary)
        self._reports[key] = (node_id, pid, progress)
        return key in self._cancelled

    def cancel(self, key: str) -> None:
        self._cancelled.add(key)

    def collect(self, cancelled: list[str]) -> dict[str, tuple[str, int, Progress | None]]:
        """The reports since the last collection; `cancelled` (the pool's whole list) replaces the board's."""
        self._cancelled = set(cancelled)
        reports, self._reports = self._reports, {}
        return reports


def run_job(request: RunRequest, board: Any, entry_point: str, key: str) -> tuple[RunOutcome, str]:
    """One job on a Ray worker: the solver (`entry_point`, e.g. `solver_runner.entry:run`) with a cancel flag and a
    progress sink that a reporter thread exchanges with the job board every POLL_S. Returns the outcome and the id
    of the node it ran on. `key` names this run on the board (a job that is run again gets another key, so a late
    report of an earlier run is never taken for the new one). Never raises for a job's own failure: the solver turns
    those into a RunOutcome."""
    solve = _resolve(entry_point)
    node_id = ray.get_runtime_context().get_node_id()
    pid = os.getpid()
    cancelled = threading.Event()
    finished = threading.Event()
    latest: list[Progress | None] = [None]
    summary: list[dict | None] = [None]  # the first progress's input summary, sent with the first report

    def on_progress(progress: Progress) -> None:
        if progress.summary is not None:
            summary[0] = progress.summary
        latest[0] = progress

    def reporter() -> None:
        sent: Progress | None = None
        while not finished.wait(POLL_S):
            current = latest[0]
            fresh = current is not None and current is not sent
            first = summary[0]
            progress = replace(current, summary=first) if current is not None and fresh and first is not None else current
            try:
                if ray.get(board.report.remote(key, node_id, pid, progress if fresh else None),
                           timeout=BOARD_CALL_TIMEOUT_S):
                    cancelled.set()
            except Exception:  # noqa: BLE001 - a board that is away costs progress reports, never the job
                continue  # the summary, and a newer progress, go with the next report
            if fresh:
                sent = current
                if first is not None:
                    summary[0] = None

    thread = threading.Thread(target=reporter, name=f"openqio-report-{request.job_id}", daemon=True)
    thread.start()
    try:
        return solve(request, cancelled.is_set, on_progress), node_id
    finally:
        finished.set()


def warm_node(entry_point: str) -> tuple[str, float]:
    """Load (or, on a node whose numba cache is cold, compile and cache) every solver kernel on this node.
    Returns (node id, seconds it took)."""
    started = time.monotonic()
    _resolve(entry_point)()
    return ray.get_runtime_context().get_node_id(), time.monotonic() - started
