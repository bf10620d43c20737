"""Which transitions are allowed, and what each one writes besides the status.

The table itself lives in `contracts.status.TRANSITIONS`; this module turns a target status into the guarded
UPDATE's SET clause, so that every timestamp rule is in one place:
- → Executing (claim_next): begin_execution_time, and one more attempt.
- → Succeeded / Failed: end_execution_time; is_cancelling cleared.
- → Cancelled: cancellation_time; end_execution_time only if the job had begun executing; is_cancelling cleared.
- → Waiting (requeue after a runner crash or a service restart): begin_execution_time cleared.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.events import KIND_OF_STATUS, EventKind
from contracts.jobs import ErrorData
from contracts.status import JobStatus, sources_of


def allowed_sources(to: JobStatus, expected: Iterable[JobStatus] | None) -> list[JobStatus]:
    allowed = sources_of(to)
    if expected is not None:
        allowed = allowed & frozenset(expected)
    return sorted(allowed, key=lambda s: s.value)


def event_kind(to: JobStatus) -> EventKind:
    return KIND_OF_STATUS[to]


def update_clause(
    to: JobStatus, now: str, *, error: ErrorData | None = None, output_data_uri: str | None = None
) -> tuple[str, list[Any]]:
    sets = ["status = ?"]
    params: list[Any] = [to.value]
    if to == JobStatus.EXECUTING:
        sets += ["begin_execution_time = ?", "attempts = attempts + 1"]
        params.append(now)
    elif to == JobStatus.WAITING:
        sets.append("begin_execution_time = NULL")
    elif to in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        sets += ["end_execution_time = ?", "is_cancelling = 0"]
        params.append(now)
    elif to == JobStatus.CANCELLED:
        sets += ["cancellation_time = ?", "is_cancelling = 0",
                 "end_execution_time = CASE WHEN begin_execution_time IS NULL THEN NULL ELSE ? END"]
        params += [now, now]
    if error is not None:
        sets += ["error_code = ?", "error_message = ?"]
        params += [error.code, error.message]
    if output_data_uri is not None:
        sets.append("output_data_uri = ?")
        params.append(output_data_uri)
    return ", ".join(sets), params
