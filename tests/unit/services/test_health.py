"""GET /healthz reflects the runner pool: 200 {"status": "ok"} while runners can start, 503 with the pool's reason
while they cannot (the real pool and service: tests/integration/test_runners.py); services.healthcheck (the Docker
healthcheck) prints that reason."""
from __future__ import annotations

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
    def __init__(self, reason: str | None):
        self.pool = Pool(reason)


async def healthz(tmp_path: Path, reason: str | None) -> tuple[int, dict]:
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={"unit-test-token-0123456789": "openqio"})
    client = TestClient(TestServer(create_app(settings, object(), object(), Dispatcher(reason))))
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
