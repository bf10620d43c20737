"""`GET {prefix}/jobs/{id}/stream`: a job's events as server-sent events (text/event-stream).

Each event is written as

    id: <seq>
    event: <kind>
    data: <the same JSON object as one item of GET jobs/{id}/events: {"seq", "kind", "data", "time"}>

followed by a blank line. The stream starts after `?after=SEQ` (default 0: from the first event), or after the
`Last-Event-ID` header when a client reconnects (it wins over the query). It replays what is stored, then follows
live events, and ends after the event that makes the job terminal (succeeded, failed, cancelled); a job already
terminal ends the stream right after the replay. An idle stream gets a `: keep-alive` comment every
OPENQIO_STREAM_KEEPALIVE_S seconds so proxies and clients do not time it out.

Wake-ups: the store has no push notification, so one `EventHub` task per app polls the outbox with a single indexed
query (`events_since`) every POLL_S seconds, and only while streams are open; it wakes the streams of the jobs that
got events, which then read their own events. The number of open streams is bounded (OPENQIO_MAX_STREAMS; beyond
it: 503 with Retry-After), and app shutdown ends every stream at once, so `openqio serve` never waits on them.
Auth and workspace rules are those of every other route (401 without a token, 404 for another workspace's job).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict

from aiohttp import web

from contracts import errors
from contracts.errors import ContractError
from contracts.events import TERMINAL_KINDS
from contracts.status import TERMINAL

from .keys import SETTINGS, STORE
from .request import find_job

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often the hub looks for new events while streams are open (progress events come ≤ 1/s)
PAGE = 500  # events read per query while replaying
TOO_MANY_STREAMS = "TooManyStreams"
CLIENT_CHECK_S = 2.0  # how often an idle stream notices a client that went away


class EventHub:
    """Wakes open streams when their job gets events; counts streams against the limit; closes them all."""

    def __init__(self, store, max_streams: int):
        self.store = store
        self.max_streams = max_streams
        self.open_streams = 0
        self.closing = asyncio.Event()
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self._cursor: int | None = None

    def try_acquire(self) -> bool:
        if self.closing.is_set() or self.open_streams >= self.max_streams:
            return False
        self.open_streams += 1
        return True

    def release(self) -> None:
        self.open_streams -= 1

    @contextlib.contextmanager
    def subscribe(self, job_id: str):
        waker = asyncio.Event()
        self._waiters[job_id].add(waker)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="openqio-event-hub")
        try:
            yield waker
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(waker)
                if not waiters:
                    del self._waiters[job_id]

    async def _poll(self) -> None:
        """Runs while anyone listens; one query per tick finds the jobs that moved."""
        try:
            if self._cursor is None:
                self._cursor = await self.store.last_event_seq()
            while self._waiters and not self.closing.is_set():
                try:
                    moved = await self.store.events_since(self._cursor, limit=5000)
                except Exception:  # noqa: BLE001 - a transient store error must not kill every stream's wake-ups
                    log.exception("event hub: reading new events failed")
                    moved = []
                for seq, job_id in moved:
                    self._cursor = max(self._cursor, seq)
                    for waker in self._waiters.get(job_id, ()):
                        waker.set()
                if len(moved) < 5000:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.closing.wait(), POLL_S)
        finally:
            self._task = None

    async def close(self) -> None:
        """End every stream (they see `closing` and return) and stop polling."""
        self.closing.set()
        for waiters in list(self._waiters.values()):
            for waker in waiters:
                waker.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


HUB = web.AppKey("event_hub", EventHub)


def _start_after(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after", "0")
    try:
        after = int(raw)
    except ValueError:
        raise ContractError(errors.BAD_REQUEST,
                            f"'after' (or Last-Event-ID) must be an integer event sequence number; got {raw!r}") from None
    if after >= 2**63:  # SQLite integers are 64-bit: a larger one would overflow in the driver, mid-stream
        raise ContractError(errors.BAD_REQUEST, f"'after' (or Last-Event-ID) must be below 2**63; got {raw!r}")
    return max(after, 0)


def format_event(event) -> bytes:
    """One SSE frame. JSON never holds a raw newline, so `data:` is always one line."""
    body = json.dumps({"seq": event.seq, "kind": event.kind, "data": event.data, "time": event.time},
                      separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {body}\n\n".encode()


async def job_stream(request: web.Request) -> web.StreamResponse:
    _, job = await find_job(request)  # 404 for unknown ids and other workspaces, before anything is streamed
    after = _start_after(request)
    hub = request.app[HUB]
    if not hub.try_acquire():
        return web.json_response(
            {"error": {"code": TOO_MANY_STREAMS, "message": f"too many open event streams (limit {hub.max_streams}); "
                       "retry later or poll GET jobs/{id}/events"}},
            status=503, headers={"Retry-After": "5"})
    try:
        return await _stream(request, hub, job.id, job.status in TERMINAL, after)
    finally:
        hub.release()


async def _stream(request: web.Request, hub: EventHub, job_id: str, was_terminal: bool, after: int) -> web.StreamResponse:
    store = request.app[STORE]
    keepalive_s = request.app[SETTINGS].stream_keepalive_s
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",  # reverse proxies must not buffer the stream
    })
    await response.prepare(request)
    extra = {"job_id": job_id}
    log.debug("stream for job %s opened after seq %d", job_id, after, extra=extra)
    last_write = time.monotonic()
    try:
        with hub.subscribe(job_id) as waker:
            while not hub.closing.is_set() and not _client_gone(request):
                waker.clear()  # before reading: an event committed after the read sets it again
                events = await store.events(job_id, after=after, limit=PAGE)
                done = False
                for event in events:
                    await response.write(format_event(event))
                    after = event.seq
                    if event.kind in TERMINAL_KINDS:
                        done = True
                        break
                if events:
                    last_write = time.monotonic()
                if done or (was_terminal and len(events) < PAGE):
                    break
                if len(events) == PAGE:
                    continue  # more to replay
                remaining = keepalive_s - (time.monotonic() - last_write)
                try:
                    await asyncio.wait_for(waker.wait(), min(max(remaining, 0.0), CLIENT_CHECK_S))
                except TimeoutError:
                    if time.monotonic() - last_write < keepalive_s:
                        continue
                    await response.write(b": keep-alive\n\n")
                    last_write = time.monotonic()
                    # A resume point past the job's last event would otherwise wait forever: look at the status.
                    current = await store.get(None, job_id)
                    if current is None or current.status in TERMINAL:
                        was_terminal = True
    except ConnectionResetError:
        log.debug("stream for job %s closed by the client", job_id, extra=extra)
        return response
    except Exception:  # headers are sent: end the stream (the client resumes with Last-Event-ID) and log why
        log.exception("stream for job %s failed", job_id, extra=extra)
        return response
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def setup(app: web.Application, prefix: str) -> None:
    """Register the route and the hub (created at start-up, closed at shutdown: every stream ends)."""
    async def _open(app: web.Application) -> None:
        app[HUB] = EventHub(app[STORE], app[SETTINGS].max_streams)

    async def _close(app: web.Application) -> None:
        if HUB in app:
            await app[HUB].close()

    app.on_startup.append(_open)
    app.on_shutdown.append(_close)
    app.on_cleanup.append(_close)
    app.router.add_route("GET", prefix + "/jobs/{job_id}/stream", job_stream)
