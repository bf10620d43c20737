"""The dashboard's server side without a browser: the input summary's counts (contracts.summary, computed by the
runner), the summary endpoint (an in-process app over a real SQLite store: it answers what the runner recorded and
never reads blob storage), the public asset list, and the dashboard link `openqio serve` prints (with the token only
for a person at a terminal)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts.jobs import JobDetails
from contracts.problems import decode_problem, encode_json, problem_document
from contracts.runner import RunRequest
from contracts.status import JobStatus
from contracts.summary import summarize
from services import server as entry
from services.config import Settings
from services.gateway import app as gateway_app
from services.gateway import auth, dashboard
from services.gateway.keys import BLOBS, SETTINGS, STORE
from services.jobs.sqlite_store import SqliteJobStore


def summary_of(doc: dict) -> dict:
    data = encode_json(doc)
    return summarize(decode_problem(data), len(data), "application/json")


def test_counts_of_a_pubo():
    doc = problem_document("pubo", [(1, [0, 1]), (2, [1, 2, 3]), (-1, [7]), (4, [])], name="p")
    data = encode_json(doc)
    assert summary_of(doc) == {"available": True, "problemType": "pubo", "variables": 5, "terms": 4,
                               "groupedTerms": 0, "maxDegree": 3, "initialConfiguration": False, "name": "p",
                               "inputBytes": len(data), "contentType": "application/json"}


def test_grouped_terms_count_their_variables():
    doc = problem_document("pubo", [(1, [0, 1])], slc_terms=[(2.0, [(1.0, [4]), (-1.0, [5]), (3.0, [])])])
    summary = summary_of(doc)
    assert summary["problemType"] == "pubo_grouped"
    assert (summary["variables"], summary["terms"], summary["groupedTerms"]) == (4, 1, 1)


def test_an_empty_problem():
    summary = summary_of(problem_document("ising", []))
    assert (summary["variables"], summary["terms"], summary["maxDegree"]) == (0, 0, 0)


def test_assets_exist_and_only_they_are_public():
    for path, (name, _content_type) in dashboard.ASSETS.items():
        assert (dashboard.STATIC / name).is_file(), path
        assert path == "/dashboard" or path.startswith("/dashboard/")
    assert dashboard.PUBLIC_PATHS == frozenset(dashboard.ASSETS)
    assert "/dashboard/workspace" not in dashboard.PUBLIC_PATHS and "/dashboard/load" not in dashboard.PUBLIC_PATHS
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


# ---- the runner records the summary; the endpoint answers it ------------------------------------------------------

def test_the_runner_reports_the_summary_with_every_outcome():
    from solver_runner import entry as runner

    good = encode_json(problem_document("pubo", [(1, [0, 1]), (2, [2])]))
    done = runner.run(RunRequest("j", "microsoft.simulatedannealing.cpu", {"sweeps": 2, "seed": 1}, good),
                      lambda: False, lambda p: None)
    assert done.status == "succeeded" and done.summary["available"]
    assert (done.summary["variables"], done.summary["terms"], done.summary["inputBytes"]) == (3, 2, len(good))
    bad = runner.run(RunRequest("j", "microsoft.simulatedannealing.cpu", {}, b"{not json"), lambda: False,
                     lambda p: None)
    assert bad.status == "failed" and not bad.summary["available"]
    assert bad.summary["reason"].startswith("the input could not be decoded") and bad.summary["inputBytes"] == 9


TOKEN = "summary-unit-test-token-000"


class NoBlobs:
    """The endpoint must never touch blob storage (a stopped Azurite once made it hang for 30 s)."""

    def for_workspace(self, workspace):
        raise AssertionError("the summary endpoint read blob storage")


def job(job_id: str) -> JobDetails:
    return JobDetails(id=job_id, name="n", container_uri=f"http://127.0.0.1:10000/acct/job-{job_id}",
                      input_data_uri=None, input_data_format="microsoft.qio.v2", input_params={"params": {}},
                      provider_id="Microsoft", target="microsoft.simulatedannealing.cpu",
                      output_data_format="microsoft.qio-results.v2")


@pytest.fixture
async def client(tmp_path):
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"})
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    app = web.Application(middlewares=[gateway_app.error_middleware, auth.middleware(settings)])
    app[SETTINGS], app[STORE], app[BLOBS] = settings, store, NoBlobs()
    dashboard.add_routes(app, gateway_app.PREFIX)
    async with TestClient(TestServer(app)) as c:
        c.store = store
        c.prefix = (f"/v1.0/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}"
                    f"/providers/Microsoft.Quantum/workspaces/openqio")
        yield c
    await store.close()


async def get_summary(client, job_id: str) -> tuple[int, dict]:
    resp = await client.get(f"{client.prefix}/jobs/{job_id}/summary", headers={"Authorization": f"Bearer {TOKEN}"})
    return resp.status, await resp.json()


async def test_the_endpoint_answers_what_the_runner_recorded(client):
    await client.store.insert("openqio", job("ran"))
    await client.store.claim_next()
    recorded = summary_of(problem_document("ising", [(1, [0, 1])]))
    await client.store.transition("ran", JobStatus.FAILED, summary=recorded)
    status, body = await get_summary(client, "ran")
    assert status == 200 and body == {"jobId": "ran", **recorded}


async def test_jobs_without_a_summary_say_why(client):
    await client.store.insert("openqio", job("waiting"))
    status, body = await get_summary(client, "waiting")
    assert status == 200 and body["available"] is False and "when the job runs" in body["reason"]
    await client.store.transition("waiting", JobStatus.CANCELLED)
    status, body = await get_summary(client, "waiting")
    assert status == 200 and body["available"] is False and "no summary was recorded" in body["reason"]
    status, body = await get_summary(client, "nope")
    assert status == 404 and body["error"]["code"] == "JobNotFound"
