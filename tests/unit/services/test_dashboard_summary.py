"""The dashboard's server side without a browser: the input summary's counts, the summary endpoint's bounds, cache
and errors (on an in-process app with an in-memory job store and blob store), the public asset list, and the
dashboard link `openqio serve` prints (with the token only for a person at a terminal)."""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts import errors
from contracts.jobs import JobDetails
from contracts.problems import decode_problem, encode_json, problem_document
from services import __main__ as entry
from services.blobs import InputError
from services.config import Settings
from services.gateway import app as gateway_app
from services.gateway import auth, dashboard
from services.gateway.keys import BLOBS, SETTINGS, STORE


def summary_of(doc: dict) -> dict:
    return dashboard.summarize(decode_problem(encode_json(doc)))


def test_counts_of_a_pubo():
    doc = problem_document("pubo", [(1, [0, 1]), (2, [1, 2, 3]), (-1, [7]), (4, [])], name="p")
    assert summary_of(doc) == {"problemType": "pubo", "variables": 5, "terms": 4, "groupedTerms": 0, "maxDegree": 3,
                               "initialConfiguration": False, "name": "p"}


def test_grouped_terms_count_their_variables():
    doc = problem_document("pubo", [(1, [0, 1])], slc_terms=[(2.0, [(1.0, [4]), (-1.0, [5]), (3.0, [])])])
    summary = summary_of(doc)
    assert summary["problemType"] == "pubo_grouped"
    assert (summary["variables"], summary["terms"], summary["groupedTerms"]) == (4, 1, 1)


def test_an_empty_problem():
    summary = summary_of(problem_document("ising", []))
    assert (summary["variables"], summary["terms"], summary["maxDegree"]) == (0, 0, 0)


def test_assets_exist_and_only_they_are_public():
    for path, (name, content_type) in dashboard.ASSETS.items():
        assert (dashboard.STATIC / name).is_file(), path
        assert path == "/dashboard" or path.startswith("/dashboard/")
    assert dashboard.PUBLIC_PATHS == frozenset(dashboard.ASSETS)
    assert "/dashboard/workspace" not in dashboard.PUBLIC_PATHS
    # a non-editable install (the Docker image) ships them: pyproject's package-data names them
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["services.gateway.dashboard"]
    for name, _ in dashboard.ASSETS.values():
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not package data"
    html = (dashboard.STATIC / "index.html").read_text()
    assert "<script>" not in html and "http://" not in html.replace("http://www.w3.org", "")  # no inline code, no CDN


def test_the_printed_link_has_the_token_only_on_a_terminal(tmp_path: Path, monkeypatch):
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={"T" * 20: "openqio"})

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    assert entry._dashboard_url(settings, "https://127.0.0.1:8443/") == f"https://127.0.0.1:8443/dashboard#token={'T' * 20}"
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a log file
    url = entry._dashboard_url(settings, "https://127.0.0.1:8443/")
    assert url.startswith("https://127.0.0.1:8443/dashboard ") and "T" * 20 not in url


# ---- the summary endpoint's own logic (bounds, cache, errors) on an in-process app ---------------------------------

TOKEN = "summary-unit-test-token-000"


class Store:
    def __init__(self, jobs: dict[str, JobDetails]):
        self.jobs = jobs

    async def get(self, workspace, job_id):
        return self.jobs.get(job_id)


class Blobs:
    """Serves inputs from a dict; `max_bytes` is honoured like BlobStore.read_input (size checked first)."""

    def __init__(self, inputs: dict[str, bytes]):
        self.inputs = inputs
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.workspaces: list[str] = []  # whose storage each read went to

    def for_workspace(self, workspace):
        self.workspaces.append(workspace)
        return self

    async def read_input(self, input_data_uri, container_uri, max_bytes=None):
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        data = self.inputs.get(container_uri)
        if data is None:
            raise InputError(errors.INPUT_NOT_FOUND, f"input blob {container_uri}/inputData does not exist")
        if max_bytes is not None and len(data) > max_bytes:
            raise InputError(errors.PROBLEM_TOO_LARGE, f"input blob is {len(data)} bytes, over the limit of {max_bytes}")
        return data, "application/json"


def job(job_id: str) -> JobDetails:
    return JobDetails(id=job_id, name="n", container_uri=job_id, input_data_uri=None,
                      input_data_format="microsoft.qio.v2", input_params={"params": {}}, provider_id="Microsoft",
                      target="microsoft.simulatedannealing.cpu", output_data_format="microsoft.qio-results.v2")


@pytest.fixture
async def client(tmp_path):
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"})
    ok = encode_json(problem_document("pubo", [(1, [0, 1]), (2, [2])]))
    blobs = Blobs({"ok": ok, "big": b" " * 2048, "bad": b"{not json"})
    app = web.Application(middlewares=[gateway_app.error_middleware, auth.middleware(settings)])
    app[SETTINGS], app[STORE], app[BLOBS] = settings, Store({i: job(i) for i in ("ok", "big", "bad", "gone")}), blobs
    dashboard.add_routes(app, gateway_app.PREFIX)
    async with TestClient(TestServer(app)) as c:
        c.blobs = blobs
        c.prefix = (f"/v1.0/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}"
                    f"/providers/Microsoft.Quantum/workspaces/openqio")
        yield c


async def get_summary(client, job_id: str) -> tuple[int, dict]:
    resp = await client.get(f"{client.prefix}/jobs/{job_id}/summary", headers={"Authorization": f"Bearer {TOKEN}"})
    return resp.status, await resp.json()


async def test_summary_is_computed_once_and_cached(client):
    status, body = await get_summary(client, "ok")
    assert status == 200 and body["available"] and (body["variables"], body["terms"]) == (3, 2)
    assert body["inputBytes"] == len(client.blobs.inputs["ok"])
    assert (await get_summary(client, "ok"))[1] == body
    assert client.blobs.reads == 1
    assert client.blobs.workspaces == ["openqio"]  # read from the token's workspace's storage


async def test_inputs_over_the_bound_are_not_read(client, monkeypatch):
    monkeypatch.setattr(dashboard, "SUMMARY_MAX_BYTES", 1024)
    status, body = await get_summary(client, "big")
    assert status == 200 and body["available"] is False and "larger than the dashboard summarises (1024" in body["reason"]


async def test_undecodable_and_missing_inputs(client):
    status, body = await get_summary(client, "bad")
    assert status == 200 and not body["available"] and body["reason"].startswith("the input could not be decoded")
    for _ in range(2):  # a missing input is not cached: it is read again next time
        status, body = await get_summary(client, "gone")
        assert status == 200 and not body["available"] and "does not exist" in body["reason"]
    assert client.blobs.reads == 3
    status, body = await get_summary(client, "nope")
    assert status == 404 and body["error"]["code"] == "JobNotFound"


async def test_concurrent_requests_for_one_job_read_it_once(client):
    client.blobs.gate = asyncio.Event()
    tasks = [asyncio.create_task(get_summary(client, "ok")) for _ in range(5)]
    await asyncio.sleep(0.1)
    client.blobs.gate.set()
    results = await asyncio.gather(*tasks)
    assert all(status == 200 and body["available"] for status, body in results)
    assert client.blobs.reads <= dashboard.SUMMARY_CONCURRENCY
