"""The SSE endpoint on a real SQLite store, without TLS or storage: live wake-ups, ordering, the end at the terminal
event, keep-alives, the stream limit, and shutdown ending open streams. Parsed with the client's own SSE parser."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contracts.jobs import JobDetails
from contracts.status import JobStatus
from contracts.targets import SA
from services.client.events import parse_sse
from services.config import Settings
from services.gateway.app import create_app
from services.gateway.stream import HUB
from services.jobs.sqlite_store import SqliteJobStore

TOKEN = "unit-test-token-0123456789"
PREFIX = ("/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
          "Microsoft.Quantum/workspaces/openqio")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Dispatcher:
    def wake(self) -> None:
        pass


def job(job_id: str) -> JobDetails:
    return JobDetails(id=job_id, name=job_id, container_uri=f"http://127.0.0.1:10000/devstoreaccount1/job-{job_id}",
                      input_data_format="microsoft.qio.v2", input_params={"params": {}}, provider_id="Microsoft",
                      target=SA, output_data_format="microsoft.qio-results.v2")


@pytest.fixture
async def env(tmp_path: Path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    settings = Settings.from_env({}, data_dir=tmp_path, tokens={TOKEN: "openqio"}, max_streams=2,
                                 stream_keepalive_s=0.2)
    client = TestClient(TestServer(create_app(settings, store, object(), Dispatcher())))
    await client.start_server()
    yield client, store
    await client.close()
    await store.close()


async def frames_of(resp, until_eof: bool = True, count: int | None = None) -> list[dict]:
    lines, frames = [], []
    while True:
        line = await asyncio.wait_for(resp.content.readline(), 10)
        if not line:
            return frames
        lines.append(line.decode())
        if line.strip() == b"":
            frames += list(parse_sse(lines))
            lines = []
            if count is not None and len(frames) >= count:
                return frames


async def test_live_events_in_order_and_the_end_at_the_terminal_event(env):
    client, store = env
    await store.insert("openqio", job("j1"))
    await store.insert("openqio", job("other"))
    resp = await client.get(f"{PREFIX}/jobs/j1/stream", headers=AUTH)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    first = await frames_of(resp, count=1)
    assert first[0]["event"] == "submitted"

    await store.claim_next()  # j1 (oldest) → Executing
    await store.add_event("other", "progress", {"elapsed_s": 9})  # another job's event: not in this stream
    for i in range(3):
        await store.add_event("j1", "progress", {"elapsed_s": float(i), "sweeps_done": i * 10, "best_cost": -i})
    await store.transition("j1", JobStatus.SUCCEEDED)
    await store.add_event("j1", "progress", {"late": True})  # after the terminal event: never sent
    rest = await frames_of(resp)  # EOF: the server ended the stream
    events = [json.loads(f["data"]) for f in first + rest]
    assert [e["kind"] for e in events] == ["submitted", "started", "progress", "progress", "progress", "succeeded"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [f["id"] for f in first + rest] == [str(e["seq"]) for e in events]
    assert events[2]["data"] == {"elapsed_s": 0.0, "sweeps_done": 0, "best_cost": 0}
    await asyncio.sleep(0.5)
    assert client.app[HUB].open_streams == 0 and client.app[HUB]._task is None  # no polling without listeners


async def test_keepalive_resume_past_the_end_and_the_limit(env):
    client, store = env
    await store.insert("openqio", job("j2"))
    resp = await client.get(f"{PREFIX}/jobs/j2/stream", headers=AUTH)
    raw = b""
    while b": keep-alive" not in raw:
        raw += await asyncio.wait_for(resp.content.readline(), 5)
    second = await client.get(f"{PREFIX}/jobs/j2/stream", headers=AUTH)
    third = await client.get(f"{PREFIX}/jobs/j2/stream", headers=AUTH)
    assert third.status == 503 and (await third.json())["error"]["code"] == "TooManyStreams"
    assert third.headers["Retry-After"]
    await store.transition("j2", JobStatus.CANCELLED)
    assert json.loads((await frames_of(second))[-1]["data"])["kind"] == "cancelled"
    assert json.loads((await frames_of(resp))[-1]["data"])["kind"] == "cancelled"
    last = (await store.events("j2"))[-1].seq
    # Resuming at (or past) the end of a finished job ends at once, with no events.
    for headers in ({"Last-Event-ID": str(last)}, {"Last-Event-ID": str(last + 1000)}):
        past = await client.get(f"{PREFIX}/jobs/j2/stream", headers={**AUTH, **headers})
        assert await frames_of(past) == []


async def test_shutdown_ends_open_streams(env):
    client, store = env
    await store.insert("openqio", job("j3"))
    resp = await client.get(f"{PREFIX}/jobs/j3/stream", headers=AUTH)
    await frames_of(resp, count=1)
    await asyncio.wait_for(client.app.shutdown(), 5)  # what `site_runner.shutdown()` runs on SIGTERM
    assert await asyncio.wait_for(frames_of(resp), 5) == []  # EOF without waiting for a terminal event
