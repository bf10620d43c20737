"""JobDetails: the job resource of the Azure Quantum REST API v1.0 (camelCase on the wire, snake_case here)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, overload

from .errors import BAD_REQUEST, ContractError
from .status import JobStatus

INPUT_FORMAT = "microsoft.qio.v2"
OUTPUT_FORMAT = "microsoft.qio-results.v2"


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def format_time(value: datetime) -> str: ...
@overload
def format_time(value: None) -> None: ...
def format_time(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z` suffix (msrest parses it; the SDK's filters assume UTC)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # strftime: 2× slower


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass
class ErrorData:
    code: str
    message: str

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_wire(cls, data: dict | None) -> ErrorData | None:
        if not data:
            return None
        return cls(code=str(data.get("code", "")), message=str(data.get("message", "")))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_TIME_FIELDS = ("creation_time", "begin_execution_time", "end_execution_time", "cancellation_time")


_WIRE_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}


def _wire_keys(cls: type) -> tuple[tuple[str, str], ...]:
    """(field name, wire key) of a dataclass, worked out once: to_wire runs for every job the gateway returns."""
    keys = _WIRE_KEYS.get(cls)
    if keys is None:
        keys = _WIRE_KEYS[cls] = tuple((f.name, _camel(f.name)) for f in fields(cls))
    return keys


@dataclass
class JobDetails:
    """Every field the SDK's JobDetails model knows, plus `is_cancelling` (an extra key msrest ignores)."""

    id: str
    container_uri: str
    input_data_format: str
    provider_id: str
    target: str
    name: str | None = None
    input_data_uri: str | None = None
    input_params: Any = None
    metadata: dict[str, str] | None = None
    output_data_uri: str | None = None
    output_data_format: str | None = None
    status: JobStatus | None = None
    creation_time: datetime | None = None
    begin_execution_time: datetime | None = None
    end_execution_time: datetime | None = None
    cancellation_time: datetime | None = None
    cost_estimate: Any = None
    error_data: ErrorData | None = None
    tags: list[str] = field(default_factory=list)
    is_cancelling: bool = False

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key in _wire_keys(type(self)):
            value = getattr(self, name)
            if name in _TIME_FIELDS:
                value = format_time(value)
            elif name == "status":
                value = value.value if value is not None else None
            elif name == "error_data":
                value = value.to_wire() if value is not None else None
            out[key] = value
        return out

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> JobDetails:
        """Parse a JobDetails body (a client reading a response, or tests). Unknown keys are ignored."""
        if not isinstance(data, dict):
            raise ContractError(BAD_REQUEST, "job details must be a JSON object")
        kwargs: dict[str, Any] = {}
        for name, key in _wire_keys(cls):
            if key not in data:
                continue
            value = data[key]
            if name in _TIME_FIELDS:
                value = parse_time(value)
            elif name == "status":
                value = JobStatus(value) if value is not None else None
            elif name == "error_data":
                value = ErrorData.from_wire(value)
            elif name == "tags":
                value = list(value or [])
            kwargs[name] = value
        for required in ("id", "container_uri", "input_data_format", "provider_id", "target"):
            kwargs.setdefault(required, "")
        return cls(**kwargs)
