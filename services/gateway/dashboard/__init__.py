"""The dashboard: a static page served at GET /dashboard, and the two small JSON endpoints only it needs.

The page (index.html, style.css and the ES modules app.js, api.js, plot.js, result.js beside this file; no build
step, nothing from a CDN) is public: it holds no data. Everything it shows comes from the authenticated REST API,
called with the bearer token the user pastes once (kept in sessionStorage) or passes in the URL fragment
`#token=...`, which browsers never send to a server.

- GET /dashboard/workspace (authenticated): the workspace the token grants and its REST prefix, so the page needs
  no configuration.
- GET {prefix}/jobs/{id}/summary (authenticated): the job's input summarised (problem type, variables, terms,
  grouped terms, highest term degree, stored size). Computed by the gateway from the input blob on first request,
  on a worker thread, at most SUMMARY_CONCURRENCY at once, and only for inputs up to SUMMARY_MAX_BYTES (stored and
  decompressed), so a huge problem cannot make the gateway hold it; the answer is kept in a small in-memory LRU
  (inputs do not change after submit; a missing input is not cached).
"""
from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from contracts import errors
from contracts.errors import ContractError
from contracts.problems import ProblemData, decode_problem
from services.blobs import InputError

from ..keys import SETTINGS, WORKSPACE

STATIC = Path(__file__).resolve().parent
# path -> (file beside this module, content type); the only files served, so no path ever reaches the file system
ASSETS = {
    "/dashboard": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/dashboard/api.js": ("api.js", "text/javascript; charset=utf-8"),
    "/dashboard/plot.js": ("plot.js", "text/javascript; charset=utf-8"),
    "/dashboard/result.js": ("result.js", "text/javascript; charset=utf-8"),
    "/dashboard/style.css": ("style.css", "text/css; charset=utf-8"),
}
PUBLIC_PATHS = frozenset(ASSETS)  # the auth middleware lets these through; they carry no data

SUMMARY_MAX_BYTES = 32 * 1024 * 1024
SUMMARY_CACHE_SIZE = 512
SUMMARIES = web.AppKey("dashboard_summaries", OrderedDict)
SUMMARY_SLOTS = web.AppKey("dashboard_summary_slots", asyncio.Semaphore)
REST_PREFIX = web.AppKey("dashboard_rest_prefix", str)  # the REST routes' template, {sub} {rg} {ws}
SUMMARY_CONCURRENCY = 2  # inputs decoded at once for summaries: bounds the gateway's memory to ~2 large inputs

_HEADERS = {
    # the page runs only its own script and talks only to this origin
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@functools.cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


async def asset(request: web.Request) -> web.Response:
    name, content_type = ASSETS[request.path]
    return web.Response(body=_read(name), headers={**_HEADERS, "Content-Type": content_type})


async def workspace_info(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    workspace = request[WORKSPACE]
    prefix = request.app[REST_PREFIX].format(sub=settings.subscription_id, rg=settings.resource_group, ws=workspace)
    return web.json_response({
        "subscriptionId": settings.subscription_id,
        "resourceGroup": settings.resource_group,
        "workspace": workspace,
        "location": settings.location,
        "prefix": prefix,
    })


def summarize(problem: ProblemData) -> dict[str, Any]:
    """Counts a person wants to see about a problem. Pure; units are counts."""
    degrees = np.diff(problem.offsets) if problem.n_terms else np.zeros(0, np.int64)
    return {
        "problemType": problem.problem_type,
        "variables": int(problem.variable_ids().shape[0]),
        "terms": problem.n_terms,
        "groupedTerms": int(problem.slc_coeffs.shape[0]),
        "maxDegree": int(degrees.max()) if degrees.size else 0,
        "initialConfiguration": bool(problem.initial_configuration),
        "name": problem.name,
    }


async def job_summary(request: web.Request) -> web.Response:
    from ..views import _find  # the same workspace/id checks as every job route

    workspace, job = await _find(request)
    cache: OrderedDict = request.app[SUMMARIES]
    key = (workspace, job.id)
    if key in cache:
        cache.move_to_end(key)
        return web.json_response(cache[key])
    summary: dict[str, Any] = {"jobId": job.id, "available": False}
    async with request.app[SUMMARY_SLOTS]:
        if key in cache:  # computed while this request waited for a slot
            return web.json_response(cache[key])
        summary, keep = await _compute(request, job, summary)
    if keep:
        cache[key] = summary
        while len(cache) > SUMMARY_CACHE_SIZE:
            cache.popitem(last=False)
    return web.json_response(summary)


async def _compute(request: web.Request, job: Any, summary: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the summary or why there is none, whether to cache it): a missing input may still appear, so it is not."""
    from ..views import _blobs  # the token's workspace's own storage account

    try:
        data, content_type = await _blobs(request).read_input(job.input_data_uri, job.container_uri, max_bytes=SUMMARY_MAX_BYTES)
    except InputError as exc:
        if exc.code != errors.PROBLEM_TOO_LARGE:  # missing or unreadable: not cached, it may be a transient state
            return {**summary, "reason": exc.message}, False
        summary["reason"] = f"the input is larger than the dashboard summarises ({SUMMARY_MAX_BYTES} bytes)"
    else:
        summary.update(inputBytes=len(data), contentType=content_type)
        limits = replace(request.app[SETTINGS].problem_limits,
                         max_input_bytes=min(SUMMARY_MAX_BYTES, request.app[SETTINGS].max_input_bytes))
        try:
            problem = await asyncio.to_thread(decode_problem, data, content_type, limits)
        except ContractError as exc:
            summary["reason"] = f"the input could not be decoded: {exc.message}"
        else:
            summary.update(summarize(problem), available=True)
    return summary, True


def add_routes(app: web.Application, prefix: str) -> None:
    app[REST_PREFIX] = prefix
    app[SUMMARIES] = OrderedDict()
    app[SUMMARY_SLOTS] = asyncio.Semaphore(SUMMARY_CONCURRENCY)
    for path in ASSETS:
        app.router.add_get(path, asset)
    app.router.add_get("/dashboard/workspace", workspace_info)
    app.router.add_get(prefix + "/jobs/{job_id}/summary", job_summary)
