"""The job store protocol: the only way the service reads or changes job state.

Invariants (procrastinate-style):
- `transition()` is the only writer of `status`, as one guarded UPDATE (`WHERE id = ? AND status IN (allowed)`);
  it returns None when the job was not in an allowed status (a conflict), never overwrites a terminal job.
- Each status change writes a `job_events` row in the same transaction (an outbox: restarts lose no event).
- Workspaces scope every read a client can make: a job of another workspace is "not found".
"""
from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from contracts.events import EventKind
from contracts.jobs import ErrorData, JobDetails
from contracts.status import JobStatus

from .backlog import Backlog


class JobExists(Exception):
    """`insert` found a job with this id. `existing` is that job (same workspace) or None (another workspace)."""

    def __init__(self, existing: JobDetails | None):
        super().__init__("job exists")
        self.existing = existing


class StoreFull(Exception):
    """A write the job database could not make because its disk is full. Nothing of it was stored (the database is
    as it was before it); the same write succeeds once space is freed, without a restart."""


class CancelOutcome(Enum):
    """What `JobStore.cancel` did."""

    CANCELLED = "cancelled"  # it was Waiting: now Cancelled
    CANCEL_REQUESTED = "cancel_requested"  # it is Executing: its runner is asked to stop
    ALREADY_FINISHED = "already_finished"  # Succeeded, Failed or Cancelled: nothing changed
    NOT_FOUND = "not_found"


class ContainerInUse(Exception):
    """`insert` found another job bound to the container this job's output would be written to. `owner` is that
    job's id when it is in the same workspace, else None (nothing about other workspaces leaks)."""

    def __init__(self, owner: str | None):
        super().__init__("container in use")
        self.owner = owner


@dataclass
class StoredOutput:
    """A job's result as the service keeps it: the exact `rawOutputData` bytes, durable in the store before the job
    is Succeeded. `written_at` (epoch s) is when the blob copy was last written; `checked` once it was seen in blob
    storage after the time storage needs to make it durable (services/dispatch/outputs.py)."""

    data: bytes
    content_type: str
    written_at: float
    checked: bool = False


@dataclass
class OutputRef:
    """Where a kept output's blob copy lives (services/dispatch/outputs.py compares and restores it)."""

    job_id: str
    workspace: str
    container_uri: str
    output_data_uri: str | None
    written_at: float
    size: int  # bytes of the kept result


@dataclass
class JobEvent:
    seq: int
    job_id: str
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)
    time: str = ""  # ISO-8601 UTC


@dataclass
class ClaimedJob:
    """A job the dispatcher moved Waiting → Executing, with what it needs to run it."""

    details: JobDetails
    workspace: str
    attempts: int  # including this one
    input_bytes: int | None = None  # the input's stored size as checked at submission; None: not checked then


class JobStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def insert(self, workspace: str, job: JobDetails, *, output_container: str | None = None,
                     input_bytes: int | None = None) -> JobDetails:
        """Insert as Waiting with creation_time now and a `submitted` event, durably. `output_container`
        (`account/container`) binds the container the job's output goes to: another job bound to it raises
        ContainerInUse. `input_bytes`: the input's size as checked at submission. Raises JobExists."""

    async def get(self, workspace: str | None, job_id: str) -> JobDetails | None:
        """workspace None: any workspace (dispatcher use)."""

    async def list(self, workspace: str, *, limit: int, after: str | None = None) -> tuple[builtins.list[JobDetails], str | None]:
        """Jobs ordered by (creation_time, id); `after` is the opaque cursor returned as the second item."""

    async def transition(
        self,
        job_id: str,
        to: JobStatus,
        *,
        expected: Iterable[JobStatus] | None = None,
        error: ErrorData | None = None,
        output_data_uri: str | None = None,
        event_data: dict[str, Any] | None = None,
        output: StoredOutput | None = None,
        summary: dict[str, Any] | None = None,
    ) -> JobDetails | None:
        """Compare-and-set; terminal transitions are durable (fsynced). `output` is kept with the job in the same
        transaction (→ Succeeded), `summary` records the input summary. `expected` narrows the allowed sources (default: every status allowed to reach `to`).
        Sets begin_execution_time (→ Executing), end_execution_time (→ Succeeded/Failed, and → Cancelled from
        Executing), cancellation_time (→ Cancelled), clears is_cancelling on terminal states. → Waiting (requeue)
        clears begin_execution_time. Returns the updated job, or None on conflict or unknown id."""

    async def cancel(self, workspace: str, job_id: str) -> tuple[CancelOutcome, JobDetails | None]:
        """DELETE in one transaction: Waiting → Cancelled; Executing → is_cancelling (+ `cancel_requested` event);
        finished jobs unchanged. The outcome, and the job as it is now (None when not found)."""

    async def claim_next(self) -> ClaimedJob | None:
        """Oldest Waiting job → Executing (attempts += 1, `started` event), or None. Its cost does not depend on how
        many jobs wait (an index seek; tests/unit/services/test_flat_costs.py counts it)."""

    @property
    def full_since(self) -> float | None:
        """When (time.time()) a write last failed because the database's disk is full; None since a write landed."""
        ...

    def backlog(self, runners: int = 0) -> Backlog:
        """The Waiting jobs (count, oldest creation time) and the jobs started so far, from memory: what admission
        control reads on every submission, so it asks the database nothing. `runners`: how many jobs run at once,
        for the pace's estimate while it is not measured (services/jobs/backlog.py)."""

    async def executing(self) -> builtins.list[ClaimedJob]:
        """Jobs currently Executing (start-up sweep after a crash)."""

    async def add_event(self, job_id: str, kind: EventKind, data: dict[str, Any] | None = None) -> int: ...

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> builtins.list[JobEvent]: ...

    async def events_since(self, after: int, limit: int = 1000) -> builtins.list[tuple[int, str]]:
        """(seq, job_id) of all jobs' events after `after` (what event streams poll to know whom to wake)."""

    async def last_event_seq(self) -> int: ...

    async def set_tags(self, workspace: str, job_id: str, tags: builtins.list[str]) -> JobDetails | None: ...

    async def count_by_status(self) -> dict[JobStatus, int]: ...

    async def has_waiting(self) -> bool: ...

    async def next_waiting(self, limit: int) -> builtins.list[tuple[str, JobDetails]]:
        """(workspace, job) of the Waiting jobs claim_next would take next, oldest first; claims nothing (the
        dispatcher reads their inputs ahead, from their workspace's storage, while every runner is busy)."""

    async def execution_hours(self, workspace: str) -> float:
        """Hours of execution time of finished jobs (the `combined_job_hours` quota's utilisation)."""

    async def output(self, workspace: str | None, job_id: str) -> StoredOutput | None:
        """A Succeeded job's kept result (workspace None: any workspace)."""

    async def outputs_to_check(self, *, written_before: float | None = None, written_since: float | None = None,
                               limit: int = 500) -> builtins.list[OutputRef]: ...

    async def latest_output_time(self) -> float | None: ...

    async def outputs_checked(self, job_ids: builtins.list[str]) -> None: ...

    async def output_rewritten(self, job_id: str, written_at: float) -> None: ...

    async def set_summary(self, job_id: str, summary: dict[str, Any]) -> None:
        """Record the input summary of a running job (its first progress report carries it)."""

    async def summary(self, workspace: str, job_id: str) -> dict[str, Any] | None: ...
