"""Job statuses: the five values the Azure Quantum wire format knows, spelled once."""
from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):
    WAITING = "Waiting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    def __str__(self) -> str:  # so f-strings and SQL parameters give the wire value
        return self.value


TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

# The allowed transitions. `JobStore.transition()` is the only writer of a status and checks against this.
# Executing -> Waiting is the requeue of a job whose runner crashed (or whose service died) before it finished.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.WAITING: frozenset({JobStatus.EXECUTING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.EXECUTING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.WAITING}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """Statuses from which `target` may be reached."""
    return frozenset(s for s, nxt in TRANSITIONS.items() if target in nxt)
