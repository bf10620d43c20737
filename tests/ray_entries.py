"""Solver entry points for the Ray pool tests, run on Ray workers (RayPool's `entry_point`): one that ignores its
cancel flag, so only the hard deadline's force-cancel stops it, and one that reports progress until cancelled."""
from __future__ import annotations

import time

from contracts.runner import Progress, RunOutcome


def ignore_cancel(request, is_cancelled, on_progress):
    time.sleep(3600)
    return RunOutcome(job_id=request.job_id, status=RunOutcome.SUCCEEDED, result={"cost": 0})


def until_cancelled(request, is_cancelled, on_progress):
    started = time.monotonic()
    step = 0
    while not is_cancelled():
        step += 1
        on_progress(Progress(request.job_id, time.monotonic() - started, step, -float(step),
                             summary={"variables": 1} if step == 1 else None))
        time.sleep(0.05)
    return RunOutcome(job_id=request.job_id, status=RunOutcome.CANCELLED, summary={"variables": 1})


def instant(request, is_cancelled, on_progress):
    """Ends at once: what the pool itself costs per job (input shipping included)."""
    return RunOutcome(job_id=request.job_id, status=RunOutcome.SUCCEEDED, result={"cost": float(len(request.input_data))})
