"""Request handlers for the Azure Quantum REST API v1.0 (see shared/reference/azure-quantum-contract.md).

Validation happens here, once, at the boundary; handlers then talk to the store, the blob store and the dispatcher.
Every job answer carries SAS URLs (container, input, and output once Succeeded), as the real service did
(services/gateway/job_urls.py).
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any, overload

from aiohttp import web

from contracts import errors, targets
from contracts.errors import ContractError
from contracts.jobs import INPUT_FORMAT, JobDetails
from contracts.status import JobStatus
from services.blobs import InputError, StorageUnavailable
from services.blobs.azure_store import ForeignAccount, InputProbe, InvalidName, check_container_name
from services.jobs.sqlite_store import InvalidCursor
from services.jobs.store import CancelOutcome, ContainerInUse, JobExists

from .admission import PUT_HEADROOM
from .bounds import check_job_size
from .job_urls import render_job
from .keys import ADMISSION, DISPATCHER, SETTINGS, STORE, WORKSPACE
from .request import bad, blobs_of, find_job, job_id_of, json_body, workspace_of

log = logging.getLogger(__name__)

_JOB_CONTAINER = re.compile(r"^job-(.+)$")


async def _check_container_owner(request: web.Request, workspace: str, container: str, own_job: str | None = None) -> None:
    """`job-{id}` of a job in another workspace holds that workspace's data: not found here (404, not 403, so a
    token learns nothing about other workspaces' ids). Containers not named after a job cannot be attributed."""
    match = _JOB_CONTAINER.match(container)
    if match is None or match.group(1) == own_job:
        return
    store = request.app[STORE]
    other = match.group(1)
    # a new job's container (the usual case) is nobody's yet: one lookup
    if await store.get(None, other) is not None and await store.get(workspace, other) is None:
        raise ContractError(errors.NOT_FOUND, f"container {container!r} was not found")


@overload
def _str_field(body: dict, key: str, default: str) -> str: ...
@overload
def _str_field(body: dict, key: str, default: None = None) -> str | None: ...
def _str_field(body: dict, key: str, default: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad(f"field '{key}' must be a string; got {type(value).__name__}", errors.INVALID_JOB_DEFINITION)
    return value


def _required_str(body: dict, key: str) -> str:
    value = _str_field(body, key)
    if value is None:
        raise bad(f"field '{key}' is required", errors.INVALID_JOB_DEFINITION)
    return value


def parse_job(request: web.Request, body: Any, job_id: str) -> JobDetails:
    if not isinstance(body, dict):
        raise bad("the job must be a JSON object", errors.INVALID_JOB_DEFINITION)
    body_id = body.get("id", job_id)
    if body_id != job_id:
        raise bad(f"body id {body_id!r} does not match the path's job id {job_id!r}", errors.INVALID_JOB_DEFINITION)
    container_uri = _required_str(body, "containerUri")
    input_format = _required_str(body, "inputDataFormat")
    if input_format != INPUT_FORMAT:
        raise bad(f"inputDataFormat must be {INPUT_FORMAT!r}; got {input_format!r}", errors.INVALID_JOB_DEFINITION)
    provider = _required_str(body, "providerId")
    target = _required_str(body, "target")
    if target not in targets.SCHEMAS and provider in targets.SCHEMAS:  # Microsoft's weak-typing-solver-use sample
        raise ContractError(errors.INVALID_TARGET,
                            f"target {target!r} is not offered by this service, but the providerId {provider!r} is one "
                            f"of its targets: the two look swapped (azure-quantum 0.27's Solver takes the target "
                            f"first: Solver(workspace, {provider!r}, {target!r}, ...); an older SDK took the provider "
                            f"first)")
    family = targets.family_of(target)
    if provider.lower() != family.provider_id.lower():  # the SDK sends "Microsoft", "toshiba", "1qbit"
        raise ContractError(errors.INVALID_TARGET,
                            f"provider {provider!r} does not offer {target}; its provider is {family.provider_id!r}")
    params = targets.validate_params(target, body.get("inputParams"))
    output_format = _str_field(body, "outputDataFormat", default=family.output_format)
    if output_format != family.output_format:
        raise bad(f"outputDataFormat of {target} must be {family.output_format!r}; got {output_format!r}",
                  errors.INVALID_JOB_DEFINITION)
    blobs = blobs_of(request)
    input_uri = _str_field(body, "inputDataUri")
    try:
        blobs.parse_container_uri(container_uri)
        if input_uri:
            blobs.parse_blob_uri(input_uri)
    except ForeignAccount as exc:  # another workspace's storage: 404, like another workspace's container
        raise ContractError(errors.NOT_FOUND, str(exc)) from None
    except InvalidName as exc:
        raise bad(str(exc), errors.INVALID_JOB_DEFINITION) from None
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise bad("metadata must be an object of strings", errors.INVALID_JOB_DEFINITION)
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad("tags must be a list of strings", errors.INVALID_JOB_DEFINITION)
    name = _str_field(body, "name", default="Optimization problem")
    check_job_size(name, metadata, tags)
    return JobDetails(
        id=job_id,
        name=name,
        container_uri=container_uri.split("?")[0],  # SAS tokens are not stored; fresh ones go out on every GET
        input_data_uri=input_uri.split("?")[0] if input_uri else None,
        input_data_format=input_format,
        input_params=targets.stored_input_params(target, body.get("inputParams"), params),
        provider_id=provider,
        target=target,
        metadata=metadata,
        output_data_format=output_format,
        tags=tags,
    )


async def health(request: web.Request) -> web.Response:
    """200 {"status": "ok"}, or 503 {"status": "unhealthy", "reason"} while runners cannot start (the pool says why),
    the job database's disk is full, or finished jobs' results wait for space on blob storage's disk."""
    dispatcher = request.app[DISPATCHER]
    pool = getattr(dispatcher, "pool", None)
    reasons = [pool.health() if pool is not None else None]
    full_since = request.app[STORE].full_since
    if full_since is not None:
        reasons.append(f"the job database's disk has been full for {time.time() - full_since:.0f} s: new jobs are "
                       "refused and finished jobs wait to be recorded")
    waiting = dispatcher.results_waiting_for_space()
    if waiting is not None:
        count, since = waiting
        reasons.append(f"blob storage's disk has been full for {time.time() - since:.0f} s: {count} finished job(s) "
                       "wait to store their results, and new inputs may not fit")
    reason = "; ".join(filter(None, reasons))
    if reason:
        return web.json_response({"status": "unhealthy", "reason": reason}, status=503)
    return web.json_response({"status": "ok"})


async def put_job(request: web.Request) -> web.Response:
    """Submit: validate, admit (429 past the backlog limits, services/gateway/admission.py), check the input (holding a small one for the run), bind the job's container to it (a
    container holds one job's output), store the job Waiting (durably), wake the dispatcher. A re-PUT of the same
    body answers the stored job (idempotent)."""
    workspace = workspace_of(request)
    job_id = job_id_of(request)
    job = parse_job(request, await json_body(request), job_id)
    blobs = blobs_of(request)
    container = blobs.parse_container_uri(job.container_uri)
    admission = request.app[ADMISSION]
    held = admission.release(workspace, container)  # its sasUri was admitted and its place is still held
    refusal = None if held else admission.check(headroom=PUT_HEADROOM)
    if refusal is not None and await request.app[STORE].get(workspace, job_id) is None:  # a re-PUT is answered
        return refusal.response()
    await _check_container_owner(request, workspace, container, job_id)
    if job.input_data_uri:
        await _check_container_owner(request, workspace, blobs.parse_blob_uri(job.input_data_uri)[0], job_id)
    store, dispatcher = request.app[STORE], request.app[DISPATCHER]
    probe = await _probe_input(request, job)
    # Held before the job is stored: once its insert commits, the dispatcher may claim it or read its input ahead at
    # any turn of the event loop, and a job not held yet had its input read from storage a second time (62 such
    # read-aheads per 1000 jobs in a py-spy sample of the benchmark's 100 % phase).
    holding = probe.data is not None and dispatcher.hold_input(job_id, probe.data, probe.content_type)
    inserted = False
    try:
        stored = await store.insert(workspace, job, output_container=f"{blobs.account}/{container}",
                                    input_bytes=probe.size if probe.size >= 0 else None)
        inserted = True
    except JobExists as exc:
        if exc.existing is None:
            raise ContractError(errors.CONFLICT, f"job {job_id} already exists with a different definition") from None
        stored = exc.existing
    except ContainerInUse as exc:
        owner = f"job {exc.owner}" if exc.owner else "another job"
        raise ContractError(errors.CONTAINER_IN_USE,
                            f"container {container!r} already holds the output of {owner}; give each job a container "
                            f"of its own (the SDK uses job-{{id}}: job-{job_id})") from None
    finally:
        if holding and not inserted:  # not stored by this request: nothing will run on what it held
            dispatcher.drop_input(job_id)
    if inserted:
        dispatcher.wake()  # the store logged the new job (one line per status change)
    return web.json_response(render_job(request, stored), status=200)


_UNCHECKED = InputProbe(size=-1, data=None, content_type=None)


async def _probe_input(request: web.Request, job: JobDetails) -> InputProbe:
    """The input as checked at submission (its size is kept, and the bytes of a small one are held for the run), or
    `_UNCHECKED`: while storage does not answer (the input is read when the job runs, once storage is back), and
    when the input is missing or unreadable (the job is taken and ends Failed with the reason, as QIO did)."""
    try:
        return await blobs_of(request).probe_input(job.input_data_uri, job.container_uri)
    except StorageUnavailable as exc:
        log.warning("job %s: blob storage unavailable at submission (%s); its input is read when it runs", job.id,
                    exc, extra={"job_id": job.id})
    except InputError:
        pass
    return _UNCHECKED


async def get_job(request: web.Request) -> web.Response:
    _, job = await find_job(request)
    return web.json_response(render_job(request, job))


async def delete_job(request: web.Request) -> web.Response:
    """Cancel: the store decides in one transaction (JobStore.cancel); this maps its answer to HTTP."""
    workspace = workspace_of(request)
    job_id = job_id_of(request)
    outcome, job = await request.app[STORE].cancel(workspace, job_id)
    if outcome == CancelOutcome.NOT_FOUND:
        raise ContractError(errors.JOB_NOT_FOUND, f"job {job_id} was not found")
    if outcome == CancelOutcome.ALREADY_FINISHED:
        assert job is not None and job.status is not None  # a stored job always has a status
        raise ContractError(errors.JOB_ALREADY_FINISHED, f"job {job_id} has already finished ({job.status.value})")
    if outcome == CancelOutcome.CANCEL_REQUESTED:
        await request.app[DISPATCHER].cancel(job_id)  # its runner stops between chunks, or is killed after the grace
    return web.Response(status=204)


def _tag_index(text: str, bound: int) -> int:
    """A JSON Pointer array index (RFC 6901: digits, no sign, no leading zero) below `bound`; else IndexError."""
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0") or int(text) >= bound:
        raise IndexError(text)
    return int(text)


async def patch_job(request: web.Request) -> web.Response:
    """JSON Patch on `/tags` (add, remove, replace), the only field the API lets clients change."""
    workspace, job = await find_job(request)
    ops = await json_body(request)
    if not isinstance(ops, list):
        raise bad("a PATCH body is a JSON Patch array of operations")
    tags = list(job.tags)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace"):
            raise bad(f"unsupported patch operation {op!r}")
        path = op.get("path")
        if not isinstance(path, str) or not (path == "/tags" or path.startswith("/tags/")):
            raise bad(f"only /tags can be patched; got path {path!r}")
        index_text = path[len("/tags/"):] if path.startswith("/tags/") else None
        value = op.get("value")
        try:
            if op["op"] == "replace" and index_text is None:
                if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                    raise bad("replacing /tags needs a list of strings")
                tags = list(value)
            elif op["op"] == "add":
                if not isinstance(value, str):
                    raise bad("a tag must be a string")
                if index_text in (None, "-"):
                    tags.append(value)
                else:
                    tags.insert(_tag_index(index_text, len(tags) + 1), value)
            elif op["op"] == "remove" and index_text is not None:
                del tags[_tag_index(index_text, len(tags))]
            elif op["op"] == "replace" and index_text is not None:
                if not isinstance(value, str):
                    raise bad("a tag must be a string")
                tags[_tag_index(index_text, len(tags))] = value
            else:
                raise bad(f"unsupported patch operation {op!r}")
        except ContractError:
            raise  # already says what is wrong (ContractError is a ValueError: keep it out of the clause below)
        except (ValueError, IndexError):
            raise bad(f"patch path {path!r} does not name an existing tag") from None
    check_job_size(job.name or "", job.metadata, tags, before=job)
    updated = await request.app[STORE].set_tags(workspace, job.id, tags)
    if updated is None:
        raise ContractError(errors.JOB_NOT_FOUND, f"job {job.id} was not found")
    return web.json_response(render_job(request, updated))


async def list_jobs(request: web.Request) -> web.Response:
    workspace = workspace_of(request)
    limit = request.app[SETTINGS].list_page_size
    cursor = request.query.get("cursor")
    try:
        jobs, next_cursor = await request.app[STORE].list(workspace, limit=limit, after=cursor)
    except InvalidCursor as exc:
        raise bad(str(exc)) from None
    next_link = None
    if next_cursor:
        # From the configured public URL: the Host header is the client's to choose, and a link built from it
        # (Host: attacker.example) would carry the next request and its bearer token elsewhere.
        base = request.app[SETTINGS].public_base_url(_listening_port(request))
        next_link = base.rstrip("/") + str(request.rel_url.update_query({"cursor": next_cursor}))
    return web.json_response({"value": [render_job(request, j) for j in jobs], "nextLink": next_link})


async def job_output(request: web.Request) -> web.Response:
    """A Succeeded job's result, as the service keeps it (the same bytes as its `rawOutputData` blob): for the
    dashboard, and for clients whose blob read found it missing (storage lost it; the output keeper restores it)."""
    _, job = await find_job(request)
    kept = await request.app[STORE].output(request[WORKSPACE], job.id)
    if kept is None:
        if job.status == JobStatus.SUCCEEDED:  # from before results were kept: the blob is the only copy
            raise ContractError(errors.NOT_FOUND, f"job {job.id} has no result kept by the service; download its "
                                "outputDataUri")
        assert job.status is not None  # a stored job always has a status
        raise ContractError(errors.JOB_NOT_SUCCEEDED, f"job {job.id} has no result: it is {job.status.value}")
    return web.Response(body=kept.data, content_type=kept.content_type.split(";")[0],
                        headers={"Cache-Control": "private, max-age=3600"})


def _listening_port(request: web.Request) -> int:
    """The port this connection came in on: the real one when OPENQIO_PORT is 0."""
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if sockname else request.app[SETTINGS].port


async def job_events(request: web.Request) -> web.Response:
    """The job's event log (submitted, started, progress, ...), from `?after=<seq>`: progress for clients."""
    _, job = await find_job(request)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise bad("'after' must be an integer event sequence number") from None
    if not 0 <= after < 2**63:  # SQLite integers are 64-bit: a larger one would overflow in the driver
        raise bad(f"'after' must be an integer event sequence number from 0 to {2**63 - 1}")
    events = await request.app[STORE].events(job.id, after=after)
    return web.json_response({"value": [
        {"seq": e.seq, "kind": e.kind, "data": e.data, "time": e.time} for e in events
    ]})


async def sas_uri(request: web.Request) -> web.Response:
    workspace = workspace_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad("the body must be a JSON object with 'containerName'")
    container = body.get("containerName")
    blob = body.get("blobName")
    if not isinstance(container, str) or (blob is not None and not isinstance(blob, str)):
        raise bad("'containerName' (and 'blobName', if given) must be strings")
    if not blob:  # a container for new work (every submission starts here): refused while at capacity
        try:
            check_container_name(container)  # before a place is held for it
        except InvalidName as exc:
            raise bad(str(exc)) from None
        refusal = request.app[ADMISSION].check(hold=(workspace, container))
        if refusal is not None:
            return refusal.response()
    blobs = blobs_of(request)
    try:
        # A blob SAS is for downloading (results, Problem.download): read only. The container answer must be the
        # account SAS the SDK's upload needs (contract §3.6); it is refused for another workspace's job container.
        url = blobs.blob_sas_url(container, blob, permission="r") if blob else blobs.container_sas_url(container)
    except InvalidName as exc:
        raise bad(str(exc)) from None
    await _check_container_owner(request, workspace, container)
    return web.json_response({"sasUri": url})


async def provider_status(request: web.Request) -> web.Response:
    """The three providers of azure-quantum 0.27's QIO targets (Microsoft, toshiba, 1qbit), every target Available:
    `get_targets()` builds each target's SDK class from its id and provider."""
    workspace_of(request)
    providers = [(targets.PROVIDER_ID, targets.MICROSOFT_TARGETS), (targets.TOSHIBA_PROVIDER_ID, targets.TOSHIBA_TARGETS),
                 (targets.ONEQBIT_PROVIDER_ID, targets.ONEQBIT_TARGETS)]
    return web.json_response({
        "value": [{
            "id": provider,
            "currentAvailability": "Available",
            "targets": [
                {"id": t, "currentAvailability": "Available", "averageQueueTime": 0, "statusPage": None}
                for t in ids
            ],
        } for provider, ids in providers],
        "nextLink": None,
    })


async def quotas(request: web.Request) -> web.Response:
    workspace = workspace_of(request)
    hours = await request.app[STORE].execution_hours(workspace)
    return web.json_response({
        "value": [{
            "dimension": "combined_job_hours",
            "scope": "Workspace",
            "providerId": targets.PROVIDER_ID,
            "utilization": hours,  # unrounded: a few seconds of work is ~1e-6 h (REC shows 1.49e-05)
            "holds": 0.0,
            "limit": 1_000_000.0,
            "period": "Infinite",
        }],
        "nextLink": None,
    })
