"""GET /healthz reflects the runner pool, the job database and blob storage: 200 {"status": "ok"} while runners can
start and the database and blob storage can store, 503 with the reason while they cannot (the real pool and service:
tests/integration/test_runners.py; a real full disk: tests/integration/test_full_disk.py); services.healthcheck (the
Docker healthcheck) prints that reason."""
from __future__ import annotations

import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from services.config import Settings
from services.gateway.app import create_app


class Pool:
    def __init__(self, reason: str | None):
        self.reason = reason

    def health(self) -> str | None:
        return self.reason


class Dispatcher:
    def __init__(self, reason: str | None, waiting: tuple[int, float] | None):
        self.pool = Pool(reason)
        self.waiting = waiting

    def results_waiting_for_space(self) -> tuple[int, float] | None:
        return self.waiting


class Store:
    def __init__(self, full_since: float | None):
        self.full_since = full_since


async def healthz(tmp_path: Path, reason: str | None, full_since: float | None = None,
                  waiting: tuple[int, float] | None = None) -> tuple[int, dict]:
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={"unit-test-token-0123456789": "openqio"})
    client = TestClient(TestServer(create_app(settings, Store(full_since), object(), Dispatcher(reason, waiting))))
    await client.start_server()
    try:
        resp = await client.get("/healthz")
        return resp.status, await resp.json()
    finally:
        await client.close()


async def test_healthy_runners_answer_ok(tmp_path: Path):
    assert await healthz(tmp_path, None) == (200, {"status": "ok"})


async def test_runners_that_cannot_start_answer_503_with_the_reason(tmp_path: Path):
    reason = "1 of 2 runner(s) cannot start; runner 1 failed 3 time(s) in a row: WarmUpError: ..."
    assert await healthz(tmp_path, reason) == (503, {"status": "unhealthy", "reason": reason})


async def test_a_full_disk_under_the_job_database_answers_503_with_how_long(tmp_path: Path):
    status, body = await healthz(tmp_path, None, full_since=time.time() - 42)
    assert status == 503 and body["status"] == "unhealthy"
    assert body["reason"].startswith("the job database's disk has been full for 42 s: new jobs are refused")
    status, body = await healthz(tmp_path, "runner 1 cannot start", full_since=time.time())
    assert status == 503 and body["reason"].startswith("runner 1 cannot start; the job database's disk")


async def test_results_waiting_for_space_on_blob_storage_answer_503_with_how_many_and_how_long(tmp_path: Path):
    status, body = await healthz(tmp_path, None, waiting=(2, time.time() - 42))
    assert status == 503 and body["reason"] == ("blob storage's disk has been full for 42 s: 2 finished job(s) wait to "
                                                "store their results, and new inputs may not fit")
    status, body = await healthz(tmp_path, None, full_since=time.time() - 7, waiting=(1, time.time() - 5))
    assert status == 503 and body["reason"].startswith("the job database's disk has been full for 7 s: ")
    assert "; blob storage's disk has been full for 5 s: 1 finished job(s)" in body["reason"]
