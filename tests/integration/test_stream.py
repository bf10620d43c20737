"""GET jobs/{id}/stream (server-sent events) against the real service, read with a bare SSE parser."""
from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import pytest

from contracts.status import JobStatus
from tests.integration.rest import Rest, long_problem, seed_problem
from tests.service import Service, serving

pytestmark = pytest.mark.integration

SA = "microsoft.simulatedannealing.cpu"


async def read_sse(resp, stop_after=None, timeout: float = 90.0):
    """Frames of an SSE body as dicts {id, event, data(str), comment?} until EOF (or `stop_after(frames)` is true)."""
    frames, current = [], {}
    deadline = time.monotonic() + timeout
    while True:
        line = await asyncio.wait_for(resp.content.readline(), max(deadline - time.monotonic(), 0.1))
        if not line:
            return frames
        text = line.decode().rstrip("\n")
        if text == "":
            if current:
                frames.append(current)
                current = {}
                if stop_after is not None and stop_after(frames):
                    return frames
            continue
        if text.startswith(":"):
            frames.append({"comment": text[1:].strip()})
            continue
        name, _, value = text.partition(":")
        current[name] = value[1:] if value.startswith(" ") else value


def events_of(frames):
    return [json.loads(f["data"]) for f in frames if "data" in f]


async def open_stream(rest: Rest, job_id: str, query: str = "", headers: dict | None = None, token: str | None = None):
    assert rest.session is not None
    token = rest.token if token is None else token
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return await rest.session.get(f"{rest.prefix}/jobs/{job_id}/stream{query}", headers={**auth, **(headers or {})})


async def test_events_in_order_end_at_terminal_and_match_the_event_log(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit(seed_problem(), SA, {"sweeps": 200, "seed": 3})
        async with await open_stream(rest, job_id) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            assert resp.headers["Cache-Control"] == "no-cache"
            frames = await read_sse(resp)  # returns at EOF: the server ends the stream itself
        events = events_of(frames)
        kinds = [e["kind"] for e in events]
        assert kinds[0] == "submitted" and "started" in kinds and kinds[-1] == "succeeded", kinds
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        for frame, event in zip((f for f in frames if "data" in f), events):
            assert frame["id"] == str(event["seq"]) and frame["event"] == event["kind"]
        status, log = await rest.request("GET", f"jobs/{job_id}/events")
        assert status == 200 and log["value"] == events  # the same objects as the polling endpoint
        assert (await rest.get(job_id))["status"] == "Succeeded"


async def test_a_finished_job_replays_and_ends_and_resumes_after_last_event_id(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit(seed_problem(), SA, {"sweeps": 50})
        await rest.wait(job_id)
        _, log = await rest.request("GET", f"jobs/{job_id}/events")
        all_events = log["value"]
        started = next(e["seq"] for e in all_events if e["kind"] == "started")

        t0 = time.monotonic()
        async with await open_stream(rest, job_id) as resp:
            assert events_of(await read_sse(resp, timeout=10)) == all_events
        assert time.monotonic() - t0 < 5  # a terminal job's stream ends after the replay, not at a keep-alive

        async with await open_stream(rest, job_id, headers={"Last-Event-ID": str(started)}) as resp:
            assert events_of(await read_sse(resp, timeout=10)) == [e for e in all_events if e["seq"] > started]
        # The header (a reconnect) wins over the query string.
        async with await open_stream(rest, job_id, "?after=0", headers={"Last-Event-ID": str(all_events[-1]["seq"])}) as resp:
            assert events_of(await read_sse(resp, timeout=10)) == []
        async with await open_stream(rest, job_id, f"?after={started}") as resp:
            assert events_of(await read_sse(resp, timeout=10))[0]["seq"] > started


async def test_auth_and_not_found_rules(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit(seed_problem(), SA, {"sweeps": 20})
        async with await open_stream(rest, job_id, token="") as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "Unauthorized"
        async with await open_stream(rest, job_id, token="x" * 40) as resp:
            assert resp.status == 401
        async with await open_stream(rest, "no-such-job") as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "JobNotFound"
        other_ws = rest.prefix.rsplit("/", 1)[0] + "/someone-else"
        async with rest.session.get(f"{other_ws}/jobs/{job_id}/stream", headers=rest.headers()) as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "NotFound"
        async with await open_stream(rest, job_id, "?after=abc") as resp:
            assert resp.status == 400 and "after" in (await resp.json())["error"]["message"]
        await rest.wait(job_id)


async def test_progress_events_arrive_live_during_a_long_sa_job(openqio_service):
    async with Rest(openqio_service) as rest:
        job_id = await rest.submit(long_problem(2000), SA, {"sweeps": 10**8, "seed": 1})
        progress: list[dict] = []

        def enough(frames):
            progress[:] = [e["data"] for e in events_of(frames) if e["kind"] == "progress"]
            return len(progress) >= 3

        async with await open_stream(rest, job_id) as resp:
            await read_sse(resp, stop_after=enough, timeout=120)
            assert len(progress) >= 3, "the stream ended before three progress events"
            # Now cancel: the same open stream must deliver the terminal event and end.
            status, _ = await rest.request("DELETE", f"jobs/{job_id}")
            assert status == 204
            rest_of_stream = events_of(await read_sse(resp, timeout=60))
        assert rest_of_stream and rest_of_stream[-1]["kind"] == "cancelled"
        for item in progress:
            assert set(item) >= {"elapsed_s", "sweeps_done", "best_cost"}
        elapsed = [p["elapsed_s"] for p in progress]
        sweeps = [p["sweeps_done"] for p in progress]
        costs = [p["best_cost"] for p in progress]
        assert elapsed == sorted(elapsed) and sweeps == sorted(sweeps) and sweeps[-1] > 0
        assert costs == sorted(costs, reverse=True)  # best so far never gets worse
        assert elapsed[-1] - elapsed[0] >= 0.9  # written at most once a second


@pytest.fixture(scope="module")
def small_service(azurite, tmp_path_factory):
    """A second service with one stream allowed and fast keep-alives, for the limit and shutdown tests."""
    service = Service(data_dir=Path(tmp_path_factory.mktemp("openqio-streams")), blob_url=azurite.blob_url, runners=1,
                      extra_env={"OPENQIO_MAX_STREAMS": "1", "OPENQIO_STREAM_KEEPALIVE_S": "0.3",
                                 "OPENQIO_SHUTDOWN_GRACE_S": "1"})
    yield from serving(service)


async def test_keepalive_stream_limit_and_sigterm_ends_streams(small_service):
    async with Rest(small_service) as rest:
        job_id = await rest.submit(long_problem(2000), SA, {"sweeps": 10**8})  # runs until the service stops
        await rest.wait_status(job_id, JobStatus.EXECUTING)
        async with await open_stream(rest, job_id) as resp:
            frames = await read_sse(resp, stop_after=lambda fs: any(f.get("comment") == "keep-alive" for f in fs),
                                    timeout=30)
            assert any(f.get("comment") == "keep-alive" for f in frames)
            async with await open_stream(rest, job_id) as second:
                assert second.status == 503 and second.headers.get("Retry-After")
                assert (await second.json())["error"]["code"] == "TooManyStreams"
            t0 = time.monotonic()
            small_service.process.send_signal(signal.SIGTERM)
            await read_sse(resp, timeout=30)  # EOF: shutdown closed the stream
            code = await asyncio.to_thread(small_service.process.wait, 30)
        assert code == 0 and time.monotonic() - t0 < 25
        small_service.process = None
