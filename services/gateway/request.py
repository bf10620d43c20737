"""What every handler needs from a request, checked the same way everywhere: the workspace the path names (which
must be the token's), the job id, the JSON body, the workspace's blob store, the job itself. Used by the REST
views, the event stream and the dashboard's endpoints."""
from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from contracts import errors
from contracts.errors import ContractError
from contracts.jobs import JobDetails

from .keys import BLOBS, SETTINGS, STORE, WORKSPACE

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def bad(message: str, code: str = errors.BAD_REQUEST) -> ContractError:
    return ContractError(code, message)


def workspace_of(request: web.Request) -> str:
    """The path's workspace, which must be the one the token grants (otherwise: not found, so nothing leaks)."""
    settings = request.app[SETTINGS]
    info = request.match_info
    if (
        info["sub"].lower() != settings.subscription_id.lower()
        or info["rg"].lower() != settings.resource_group.lower()
        or info["ws"] != request[WORKSPACE]
    ):
        raise ContractError(errors.NOT_FOUND, f"workspace {info['ws']!r} was not found")
    return info["ws"]


def job_id_of(request: web.Request) -> str:
    job_id = request.match_info["job_id"]
    if not _JOB_ID.match(job_id):
        raise bad(f"invalid job id {job_id!r}: use up to 128 letters, digits, '.', '_' or '-'")
    return job_id


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise bad("the request needs a JSON body")
    try:
        body = json.loads(raw)
        # "\ud800"-style escapes give lone surrogates: not text, and SQLite (or any UTF-8 encoder) fails on them later;
        # so do surrogates encoded as UTF-8 bytes (json.loads decodes with surrogatepass). A body of ASCII bytes
        # without a \u escape holds neither, and needs no second pass (most bodies: the SDK's JSON is ASCII).
        if not raw.isascii() or b"\\u" in raw:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise bad("request JSON is nested too deeply") from None
    except UnicodeEncodeError:
        raise bad("request JSON holds an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not text") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"request body is not valid JSON: {exc}") from None
    return body


def blobs_of(request: web.Request) -> Any:
    """The blob store of the token's workspace (its own storage account, when it has one)."""
    return request.app[BLOBS].for_workspace(request[WORKSPACE])


async def find_job(request: web.Request) -> tuple[str, JobDetails]:
    workspace = workspace_of(request)
    job_id = job_id_of(request)
    job = await request.app[STORE].get(workspace, job_id)
    if job is None:
        raise ContractError(errors.JOB_NOT_FOUND, f"job {job_id} was not found")
    return workspace, job
