"""The job event vocabulary: what the store writes to `job_events`, the event stream sends as `event: <kind>`, and
clients read. A closed set, spelled once here.

    submitted         the job was stored Waiting                          data: target
    started           a dispatcher claimed it (Waiting → Executing)        data: attempt
    progress          best cost so far while it runs (≤ 1 per second)     data: elapsed_s, sweeps_done, best_cost
    cancel_requested  DELETE reached an Executing job                     data: {}
    requeued          back to Waiting (runner crash, service restart)     data: reason, attempts
    succeeded / failed / cancelled   how it ended (no event of the job follows)  data: cost / error / reason

`EventKind` is a `str` enum, so a kind compares equal to its wire spelling ("succeeded" == EventKind.SUCCEEDED).
"""
from __future__ import annotations

from enum import Enum

from .status import JobStatus


class EventKind(str, Enum):
    SUBMITTED = "submitted"
    STARTED = "started"
    PROGRESS = "progress"
    CANCEL_REQUESTED = "cancel_requested"
    REQUEUED = "requeued"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


TERMINAL_KINDS: frozenset[EventKind] = frozenset({EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED})

# the event a transition to each status writes (services/jobs/lifecycle.py)
KIND_OF_STATUS: dict[JobStatus, EventKind] = {
    JobStatus.WAITING: EventKind.REQUEUED,
    JobStatus.EXECUTING: EventKind.STARTED,
    JobStatus.SUCCEEDED: EventKind.SUCCEEDED,
    JobStatus.FAILED: EventKind.FAILED,
    JobStatus.CANCELLED: EventKind.CANCELLED,
}
