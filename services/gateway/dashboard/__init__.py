"""The dashboard: a static page served at GET /dashboard, and the small JSON endpoints only it needs.

The page (index.html, style.css and the ES modules app.js, api.js, plot.js, result.js beside this file; no build
step, nothing from a CDN) is public: it holds no data. Everything it shows comes from the authenticated REST API,
called with the bearer token the user pastes once (kept in sessionStorage) or passes in the URL fragment
`#token=...`, which browsers never send to a server.

- GET /dashboard/workspace (authenticated): the workspace the token grants and its REST prefix, so the page needs
  no configuration.
- GET /dashboard/load (authenticated): the service's load as admission control sees it (jobs waiting, places held by
  submissions uploading or promised to refused clients, the pace jobs start at while jobs wait, or the peak start
  rate of the last minute or the runners over their recent time per job until that is measured, the queueing delay it
  estimates (less the recent submissions' upload time), whether it admits new submissions, how many it refused since
  it started, its limits) and the runners busy. Counts only, the same for every workspace: what an operator reads
  when clients get 429s. No store or storage call. The workspaces OPENQIO_LOAD_VIEWERS names may read it (every one
  by default); the others get 403, and their dashboard shows no load line.
- GET {prefix}/jobs/{id}/summary (authenticated): the job's input summarised (problem type, variables, terms,
  grouped terms, highest term degree, stored size), as the runner recorded it when it decoded the input
  (contracts.summary): one store read. The gateway never reads or decodes an input for it (decoding a large input
  held the event loop, and every client, for seconds), so it answers at once even while blob storage is down.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

from aiohttp import web

from contracts import errors
from contracts.errors import ContractError
from contracts.status import JobStatus
from contracts.summary import unavailable

from ..keys import ADMISSION, DISKS, DISPATCHER, SETTINGS, STORE, WORKSPACE
from ..request import find_job

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

REST_PREFIX = web.AppKey("dashboard_rest_prefix", str)  # the REST routes' template, {sub} {rg} {ws}

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


async def service_load(request: web.Request) -> web.Response:
    viewers = request.app[SETTINGS].load_viewer_set
    if viewers is not None and request[WORKSPACE] not in viewers:
        raise ContractError(errors.FORBIDDEN, "this workspace may not read the service's load (the service's "
                                              "OPENQIO_LOAD_VIEWERS names the workspaces that may)")
    body = request.app[ADMISSION].load()
    pool = getattr(request.app[DISPATCHER], "pool", None)
    if pool is not None:
        body["runners"] = {"total": pool.size, "busy": len(pool.busy_jobs())}  # running a job (not: not idle)
    full_since = request.app[STORE].full_since  # new jobs get 507 while it is (services/jobs/group_commit.py)
    body["diskFullSeconds"] = None if full_since is None else round(time.time() - full_since)
    waiting = request.app[DISPATCHER].results_waiting_for_space()  # (services/dispatch/dispatcher.py)
    body["blobDiskFull"] = None if waiting is None else {"seconds": round(time.time() - waiting[1]),
                                                         "resultsWaiting": waiting[0]}
    body["disks"] = [disk.as_json() for disk in await request.app[DISKS].check()]  # (services/disks.py)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def job_summary(request: web.Request) -> web.Response:

    workspace, job = await find_job(request)
    summary = await request.app[STORE].summary(workspace, job.id)
    if summary is None:
        if job.status in (JobStatus.WAITING, JobStatus.EXECUTING):
            summary = unavailable("the input is summarised when the job runs")
        else:
            summary = unavailable("no summary was recorded for this job (it ended before openqio kept them, or before "
                                  "its input was read)")
    return web.json_response({"jobId": job.id, **summary})


def add_routes(app: web.Application, prefix: str) -> None:
    app[REST_PREFIX] = prefix
    for path in ASSETS:
        app.router.add_get(path, asset)
    app.router.add_get("/dashboard/workspace", workspace_info)
    app.router.add_get("/dashboard/load", service_load)
    app.router.add_get(prefix + "/jobs/{job_id}/summary", job_summary)
