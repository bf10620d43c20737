"""JobDetails as users see it: contracts.jobs.JobDetails (snake_case, UTC datetimes, JobStatus) plus
`additional_properties`, the wire keys the azure-quantum 0.27 model does not know (e.g. {'isCancelling': True}),
kept under their wire names exactly as msrest keeps them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.jobs import JobDetails as _WireDetails
from contracts.status import JobStatus

# The keys of the SDK's JobDetails model (`_client/models/_models_py3.py`); everything else is "additional".
SDK_KEYS = frozenset({
    "id", "name", "containerUri", "inputDataUri", "inputDataFormat", "inputParams", "providerId", "target",
    "metadata", "outputDataUri", "outputDataFormat", "status", "creationTime", "beginExecutionTime",
    "endExecutionTime", "cancellationTime", "costEstimate", "errorData", "tags",
})
_STATUSES = frozenset(s.value for s in JobStatus)
# What a PUT sends, in the SDK's order (msrest serialises its attribute map in order and leaves out None).
_SUBMIT_FIELDS = (
    ("id", "id"), ("name", "name"), ("container_uri", "containerUri"), ("input_data_uri", "inputDataUri"),
    ("input_data_format", "inputDataFormat"), ("input_params", "inputParams"), ("provider_id", "providerId"),
    ("target", "target"), ("metadata", "metadata"), ("output_data_uri", "outputDataUri"),
    ("output_data_format", "outputDataFormat"),
)


@dataclass
class JobDetails(_WireDetails):
    additional_properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> JobDetails:
        """Parse a service answer. A status outside the five documented ones is kept as its string (the job
        then simply reads as not completed, as in the SDK) instead of failing the whole call."""
        status = data.get("status")
        unknown_status = status is not None and status not in _STATUSES
        details = super().from_wire({k: v for k, v in data.items() if not (unknown_status and k == "status")})
        if unknown_status:
            details.status = status
        details.additional_properties = {k: v for k, v in data.items() if k not in SDK_KEYS}  # type: ignore[attr-defined]
        return details  # type: ignore[return-value]

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        wire.pop("additionalProperties", None)
        wire.update(self.additional_properties)
        return wire

    def submit_body(self) -> dict[str, Any]:
        """The PUT body as the SDK sends it: the client-set fields, None left out, tags only when there are any."""
        body = {key: getattr(self, attr) for attr, key in _SUBMIT_FIELDS if getattr(self, attr) is not None}
        if self.tags:
            body["tags"] = list(self.tags)
        return body

