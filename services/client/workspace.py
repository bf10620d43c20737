"""The sync Workspace, shaped like azure.quantum.Workspace: a facade over services.client.aio.Workspace that runs
it on a private event loop in a background thread (one loop and one HTTP session per Workspace)."""
from __future__ import annotations

import os
import weakref
from collections.abc import Coroutine
from datetime import date, datetime
from typing import Any, TypeVar

from contracts.status import JobStatus

from ._sync import LoopThread
from .aio.workspace import Workspace as AioWorkspace
from .connection import Connection, WorkspaceIdentity
from .details import JobDetails
from .job import Job
from .target import Target, targets_from_status

__all__ = ["Workspace"]

T = TypeVar("T")


class Workspace(WorkspaceIdentity):
    """An openqio (Azure Quantum) workspace; arguments as services.client.aio.Workspace (connection.json by
    default). Close it with `close()` or a `with` block; an unclosed one is closed when collected or at exit."""

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        name: str | None = None,
        location: str | None = None,
        base_url: str | None = None,
        token: str | None = None,
        ca_file: str | None = None,
        connection_file: str | os.PathLike | None = None,
        *,
        resource_id: str | None = None,
        user_agent: str | None = None,
    ):
        self._aio = AioWorkspace(subscription_id, resource_group, name, location, base_url, token, ca_file,
                                 connection_file, resource_id=resource_id, user_agent=user_agent)
        self._loop = LoopThread(on_start=self._aio.__aenter__, on_stop=self._aio.close)
        self._finalizer = weakref.finalize(self, self._loop.stop)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run(coro)

    def close(self) -> None:
        """Close the HTTP session and stop the private loop."""
        self._finalizer()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- identity (subscription_id, resource_group, name, location, base_url: WorkspaceIdentity) ---------------

    @property
    def connection(self) -> Connection:  # type: ignore[override]
        return self._aio.connection

    @property
    def user_agent(self) -> str | None:
        return self._aio.user_agent

    def append_user_agent(self, value: str) -> None:
        self._aio.append_user_agent(value)

    def __repr__(self) -> str:
        return repr(self._aio).replace(".aio.workspace.", ".")

    # -- jobs --------------------------------------------------------------------------------------------------

    def _wrap(self, job: Any) -> Job:
        return Job(self, job.details)

    def submit_job(self, job: Job | JobDetails) -> Job:
        """PUT the job (a Job or its JobDetails); returns a new Job with the service's answer."""
        return self._wrap(self._run(self._aio.submit_job(job if isinstance(job, JobDetails) else job.details)))

    def get_job(self, job_id: str) -> Job:
        """The job with this id; JobNotFoundError (404) when there is none."""
        return self._wrap(self._run(self._aio.get_job(job_id)))

    def cancel_job(self, job: Job | str) -> Job:
        """DELETE then GET; returns a new Job. ConflictError (409 JobAlreadyFinished) for a finished job."""
        return self._wrap(self._run(self._aio.cancel_job(job if isinstance(job, str) else job.id)))

    def list_jobs(self, name_match: str | None = None, status: JobStatus | str | None = None,
                  created_after: datetime | date | None = None) -> list[Job]:
        """Every job (all pages), filtered on the client as the SDK does."""
        return [self._wrap(j) for j in self._run(self._aio.list_jobs(name_match, status, created_after))]

    def patch_job(self, job: Job | str, operations: list[dict[str, Any]]) -> Job:
        return self._wrap(self._run(self._aio.patch_job(job if isinstance(job, str) else job.id, operations)))

    def set_job_tags(self, job: Job | str, tags: list[str]) -> Job:
        return self._wrap(self._run(self._aio.set_job_tags(job if isinstance(job, str) else job.id, tags)))

    def job_events(self, job_id: str, after: int = 0) -> list[dict[str, Any]]:
        return self._run(self._aio.job_events(job_id, after))

    def job_output(self, job_id: str) -> Any:
        return self._run(self._aio.job_output(job_id))

    def service_load(self) -> dict[str, Any]:
        """openqio only: the service's load as admission control sees it (GET /dashboard/load; see the aio one)."""
        return self._run(self._aio.service_load())

    # -- targets, quotas, storage ------------------------------------------------------------------------------

    def get_targets(self, name: str | None = None, provider_id: str | None = None) -> Target | list[Target]:
        """Targets as solver instances (sync classes); one match alone, else a list without parameter-free ids."""
        from .optimization.solvers import TARGET_CLASSES

        return targets_from_status(self, self._run(self._aio._get_target_status(name, provider_id)), TARGET_CLASSES)

    def get_quotas(self) -> list[dict[str, Any]]:
        return self._run(self._aio.get_quotas())

    def get_container_uri(self, job_id: str | None = None, container_name: str | None = None,
                          container_name_format: str = "job-{job_id}") -> str:
        return self._run(self._aio.get_container_uri(job_id, container_name, container_name_format))

    def _get_linked_storage_sas_uri(self, container_name: str, blob_name: str | None = None) -> str:
        return self._run(self._aio._get_linked_storage_sas_uri(container_name, blob_name))
