"""What crosses the process boundary between the dispatcher (async) and a runner process (sync numba).

All of these are plain picklable dataclasses; nothing here holds a handle to either side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .problems import DEFAULT_LIMITS, ProblemLimits


@dataclass
class RunRequest:
    job_id: str
    target: str
    params: dict[str, Any]  # the solver's parameters, flat: contracts.targets.validate_params of the job's inputParams
    input_data: bytes  # the input blob as read (gzip or not; JSON or protobuf tar)
    content_type: str | None = None
    threads: int = 1  # cores this job may use (numba threads inside the runner)
    limits: ProblemLimits = field(default_factory=lambda: DEFAULT_LIMITS)
    progress_interval_s: float = 0.5


@dataclass
class RunOutcome:
    job_id: str
    status: str  # "succeeded" | "failed" | "cancelled"
    result: dict[str, Any] | None = None  # microsoft.qio-results.v2 document
    error_code: str | None = None
    error_message: str | None = None
    elapsed_s: float = 0.0
    summary: dict[str, Any] | None = None  # contracts.summary of the input, once the runner tried to decode it

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Progress:
    job_id: str
    elapsed_s: float
    sweeps_done: int
    best_cost: float | None
    summary: dict[str, Any] | None = None  # the input's summary, on a job's first report (contracts.summary)
