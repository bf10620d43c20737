"""The aiohttp application: route table, error middleware and bearer-token auth.

Every answer that is not a success is `{"error": {"code", "message"}}` with a fitting status; an unexpected
exception is logged with its traceback and answered as a generic 500, never shown to the client.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from contracts import errors
from contracts.errors import ContractError
from services.blobs import StorageUnavailable
from services.config import Settings
from services.disks import Disks
from services.jobs.store import StoreFull

from . import (
    auth,
    dashboard,  # noqa: I001 - its own line: the dashboard's static page and summary endpoint
    stream,
    views,
)
from .admission import Admission
from .job_urls import SAS_CACHE, SasCache
from .keys import ADMISSION, BLOBS, DISKS, DISPATCHER, SETTINGS, STORE

log = logging.getLogger(__name__)

PREFIX = ("/v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Quantum/workspaces/{ws}")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


_HTTP_CODES = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHORIZED,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    409: errors.CONFLICT,
    413: errors.PAYLOAD_TOO_LARGE,
}
_CONTRACT_STATUS = {
    errors.JOB_NOT_FOUND: 404,
    errors.NOT_FOUND: 404,
    errors.CONFLICT: 409,
    errors.JOB_ALREADY_FINISHED: 409,
    errors.CONTAINER_IN_USE: 409,
    errors.JOB_NOT_SUCCEEDED: 409,
    errors.PAYLOAD_TOO_LARGE: 413,
    errors.UNAUTHORIZED: 401,
    errors.FORBIDDEN: 403,
}


@web.middleware
async def log_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """One structured debug line per request (the access log): method, path, status, duration. Never the token."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects and the like pass through the error middleware
        status = exc.status
        raise
    finally:
        if log.isEnabledFor(logging.DEBUG):
            job_id = request.match_info.get("job_id")
            log.debug("%s %s -> %d", request.method, request.path, status, extra={
                "method": request.method, "path": request.path, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                **({"job_id": job_id} if job_id else {}),
            })


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    try:
        return await handler(request)
    except ContractError as exc:
        return error_response(_CONTRACT_STATUS.get(exc.code, 400), exc.code, exc.message)
    except StorageUnavailable as exc:
        log.warning("storage unavailable: %s", exc)
        return error_response(503, errors.STORAGE_UNAVAILABLE, "blob storage is unavailable; retry later",
                              headers={"Retry-After": "2"})
    except StoreFull:  # logged once by the store, with the file; no Retry-After: freeing space takes a person
        return error_response(507, errors.INSUFFICIENT_STORAGE, "the service's disk is full: nothing of this request "
                              "was stored; send it again once its operator has freed space")
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_request_bytes
        return error_response(413, errors.PAYLOAD_TOO_LARGE, f"request body is larger than {limit} bytes")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, errors.BAD_REQUEST if exc.status < 500 else errors.INTERNAL_ERROR)
        message = exc.reason if exc.status != 404 else f"no route for {request.method} {request.path}"
        allow = exc.headers.get("Allow")  # a 405 must say which methods the resource has (RFC 9110 §15.5.6)
        return error_response(exc.status, code, message, headers={"Allow": allow} if allow else None)
    except Exception:
        log.exception("unhandled error for %s %s", request.method, request.path)
        return error_response(500, errors.INTERNAL_ERROR, "internal error; the service log has the details")


BODY_READ_TIMEOUT_S = 30.0  # a whole request body (at most OPENQIO_MAX_REQUEST_BYTES) must arrive within this


@web.middleware
async def body_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Reads every request body here, once, before its handler (which then gets it from aiohttp's cache), so that:
    a declared Content-Length over the limit is answered 413 before a byte is read; a body that does not arrive
    within BODY_READ_TIMEOUT_S (a Content-Length larger than what is sent, a trickle) is answered 408 instead of
    holding the connection; a client that goes away mid-body is one INFO line, not an ERROR with a traceback.
    Runs after auth, so nobody without a token makes the gateway read anything."""
    if not request.body_exists:
        return await handler(request)
    limit = request.app[SETTINGS].max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        return _close(error_response(413, errors.PAYLOAD_TOO_LARGE, f"request body is larger than {limit} bytes "
                                     f"(Content-Length: {request.content_length})"))
    try:
        # no deadline for a body that came whole with its headers, as small ones do: there is nothing to wait for, and
        # a scheduled deadline cost ~7 % of the gateway's CPU for each refused submission
        async with asyncio.timeout(None if request.content.is_eof() else BODY_READ_TIMEOUT_S):
            await request.read()
    except TimeoutError:
        log.info("request body not received within %s s: %s %s", BODY_READ_TIMEOUT_S, request.method, request.path)
        return _close(error_response(408, errors.REQUEST_TIMEOUT,
                                     f"the request body did not arrive within {BODY_READ_TIMEOUT_S:g} s"))
    except ConnectionResetError:
        log.info("client disconnected before its request body was read: %s %s", request.method, request.path)
        return _close(error_response(400, errors.BAD_REQUEST, "the connection closed before the body was read"))
    return await handler(request)


def _close(response: web.Response) -> web.Response:
    """Answer and close: the unread rest of the body must not be taken for the next request on this connection."""
    response.force_close()
    return response


class QuietMalformedRequests(logging.Filter):
    """aiohttp logs every request its parser refuses (bad request line, oversized or invalid header, bad chunk) at
    ERROR with a traceback and the offending bytes, which may hold an Authorization header: anyone could fill the log
    with tracebacks and tokens. Keep one WARNING line naming only the kind of error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            record.msg, record.args = "malformed HTTP request refused (%s, %d)", (type(exc).__name__, exc.code)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_aiohttp_server_log() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietMalformedRequests) for f in server_log.filters):
        server_log.addFilter(QuietMalformedRequests())


def create_app(settings: Settings, store: Any, blobs: Any, dispatcher: Any, disks: Disks | None = None) -> web.Application:
    """The gateway; `disks`: those holding the service's data (services/disks.py), by default the job database's."""
    _quiet_aiohttp_server_log()
    app = web.Application(client_max_size=settings.max_request_bytes,
                          middlewares=[log_middleware, error_middleware, auth.middleware(settings), body_middleware])
    app[SETTINGS] = settings
    app[STORE] = store
    app[BLOBS] = blobs
    app[DISPATCHER] = dispatcher
    app[SAS_CACHE] = SasCache(settings.sas_ttl_s)
    app[DISKS] = disks if disks is not None else Disks.of_service(settings.database_path.parent)
    pool = getattr(dispatcher, "pool", None)  # its size: jobs that run at once (a Ray cluster's can change)
    app[ADMISSION] = Admission(lambda: store.backlog(pool.size if pool is not None else 0), settings.max_waiting,
                               settings.max_queue_delay_s)
    app.router.add_get("/healthz", views.health)
    app.router.add_route("PUT", PREFIX + "/jobs/{job_id}", views.put_job)
    app.router.add_route("GET", PREFIX + "/jobs/{job_id}", views.get_job)
    app.router.add_route("DELETE", PREFIX + "/jobs/{job_id}", views.delete_job)
    app.router.add_route("PATCH", PREFIX + "/jobs/{job_id}", views.patch_job)
    app.router.add_route("GET", PREFIX + "/jobs", views.list_jobs)
    app.router.add_route("GET", PREFIX + "/jobs/{job_id}/events", views.job_events)
    app.router.add_route("GET", PREFIX + "/jobs/{job_id}/output", views.job_output)
    stream.setup(app, PREFIX)  # GET jobs/{job_id}/stream: server-sent events
    app.router.add_route("POST", PREFIX + "/storage/sasUri", views.sas_uri)
    app.router.add_route("GET", PREFIX + "/providerStatus", views.provider_status)
    app.router.add_route("GET", PREFIX + "/quotas", views.quotas)
    dashboard.add_routes(app, PREFIX)  # GET /dashboard (public page), /dashboard/workspace and /load, jobs/{id}/summary
    return app
