"""The async client: Workspace and Job, shaped like azure.quantum.aio (same names, awaited)."""
from __future__ import annotations

import asyncio
import re
import ssl
import uuid
from datetime import datetime, timezone
from typing import Any

import aiohttp
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, ContainerClient

from contracts.jobs import INPUT_FORMAT, OUTPUT_FORMAT
from contracts.status import TERMINAL, JobStatus
from services.client.connection import Connection, resolve
from services.client.details import JobDetails
from services.client.errors import ClientError, error_for

RETRY_STATUSES = (429, 502, 503, 504)


class Job:
    def __init__(self, workspace: Workspace, details: JobDetails):
        self.workspace = workspace
        self.details = details

    @property
    def id(self) -> str:
        return self.details.id

    def has_completed(self) -> bool:
        return self.details.status in TERMINAL

    async def refresh(self) -> None:
        self.details = (await self.workspace.get_job(self.id)).details

    async def wait_until_completed(self, timeout_secs: float = 300, max_poll_wait_secs: float = 30,
                                   progress: Any = None) -> None:
        """Poll as the SDK does (0.2 s, ×1.5, capped) until the job ends; TimeoutError after `timeout_secs`."""
        waited = 0.0
        delay = 0.2
        await self.refresh()
        while not self.has_completed():
            if waited >= timeout_secs:
                raise TimeoutError(f"The wait time has exceeded {timeout_secs} seconds.")
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, max_poll_wait_secs)
            await self.refresh()
            if progress is not None:
                progress(self)

    async def get_results(self, timeout_secs: float = 300) -> dict[str, Any]:
        if not self.has_completed():
            await self.wait_until_completed(timeout_secs=timeout_secs)
        if self.details.status != JobStatus.SUCCEEDED:
            raise RuntimeError(
                f"Cannot retrieve results as job execution failed (status: {self.details.status.value}. "
                f"error: {self.details.error_data})"
            )
        return await self.workspace.download_json(self.details.output_data_uri)

    async def cancel(self) -> Job:
        return await self.workspace.cancel_job(self)

    def __repr__(self) -> str:
        status = self.details.status.value if self.details.status else None
        return f"Job(id={self.id!r}, status={status!r}, target={self.details.target!r})"


class Workspace:
    """Connects through .openqio/connection.json unless told otherwise (see services.client.connection)."""

    def __init__(self, subscription_id: str | None = None, resource_group: str | None = None, name: str | None = None,
                 location: str | None = None, *, base_url: str | None = None, token: str | None = None,
                 ca_file: str | None = None, connection_file: str | None = None, retries: int = 4):
        self.connection: Connection = resolve(
            connection_file, subscription_id=subscription_id, resource_group=resource_group, name=name,
            location=location, base_url=base_url, token=token, ca_file=ca_file,
        )
        self.retries = retries
        self._session: aiohttp.ClientSession | None = None

    @property
    def subscription_id(self) -> str:
        return self.connection.subscription_id

    @property
    def resource_group(self) -> str:
        return self.connection.resource_group

    @property
    def name(self) -> str:
        return self.connection.workspace

    @property
    def location(self) -> str:
        return self.connection.location

    async def __aenter__(self) -> Workspace:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.connection.ca_file) if self.connection.ca_file else \
            ssl.create_default_context()

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl()),
                headers={"Authorization": f"Bearer {self.connection.token}", "Accept": "application/json",
                         "User-Agent": "openqio-client"},
                timeout=aiohttp.ClientTimeout(total=120),
            )
        return self._session

    async def request(self, method: str, path: str, json: Any = None) -> Any:
        """One REST call with retries on 429/5xx-unavailable (honouring Retry-After) and connection errors."""
        url = path if path.startswith("https://") or path.startswith("http://") else f"{self.connection.prefix}/{path}"
        session = await self._client()
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                async with session.request(method, url, json=json) as resp:
                    if resp.status in RETRY_STATUSES and attempt < self.retries:
                        wait = float(resp.headers.get("Retry-After", delay))
                        await asyncio.sleep(min(wait, 30.0))
                        delay *= 2
                        continue
                    if resp.status == 204:
                        return None
                    body = await resp.json(content_type=None) if resp.content_length != 0 else None
                    if resp.status >= 400:
                        err = (body or {}).get("error", {}) if isinstance(body, dict) else {}
                        raise error_for(resp.status, err.get("code", ""), err.get("message", resp.reason or ""))
                    return body
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                if attempt >= self.retries:
                    raise ClientError(0, "ConnectionError", f"cannot reach {self.connection.base_url}: {exc}") from None
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # -- jobs ------------------------------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job:
        return Job(self, JobDetails.from_response(await self.request("GET", f"jobs/{job_id}")))

    async def list_jobs(self, name_match: str | None = None, status: JobStatus | str | None = None,
                        created_after: datetime | None = None) -> list[Job]:
        """Every job of the workspace (following nextLink), filtered on the client as the SDK does."""
        jobs: list[Job] = []
        page = await self.request("GET", "jobs")
        while True:
            for item in page.get("value", []):
                jobs.append(Job(self, JobDetails.from_response(item)))
            if not page.get("nextLink"):
                break
            page = await self.request("GET", page["nextLink"])
        wanted = JobStatus(status) if status is not None else None
        after = created_after.replace(tzinfo=created_after.tzinfo or timezone.utc) if created_after else None
        return [
            j for j in jobs
            if (name_match is None or re.search(name_match, j.details.name or ""))
            and (wanted is None or j.details.status == wanted)
            and (after is None or (j.details.creation_time and j.details.creation_time >= after))
        ]

    async def cancel_job(self, job: Job | str) -> Job:
        job_id = job if isinstance(job, str) else job.id
        await self.request("DELETE", f"jobs/{job_id}")
        return await self.get_job(job_id)

    async def submit_job(self, body: dict[str, Any]) -> Job:
        return Job(self, JobDetails.from_response(await self.request("PUT", f"jobs/{body['id']}", json=body)))

    async def get_targets(self) -> list[dict[str, Any]]:
        page = await self.request("GET", "providerStatus")
        return [t for provider in page.get("value", []) for t in provider.get("targets", [])
                if "parameterfree" not in t["id"]]

    async def get_quotas(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "quotas")).get("value", [])

    async def job_events(self, job_id: str, after: int = 0) -> list[dict[str, Any]]:
        return (await self.request("GET", f"jobs/{job_id}/events?after={after}")).get("value", [])

    # -- storage ---------------------------------------------------------------------------------------------------

    async def container_sas(self, container: str) -> str:
        return (await self.request("POST", "storage/sasUri", json={"containerName": container}))["sasUri"]

    async def upload_input(self, job_id: str, data: bytes, content_type: str) -> tuple[str, str]:
        """Create job-{id} and upload inputData (gzip) through a SAS: (containerUri with SAS, blob URL)."""
        container_uri = await self.container_sas(f"job-{job_id}")
        async with ContainerClient.from_container_url(container_uri) as container:
            try:
                await container.create_container()
            except ResourceExistsError:
                pass
            await container.upload_blob(
                "inputData", data, content_settings=ContentSettings(content_type=content_type, content_encoding="gzip"))
        return container_uri, container_uri.split("?")[0] + "/inputData"

    async def download_json(self, url: str) -> Any:
        import json

        async with BlobClient.from_blob_url(url) as blob:
            payload = await (await blob.download_blob()).readall()
        return json.loads(payload.decode("utf-8"))

    async def submit_problem(self, problem: Any, target: str, params: dict[str, Any], name: str | None = None) -> Job:
        """The SDK's flow: uuid1 job id, SAS for job-{id}, upload, PUT. `problem` may be a blob URI string."""
        job_id = str(uuid.uuid1())
        if isinstance(problem, str):
            container_uri = await self.container_sas(f"job-{job_id}")
            async with ContainerClient.from_container_url(container_uri) as container:
                try:
                    await container.create_container()
                except ResourceExistsError:
                    pass
            input_uri, job_name = problem, name or "Optimization problem"
        else:
            container_uri, input_uri = await self.upload_input(job_id, problem.to_blob(), problem.content_type.value)
            job_name = problem.name
        body = {
            "id": job_id, "name": job_name, "containerUri": container_uri, "inputDataUri": input_uri,
            "inputDataFormat": INPUT_FORMAT, "inputParams": params, "providerId": "Microsoft", "target": target,
            "outputDataFormat": OUTPUT_FORMAT,
        }
        return await self.submit_job(body)
