"""The synchronous client, a facade over services.client.aio (same names, not awaited)."""
from __future__ import annotations

import atexit
from datetime import datetime
from typing import Any

from contracts.status import JobStatus
from services.client import aio
from services.client._sync import LoopThread
from services.client.details import JobDetails


class Job:
    def __init__(self, workspace: Workspace, inner: aio.Job):
        self.workspace = workspace
        self._inner = inner

    @property
    def id(self) -> str:
        return self._inner.id

    @property
    def details(self) -> JobDetails:
        return self._inner.details

    def has_completed(self) -> bool:
        return self._inner.has_completed()

    def refresh(self) -> None:
        self.workspace._run(self._inner.refresh())

    def wait_until_completed(self, timeout_secs: float = 300, max_poll_wait_secs: float = 30, progress: Any = None) -> None:
        self.workspace._run(self._inner.wait_until_completed(timeout_secs, max_poll_wait_secs, progress))

    def get_results(self, timeout_secs: float = 300) -> dict[str, Any]:
        return self.workspace._run(self._inner.get_results(timeout_secs))

    def cancel(self) -> Job:
        return self.workspace.cancel_job(self)

    def __repr__(self) -> str:
        return repr(self._inner)


class Workspace:
    def __init__(self, subscription_id: str | None = None, resource_group: str | None = None, name: str | None = None,
                 location: str | None = None, **kwargs: Any):
        self._aio = aio.Workspace(subscription_id, resource_group, name, location, **kwargs)
        self._loop = LoopThread()
        atexit.register(self.close)

    def _run(self, coro):
        return self._loop.run(coro)

    def close(self) -> None:
        if self._loop.loop.is_running():
            self._run(self._aio.close())
            self._loop.stop()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name in ("subscription_id", "resource_group", "name", "location", "connection"):
            return getattr(self._aio, name)
        raise AttributeError(name)

    def _wrap(self, job: aio.Job) -> Job:
        return Job(self, job)

    def get_job(self, job_id: str) -> Job:
        return self._wrap(self._run(self._aio.get_job(job_id)))

    def list_jobs(self, name_match: str | None = None, status: JobStatus | str | None = None,
                  created_after: datetime | None = None) -> list[Job]:
        return [self._wrap(j) for j in self._run(self._aio.list_jobs(name_match, status, created_after))]

    def cancel_job(self, job: Job | str) -> Job:
        return self._wrap(self._run(self._aio.cancel_job(job if isinstance(job, str) else job.id)))

    def submit_job(self, body: dict[str, Any]) -> Job:
        return self._wrap(self._run(self._aio.submit_job(body)))

    def get_targets(self) -> list[dict[str, Any]]:
        return self._run(self._aio.get_targets())

    def get_quotas(self) -> list[dict[str, Any]]:
        return self._run(self._aio.get_quotas())

    def job_events(self, job_id: str, after: int = 0) -> list[dict[str, Any]]:
        return self._run(self._aio.job_events(job_id, after))

    def submit_problem(self, problem: Any, target: str, params: dict[str, Any], name: str | None = None) -> Job:
        return self._wrap(self._run(self._aio.submit_problem(problem, target, params, name)))
