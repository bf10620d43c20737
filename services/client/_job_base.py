"""What the sync and async Job share: identity, details, completion and the SDK's client-side list filters."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from contracts.status import JobStatus

from .details import JobDetails

DEFAULT_TIMEOUT = 300  # seconds get_results / optimize wait, as the SDK
TERMINAL_VALUES = frozenset({"Succeeded", "Failed", "Cancelled"})


class ContentType(str, Enum):
    json = "application/json"
    protobuf = "application/x-protobuf"


class JobBase:
    """`workspace` is the Workspace of the same flavour (sync or aio); `details` the last JobDetails seen."""

    def __init__(self, workspace: Any, job_details: JobDetails):
        self.workspace = workspace
        self.details = job_details
        self.id = job_details.id
        self.results = None  # never filled, as in the SDK: get_results downloads every time

    @property
    def container_name(self) -> str:
        return f"job-{self.id}"

    def has_completed(self) -> bool:
        """True for Succeeded, Failed and Cancelled only; any other status (or none) means "keep polling"."""
        return _status_value(self.details.status) in TERMINAL_VALUES

    def matches_filter(self, name_match: str | None = None, status: JobStatus | str | None = None,
                       created_after: datetime | date | None = None) -> bool:
        """The SDK's filters: a regex search on the name, an exact status, a creation time at or after a moment.

        `created_after` may be a date (midnight, local time), a naive datetime (local time) or an aware one.
        """
        details = self.details
        if name_match is not None and re.search(name_match, details.name or "") is None:
            return False
        if status is not None and _status_value(details.status) != _status_value(status):
            return False
        if created_after is not None:
            if not isinstance(created_after, datetime):
                created_after = datetime(created_after.year, created_after.month, created_after.day)
            if created_after.tzinfo is None:
                created_after = created_after.astimezone()
            if details.creation_time is None or details.creation_time.replace(tzinfo=UTC) < created_after:
                return False
        return True

    def _results_error(self) -> RuntimeError:
        return RuntimeError(
            "Cannot retrieve results as job execution failed"
            f"(status: {_status_value(self.details.status)}.error: {self.details.error_data})"
        )

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} id={self.id!r} name={self.details.name!r} "
                f"status={_status_value(self.details.status)!r} target={self.details.target!r}>")


def _status_value(status: Any) -> str | None:
    return status.value if isinstance(status, Enum) else status
