"""Who gets in (issue 6): bearer tokens per workspace, workspace isolation, SAS scope/permissions/expiry, no secrets in
the service log. One real service (TLS gateway + runner + Azurite) with two workspaces, `wsa` and `wsb`.

Rules checked:
- every route needs a valid bearer token: otherwise 401 with an error body (and no hint of any token);
- a token grants one workspace: another workspace's jobs, containers and paths answer 404 (never 403: ids don't leak);
- SAS URLs in job answers are bound to the job's container or blob, carry the least permissions their use needs, and
  expire after OPENQIO_SAS_TTL_S; `sasUri`'s container answer is the account SAS the SDK needs (contract §3.6), without
  list or delete, and is refused for another workspace's job container;
- each workspace has its own storage account (OPENQIO_WORKSPACE_STORAGE): every SAS it is handed is signed with its
  account's key, so B's `sasUri` account SAS reads or writes nothing of A's, and URLs naming A's account are 404 to B;
  the REST, native client and SDK flows work in both workspaces;
- the service log (at DEBUG) never holds a token, a SAS signature or an account key.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import socket
import ssl
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient

from contracts import errors, targets
from services.client.aio import Workspace
from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
from services.config import AZURITE_KEY
from tests.conftest import WORKSPACE_ACCOUNTS
from tests.integration.rest import Rest, seed_problem
from tests.sdk.harness import assert_check, run_sdk_script
from tests.service import Service, serving

TOKEN_A = "a-" + secrets.token_urlsafe(24)
TOKEN_B = "b-" + secrets.token_urlsafe(24)
SAS_TTL_S = 5400  # not the default (7 days), so the test sees the setting at work
ACCOUNT_A, ACCOUNT_B = WORKSPACE_ACCOUNTS  # the session Azurite serves both, with keys made for the session

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def service(azurite, tmp_path_factory):
    svc = Service(
        data_dir=Path(tmp_path_factory.mktemp("isolation")),
        blob_url=azurite.blob_url,
        runners=1,
        extra_env={
            "OPENQIO_TOKENS": f"wsa={TOKEN_A},wsb={TOKEN_B}",
            "OPENQIO_WORKSPACE": "wsa",
            "OPENQIO_SAS_TTL_S": str(SAS_TTL_S),
            "OPENQIO_LOG_LEVEL": "DEBUG",
            # A's account at the URL derived from OPENQIO_BLOB_URL, B's with its URL spelled out
            "OPENQIO_WORKSPACE_STORAGE": f"wsa={ACCOUNT_A}:{azurite.accounts[ACCOUNT_A]},"
                                         f"wsb={ACCOUNT_B}:{azurite.accounts[ACCOUNT_B]}@{azurite.account_url(ACCOUNT_B)}",
        },
    )
    yield from serving(svc)


def client(service: Service, token: str | None, workspace: str = "wsa") -> Rest:
    rest = Rest(service, token=token)
    rest.token = token  # Rest falls back to the service's own token for None; here None means "no header"
    rest.prefix = rest.prefix.rsplit("/", 1)[0] + "/" + workspace
    return rest


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query_of(sas_url: str, target_url: str) -> str:
    """`target_url` carrying the SAS of `sas_url`: what someone holding the SAS could try elsewhere."""
    return f"{target_url}?{urlsplit(sas_url).query}"


@pytest.fixture(scope="module")
async def jobs_a(service) -> list[dict]:
    """Two finished jobs of workspace A (one Succeeded with output, one Waiting-then-Succeeded), once per module."""
    async with client(service, TOKEN_A) as a:
        ids = [await a.submit(seed_problem(), targets.SA, {"sweeps": 20, "seed": s}) for s in (1, 2)]
        return [await a.wait(i, timeout=90) for i in ids]


def routes(job_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("PUT", f"jobs/{job_id}", {"id": job_id}),
        ("GET", f"jobs/{job_id}", None),
        ("DELETE", f"jobs/{job_id}", None),
        ("PATCH", f"jobs/{job_id}", [{"op": "add", "path": "/tags/-", "value": "x"}]),
        ("GET", "jobs", None),
        ("GET", f"jobs/{job_id}/events", None),
        ("GET", f"jobs/{job_id}/stream", None),
        ("GET", f"jobs/{job_id}/summary", None),
        ("POST", "storage/sasUri", {"containerName": f"job-{job_id}"}),
        ("GET", "providerStatus", None),
        ("GET", "quotas", None),
        ("GET", "no-such-route", None),
        ("GET", "/dashboard/workspace", None),  # '/': from the host root, outside the workspace prefix
        ("GET", "/dashboard/load", None),
    ]


async def send(rest: Rest, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    return await rest.request(method, rest.base + path if path.startswith("/") else path, json=body, **kw)


BAD_HEADERS = [
    pytest.param({}, id="no header"),
    pytest.param({"Authorization": "Bearer"}, id="empty bearer"),
    pytest.param({"Authorization": "Bearer " + "x" * 40}, id="unknown token"),
    pytest.param({"Authorization": "Bearer " + TOKEN_A[:-1]}, id="prefix of a token"),
    pytest.param({"Authorization": "Bearer " + TOKEN_A + "x"}, id="token plus a character"),
    pytest.param({"Authorization": "Basic " + TOKEN_A}, id="other scheme"),
    pytest.param({"Authorization": TOKEN_A}, id="no scheme"),
    pytest.param({"Authorization": "Bearer " + TOKEN_A.upper()}, id="wrong case"),
]


@pytest.mark.parametrize("headers", BAD_HEADERS)
async def test_every_route_needs_a_valid_bearer_token(service, jobs_a, headers):
    job_id = jobs_a[0]["id"]
    async with client(service, None) as anon:
        for method, path, body in routes(job_id):
            status, answer = await send(anon, method, path, body, headers=headers)
            assert status == 401, (method, path, status, answer)
            assert answer["error"]["code"] == errors.UNAUTHORIZED and answer["error"]["message"], answer
            assert TOKEN_A not in json.dumps(answer) and TOKEN_B not in json.dumps(answer)
        # nothing was changed by the refused calls
    async with client(service, TOKEN_A) as a:
        job = await a.get(job_id)
        assert job["status"] == "Succeeded" and job["tags"] == []


async def test_401_says_how_to_authenticate(service):
    async with client(service, None) as anon:
        assert anon.session is not None
        async with anon.session.get(f"{anon.prefix}/jobs") as resp:
            assert resp.status == 401 and resp.headers.get("WWW-Authenticate") == "Bearer"
        async with anon.session.get(f"{anon.base}/healthz") as resp:  # the one open route: liveness only
            assert resp.status == 200 and await resp.json() == {"status": "ok"}


async def test_bearer_scheme_is_case_insensitive(service):
    async with client(service, TOKEN_A) as a:
        status, _ = await a.request("GET", "jobs", headers={"Authorization": f"bearer {TOKEN_A}"})
        assert status == 200


async def test_another_workspace_cannot_see_cancel_or_patch_a_job(service, jobs_a):
    job_id = jobs_a[0]["id"]
    async with client(service, TOKEN_B, "wsb") as b:
        for method, path, body in routes(job_id):
            if path.startswith("/") or path in ("jobs", "providerStatus", "quotas", "no-such-route", "storage/sasUri") \
                    or method == "PUT":
                continue
            status, answer = await b.request(method, path, json=body)
            assert status == 404, (method, path, status, answer)
            assert answer["error"]["code"] == errors.JOB_NOT_FOUND, answer
            assert "wsa" not in json.dumps(answer)
        status, listing = await b.request("GET", "jobs")
        assert status == 200 and job_id not in {j["id"] for j in listing["value"]}
        status, quota = await b.request("GET", "quotas")
        assert status == 200 and quota["value"][0]["utilization"] == 0  # A's execution hours are not B's
    async with client(service, TOKEN_A) as a:
        job = await a.get(job_id)
        assert job["status"] == "Succeeded" and job["tags"] == [] and not job["isCancelling"]
        status, listing = await a.request("GET", "jobs")
        assert job_id in {j["id"] for j in listing["value"]}


async def test_a_path_naming_another_workspace_is_404_like_one_that_does_not_exist(service, jobs_a):
    job_id = jobs_a[0]["id"]
    async with client(service, TOKEN_B, "wsa") as b_on_a, client(service, TOKEN_B, "nosuchws") as b_on_none:
        for method, path, body in routes(job_id):
            if path == "no-such-route" or path.startswith("/"):
                continue
            status, answer = await b_on_a.request(method, path, json=body)
            status_none, answer_none = await b_on_none.request(method, path, json=body)
            assert status == 404 and answer["error"]["code"] == errors.NOT_FOUND, (method, path, answer)
            # exactly the answer a workspace that does not exist gets: nothing to tell them apart
            assert answer["error"]["message"].replace("wsa", "nosuchws") == answer_none["error"]["message"]
            assert status_none == 404


async def test_sas_for_another_workspaces_container_is_refused(service, jobs_a, azurite):
    job_id = jobs_a[0]["id"]
    container = f"job-{job_id}"
    a_base, b_base = azurite.account_url(ACCOUNT_A), azurite.account_url(ACCOUNT_B)
    async with client(service, TOKEN_B, "wsb") as b:
        for body in ({"containerName": container}, {"containerName": container, "blobName": "rawOutputData"}):
            status, answer = await b.request("POST", "storage/sasUri", json=body)
            assert status == 404 and answer["error"]["code"] == errors.NOT_FOUND, answer
            assert "sig=" not in json.dumps(answer) and "wsa" not in json.dumps(answer)
        # nor can a job of B name A's container (its output would land there) or read A's input: not in B's own
        # account (the job-id rule), not in A's account, nor in the development account no workspace uses
        own = str(uuid.uuid1())
        overrides = [{"containerUri": f"{base}/{container}"} for base in (b_base, a_base, azurite.blob_url)]
        overrides += [{"inputDataUri": f"{base}/{container}/inputData"} for base in (b_base, a_base, azurite.blob_url)]
        overrides += [{"inputDataUri": f"{a_base}/qio-problems/{own}"}]  # A's account, a container of any name
        for override in overrides:
            body = b.job_body(own, f"{b_base}/job-{own}", targets.SA, {"sweeps": 10})
            body.update(override)
            status, answer = await b.request("PUT", f"jobs/{own}", json=body)
            assert status == 404 and answer["error"]["code"] == errors.NOT_FOUND, (override, answer)
            status, _ = await b.request("GET", f"jobs/{own}")
            assert status == 404
        # B's own new containers still get their SAS
        status, answer = await b.request("POST", "storage/sasUri", json={"containerName": f"job-{uuid.uuid1()}"})
        assert status == 200 and answer["sasUri"]
    async with client(service, TOKEN_A) as a:
        status, answer = await a.request("POST", "storage/sasUri", json={"containerName": container})
        assert status == 200


async def test_each_workspace_is_handed_its_own_accounts_sas(service, jobs_a, azurite):
    fresh = f"job-{uuid.uuid1()}"
    for token, workspace, account in ((TOKEN_A, "wsa", ACCOUNT_A), (TOKEN_B, "wsb", ACCOUNT_B)):
        async with client(service, token, workspace) as rest:
            status, answer = await rest.request("POST", "storage/sasUri", json={"containerName": fresh})
            assert status == 200 and answer["sasUri"].startswith(f"{azurite.account_url(account)}/{fresh}?"), answer
    job = jobs_a[0]
    for key in ("containerUri", "inputDataUri", "outputDataUri"):
        assert job[key].startswith(azurite.account_url(ACCOUNT_A) + "/"), (key, job[key])
    # A's job blobs are in A's account only: not in B's, nor in the development account
    for account in (ACCOUNT_B, "devstoreaccount1"):
        url = f"{azurite.account_url(account)}/job-{job['id']}"
        async with ContainerClient.from_container_url(url, credential={
                "account_name": account, "account_key": azurite.accounts[account]}) as c:
            assert not await c.exists(), (account, url)


async def test_bs_account_sas_reads_and_writes_nothing_of_as(service, jobs_a, azurite):
    """B's own `sasUri` answer (an account SAS: racw on containers and blobs) held against A's blobs: 403 in A's
    account, and in B's account A's containers do not exist (404); A's data and flow are untouched."""
    job = jobs_a[0]
    container = f"job-{job['id']}"
    a_base, b_base = azurite.account_url(ACCOUNT_A), azurite.account_url(ACCOUNT_B)
    async with client(service, TOKEN_B, "wsb") as b:
        status, answer = await b.request("POST", "storage/sasUri", json={"containerName": f"job-{uuid.uuid1()}"})
        assert status == 200
    b_sas = answer["sasUri"]
    assert query(b_sas)["ss"] == "b" and set(query(b_sas)["srt"]) == {"c", "o"}  # the account SAS the SDK needs

    async with BlobClient.from_blob_url(with_query_of(b_sas, f"{a_base}/{container}/inputData")) as blob:
        assert await _refused(blob.download_blob()) == 403
        assert await _refused(blob.upload_blob(b"planted", overwrite=True)) == 403
    async with BlobClient.from_blob_url(with_query_of(b_sas, f"{a_base}/{container}/rawOutputData")) as blob:
        assert await _refused(blob.download_blob()) == 403
    async with BlobClient.from_blob_url(with_query_of(b_sas, f"{a_base}/{container}/planted")) as blob:
        assert await _refused(blob.upload_blob(b"planted")) == 403
    async with ContainerClient.from_container_url(with_query_of(b_sas, f"{a_base}/{container}")) as c:
        assert await _refused(c.get_container_properties()) == 403
    async with ContainerClient.from_container_url(with_query_of(b_sas, f"{a_base}/job-{uuid.uuid1()}")) as c:
        assert await _refused(c.create_container()) == 403  # nor can B make containers in A's account
    # the same names in B's own account: A's container is not there, and what B writes there stays in B's account
    async with BlobClient.from_blob_url(with_query_of(b_sas, f"{b_base}/{container}/inputData")) as blob:
        assert await _refused(blob.download_blob()) == 404

    async with client(service, TOKEN_A) as a:
        fresh = await a.get(job["id"])
        assert fresh["status"] == "Succeeded" and (await a.result(fresh))["cost"] == -17.0
        async with ContainerClient.from_container_url(fresh["containerUri"]) as c:
            assert sorted([x.name async for x in c.list_blobs()]) == ["inputData", "rawOutputData"]
        # and A's own flow (sasUri, upload, submit, run, output) still works after B's attempts
        done = await a.wait(await a.submit(seed_problem(), targets.SA, {"sweeps": 20, "seed": 3}), timeout=90)
        assert done["status"] == "Succeeded" and (await a.result(done))["cost"] == -17.0


def _seed_problem(name: str) -> Problem:
    problem = Problem(name=name, problem_type=ProblemType.ising)
    problem.add_term(c=-9, indices=[0]); problem.add_term(c=-3, indices=[1, 0]); problem.add_term(c=5, indices=[2, 0])
    return problem


async def test_native_client_flow_in_both_workspaces(service, azurite):
    for token, workspace, account in ((TOKEN_A, "wsa", ACCOUNT_A), (TOKEN_B, "wsb", ACCOUNT_B)):
        async with Workspace(connection_file=service.connection_file, name=workspace, token=token) as ws:
            job = await SimulatedAnnealing(ws, sweeps=50, seed=1).submit(_seed_problem(f"isolation-{workspace}"))
            results = await job.get_results()
            assert results["cost"] == -17.0, (workspace, results)
            details = (await ws.get_job(job.id)).details
            for uri in (details.container_uri, details.input_data_uri, details.output_data_uri):
                assert uri and uri.startswith(azurite.account_url(account) + "/"), (workspace, uri)


def test_sdk_flow_in_both_workspaces(service, tmp_path):
    for token, workspace, account in ((TOKEN_A, "wsa", ACCOUNT_A), (TOKEN_B, "wsb", ACCOUNT_B)):
        token_file = tmp_path / f"token-{workspace}.json"
        token_file.write_text(json.dumps({"access_token": token, "expires_on": 4102444800000}))
        as_user = SimpleNamespace(  # the service's sdk.env, with this workspace's name and token
            sdk_env={**service.sdk_env, "OPENQIO_WORKSPACE": workspace, "AZURE_QUANTUM_TOKEN_FILE": str(token_file)},
            tail=service.tail)
        detail = assert_check(run_sdk_script(as_user, "workspace_flow.py"), "seed_flow")
        assert detail["workspace"] == workspace and detail["accounts"] == [account], detail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(360)
async def test_with_azurite_makes_one_account_per_workspace_and_keeps_them(tmp_path):
    """`openqio serve --with-azurite` with two workspaces: generated accounts (private file, valid names), Azurite
    started with exactly those (its public development account off), and a restart that finds them and the blobs."""
    port = _free_port()
    svc = Service(data_dir=tmp_path / "svc", blob_url=f"http://127.0.0.1:{port}/devstoreaccount1", runners=1,
                  extra_env={"OPENQIO_TOKENS": f"wsa={TOKEN_A},wsb={TOKEN_B}", "OPENQIO_WORKSPACE": "wsa"},
                  args=["--with-azurite"])
    accounts_file = svc.data_dir / "storage-accounts.json"
    with svc:
        assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
        generated = json.loads(accounts_file.read_text())
        name_a, name_b = generated["wsa"]["name"], generated["wsb"]["name"]
        assert name_a.startswith("wsa") and name_b.startswith("wsb") and name_a != name_b
        base_a, base_b = f"http://127.0.0.1:{port}/{name_a}", f"http://127.0.0.1:{port}/{name_b}"
        async with client(svc, TOKEN_A) as a:
            job = await a.wait(await a.submit(seed_problem(), targets.SA, {"sweeps": 20, "seed": 1}), timeout=120)
            assert job["status"] == "Succeeded" and (await a.result(job))["cost"] == -17.0
            assert job["containerUri"].startswith(f"{base_a}/job-{job['id']}?")
        async with client(svc, TOKEN_B, "wsb") as b:
            status, answer = await b.request("POST", "storage/sasUri", json={"containerName": f"job-{uuid.uuid1()}"})
            assert status == 200 and answer["sasUri"].startswith(base_b + "/")
        async with BlobClient.from_blob_url(with_query_of(answer["sasUri"],
                                                          f"{base_a}/job-{job['id']}/inputData")) as blob:
            assert await _refused(blob.download_blob()) == 403
        # Azurite's well-known development key opens nothing: that account is not served now
        async with BlobServiceClient(f"http://127.0.0.1:{port}/devstoreaccount1", credential={
                "account_name": "devstoreaccount1", "account_key": AZURITE_KEY}) as dev:
            assert await _refused(dev.get_account_information()) != 200
    with svc:  # a restart: the same accounts, and A's blobs are still A's
        assert json.loads(accounts_file.read_text()) == generated
        async with client(svc, TOKEN_A) as a:
            again = await a.get(job["id"])
            assert again["containerUri"].startswith(f"{base_a}/job-{job['id']}?")
            assert (await a.result(again))["cost"] == -17.0
    text = svc.log_file.read_text(errors="replace")
    assert generated["wsa"]["key"] not in text and generated["wsb"]["key"] not in text


def _assert_expiry(q: dict[str, str], ttl_s: int) -> None:
    expiry = datetime.fromisoformat(q["se"].replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(seconds=ttl_s)
    assert abs((expiry - expected).total_seconds()) < 120, (q["se"], expected)


async def _refused(coro) -> int:
    try:
        await coro
    except HttpResponseError as exc:
        return exc.status_code or 0
    return 200


async def test_job_sas_urls_are_scoped_minimal_and_expire_as_configured(service, jobs_a, azurite):
    first, second = jobs_a
    assert first["status"] == second["status"] == "Succeeded", jobs_a
    async with client(service, TOKEN_A) as a:
        job = await a.get(first["id"])
    blob_base = azurite.account_url(ACCOUNT_A)  # A's own storage account
    container = f"job-{first['id']}"
    other = f"job-{second['id']}"

    # containerUri: a service SAS bound to this job's container, read + list only
    cq = query(job["containerUri"])
    assert job["containerUri"].startswith(f"{blob_base}/{container}?")
    assert cq["sr"] == "c" and set(cq["sp"]) == set("rl") and "srt" not in cq and "ss" not in cq, cq
    _assert_expiry(cq, SAS_TTL_S)
    async with ContainerClient.from_container_url(job["containerUri"]) as c:
        assert sorted([b.name async for b in c.list_blobs()]) == ["inputData", "rawOutputData"]
        assert await _refused(c.upload_blob("planted", b"x")) == 403
        assert await _refused(c.delete_blob("inputData")) == 403
    async with ContainerClient.from_container_url(with_query_of(job["containerUri"], f"{blob_base}/{other}")) as c:
        assert await _refused(c.list_blobs().__anext__()) == 403
    async with BlobClient.from_blob_url(with_query_of(job["containerUri"], f"{blob_base}/{other}/inputData")) as blob:
        assert await _refused(blob.download_blob()) == 403

    # inputDataUri and outputDataUri: blob SAS, read only, bound to their blob
    for key, name in (("inputDataUri", "inputData"), ("outputDataUri", "rawOutputData")):
        url = job[key]
        q = query(url)
        assert url.startswith(f"{blob_base}/{container}/{name}?"), url
        assert q["sr"] == "b" and q["sp"] == "r", (key, q)
        _assert_expiry(q, SAS_TTL_S)
        async with BlobClient.from_blob_url(url) as blob:
            assert len(await (await blob.download_blob()).readall()) > 0
            assert await _refused(blob.upload_blob(b"overwrite", overwrite=True)) == 403
        for elsewhere in (f"{blob_base}/{other}/{name}", f"{blob_base}/{container}/{'rawOutputData' if name == 'inputData' else 'inputData'}"):
            async with BlobClient.from_blob_url(with_query_of(url, elsewhere)) as blob:
                assert await _refused(blob.download_blob()) == 403, (key, elsewhere)
    async with client(service, TOKEN_A) as a:
        assert (await a.result(job))["cost"] == -17.0


async def test_sas_uri_answers_least_permissions_with_the_configured_expiry(service, jobs_a, azurite):
    job_id = jobs_a[0]["id"]
    blob_base = azurite.account_url(ACCOUNT_A)
    async with client(service, TOKEN_A) as a:
        status, answer = await a.request("POST", "storage/sasUri",
                                         json={"containerName": f"job-{job_id}", "blobName": "rawOutputData"})
        assert status == 200
        blob_url = answer["sasUri"]
        q = query(blob_url)
        assert q["sr"] == "b" and q["sp"] == "r", q  # a download URL: read only
        _assert_expiry(q, SAS_TTL_S)
        async with BlobClient.from_blob_url(blob_url) as blob:
            assert json.loads(await (await blob.download_blob()).readall())["cost"] == -17.0
            assert await _refused(blob.upload_blob(b"{}", overwrite=True)) == 403
        async with BlobClient.from_blob_url(with_query_of(blob_url, f"{blob_base}/job-{job_id}/inputData")) as blob:
            assert await _refused(blob.download_blob()) == 403

        # the container answer: the account SAS the SDK's upload needs (exists/create/put), no list, no delete
        fresh = f"job-{uuid.uuid1()}"
        status, answer = await a.request("POST", "storage/sasUri", json={"containerName": fresh})
        assert status == 200
        q = query(answer["sasUri"])
        assert q["ss"] == "b" and set(q["srt"]) == {"c", "o"} and set(q["sp"]) == set("racw"), q
        _assert_expiry(q, SAS_TTL_S)
        async with ContainerClient.from_container_url(answer["sasUri"]) as c:
            assert not await c.exists()
            await c.create_container()
            await c.upload_blob("inputData", b"payload")
            assert await _refused(c.list_blobs().__anext__()) == 403
            assert await _refused(c.delete_blob("inputData")) == 403


async def test_connection_files_are_private(service):
    for name in ("connection.json", "sdk-token.json", "sdk.env"):
        mode = stat.S_IMODE((service.data_dir / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} is readable by others ({oct(mode)})"


async def test_service_log_never_holds_a_token_or_a_sas_signature(service, jobs_a, azurite):
    """Last in the module: by now the service has logged submissions, runs, refusals and SAS answers at DEBUG."""
    async with client(service, TOKEN_A) as a:
        job_id = str(uuid.uuid1())
        container_uri = await a.upload(job_id, b"not a problem", gzip=False)
        status, _ = await a.request("PUT", f"jobs/{job_id}", json=a.job_body(job_id, container_uri, targets.SA))
        assert status == 200
        assert (await a.wait(job_id))["status"] == "Failed"
        signatures = {query(container_uri)["sig"]}
        # a request the HTTP parser refuses, on the line that holds the token (aiohttp logs the offending bytes)
        host, port = urlsplit(service.base_url).hostname, urlsplit(service.base_url).port
        reader, writer = await asyncio.open_connection(host, port, ssl=ssl.create_default_context(cafile=service.ca_file))
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\x01\r\n\r\n".encode())
        await writer.drain()
        assert (await asyncio.wait_for(reader.read(4096), 10)).split(b" ")[1] == b"400"
        writer.close()
        for job in jobs_a:
            fresh = await a.get(job["id"])
            signatures |= {query(fresh[k])["sig"] for k in ("containerUri", "inputDataUri", "outputDataUri")}
    text = service.log_file.read_text(errors="replace")
    assert "DEBUG" in text, "the service did not log at DEBUG; this test would prove nothing"
    assert TOKEN_A not in text and TOKEN_B not in text
    assert azurite.accounts[ACCOUNT_A] not in text and azurite.accounts[ACCOUNT_B] not in text
    assert f"workspace wsb: storage account {ACCOUNT_B}" in text  # the start-up line names accounts, never keys
    assert "sig=" not in text
    for sig in signatures:
        assert sig not in text
