"""The HTTPS gateway in-process on real components: real TLS (our CA), real SQLite, real Azurite, the real app from
`create_app`; only the dispatcher is a stub, and tests play its part by calling the store directly.

What is checked is the wire contract the SDK depends on (shared/reference/azure-quantum-contract.md): paths, status
codes, bodies, SAS URLs that actually work against storage, paging links, auth and error shapes.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, ContainerClient

from contracts import targets
from contracts.status import JobStatus
from services.blobs.azure_store import BlobStore
from services.config import Settings
from services.gateway.app import create_app
from services.gateway.tls import ensure_tls, server_ssl_context
from services.jobs.sqlite_store import SqliteJobStore

pytestmark = pytest.mark.integration

TOKEN = "gateway-test-token-main-0001"
TOKEN_OTHER = "gateway-test-token-other-002"
TOKEN_PAGING = "gateway-test-token-paging-03"
TOKEN_EMPTY = "gateway-test-token-empty-004"
SUB = "00000000-0000-0000-0000-000000000000"
PAGE = 3
MAX_BODY = 16 * 1024
PROBLEM = {"metadata": {"name": "p"}, "cost_function": {"version": "1.0", "type": "pubo",
                                                        "terms": [{"c": -3, "ids": [1, 0]}, {"c": 5, "ids": [2, 0]}]}}


class FakeDispatcher:
    """Stands in for the lead's dispatcher: records wake-ups and cancel signals."""

    def __init__(self) -> None:
        self.woken = 0
        self.cancelled: list[str] = []
        self.held: dict[str, tuple[bytes, str | None]] = {}

    def wake(self) -> None:
        self.woken += 1

    def hold_input(self, job_id: str, data: bytes, content_type: str | None) -> bool:
        if job_id in self.held:
            return False
        self.held[job_id] = (data, content_type)
        return True

    def drop_input(self, job_id: str) -> None:
        self.held.pop(job_id, None)

    async def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    def results_waiting_for_space(self) -> None:
        return None


@dataclass
class Gateway:
    base_url: str
    settings: Settings
    store: SqliteJobStore
    blobs: BlobStore
    dispatcher: FakeDispatcher
    ssl: ssl.SSLContext
    blob_url: str
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def prefix(self, workspace: str = "openqio", sub: str = SUB, rg: str = "openqio") -> str:
        return (f"{self.base_url}/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Quantum/"
                f"workspaces/{workspace}")


@pytest.fixture(scope="module")
async def gateway(azurite, tmp_path_factory):
    settings = Settings.from_env(
        {},
        data_dir=tmp_path_factory.mktemp("gateway"),
        port=0,
        blob_url=azurite.blob_url,
        list_page_size=PAGE,
        max_request_bytes=MAX_BODY,
        tokens={TOKEN: "openqio", TOKEN_OTHER: "other", TOKEN_PAGING: "paging", TOKEN_EMPTY: "empty"},
    )
    tls = ensure_tls(settings)
    store = SqliteJobStore(settings.database_path)
    blobs = BlobStore(settings)
    await store.open()
    await blobs.open()
    dispatcher = FakeDispatcher()
    runner = web.AppRunner(create_app(settings, store, blobs, dispatcher))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(tls))
    await site.start()
    port = runner.addresses[0][1]
    gw = Gateway(f"https://127.0.0.1:{port}", settings, store, blobs, dispatcher,
                 ssl.create_default_context(cafile=str(tls.ca_cert)), azurite.blob_url)
    yield gw
    await runner.cleanup()
    await blobs.close()
    await store.close()


@pytest.fixture
async def http(gateway: Gateway):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=gateway.ssl)) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, url: str, *, token: str | None = TOKEN,
               **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, url, headers=headers, **kw) as resp:
        raw = await resp.read()
        body: Any = None
        if raw:
            body = json.loads(raw) if resp.content_type == "application/json" else raw
        return resp.status, body, resp


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def new_id() -> str:
    return str(uuid.uuid1())


def job_body(gw: Gateway, job_id: str, **over: Any) -> dict[str, Any]:
    container = f"{gw.blob_url}/job-{job_id}"
    body = {
        "id": job_id,
        "name": "prob1",
        "containerUri": container + "?se=2099-01-01&sp=rwlac&sv=2021&ss=b&srt=co&sig=abc",
        "inputDataUri": container + "/inputData",
        "inputDataFormat": "microsoft.qio.v2",
        "inputParams": {"params": {"timeout": 5, "seed": 3}},
        "providerId": "Microsoft",
        "target": targets.SA_PF,
        "outputDataFormat": "microsoft.qio-results.v2",
    }
    for key, value in over.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


async def upload_like_the_sdk(http, gw: Gateway, container: str, blob: str = "inputData",
                              data: bytes | None = None, token: str = TOKEN, workspace: str = "openqio") -> str:
    """sasUri → exists → create → upload gzip with Content-Encoding gzip (contract §3.1). Returns the SAS URL."""
    status, body, _ = await call(http, "POST", f"{gw.prefix(workspace)}/storage/sasUri", token=token,
                                 json={"containerName": container})
    assert status == 200, body
    sas_url = body["sasUri"]
    async with ContainerClient.from_container_url(sas_url) as client:
        if not await client.exists():
            await client.create_container()
        await client.upload_blob(
            blob, data if data is not None else gzip.compress(json.dumps(PROBLEM).encode()),
            content_settings=ContentSettings(content_type="application/json", content_encoding="gzip"))
    return sas_url


async def submit(http, gw: Gateway, job_id: str | None = None, *, upload: bool = False, token: str = TOKEN,
                 workspace: str = "openqio", **over: Any) -> dict[str, Any]:
    job_id = job_id or new_id()
    body = job_body(gw, job_id, **over)
    if upload:
        body["containerUri"] = await upload_like_the_sdk(http, gw, f"job-{job_id}", token=token, workspace=workspace)
    status, answer, _ = await call(http, "PUT", f"{gw.prefix(workspace)}/jobs/{job_id}", token=token, json=body)
    assert status == 200, answer
    return answer


async def download(url: str) -> tuple[bytes, str | None]:
    async with BlobClient.from_blob_url(url) as client:
        stream = await client.download_blob()
        return await stream.readall(), stream.properties.content_settings.content_type


# -- transport and auth --------------------------------------------------------------------------------------------

async def test_tls_is_real(gateway: Gateway, http):
    # our CA verifies the server for both names in its certificate
    for host in ("127.0.0.1", "localhost"):
        url = gateway.base_url.replace("127.0.0.1", host) + "/healthz"
        status, body, _ = await call(http, "GET", url, token=None)
        assert (status, body) == (200, {"status": "ok"})
    # a client that does not trust our CA refuses the connection
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await plain.get(gateway.base_url + "/healthz")
    # and there is no plain-http side door
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientError):
            await plain.get(gateway.base_url.replace("https://", "http://") + "/healthz")


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token", TOKEN + "0"])
async def test_missing_or_wrong_token_is_401(gateway: Gateway, http, token):
    status, body, resp = await call(http, "GET", f"{gateway.prefix()}/jobs", token=token)
    assert status == 401 and body["error"]["code"] == "Unauthorized" and body["error"]["message"]
    assert resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", [
    dict(workspace="nope"),
    dict(workspace="other"),  # exists, but this token does not grant it
    dict(sub="11111111-1111-1111-1111-111111111111"),
    dict(rg="another-rg"),
])
async def test_unknown_or_foreign_workspace_is_404(gateway: Gateway, http, path):
    for method, suffix in [("GET", "jobs"), ("GET", "jobs/abc"), ("GET", "providerStatus"), ("GET", "quotas"),
                           ("POST", "storage/sasUri")]:
        status, body, _ = await call(http, method, f"{gateway.prefix(**path)}/{suffix}", json={"containerName": "abc"})
        assert status == 404, (method, suffix, body)
        assert body["error"]["code"] == "NotFound"


async def test_unknown_route_and_wrong_method(gateway: Gateway, http):
    status, body, _ = await call(http, "GET", f"{gateway.base_url}/v1.0/nothing/here")
    assert status == 404 and body["error"]["code"] == "NotFound"
    status, body, resp = await call(http, "POST", f"{gateway.prefix()}/jobs/{new_id()}", json={})
    assert status == 405 and body["error"]["code"] == "MethodNotAllowed"
    assert "PUT" in resp.headers.get("Allow", "")


# -- submit and read --------------------------------------------------------------------------------------------------

async def test_sdk_flow_put_then_get_with_fresh_sas(gateway: Gateway, http):
    job_id = new_id()
    woken = gateway.dispatcher.woken
    job = await submit(http, gateway, job_id, upload=True)
    assert gateway.dispatcher.woken == woken + 1
    assert job["id"] == job_id and job["name"] == "prob1" and job["status"] == "Waiting"
    assert job["providerId"] == "Microsoft" and job["target"] == targets.SA_PF
    assert job["inputParams"] == {"params": {"timeout": 5.0, "seed": 3}}
    assert job["creationTime"].endswith("Z") and job["beginExecutionTime"] is None
    assert job["isCancelling"] is False and job["tags"] == [] and job["errorData"] is None
    assert job["outputDataUri"] is None and job["outputDataFormat"] == "microsoft.qio-results.v2"

    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job_id}")
    assert status == 200 and got["id"] == job_id and got["creationTime"] == job["creationTime"]
    # containerUri: a read/list SAS bound to the job container, issued by us (the client's own SAS is never echoed)
    container_q = query(got["containerUri"])
    assert got["containerUri"].startswith(f"{gateway.blob_url}/job-{job_id}?")
    assert container_q["sr"] == "c" and set(container_q["sp"]) == set("rl")
    assert container_q["sig"] != "abc"
    # inputDataUri: a read-only blob SAS that works against storage
    input_q = query(got["inputDataUri"])
    assert got["inputDataUri"].startswith(f"{gateway.blob_url}/job-{job_id}/inputData?")
    assert input_q["sr"] == "b" and input_q["sp"] == "r"
    data, content_type = await download(got["inputDataUri"])
    assert json.loads(data) == PROBLEM and content_type == "application/json"
    # the container SAS reads the job's blobs (listing and downloading)
    async with ContainerClient.from_container_url(got["containerUri"]) as client:
        assert [b.name async for b in client.list_blobs()] == ["inputData"]
    # the service reads the input with its own credentials, compressed as stored
    raw, stored_type = await gateway.blobs.read_input(got["inputDataUri"].split("?")[0], got["containerUri"])
    assert raw[:2] == b"\x1f\x8b" and json.loads(gzip.decompress(raw)) == PROBLEM
    assert stored_type == "application/json"


async def test_an_input_is_held_before_its_job_is_stored(gateway: Gateway, http, monkeypatch):
    """Once a job's insert commits, the dispatcher may claim it or read its input ahead at any turn of the loop: the
    input the gateway checked is held by then. A PUT that stores nothing (a conflict) leaves no input held, and an
    idempotent re-PUT keeps the first one's."""
    insert, held_at_insert = gateway.store.insert, {}

    async def watched(workspace, job, **kwargs):
        held_at_insert[job.id] = job.id in gateway.dispatcher.held
        return await insert(workspace, job, **kwargs)

    monkeypatch.setattr(gateway.store, "insert", watched)
    job_id = new_id()
    await submit(http, gateway, job_id, upload=True)
    assert held_at_insert == {job_id: True} and job_id in gateway.dispatcher.held
    await submit(http, gateway, job_id)  # the SDK's retry of the same PUT
    assert job_id in gateway.dispatcher.held
    gateway.dispatcher.held.clear()
    status, answer, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}",
                                   json=job_body(gateway, job_id, name="another definition"))
    assert status == 409 and answer["error"]["code"] == "Conflict" and gateway.dispatcher.held == {}


async def test_lower_case_provider_and_absent_optionals(gateway: Gateway, http):
    job = await submit(http, gateway, providerId="microsoft", name=..., inputParams=..., outputDataFormat=...,
                       inputDataUri=...)
    assert job["name"] and job["inputDataUri"] is None and job["inputParams"] == {"params": {}}
    assert job["outputDataFormat"] == "microsoft.qio-results.v2"


async def test_input_outside_the_job_container(gateway: Gateway, http):
    """Problem.upload / StreamingProblem URIs: inputDataUri names another container and carries no SAS."""
    problems = f"qio-problems-{uuid.uuid4().hex[:8]}"
    await upload_like_the_sdk(http, gateway, problems)
    job = await submit(http, gateway, inputDataUri=f"{gateway.blob_url}/{problems}/inputData")
    assert job["inputDataUri"].startswith(f"{gateway.blob_url}/{problems}/inputData?")
    data, _ = await download(job["inputDataUri"])
    assert json.loads(data) == PROBLEM


async def test_repeated_put_is_idempotent_and_a_different_body_conflicts(gateway: Gateway, http):
    job_id = new_id()
    first = await submit(http, gateway, job_id)
    woken = gateway.dispatcher.woken
    # the SDK retries a PUT with the same body (a fresh SAS is allowed to differ)
    again = await submit(http, gateway, job_id,
                         containerUri=f"{gateway.blob_url}/job-{job_id}?se=2099-02-02&sig=other")
    assert again["creationTime"] == first["creationTime"] and again["status"] == "Waiting"
    assert gateway.dispatcher.woken == woken  # no second job, no second wake-up
    await gateway.store.transition(job_id, JobStatus.EXECUTING)
    assert (await submit(http, gateway, job_id))["status"] == "Executing"
    status, body, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}",
                                 json=job_body(gateway, job_id, target=targets.PT))
    assert status == 409 and body["error"]["code"] == "Conflict"
    # the same id in another workspace is a conflict too, and reveals nothing
    status, body, _ = await call(http, "PUT", f"{gateway.prefix('other')}/jobs/{job_id}", token=TOKEN_OTHER,
                                 json=job_body(gateway, job_id))
    assert status == 409 and body["error"]["code"] == "Conflict"
    status, _, _ = await call(http, "GET", f"{gateway.prefix('other')}/jobs/{job_id}", token=TOKEN_OTHER)
    assert status == 404  # and the other workspace still cannot read it


async def test_jobs_of_another_workspace_are_not_found(gateway: Gateway, http):
    job = await submit(http, gateway, token=TOKEN_OTHER, workspace="other")
    for method in ("GET", "DELETE", "PATCH"):
        status, body, _ = await call(http, method, f"{gateway.prefix()}/jobs/{job['id']}", json=[])
        assert status == 404 and body["error"]["code"] == "JobNotFound", method
    status, body, _ = await call(http, "GET", f"{gateway.prefix('other')}/jobs/{job['id']}", token=TOKEN_OTHER)
    assert status == 200


async def test_unknown_job_is_404(gateway: Gateway, http):
    for method in ("GET", "DELETE", "PATCH"):
        status, body, _ = await call(http, method, f"{gateway.prefix()}/jobs/{new_id()}", json=[])
        assert status == 404 and body["error"]["code"] == "JobNotFound" and body["error"]["message"], method


async def test_succeeded_job_has_a_working_output_uri(gateway: Gateway, http):
    job = await submit(http, gateway, upload=True)
    job_id = job["id"]
    output = {"version": "1.0", "configuration": {"0": 1, "1": 1, "2": 0}, "cost": -3.0,
              "parameters": {}, "solutions": [{"configuration": {"0": 1, "1": 1, "2": 0}, "cost": -3.0}]}
    # the dispatcher's order: executing, output blob, then Succeeded
    await gateway.store.transition(job_id, JobStatus.EXECUTING)
    url = await gateway.blobs.write_output(f"job-{job_id}", json.dumps(output).encode())
    await gateway.store.transition(job_id, JobStatus.SUCCEEDED, output_data_uri=url)
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job_id}")
    assert status == 200 and got["status"] == "Succeeded"
    assert got["beginExecutionTime"] and got["endExecutionTime"] and got["cancellationTime"] is None
    out_url = got["outputDataUri"]
    assert out_url.startswith(f"{gateway.blob_url}/job-{job_id}/rawOutputData?")
    assert "se" in query(out_url) and query(out_url)["sr"] == "b" and "r" in query(out_url)["sp"]
    data, content_type = await download(out_url)
    assert json.loads(data) == output and content_type == "application/json"


async def test_succeeded_job_always_has_an_output_uri(gateway: Gateway, http):
    """Even a Succeeded row without a stored URI answers one (the SDK crashes on a null outputDataUri)."""
    job = await submit(http, gateway)
    await gateway.store.transition(job["id"], JobStatus.EXECUTING)
    await gateway.store.transition(job["id"], JobStatus.SUCCEEDED)
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert got["outputDataUri"].startswith(f"{gateway.blob_url}/job-{job['id']}/rawOutputData?")


async def test_failed_job_shows_error_data(gateway: Gateway, http):
    from contracts.jobs import ErrorData

    job = await submit(http, gateway)
    await gateway.store.transition(job["id"], JobStatus.EXECUTING)
    await gateway.store.transition(job["id"], JobStatus.FAILED, error=ErrorData("InvalidInputData", "AZQ105: bad"))
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert got["status"] == "Failed" and got["errorData"] == {"code": "InvalidInputData", "message": "AZQ105: bad"}
    assert got["outputDataUri"] is None


# -- validation ------------------------------------------------------------------------------------------------------

BAD_BODIES = [
    # (name, body or override dict, expected code)
    ("malformed JSON", b"{not json", "BadRequest"),
    ("empty body", b"", "BadRequest"),
    ("array", b"[]", "InvalidJobDefinition"),
    ("string", b'"job"', "InvalidJobDefinition"),
    ("invalid utf-8", b'{"id": "\xff"}', "BadRequest"),
    ("no containerUri", {"containerUri": ...}, "InvalidJobDefinition"),
    ("no inputDataFormat", {"inputDataFormat": ...}, "InvalidJobDefinition"),
    ("no providerId", {"providerId": ...}, "InvalidJobDefinition"),
    ("no target", {"target": ...}, "InvalidJobDefinition"),
    ("id differs from path", {"id": "another-id"}, "InvalidJobDefinition"),
    ("id not a string", {"id": 5}, "InvalidJobDefinition"),
    ("input format", {"inputDataFormat": "microsoft.qio.v1"}, "InvalidJobDefinition"),
    ("output format", {"outputDataFormat": "microsoft.qio-results.v1"}, "InvalidJobDefinition"),
    ("provider", {"providerId": "toshiba"}, "InvalidTarget"),
    ("unknown target", {"target": "ionq.qpu"}, "InvalidTarget"),
    ("provider of another target", {"target": "toshiba.sbm.ising", "inputParams": {}}, "InvalidTarget"),
    ("1qbit output format", {"target": "1qbit.tabu", "providerId": "1qbit", "inputParams": {}}, "InvalidJobDefinition"),
    ("nested toshiba params", {"target": "toshiba.sbm.ising", "providerId": "toshiba",
                               "inputParams": {"params": {"loops": 1}}}, "InvalidParameters"),
    ("1qbit param text", {"target": "1qbit.tabu", "providerId": "1qbit", "outputDataFormat": "microsoft.qio-results.v1",
                          "inputParams": {"tabu_tenure": "two"}}, "InvalidParameters"),
    ("retired fpga target", {"target": "microsoft.simulatedannealing.fpga"}, "InvalidTarget"),
    ("target not a string", {"target": ["x"]}, "InvalidJobDefinition"),
    ("sweeps zero", {"target": targets.SA, "inputParams": {"params": {"sweeps": 0}}}, "InvalidParameters"),
    ("sweeps string", {"target": targets.SA, "inputParams": {"params": {"sweeps": "10"}}}, "InvalidParameters"),
    ("sweeps bool", {"target": targets.SA, "inputParams": {"params": {"sweeps": True}}}, "InvalidParameters"),
    ("unknown param", {"inputParams": {"params": {"temperature": 3}}}, "InvalidParameters"),
    ("flat params", {"inputParams": {"sweeps": 10}}, "InvalidParameters"),
    ("params list", {"inputParams": [1, 2]}, "InvalidParameters"),
    ("replicas mismatch", {"target": targets.PT, "inputParams": {"params": {"replicas": 3, "all_betas": [1, 2]}}},
     "InvalidParameters"),
    ("name not a string", {"name": 5}, "InvalidJobDefinition"),
    ("containerUri not a string", {"containerUri": 5}, "InvalidJobDefinition"),
    ("inputDataUri not a string", {"inputDataUri": {"u": 1}}, "InvalidJobDefinition"),
    ("tags not a list", {"tags": "x"}, "InvalidJobDefinition"),
    ("tags not strings", {"tags": [1]}, "InvalidJobDefinition"),
    ("metadata not strings", {"metadata": {"a": 1}}, "InvalidJobDefinition"),
    ("bad container name", {"containerUri": "http://127.0.0.1:10000/devstoreaccount1/Bad_Name"},
     "InvalidJobDefinition"),
    ("container path traversal", {"containerUri": "http://127.0.0.1:10000/devstoreaccount1/../x"},
     "InvalidJobDefinition"),
    ("blob path traversal", {"inputDataUri": "http://127.0.0.1:10000/devstoreaccount1/job-1/a/../../x"},
     "InvalidJobDefinition"),
    ("inputDataUri not a URL", {"inputDataUri": "inputData"}, "InvalidJobDefinition"),
]


@pytest.mark.parametrize("name,body,code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_invalid_put_is_400_and_stores_nothing(gateway: Gateway, http, name, body, code):
    job_id = new_id()
    data = body if isinstance(body, bytes) else json.dumps(job_body(gateway, job_id, **body)).encode()
    woken = gateway.dispatcher.woken
    status, answer, resp = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}", data=data,
                                      headers={"Content-Type": "application/json"})
    assert status == 400, answer
    assert resp.content_type == "application/json"
    assert answer["error"]["code"] == code and answer["error"]["message"], answer
    assert "Traceback" not in answer["error"]["message"]
    assert gateway.dispatcher.woken == woken
    status, _, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job_id}")
    assert status == 404


@pytest.mark.parametrize("job_id", ["bad%20id", "a" * 129, "-leading-dash", "semi;colon", "%2E%2E"])
async def test_invalid_job_ids_are_400(gateway: Gateway, http, job_id):
    status, body, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}",
                                 json=job_body(gateway, job_id))
    assert status in (400, 404), body  # 404 when the router itself cannot match the path
    assert body["error"]["code"] in ("BadRequest", "NotFound")
    if status == 400:
        assert body["error"]["code"] == "BadRequest"


async def test_params_are_normalised_and_parameterfree_keeps_tuning_values(gateway: Gateway, http):
    job = await submit(http, gateway, target=targets.PA,
                       inputParams={"params": {"beta": {"type": "linear", "initial": 0, "final": 5},
                                               "population": 8.0, "seed": None}})
    assert job["inputParams"] == {"params": {"beta": {"type": "linear", "initial": 0.0, "final": 5.0},
                                             "population": 8}}


async def test_toshiba_and_1qbit_jobs_keep_their_flat_parameters(gateway: Gateway, http):
    """As the SDK sends them (contract §6) and the real service echoed them: flat, 1QBit's as strings."""
    sbm = await submit(http, gateway, target=targets.SBM, providerId="toshiba", inputParams={"loops": 10, "dt": None})
    assert sbm["inputParams"] == {"loops": 10} and sbm["providerId"] == "toshiba" and sbm["status"] == "Waiting"
    assert sbm["outputDataFormat"] == "microsoft.qio-results.v2"
    pticm = await submit(http, gateway, target=targets.QBIT_PTICM, providerId="1qbit",
                         outputDataFormat="microsoft.qio-results.v1", inputParams={"num_sweeps_per_run": "99"})
    assert pticm["inputParams"] == {"num_sweeps_per_run": "99"} and pticm["providerId"] == "1qbit"
    tabu = await submit(http, gateway, target=targets.QBIT_TABU, providerId="1QBit", outputDataFormat=...,
                        inputParams=...)
    assert tabu["outputDataFormat"] == "microsoft.qio-results.v1" and tabu["inputParams"] == {}


async def test_request_body_limit_is_413(gateway: Gateway, http):
    job_id = new_id()
    body = job_body(gateway, job_id, name="x" * (MAX_BODY + 1))
    status, answer, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}", json=body)
    assert status == 413 and answer["error"]["code"] == "PayloadTooLarge"

    async def chunks():  # no Content-Length: the limit still applies while reading
        for _ in range(MAX_BODY // 1024 + 2):
            yield b" " * 1024

    status, answer, _ = await call(http, "POST", f"{gateway.prefix()}/storage/sasUri", data=chunks())
    assert status == 413 and answer["error"]["code"] == "PayloadTooLarge"
    status, _, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job_id}")
    assert status == 404
    # a body just under the limit is accepted
    body = job_body(gateway, job_id, metadata={"pad": ""})
    body["metadata"]["pad"] = "y" * (MAX_BODY - len(json.dumps(body)) - 10)  # (a name is at most 1024 characters)
    status, answer, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}", json=body)
    assert status == 200, answer


# -- listing ---------------------------------------------------------------------------------------------------------

async def test_list_pages_follow_next_link(gateway: Gateway, http):
    ids = []
    for _ in range(2 * PAGE + 1):
        ids.append((await submit(http, gateway, token=TOKEN_PAGING, workspace="paging"))["id"])
    await submit(http, gateway)  # another workspace's job never shows up
    seen, url, pages = [], f"{gateway.prefix('paging')}/jobs", 0
    while url:
        status, body, _ = await call(http, "GET", url, token=TOKEN_PAGING)
        assert status == 200 and set(body) == {"value", "nextLink"}
        pages += 1
        assert len(body["value"]) <= PAGE
        seen += [j["id"] for j in body["value"]]
        for j in body["value"]:
            assert query(j["containerUri"])["sig"]  # every listed job carries fresh SAS URLs
        url = body["nextLink"]
        if url:
            assert url.startswith(f"{gateway.prefix('paging')}/jobs?")  # absolute, same path
    assert seen == ids and pages == 3


async def test_list_empty_workspace_and_bad_cursor(gateway: Gateway, http):
    status, body, _ = await call(http, "GET", f"{gateway.prefix('empty')}/jobs", token=TOKEN_EMPTY)
    assert (status, body) == (200, {"value": [], "nextLink": None})
    status, body, _ = await call(http, "GET", f"{gateway.prefix('empty')}/jobs?cursor=garbage!!", token=TOKEN_EMPTY)
    assert status == 400 and body["error"]["code"] == "BadRequest"


# -- cancel ----------------------------------------------------------------------------------------------------------

async def test_delete_waiting_job_cancels_at_once(gateway: Gateway, http):
    job = await submit(http, gateway)
    status, body, resp = await call(http, "DELETE", f"{gateway.prefix()}/jobs/{job['id']}")
    assert status == 204 and body is None and resp.content_length in (0, None)
    assert job["id"] not in gateway.dispatcher.cancelled  # nothing runs, nothing to signal
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert got["status"] == "Cancelled" and got["cancellationTime"] and got["endExecutionTime"] is None
    assert [e.kind for e in await gateway.store.events(job["id"])] == ["submitted", "cancelled"]


async def test_delete_executing_job_signals_the_dispatcher(gateway: Gateway, http):
    job = await submit(http, gateway)
    await gateway.store.transition(job["id"], JobStatus.EXECUTING)
    status, body, _ = await call(http, "DELETE", f"{gateway.prefix()}/jobs/{job['id']}")
    assert status == 204 and body is None
    assert gateway.dispatcher.cancelled[-1] == job["id"]
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert got["status"] == "Executing" and got["isCancelling"] is True
    # a second DELETE while the runner winds down is accepted again
    status, _, _ = await call(http, "DELETE", f"{gateway.prefix()}/jobs/{job['id']}")
    assert status == 204
    # the dispatcher finishes the transition
    await gateway.store.transition(job["id"], JobStatus.CANCELLED)
    status, got, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert got["status"] == "Cancelled" and got["isCancelling"] is False
    assert got["cancellationTime"] and got["endExecutionTime"]


@pytest.mark.parametrize("final", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_delete_finished_job_is_409(gateway: Gateway, http, final: JobStatus):
    job = await submit(http, gateway)
    await gateway.store.transition(job["id"], JobStatus.EXECUTING)
    output = f"{gateway.blob_url}/job-{job['id']}/rawOutputData"
    await gateway.store.transition(job["id"], final, output_data_uri=output)
    status, body, _ = await call(http, "DELETE", f"{gateway.prefix()}/jobs/{job['id']}")
    assert status == 409 and body["error"]["code"] == "JobAlreadyFinished"
    assert final.value in body["error"]["message"]


async def test_concurrent_deletes_of_a_waiting_job(gateway: Gateway, http):
    job = await submit(http, gateway)
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    results = await asyncio.gather(*[call(http, "DELETE", url) for _ in range(5)])
    statuses = sorted(r[0] for r in results)
    assert statuses[0] == 204 and set(statuses[1:]) <= {204, 409}
    assert statuses.count(204) == 1
    assert [e.kind for e in await gateway.store.events(job["id"])].count("cancelled") == 1


# -- tags ------------------------------------------------------------------------------------------------------------

async def test_patch_tags(gateway: Gateway, http):
    job = await submit(http, gateway, tags=["a"])
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    steps = [
        ([{"op": "add", "path": "/tags/-", "value": "new_tag"}], ["a", "new_tag"]),
        ([{"op": "add", "path": "/tags/0", "value": "first"}], ["first", "a", "new_tag"]),
        ([{"op": "replace", "path": "/tags/1", "value": "b"}], ["first", "b", "new_tag"]),
        ([{"op": "remove", "path": "/tags/0"}, {"op": "add", "path": "/tags/-", "value": "z"}], ["b", "new_tag", "z"]),
        ([{"op": "replace", "path": "/tags", "value": ["only"]}], ["only"]),
        ([], ["only"]),
    ]
    for ops, expected in steps:
        status, body, _ = await call(http, "PATCH", url, json=ops)
        assert status == 200, body
        assert body["tags"] == expected and body["id"] == job["id"]
        assert query(body["containerUri"])["sig"]
    status, got, _ = await call(http, "GET", url)
    assert got["tags"] == ["only"]


@pytest.mark.parametrize("ops", [
    {"op": "add", "path": "/tags/-", "value": "x"},  # not an array
    [{"op": "move", "from": "/tags/0", "path": "/tags/1"}],
    [{"op": "add", "path": "/name", "value": "x"}],
    [{"op": "add", "path": "/tags/-", "value": 5}],
    [{"op": "remove", "path": "/tags/7"}],
    [{"op": "remove", "path": "/tags/x"}],
    [{"op": "remove", "path": "/tags"}],
    [{"op": "replace", "path": "/tags", "value": "x"}],
    [{"op": "add", "path": "/tags/-", "value": "ok"}, {"op": "remove", "path": "/tags/9"}],
    [{"op": "remove", "path": "/tags/-1"}],  # JSON Pointer indices have no sign
    [{"op": "replace", "path": "/tags/00", "value": "x"}],  # nor leading zeros
    [{"op": "add", "path": "/tags/5", "value": "x"}],  # past the end (the end itself, 1, is allowed)
    [{"op": "remove", "path": "/tags/²"}],
    ["add"],
])
async def test_patch_rejects_bad_operations_atomically(gateway: Gateway, http, ops):
    job = await submit(http, gateway, tags=["keep"])
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    status, body, _ = await call(http, "PATCH", url, json=ops)
    assert status == 400 and body["error"]["code"] == "BadRequest", body
    status, got, _ = await call(http, "GET", url)
    assert got["tags"] == ["keep"]


async def test_patch_error_messages_say_what_is_wrong(gateway: Gateway, http):
    job = await submit(http, gateway, tags=["keep"])
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    status, body, _ = await call(http, "PATCH", url, json=[{"op": "replace", "path": "/tags/0", "value": 3}])
    assert status == 400 and "must be a string" in body["error"]["message"]
    status, body, _ = await call(http, "PATCH", url, json=[{"op": "add", "path": "/tags/1", "value": "end"}])
    assert status == 200 and body["tags"] == ["keep", "end"]


async def test_patch_malformed_json_is_400(gateway: Gateway, http):
    job = await submit(http, gateway)
    status, body, _ = await call(http, "PATCH", f"{gateway.prefix()}/jobs/{job['id']}", data=b"[{",
                                 headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["code"] == "BadRequest"


# -- storage SAS -----------------------------------------------------------------------------------------------------

async def test_sas_uri_for_a_container_is_an_account_sas_that_creates_and_uploads(gateway: Gateway, http):
    container = f"job-{new_id()}"
    status, body, _ = await call(http, "POST", f"{gateway.prefix()}/storage/sasUri", json={"containerName": container})
    assert status == 200 and set(body) == {"sasUri"}
    url = body["sasUri"]
    assert url.startswith(f"{gateway.blob_url}/{container}?")
    q = query(url)
    assert q["ss"] == "b" and set(q["srt"]) == {"c", "o"} and set("racw") <= set(q["sp"]) and q["se"]
    # the endpoint creates nothing
    assert not await gateway.blobs.client.get_container_client(container).exists()
    async with ContainerClient.from_container_url(url) as client:
        assert not await client.exists()
        await client.create_container()
        await client.upload_blob("inputData", b"payload")
        props = await client.get_blob_client("inputData").get_blob_properties()
        assert props.size == 7


async def test_sas_uri_for_a_blob_reads_back(gateway: Gateway, http):
    container = f"job-{new_id()}"
    await gateway.blobs.client.create_container(container)
    status, body, _ = await call(http, "POST", f"{gateway.prefix()}/storage/sasUri",
                                 json={"containerName": container, "blobName": "rawOutputData"})
    assert status == 200
    url = body["sasUri"]
    assert url.startswith(f"{gateway.blob_url}/{container}/rawOutputData?")
    q = query(url)
    assert q["sr"] == "b" and q["sp"] == "r"  # a download URL (get_results, Problem.download): read only
    await gateway.blobs.client.get_blob_client(container, "rawOutputData").upload_blob(
        b'{"cost": -1}', content_settings=ContentSettings(content_type="application/json"))
    # read back with a fresh read-only blob SAS, as GET jobs hands out
    data, content_type = await download(gateway.blobs.blob_sas_url(container, "rawOutputData", permission="r"))
    assert data == b'{"cost": -1}' and content_type == "application/json"
    # and with the blob SAS itself (the SDK's download path when outputDataUri has no se=)
    assert (await download(url))[0] == b'{"cost": -1}'


@pytest.mark.parametrize("body", [
    {},
    {"containerName": 5},
    {"containerName": "Bad_Name"},
    {"containerName": "../etc"},
    {"containerName": "ab"},
    {"containerName": "job-1", "blobName": "../../secret"},
    {"containerName": "job-1", "blobName": 7},
    ["job-1"],
])
async def test_sas_uri_rejects_bad_names(gateway: Gateway, http, body):
    status, answer, _ = await call(http, "POST", f"{gateway.prefix()}/storage/sasUri", json=body)
    assert status == 400 and answer["error"]["code"] == "BadRequest", answer


# -- providers and quotas --------------------------------------------------------------------------------------------

async def test_provider_status(gateway: Gateway, http):
    status, body, _ = await call(http, "GET", f"{gateway.prefix()}/providerStatus")
    assert status == 200 and body["nextLink"] is None
    assert [(p["id"], p["currentAvailability"]) for p in body["value"]] == \
        [("Microsoft", "Available"), ("toshiba", "Available"), ("1qbit", "Available")]
    by_provider = {p["id"]: [t["id"] for t in p["targets"]] for p in body["value"]}
    assert by_provider == {"Microsoft": list(targets.MICROSOFT_TARGETS), "toshiba": ["toshiba.sbm.ising"],
                           "1qbit": ["1qbit.tabu", "1qbit.pathrelinking", "1qbit.pticm"]}
    for provider in body["value"]:
        for target in provider["targets"]:
            assert target == {"id": target["id"], "currentAvailability": "Available", "averageQueueTime": 0,
                              "statusPage": None}


async def test_quotas_report_execution_hours(gateway: Gateway, http):
    status, body, _ = await call(http, "GET", f"{gateway.prefix('empty')}/quotas", token=TOKEN_EMPTY)
    assert status == 200 and body["nextLink"] is None
    [quota] = body["value"]
    assert quota["dimension"] == "combined_job_hours" and quota["scope"] == "Workspace"
    assert quota["providerId"] == "Microsoft" and quota["utilization"] == 0 and quota["holds"] == 0.0
    assert quota["limit"] > 0 and quota["period"] in ("Monthly", "Infinite", "None")

    job = await submit(http, gateway, token=TOKEN_EMPTY, workspace="empty")
    await gateway.store.transition(job["id"], JobStatus.EXECUTING)
    await asyncio.sleep(0.05)
    await gateway.store.transition(job["id"], JobStatus.SUCCEEDED, output_data_uri="http://x/job-a/rawOutputData")
    status, body, _ = await call(http, "GET", f"{gateway.prefix('empty')}/quotas", token=TOKEN_EMPTY)
    assert 0 < body["value"][0]["utilization"] < 0.01
