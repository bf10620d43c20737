"""The async Workspace, shaped like azure.quantum.aio.Workspace (same method names, awaited), for openqio.

    async with Workspace() as workspace:          # .openqio/connection.json, see services.client.connection
        jobs = await workspace.list_jobs()

Used with `async with`, the workspace keeps one HTTP session to the service and one to blob storage until it exits;
without, every call opens and closes its own (as the SDK's aio client does), so nothing leaks either way.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any
from urllib.request import getproxies

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport

from contracts.status import JobStatus

from .. import _storage
from .._transport import RestClient, connector
from ..connection import Connection, WorkspaceIdentity, resolve_connection
from ..details import JobDetails
from ..target import Target, TargetStatus, targets_from_status
from .job import Job

__all__ = ["Workspace"]

DEFAULT_CONTAINER_NAME_FORMAT = "job-{job_id}"
# With env settings on, aiohttp looks up proxy variables and ~/.netrc on every storage request; only where a proxy
# is configured is that needed (as in the service's blob store).
_USE_ENV_SETTINGS = bool(getproxies())
USER_AGENT_APPID_ENV_VAR_NAME = "AZURE_QUANTUM_PYTHON_APPID"


class Workspace(WorkspaceIdentity):
    """An openqio (Azure Quantum) workspace.

    Arguments override the values of connection.json: `subscription_id`, `resource_group`, `name` (workspace),
    `location`, `base_url` (https://host:port/), `token` (bearer), `ca_file` (PEM of the service's CA),
    `connection_file` (path; default $OPENQIO_CONNECTION, then .openqio/connection.json in the working directory
    or a parent). `resource_id` ("/subscriptions/../resourceGroups/../providers/Microsoft.Quantum/Workspaces/..")
    may replace the first three, as in the SDK. `user_agent` prefixes the User-Agent header.
    """

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
        self.connection: Connection = resolve_connection(
            subscription_id=subscription_id, resource_group=resource_group, name=name, location=location,
            base_url=base_url, token=token, ca_file=ca_file, connection_file=connection_file, resource_id=resource_id,
        )
        self._user_agent = user_agent
        self._rest = RestClient(self.connection, self.user_agent)
        self._storage_session: aiohttp.ClientSession | None = None

    # -- identity (subscription_id, resource_group, name, location, base_url: WorkspaceIdentity) ---------------

    @property
    def user_agent(self) -> str | None:
        """The `user_agent` given, with `-$AZURE_QUANTUM_PYTHON_APPID` appended when that is set (as the SDK)."""
        agent = self._user_agent
        app_id = os.environ.get(USER_AGENT_APPID_ENV_VAR_NAME)
        if app_id:
            agent = f"{agent}-{app_id}" if agent else app_id
        return agent

    def append_user_agent(self, value: str) -> None:
        if value not in (self._user_agent or ""):
            self._user_agent = f"{self._user_agent}-{value}" if self._user_agent else value
            self._rest.user_agent = self.user_agent

    def __repr__(self) -> str:
        return (f"<{type(self).__module__}.Workspace name={self.name!r} resource_group={self.resource_group!r} "
                f"subscription_id={self.subscription_id!r} base_url={self.base_url!r}>")

    # -- session -----------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Workspace:
        await self._rest.open()
        if self._storage_session is None or self._storage_session.closed:
            # as azure-core makes its own (raw bytes: the storage client undoes gzip itself)
            # Idle connections are dropped before Azurite's keep-alive timeout (5 s) closes them under our feet, and
            # at most 32 are open at once: hundreds of concurrent submissions each opening its own overflowed
            # Azurite's listen backlog (connections then time out after 30 s).
            self._storage_session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, trust_env=_USE_ENV_SETTINGS,
                connector=connector(keepalive_timeout=4.0, limit=32))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP sessions kept by `async with` (nothing to do otherwise)."""
        await self._rest.close()
        if self._storage_session is not None:
            session, self._storage_session = self._storage_session, None
            await session.close()

    def _storage_kwargs(self, url: str) -> dict[str, Any]:
        """Storage client options for a blob URL: an https endpoint is checked against our CA bundle too, and
        inside `async with` the storage clients share the workspace's session (keep-alive connections) instead of
        each opening, and closing, its own: that was two new connections per submitted job."""
        bundle = self.connection.ca_bundle or self.connection.ca_file
        options: dict[str, Any] = {"use_env_settings": _USE_ENV_SETTINGS}
        if bundle and url.startswith("https:"):
            options["connection_verify"] = bundle
        session = self._storage_session
        if session is not None and not session.closed:
            return {"transport": AioHttpTransport(session=session, session_owner=False, **options)}
        return options

    # -- jobs --------------------------------------------------------------------------------------------------

    async def submit_job(self, job: Job | JobDetails) -> Job:
        """PUT the job (a Job or its JobDetails); returns a new Job with the service's answer."""
        details = job if isinstance(job, JobDetails) else job.details
        answer = await self._rest.request("PUT", self.connection.url("jobs", details.id),
                                          json_body=details.submit_body(), expect=(200, 201))
        return Job(self, JobDetails.from_wire(answer))

    async def get_job(self, job_id: str) -> Job:
        """The job with this id; JobNotFoundError (404) when there is none."""
        return Job(self, JobDetails.from_wire(await self._rest.request("GET", self.connection.url("jobs", job_id))))

    async def cancel_job(self, job: Job | str) -> Job:
        """DELETE the job, then GET it; returns a new Job (the one passed is not changed, as in the SDK).

        A finished job cannot be cancelled: the service answers 409 and this raises ConflictError
        (code JobAlreadyFinished). An executing job may still read Executing, with
        `details.additional_properties['isCancelling'] == True`, until its runner stops."""
        job_id = job if isinstance(job, str) else job.id
        await self._rest.request("DELETE", self.connection.url("jobs", job_id), expect=(204,))
        return await self.get_job(job_id)

    async def list_jobs(self, name_match: str | None = None, status: JobStatus | str | None = None,
                        created_after: datetime | date | None = None) -> list[Job]:
        """Every job of the workspace (all pages), filtered on the client as the SDK does: `name_match` is a regex
        searched in the name, `status` an exact status, `created_after` a lower bound on the creation time."""
        result = []
        async for item in self._rest.pages(self.connection.url("jobs")):
            job = Job(self, JobDetails.from_wire(item))
            if job.matches_filter(name_match, status, created_after):
                result.append(job)
        return result

    async def patch_job(self, job: Job | str, operations: list[dict[str, Any]]) -> Job:
        """Apply a JSON Patch to the job (the service allows `/tags` only), e.g.
        `[{"op": "add", "path": "/tags/-", "value": "x"}]`; returns the updated Job."""
        job_id = job if isinstance(job, str) else job.id
        answer = await self._rest.request("PATCH", self.connection.url("jobs", job_id), json_body=operations,
                                          expect=(200, 204))
        return Job(self, JobDetails.from_wire(answer)) if answer else await self.get_job(job_id)

    async def set_job_tags(self, job: Job | str, tags: list[str]) -> Job:
        return await self.patch_job(job, [{"op": "replace", "path": "/tags", "value": list(tags)}])

    async def job_events(self, job_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The job's event log after sequence number `after` (submitted, started, progress, finished...)."""
        url = self.connection.url("jobs", job_id, "events", query=f"after={int(after)}")
        return list((await self._rest.request("GET", url) or {}).get("value") or [])

    async def job_output(self, job_id: str) -> Any:
        """A Succeeded job's result as the service keeps it (the same document as its `rawOutputData` blob)."""
        return await self._rest.request("GET", self.connection.url("jobs", job_id, "output"))

    async def service_load(self) -> dict[str, Any]:
        """openqio only: the service's load as its admission control sees it (GET /dashboard/load): jobs `waiting`,
        `admitting` (false: new submissions get 429 with Retry-After), `queueingDelaySeconds`, `pacePerSecond`,
        `refusedSinceStart`, the `limits`, the `runners` busy, full disks (`diskFullSeconds`, `blobDiskFull`) and the
        room on the disks under its data (`disks`: `holds`, `freeBytes`, `totalBytes`, `low`; README "Back-pressure").
        The whole service's counts, whichever workspace."""
        return await self._rest.request("GET", self.connection.base_url + "dashboard/load")

    # -- targets and quotas ------------------------------------------------------------------------------------

    async def _get_target_status(self, name: str | None = None,
                                 provider_id: str | None = None) -> list[tuple[str, TargetStatus]]:
        result = []
        async for provider in self._rest.pages(self.connection.url("providerStatus")):
            pid = str(provider.get("id", ""))
            if provider_id is not None and pid.lower() != provider_id.lower():
                continue
            for target in provider.get("targets") or []:
                status = TargetStatus.from_wire(target)
                if name is None or status.id.lower() == name.lower():
                    result.append((pid, status))
        return result

    async def get_targets(self, name: str | None = None, provider_id: str | None = None) -> Target | list[Target]:
        """Targets of the workspace as solver instances (aio classes); one match alone, else a list that leaves out
        the parameter-free ids."""
        from .optimization.solvers import TARGET_CLASSES

        return targets_from_status(self, await self._get_target_status(name, provider_id), TARGET_CLASSES)

    async def get_quotas(self) -> list[dict[str, Any]]:
        """Quotas as snake_case dicts (dimension, scope, provider_id, utilization, holds, limit, period)."""
        return [_snake_keys(q) async for q in self._rest.pages(self.connection.url("quotas"))]

    # -- storage -----------------------------------------------------------------------------------------------

    async def _get_linked_storage_sas_uri(self, container_name: str, blob_name: str | None = None) -> str:
        body = {"containerName": container_name}
        if blob_name is not None:
            body["blobName"] = blob_name
        # a container's sasUri starts every submission: refused at capacity, and held while the service asks to wait
        answer = await self._rest.request("POST", self.connection.url("storage", "sasUri"), json_body=body,
                                          submission=blob_name is None)
        return answer["sasUri"]

    async def get_container_uri(self, job_id: str | None = None, container_name: str | None = None,
                                container_name_format: str = DEFAULT_CONTAINER_NAME_FORMAT, *,
                                create: bool = True) -> str:
        """A SAS URL for the container (`job-{job_id}`, or `container_name`, or `{workspace}-data`), created if
        missing (unless `create=False`: the caller creates it)."""
        if container_name is None:
            container_name = container_name_format.format(job_id=job_id) if job_id is not None else f"{self.name}-data"
        container_uri = await self._get_linked_storage_sas_uri(container_name)
        if create:
            await _storage.create_container(container_uri, **self._storage_kwargs(container_uri))
        return container_uri


def _snake_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in key): value for key, value in data.items()}
