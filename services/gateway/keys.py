"""Typed application and request keys shared by the gateway's modules, and what the gateway needs of the parts
behind them: the job store (services.jobs.store.JobStore), every workspace's blob storage
(services.blobs.WorkspaceStorage), and the dispatcher (`Dispatching`, below)."""
from __future__ import annotations

from typing import Protocol

from aiohttp import web

from contracts.runner import Progress
from services.blobs import WorkspaceStorage
from services.config import Settings
from services.disks import Disks
from services.jobs.store import JobStore

from .admission import Admission


class Dispatching(Protocol):
    """The dispatcher as the gateway uses it (services.dispatch.dispatcher.Dispatcher)."""

    progress: dict[str, Progress]  # the latest progress of each running job

    def wake(self) -> None:
        """A job was submitted: look for work now."""

    def hold_input(self, job_id: str, data: bytes, content_type: str | None) -> bool:
        """Keep a job's input (read at submission, before the job is stored) for its run; True when held by this
        call."""

    def drop_input(self, job_id: str) -> None:
        """Forget an input held for a job that was not stored after all."""

    async def cancel(self, job_id: str) -> None:
        """Signal the runner of an Executing job to stop."""

    def results_waiting_for_space(self) -> tuple[int, float] | None:
        """(how many, since when) while finished jobs' results wait for space on blob storage's disk; else None."""


SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", JobStore)
BLOBS = web.AppKey("blobs", WorkspaceStorage)
DISPATCHER = web.AppKey("dispatcher", Dispatching)
ADMISSION = web.AppKey("admission", Admission)
DISKS = web.AppKey("disks", Disks)
# request key: the workspace the bearer token grants (a typed RequestKey where aiohttp has them, 3.12+)
WORKSPACE = web.RequestKey("workspace", str) if hasattr(web, "RequestKey") else "openqio.workspace"
