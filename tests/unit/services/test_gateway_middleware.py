"""The gateway's error and auth middleware with stub collaborators (no TLS, no storage): what clients see when
something inside breaks."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.blobs import StorageUnavailable
from services.config import Settings
from services.gateway.app import create_app
from services.jobs.store import StoreFull

TOKEN = "unit-test-token-0123456789"
PREFIX = ("/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
          "Microsoft.Quantum/workspaces/openqio")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class ExplodingStore:
    """Every call raises what the test chose."""

    full_since: float | None = None  # (an attribute /healthz reads)

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __getattr__(self, name):
        async def fail(*args, **kwargs):
            raise self.exc

        return fail


class Dispatcher:
    def wake(self) -> None:
        pass

    def results_waiting_for_space(self) -> None:  # (/healthz asks)
        return None

    async def cancel(self, job_id: str) -> None:
        pass


async def client_for(tmp_path: Path, store) -> TestClient:
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"})
    client = TestClient(TestServer(create_app(settings, store, object(), Dispatcher())))
    await client.start_server()
    return client


async def test_unexpected_exception_is_a_generic_500(tmp_path: Path, caplog):
    client = await client_for(tmp_path, ExplodingStore(RuntimeError("secret internals /etc/shadow")))
    try:
        with caplog.at_level(logging.ERROR, logger="services.gateway.app"):
            resp = await client.get(f"{PREFIX}/jobs/abc", headers=AUTH)
        assert resp.status == 500
        body = await resp.json()
        assert body["error"]["code"] == "InternalError"
        assert "secret" not in await resp.text() and "Traceback" not in await resp.text()
        assert any("secret internals" in (r.exc_text or "") for r in caplog.records)  # logged with the traceback
    finally:
        await client.close()


async def test_storage_down_is_503_with_retry_after(tmp_path: Path):
    client = await client_for(tmp_path, ExplodingStore(StorageUnavailable("connection refused")))
    try:
        resp = await client.get(f"{PREFIX}/jobs", headers=AUTH)
        assert resp.status == 503
        assert resp.headers["Retry-After"].isdigit()
        assert (await resp.json())["error"]["code"] == "StorageUnavailable"
    finally:
        await client.close()


async def test_a_full_disk_is_507_without_retry_after(tmp_path: Path):
    client = await client_for(tmp_path, ExplodingStore(StoreFull("the job database /x/jobs.sqlite3's disk is full")))
    try:
        resp = await client.delete(f"{PREFIX}/jobs/abc", headers=AUTH)
        assert resp.status == 507 and "Retry-After" not in resp.headers  # freeing space takes a person, not a retry
        error = (await resp.json())["error"]
        assert error["code"] == "InsufficientStorage" and "disk is full" in error["message"]
        assert "/x/" not in error["message"]  # the file is for the operator's log, not for clients
    finally:
        await client.close()


async def test_healthz_needs_no_token(tmp_path: Path):
    client = await client_for(tmp_path, ExplodingStore(RuntimeError()))
    try:
        resp = await client.get("/healthz")
        assert resp.status == 200 and await resp.json() == {"status": "ok"}
    finally:
        await client.close()


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic " + TOKEN, f"Bearer {TOKEN}x",
                                    f"Bearer {TOKEN[:-1]}", "bearer"])
async def test_bad_credentials_are_401_before_anything_else(tmp_path: Path, header):
    client = await client_for(tmp_path, ExplodingStore(RuntimeError("must not be reached")))
    try:
        headers = {} if header is None else {"Authorization": header}
        for method, path in [("GET", f"{PREFIX}/jobs/abc"), ("PUT", f"{PREFIX}/jobs/abc"), ("GET", "/nowhere"),
                             ("POST", f"{PREFIX}/jobs/abc")]:
            resp = await client.request(method, path, headers=headers)
            assert resp.status == 401, (method, path)
            assert resp.headers.get("WWW-Authenticate") == "Bearer"
            assert (await resp.json())["error"]["code"] == "Unauthorized"
    finally:
        await client.close()


async def test_bearer_scheme_is_case_insensitive(tmp_path: Path):
    client = await client_for(tmp_path, ExplodingStore(StorageUnavailable("down")))
    try:
        resp = await client.get(f"{PREFIX}/jobs", headers={"Authorization": f"bearer {TOKEN}"})
        assert resp.status == 503  # got past auth
    finally:
        await client.close()


async def test_one_debug_line_per_request_without_the_token(tmp_path: Path, caplog):
    client = await client_for(tmp_path, ExplodingStore(StorageUnavailable("down")))
    try:
        with caplog.at_level(logging.DEBUG, logger="services.gateway.app"):
            await client.get(f"{PREFIX}/jobs/job-42", headers=AUTH)
            await client.get("/healthz")
        lines = [r for r in caplog.records if r.levelno == logging.DEBUG and r.name == "services.gateway.app"]
        assert len(lines) == 2
        first = lines[0]
        assert (first.method, first.status, first.job_id) == ("GET", 503, "job-42")
        assert first.path.endswith("/jobs/job-42") and first.duration_ms >= 0
        assert lines[1].status == 200 and not hasattr(lines[1], "job_id")
        assert all(TOKEN not in r.getMessage() and TOKEN not in str(vars(r)) for r in caplog.records)
    finally:
        await client.close()
