"""A bare REST helper for integration tests: speaks the wire protocol directly (aiohttp + azure-storage-blob),
so service tests do not depend on our own client library."""
from __future__ import annotations

import asyncio
import ssl
import uuid
from typing import Any

import aiohttp
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from contracts.problems import encode_json, problem_document
from contracts.status import TERMINAL, JobStatus

SEED_TERMS = [(-9, [0]), (-3, [1, 0]), (5, [2, 0])]


class Rest:
    def __init__(self, service: Any, token: str | None = None):
        self.service = service
        self.base = service.base_url.rstrip("/")
        self.prefix = (
            f"{self.base}/v1.0/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}"
            f"/providers/Microsoft.Quantum/workspaces/{service.workspace}"
        )
        self.token = token if token is not None else service.token
        self.ssl = ssl.create_default_context(cafile=service.ca_file)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Rest:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.session is not None
        await self.session.close()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, json: Any = None, data: Any = None, **kw: Any) -> tuple[int, Any]:
        assert self.session is not None
        url = path if path.startswith("https://") else f"{self.prefix}/{path.lstrip('/')}"
        headers = {**self.headers(), **kw.pop("headers", {})}
        async with self.session.request(method, url, json=json, data=data, headers=headers, **kw) as resp:
            text = await resp.text()
            try:
                body = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return resp.status, body

    async def upload(self, job_id: str, body: bytes, content_type: str = "application/json", gzip: bool = True,
                     account_sas: str | None = None) -> str:
        """Create `job-{id}` and upload `inputData` through the service's SAS, as the SDK does; or, given
        `account_sas` (a sasUri answer for another container: an account SAS), without asking the service, as a
        client that already holds one may. Returns containerUri."""
        if account_sas is None:
            status, sas = await self.request("POST", "storage/sasUri", json={"containerName": f"job-{job_id}"})
            assert status == 200, sas
            container_uri = sas["sasUri"]
        else:
            base, query = account_sas.split("?", 1)
            container_uri = f"{base.rsplit('/', 1)[0]}/job-{job_id}?{query}"
        async with ContainerClient.from_container_url(container_uri) as container:
            if not await container.exists():
                await container.create_container()
            await container.upload_blob(
                "inputData",
                body,
                content_settings=ContentSettings(content_type=content_type, content_encoding="gzip" if gzip else None),
            )
        return container_uri

    def job_body(self, job_id: str, container_uri: str, target: str, params: dict | None = None, **extra: Any) -> dict:
        blob_url = container_uri.split("?")[0] + "/inputData"
        body = {
            "id": job_id,
            "name": extra.pop("name", "test-job"),
            "containerUri": container_uri,
            "inputDataUri": blob_url,
            "inputDataFormat": "microsoft.qio.v2",
            "inputParams": {"params": params or {}},
            "providerId": "Microsoft",
            "target": target,
            "outputDataFormat": "microsoft.qio-results.v2",
        }
        body.update(extra)
        return body

    async def submit(self, problem_doc: dict, target: str, params: dict | None = None, *, data: bytes | None = None,
                     content_type: str = "application/json") -> str:
        job_id = str(uuid.uuid1())
        container_uri = await self.upload(job_id, data if data is not None else encode_json(problem_doc), content_type)
        status, body = await self.request("PUT", f"jobs/{job_id}", json=self.job_body(job_id, container_uri, target, params))
        assert status in (200, 201), body
        assert body["status"] == "Waiting"
        return job_id

    async def get(self, job_id: str) -> dict:
        status, body = await self.request("GET", f"jobs/{job_id}")
        assert status == 200, body
        return body

    async def wait(self, job_id: str, timeout: float = 90.0, until: frozenset = frozenset(s.value for s in TERMINAL)) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.get(job_id)
            if job["status"] in until:
                return job
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
            await asyncio.sleep(0.1)

    async def wait_status(self, job_id: str, status: JobStatus, timeout: float = 60.0) -> dict:
        return await self.wait(job_id, timeout, until=frozenset({status.value}))

    async def result(self, job: dict) -> dict:
        assert self.session is not None
        async with self.session.get(job["outputDataUri"]) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json(content_type=None)


def seed_problem() -> dict:
    return problem_document("ising", SEED_TERMS, name="MyOptimizationJob")


def long_problem(n: int = 2000, seed: int = 1) -> dict:
    """A random sparse problem big enough that sweeps=10**8 keeps a runner busy until cancelled."""
    import random

    rng = random.Random(seed)
    terms = [(rng.choice([-1, 1]), [i, (i + rng.randint(1, n - 1)) % n]) for i in range(n) for _ in range(2)]
    return problem_document("ising", terms, name="long")
