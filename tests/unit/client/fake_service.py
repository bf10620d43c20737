"""A small in-process stand-in for the gateway (plain HTTP on 127.0.0.1, in its own thread and loop), so client
tests run fast without Azurite or TLS, for the async client and the sync facade alike. Blob storage is faked in
memory by `FakeStorage`, patched over services.client._storage."""
from __future__ import annotations

import asyncio
import gzip
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SUB, RG, WS = "sub-1", "rg 1", "ws1"
TOKEN = "secret-token"
PREFIX = "/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Quantum/workspaces/{ws}"
BLOB = "http://127.0.0.1:10000/devstoreaccount1"
JSON = web.RequestKey("json", object)


def job_wire(job_id: str, status: str = "Waiting", **extra: Any) -> dict[str, Any]:
    body = {
        "id": job_id, "name": extra.pop("name", "job"), "containerUri": f"{BLOB}/job-{job_id}?se=x&sig=y",
        "inputDataUri": f"{BLOB}/job-{job_id}/inputData", "inputDataFormat": "microsoft.qio.v2",
        "inputParams": {"params": {}}, "providerId": "Microsoft",
        "target": "microsoft.simulatedannealing-parameterfree.cpu", "metadata": None, "outputDataUri": None,
        "outputDataFormat": "microsoft.qio-results.v2", "status": status,
        "creationTime": "2024-01-02T03:04:05.1234567Z", "beginExecutionTime": None, "endExecutionTime": None,
        "cancellationTime": None, "costEstimate": None, "errorData": None, "isCancelling": False, "tags": [],
    }
    body.update(extra)
    return body


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeService:
    """Jobs live in `jobs`; `script` maps "METHOD path-suffix" to a list of canned (status, body, headers) answers
    used (and consumed) before the normal behaviour; `requests` records everything received."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: dict[str, list[tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    page_size: int = 2
    polls_until_done: int = 2  # GETs of a Waiting job before it reads Succeeded
    base_url: str = ""
    _polls: dict[str, int] = field(default_factory=dict)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> FakeService:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def boot() -> None:
            app = web.Application(middlewares=[self._middleware])
            p = PREFIX
            app.router.add_route("PUT", p + "/jobs/{job_id}", self.put_job)
            app.router.add_route("GET", p + "/jobs/{job_id}", self.get_job)
            app.router.add_route("DELETE", p + "/jobs/{job_id}", self.delete_job)
            app.router.add_route("PATCH", p + "/jobs/{job_id}", self.patch_job)
            app.router.add_route("GET", p + "/jobs", self.list_jobs)
            app.router.add_route("POST", p + "/storage/sasUri", self.sas_uri)
            app.router.add_route("GET", p + "/providerStatus", self.provider_status)
            app.router.add_route("GET", p + "/quotas", self.quotas)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.base_url = f"http://127.0.0.1:{port}/"
            ready.set()

        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(boot(), self._loop).result(10)
        ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def calls(self, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if method is None or r.method == method]

    # -- handlers ----------------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(Recorded(request.method, request.path, dict(request.query), dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "Unauthorized", "missing or invalid bearer token")
        suffix = request.path.split(f"/workspaces/{WS}", 1)[-1]
        canned = self.script.get(f"{request.method} {suffix}")
        if canned:
            status, payload, headers = canned.pop(0)
            if status == 204:
                return web.Response(status=204, headers=headers)
            return web.json_response(payload, status=status, headers=headers)
        request[JSON] = body
        return await handler(request)

    async def put_job(self, request: web.Request) -> web.Response:
        body = request[JSON]
        job_id = request.match_info["job_id"]
        wire = job_wire(job_id, name=body.get("name"), containerUri=body["containerUri"],
                        inputDataUri=body.get("inputDataUri"), inputParams=body.get("inputParams"),
                        target=body["target"], providerId=body["providerId"])
        self.jobs[job_id] = wire
        return web.json_response(wire)

    async def get_job(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        job = self.jobs.get(job_id)
        if job is None:
            return _error(404, "JobNotFound", f"job {job_id} was not found")
        if job["status"] in ("Waiting", "Executing"):
            self._polls[job_id] = self._polls.get(job_id, 0) + 1
            if self._polls[job_id] >= self.polls_until_done:
                job.update(status="Succeeded", outputDataUri=f"{BLOB}/job-{job_id}/rawOutputData",
                           beginExecutionTime="2024-01-02T03:04:06Z", endExecutionTime="2024-01-02T03:04:07Z")
        return web.json_response(job)

    async def delete_job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return _error(404, "JobNotFound", "no such job")
        if job["status"] not in ("Waiting", "Executing"):
            return _error(409, "JobAlreadyFinished", f"job {job['id']} has already finished ({job['status']})")
        job.update(status="Cancelled", cancellationTime="2024-01-02T03:05:00+00:00")
        return web.Response(status=204)

    async def patch_job(self, request: web.Request) -> web.Response:
        job = self.jobs[request.match_info["job_id"]]
        for op in request[JSON]:
            if op["op"] == "replace" and op["path"] == "/tags":
                job["tags"] = list(op["value"])
            elif op["op"] == "add":
                job["tags"].append(op["value"])
        return web.json_response(job)

    async def list_jobs(self, request: web.Request) -> web.Response:
        ordered = list(self.jobs.values())
        start = int(request.query.get("skip", "0"))
        page = ordered[start:start + self.page_size]
        more = start + self.page_size < len(ordered)
        # alternate relative and absolute nextLinks: the client must follow both
        path = f"{request.path}?skip={start + self.page_size}"
        link = (path if start % (2 * self.page_size) == 0 else f"{self.base_url.rstrip('/')}{path}") if more else None
        return web.json_response({"value": page, "nextLink": link})

    async def sas_uri(self, request: web.Request) -> web.Response:
        body = request[JSON]
        url = f"{BLOB}/{body['containerName']}"
        if body.get("blobName"):
            url += f"/{body['blobName']}"
        return web.json_response({"sasUri": url + "?se=2030-01-01&sp=racw&sig=abc"})

    async def provider_status(self, request: web.Request) -> web.Response:
        ids = ["microsoft.simulatedannealing.cpu", "microsoft.simulatedannealing-parameterfree.cpu",
               "microsoft.paralleltempering.cpu", "microsoft.qmc.cpu", "other.thing"]
        return web.json_response({"value": [{"id": "Microsoft", "currentAvailability": "Available", "targets": [
            {"id": i, "currentAvailability": "Available", "averageQueueTime": 3, "statusPage": None} for i in ids]}],
            "nextLink": None})

    async def quotas(self, request: web.Request) -> web.Response:
        return web.json_response({"value": [{"dimension": "combined_job_hours", "scope": "Workspace",
                                             "providerId": "Microsoft", "utilization": 0.5, "holds": 0.0,
                                             "limit": 5.0, "period": "Monthly"}], "nextLink": None})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class FakeStorage:
    """In-memory blobs keyed by SAS-less URL; patched over services.client._storage's three calls."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        self.downloads: list[str] = []

    async def create_container(self, container_uri: str, **kw: Any) -> None:
        self.containers.append(container_uri)

    async def upload_blob(self, container_uri: str, blob_name: str, data: bytes, content_type: str,
                          content_encoding: str | None = None, **kw: Any) -> str:
        url = container_uri.split("?")[0] + "/" + blob_name
        if url in self.blobs:
            raise AssertionError(f"{url} uploaded twice")
        self.blobs[url] = {"data": data, "content_type": content_type, "content_encoding": content_encoding}
        return url

    async def download_blob(self, blob_url: str, **kw: Any) -> bytes:
        self.downloads.append(blob_url)
        key = blob_url.split("?")[0]
        blob = self.blobs[key]["data"]
        return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob

    def put_output(self, job_id: str, result: Any) -> None:
        data = result if isinstance(result, bytes) else json.dumps(result).encode()
        self.blobs[f"{BLOB}/job-{job_id}/rawOutputData"] = {"data": data, "content_type": "application/json",
                                                            "content_encoding": None}
