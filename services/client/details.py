"""JobDetails as users see it: the wire model plus `additional_properties` (extra keys such as isCancelling)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.jobs import JobDetails as _WireDetails


@dataclass
class JobDetails(_WireDetails):
    additional_properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> JobDetails:
        base = _WireDetails.from_wire(data)
        values = {f: getattr(base, f) for f in base.__dataclass_fields__}
        return cls(**values, additional_properties={"isCancelling": bool(data.get("isCancelling", False))})
