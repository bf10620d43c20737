"""Targets as `Workspace.get_targets()` returns them (the SDK's Target / TargetFactory, trimmed to QIO).

A target id that names one of our solver classes becomes an instance of that class (sync or aio, matching the
workspace); any other id becomes a plain `Target`. With more than one match the list leaves out the
`-parameterfree` ids, as the SDK does; exactly one match is returned on its own, not in a list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.jobs import INPUT_FORMAT, OUTPUT_FORMAT

from ._job_base import ContentType

PARAMETER_FREE = "parameterfree"


@dataclass(frozen=True)
class TargetStatus:
    id: str
    current_availability: str | None = None
    average_queue_time: int | None = None
    status_page: str | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TargetStatus:
        return cls(id=str(data.get("id", "")), current_availability=data.get("currentAvailability"),
                   average_queue_time=data.get("averageQueueTime"), status_page=data.get("statusPage"))


class Target:
    """A target of the workspace: its id (`name`), provider, formats and the availability last reported."""

    target_names: tuple[str, ...] = ()

    def __init__(
        self,
        workspace: Any,
        name: str,
        input_data_format: str = INPUT_FORMAT,
        output_data_format: str = OUTPUT_FORMAT,
        provider_id: str = "",
        content_type: ContentType = ContentType.json,
        encoding: str = "",
        average_queue_time: float | None = None,
        current_availability: str = "",
    ):
        if not provider_id and "." in name:
            provider_id = name.split(".")[0]
        self.workspace = workspace
        self.name = name
        self.input_data_format = input_data_format
        self.output_data_format = output_data_format
        self.provider_id = provider_id
        self.content_type = content_type
        self.encoding = encoding
        self._average_queue_time = average_queue_time
        self._current_availability = current_availability

    @classmethod
    def from_target_status(cls, workspace: Any, provider_id: str, status: TargetStatus, **kwargs: Any) -> Target:
        return cls(workspace=workspace, name=status.id, provider_id=provider_id,
                   average_queue_time=status.average_queue_time,
                   current_availability=status.current_availability or "", **kwargs)

    @property
    def current_availability(self) -> str:
        return self._current_availability

    @property
    def average_queue_time(self) -> float | None:
        return self._average_queue_time

    def supports_protobuf(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f'<Target name="{self.name}", avg. queue time={self._average_queue_time} s, '
                f"{self._current_availability}>")


def targets_from_status(workspace: Any, statuses: list[tuple[str, TargetStatus]],
                        classes: dict[str, type[Target]]) -> Target | list[Target]:
    """Build targets from (provider id, status) pairs. `classes` maps lower-case target ids to classes."""

    def make(provider_id: str, status: TargetStatus) -> Target:
        cls = classes.get(status.id.lower(), Target)
        return cls.from_target_status(workspace, provider_id, status)

    if len(statuses) == 1:
        return make(*statuses[0])
    return [make(p, s) for p, s in statuses if PARAMETER_FREE not in s.id]


def target_classes(*classes: type[Target]) -> dict[str, type[Target]]:
    return {name.lower(): cls for cls in classes for name in cls.target_names}
