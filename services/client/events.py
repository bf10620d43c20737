"""Job events for clients: the `JobEvent` value and the reader of `GET jobs/{id}/stream` (server-sent events).

The service writes each event as `id: <seq>`, `event: <kind>`, `data: <JSON {"seq", "kind", "data", "time"}>` and
a blank line; lines starting with `:` are keep-alive comments. Kinds: contracts.events.EventKind (submitted, started,
progress, cancel_requested, requeued, and the terminal succeeded, failed, cancelled).
"""
from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from contracts.events import TERMINAL_KINDS, EventKind

from .errors import ServiceConnectionError, error_from_response


@dataclass(frozen=True)
class JobEvent:
    """One event of a job's log. `seq` grows across the whole service; `time` is ISO-8601 UTC."""

    seq: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    time: str = ""

    @property
    def is_terminal(self) -> bool:
        """True for succeeded, failed and cancelled: no event of this job follows."""
        return self.kind in TERMINAL_KINDS

    @property
    def is_progress(self) -> bool:
        return self.kind == EventKind.PROGRESS

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> JobEvent:
        return cls(seq=int(item["seq"]), kind=str(item["kind"]), data=dict(item.get("data") or {}),
                   time=str(item.get("time") or ""))


def parse_sse(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """SSE frames from decoded lines (without or with their newline), per the WHATWG rules this service needs:
    `field: value` (one optional space after the colon), `data` lines joined by newlines, comments skipped, a
    blank line ends a frame. Frames without data are dropped, as browsers do."""
    frame: dict[str, str] = {}
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data:
                frame["data"] = "\n".join(data)
                yield frame
            frame, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("id", "event", "retry"):
            frame[name] = value


def event_from_frame(frame: dict[str, str]) -> JobEvent:
    return JobEvent.from_wire(json.loads(frame["data"]))


async def read_stream(rest: Any, url: str, after: int = 0, idle_timeout: float = 120.0) -> AsyncGenerator[JobEvent, None]:
    """Open the stream after `after` (sent as Last-Event-ID) and yield its events until the server ends it.

    Error answers raise the client's typed errors (401 AuthenticationError, 404 JobNotFoundError, ...); a
    connection that cannot be made, breaks, or stays silent for `idle_timeout` seconds (the server writes a
    keep-alive every 15 s) raises ServiceConnectionError."""
    headers = rest.headers()
    headers["Accept"] = "text/event-stream"
    headers["Last-Event-ID"] = str(int(after))
    timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_read=idle_timeout)
    try:
        async with rest.session() as session:
            async with session.get(url, headers=headers, timeout=timeout) as resp:
                if resp.status != 200:
                    raw = await resp.read()
                    try:
                        body: Any = json.loads(raw) if raw.strip() else None
                    except ValueError:
                        body = raw.decode("utf-8", "replace")
                    raise error_from_response(resp.status, body, resp.reason or "")
                lines: list[str] = []
                try:
                    while True:
                        line = await resp.content.readline()
                        if not line:
                            return
                        text = line.decode("utf-8")
                        if text.strip():
                            lines.append(text)
                            continue
                        lines.append("")
                        for frame in parse_sse(lines):
                            yield event_from_frame(frame)
                        lines = []
                except BaseException:
                    # Left mid-stream (closed early, cancelled, broken): the connection cannot be reused. Abort it
                    # rather than close it: a TLS close waits for the server's close_notify, and a loop stopped
                    # right after (the sync client's, when its Workspace closes) never reads it, leaving the socket
                    # open on a closed loop.
                    if resp.connection is not None and resp.connection.transport is not None:
                        resp.connection.transport.abort()
                    raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ServiceConnectionError(f"event stream from {url} broke ({type(exc).__name__}: {exc})", error=exc) from exc
