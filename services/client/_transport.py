"""The REST transport of the async client: aiohttp over TLS with the bearer token, retries, typed errors, paging.

Sessions: a Workspace used as `async with` keeps one session (connection pool) until it exits; otherwise each
call opens and closes its own, as azure.quantum.aio does, so a Workspace that is never closed leaks nothing.

Retries (what azure-core's default policy does, trimmed to what matters here): 408, 429, 500, 502, 503 and 504 on
GET/PUT/DELETE, and 429/503 on POST/PATCH (answers that say the request was not processed), up to
`RETRY_TOTAL` times, waiting `Retry-After` when given, else exponential backoff. Connection failures are retried
for every method when the connection could not be made, and for GET/PUT/DELETE (idempotent here) otherwise.

Back-pressure: a 429 that carries `Retry-After` (the service at capacity, services/gateway/admission.py) is
retried for as long as it asks, up to BACKPRESSURE_WAIT_S in all, however many answers that takes: the service
staggers the times it gives, and each wait gets up to a quarter more at random, so refused clients do not come back
together. The time is taken from `retry-after-ms` (or `x-ms-retry-after-ms`) when the answer has one: Retry-After
is whole seconds, later than the service's backlog needs when it drains in less than one.
`on_backoff(status, wait_s, message)`, when set, is told before each such wait (the CLI prints it).

A 429 with Retry-After is said to the client, not only to the request it answers (RFC 6585: the client "has sent too
many requests"): until the time it gives, a new submission (`request(..., submission=True)`: the sasUri of a
container, where every submission starts and where the service refuses at capacity) is not sent. It waits out the rest
of that time as a retry would, or, where it may not wait that long (BACKPRESSURE_WAIT_S; 0 for a client that tries
once), is refused at once with the service's last 429 and the time left, without a request. Requests that are never
refused at capacity (reads, cancels, the PUT of a submission already let in) are not held. At 200 % of capacity, 50
clients trying each submission once sent 0.7-2.1 refused submissions per completed job, each costing the client and
the gateway ~1.4 ms of CPU (8-30 % of a whole job's); holding, they sent 0.3-0.4 (benchmarks/README.md,
"2026-12-06 afternoon").
"""
from __future__ import annotations

import asyncio
import functools
import json
import platform
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from .connection import Connection
from .errors import ClientError, ServiceConnectionError, error_from_response

VERSION = "0.1.0"
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
RETRY_STATUS_IDEMPOTENT = frozenset({408, 429, 500, 502, 503, 504})
RETRY_STATUS_OTHER = frozenset({429, 503})
# Python before 3.12.8 (and 3.13.0) can leave the socket of a TLS connection open when the connection's graceful
# close (its close_notify sent, the server's awaited) is still under way as the event loop closes (cpython#118960).
# A kept-alive connection that expires is closed that way, and a sync Workspace closed at that moment stops its
# loop first. With enable_cleanup_closed, aiohttp keeps such connections and aborts them when the session closes.
CLEANUP_CLOSED = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)


def connector(**options: Any) -> aiohttp.TCPConnector:
    """A connection pool for the client's sessions: TLS connections whose graceful close is cut short by the loop
    closing are aborted, not left open (CLEANUP_CLOSED)."""
    return aiohttp.TCPConnector(enable_cleanup_closed=CLEANUP_CLOSED, **options)


class RestClient:
    RETRY_TOTAL = 3
    BACKOFF_S = 0.5  # first wait; doubles each retry (with ±25 % jitter)
    BACKOFF_MAX_S = 30.0
    RETRY_AFTER_MAX_S = 60.0
    BACKPRESSURE_WAIT_S = 300.0  # longest time in all a request waits on 429 with Retry-After
    BACKPRESSURE_MIN_S = 0.5  # shortest such wait told in whole seconds (a Retry-After of 0 must not make a busy loop)
    BACKPRESSURE_MIN_MS_S = 0.01  # shortest such wait told in milliseconds (retry-after-ms)
    HOLD_SUBMISSIONS = True  # False: every submission is sent, whatever the last 429 asked (as the SDK's clients)
    TIMEOUT = aiohttp.ClientTimeout(total=300, connect=30)

    def __init__(self, connection: Connection, user_agent: str | None = None):
        self.connection = connection
        self.user_agent = user_agent
        self._ssl = connection.ssl_context() if connection.base_url.startswith("https:") else None
        self._session: aiohttp.ClientSession | None = None
        self.on_backoff: Callable[[int, float, str], None] | None = None
        self._hold_until = 0.0  # time.monotonic() before which no new submission is sent (the last 429's Retry-After)
        self._hold_answer: tuple[Any, str] = (None, "")  # that 429's body and reason

    # -- sessions ----------------------------------------------------------------------------------------------

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector(ssl=self._ssl if self._ssl is not None else True),
            timeout=self.TIMEOUT,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = self._new_session()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self._session is not None and not self._session.closed:
            yield self._session
            return
        session = self._new_session()
        try:
            yield session
        finally:
            await session.close()

    # -- requests ----------------------------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        agent = _agent()
        headers = {
            "Accept": "application/json",
            "User-Agent": f"{self.user_agent} {agent}" if self.user_agent else agent,
            "x-ms-client-request-id": str(uuid.uuid4()),
        }
        if self.connection.token:
            headers["Authorization"] = f"Bearer {self.connection.token}"
        return headers

    async def request(self, method: str, url: str, json_body: Any = None, expect: tuple[int, ...] = (200,), *,
                      submission: bool = False) -> Any:
        """Send one request (with retries); return the parsed JSON answer, or None for an empty one. A `submission`
        is held while the service's last 429 asks this client to wait (see the module's docstring)."""
        method = method.upper()
        # seconds waited on 429 with Retry-After (a held submission's wait included)
        pushed_back = await self._held() if submission and self.HOLD_SUBMISSIONS else 0.0
        data = json.dumps(json_body).encode() if json_body is not None else None
        async with self.session() as session:
            attempt = 0
            while True:
                headers = self.headers()
                if data is not None:
                    headers["Content-Type"] = "application/json"
                try:
                    async with session.request(method, url, data=data, headers=headers) as resp:
                        raw = await resp.read()
                        status, reason, retry_after = resp.status, resp.reason or "", resp.headers.get("Retry-After")
                        retry_after_ms = resp.headers.get("retry-after-ms") or resp.headers.get("x-ms-retry-after-ms")
                except (TimeoutError, aiohttp.ClientError) as exc:
                    connect_failed = isinstance(exc, aiohttp.ClientConnectorError)
                    if attempt < self.RETRY_TOTAL and (connect_failed or method in IDEMPOTENT):
                        await asyncio.sleep(self._backoff(attempt))
                        attempt += 1
                        continue
                    raise ServiceConnectionError(
                        f"cannot reach the service at {self.connection.base_url} ({type(exc).__name__}: {exc}); "
                        "is it running (`make run`)?", error=exc) from exc
                body = _parse(raw)
                if status in expect:
                    return body
                wait = self._backpressure(retry_after, retry_after_ms) if status == 429 else None
                if wait is not None:
                    self._hold(wait, body, reason)
                if wait is not None and pushed_back + wait <= self.BACKPRESSURE_WAIT_S:
                    wait *= random.uniform(1.0, 1.25)
                    if self.on_backoff is not None:
                        self.on_backoff(status, wait, _message(body, reason))
                    await asyncio.sleep(wait)
                    pushed_back += wait
                    continue
                retryable = RETRY_STATUS_IDEMPOTENT if method in IDEMPOTENT else RETRY_STATUS_OTHER
                if attempt < self.RETRY_TOTAL and (status in retryable or (status >= 400 and retry_after)):
                    await asyncio.sleep(self._retry_after(retry_after, retry_after_ms) or self._backoff(attempt))
                    attempt += 1
                    continue
                if 200 <= status < 300:  # a success we did not expect (e.g. 200 instead of 204): accept it
                    return body
                # raised unnamed: an exception held by a local of the frame it is raised from makes a reference
                # cycle (exception → traceback → frame → exception) that only the garbage collector frees
                raise error_from_response(status, body, reason, retry_after=self._retry_after(retry_after, retry_after_ms))

    async def pages(self, url: str) -> AsyncIterator[dict[str, Any]]:
        """Items of a pageable answer (`{"value": [...], "nextLink": ...}`), following nextLink to the end."""
        next_url: str | None = url
        seen: set[str] = set()
        while next_url:
            if next_url in seen:
                raise ClientError(500, "InvalidNextLink", f"the service returned the same nextLink twice: {next_url}")
            seen.add(next_url)
            page = await self.request("GET", next_url)
            if not isinstance(page, dict):
                raise ClientError(500, "InvalidResponse", f"expected a JSON page from {next_url}, got {page!r:.200}")
            for item in page.get("value") or []:
                yield item
            link = page.get("nextLink")
            next_url = self.connection.absolute(link) if link else None

    # -- waits -------------------------------------------------------------------------------------------------

    def _hold(self, wait: float, body: Any, reason: str) -> None:
        """Hold new submissions for `wait` seconds from now (kept when an earlier 429 asked for longer)."""
        until = time.monotonic() + wait
        if until > self._hold_until:
            self._hold_until, self._hold_answer = until, (body, reason)

    async def _held(self) -> float:
        """Wait until the service's last 429 lets this client submit again (as a retry waits: up to a quarter more, at
        random, told to `on_backoff`); the seconds waited. Refused at once, with that 429 and the time left, where
        the wait would be longer than BACKPRESSURE_WAIT_S."""
        left = self._hold_until - time.monotonic()
        if left <= 0:
            return 0.0
        body, reason = self._hold_answer
        if left > self.BACKPRESSURE_WAIT_S:
            raise error_from_response(429, body, reason, retry_after=left, held=True)
        wait = left * random.uniform(1.0, 1.25)
        if self.on_backoff is not None:
            self.on_backoff(429, wait, _message(body, reason))
        await asyncio.sleep(wait)
        return wait

    def _backoff(self, attempt: int) -> float:
        return min(self.BACKOFF_S * 2**attempt, self.BACKOFF_MAX_S) * random.uniform(0.75, 1.25)

    def _retry_after(self, value: str | None, ms: str | None = None) -> float | None:
        """Seconds the answer asked for: `retry-after-ms` when given, else Retry-After (None when neither is a number;
        an HTTP date falls back to backoff)."""
        for text, scale in ((ms, 0.001), (value, 1.0)):
            if text:
                try:
                    return min(max(float(text) * scale, 0.0), self.RETRY_AFTER_MAX_S)
                except ValueError:
                    continue
        return None

    def _backpressure(self, value: str | None, ms: str | None) -> float | None:
        """The wait a 429 asks for before its retry, at least BACKPRESSURE_MIN_MS_S / _MIN_S (ms / seconds)."""
        wait = self._retry_after(None, ms)
        if wait is not None:
            return max(wait, self.BACKPRESSURE_MIN_MS_S)
        wait = self._retry_after(value)
        return None if wait is None else max(wait, self.BACKPRESSURE_MIN_S)


@functools.cache
def _agent() -> str:
    """The client's part of User-Agent, built once: `platform.platform()` costs ~5 us, and every request sends it."""
    return f"openqio-client/{VERSION} Python/{platform.python_version()} ({platform.platform(terse=True)})"


def _message(body: Any, reason: str) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message") or reason) if isinstance(error, dict) else reason


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
