"""Hostile and broken inputs against the whole running service (issue 6, "bad input").

One table: every row names an input and the outcome it must get. Request rows must be answered with a 4xx status
and `{"error": {"code", "message"}}`; input-blob rows must be accepted and end as a `Failed` job whose `errorData`
names the problem. Never a 500, never a traceback (in a body or in the service log), and after every row the
service still answers `/healthz`; at the end a normal tiny job still succeeds.

The service runs with small limits (request body, input size, terms, variables) so the limit rows stay fast.
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import os
import re
import ssl
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl

from contracts import errors, targets
from contracts.problems import encode_json, encode_protobuf, problem_document
from tests.integration.rest import Rest, seed_problem
from tests.service import Service, serving

MAX_REQUEST_BYTES = 64 * 1024
MAX_INPUT_BYTES = 256 * 1024
MAX_TERMS = 200
MAX_VARIABLES = 50

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def service(azurite, tmp_path_factory):
    svc = Service(
        data_dir=Path(tmp_path_factory.mktemp("hostile")),
        blob_url=azurite.blob_url,
        runners=1,
        extra_env={
            "OPENQIO_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
            "OPENQIO_MAX_INPUT_BYTES": str(MAX_INPUT_BYTES),
            "OPENQIO_MAX_TERMS": str(MAX_TERMS),
            "OPENQIO_MAX_VARIABLES": str(MAX_VARIABLES),
        },
    )
    yield from serving(svc)
    log = svc.log_file.read_text(errors="replace")
    assert "Traceback" not in log, f"the service logged a traceback:\n{svc.tail(80)}"
    assert "unhandled error" not in log, svc.tail(80)


# -- request rows ------------------------------------------------------------------------------------------------------

DROP = object()


def job(rest: Rest, job_id: str, **overrides: Any) -> dict:
    """A well-formed PUT body (the gateway checks no storage at submit), with fields replaced or DROPped."""
    container = f"{rest.blob_base}/job-{job_id}"
    body = rest.job_body(job_id, container + "?sv=2021&sig=x", targets.SA, {"sweeps": 10})
    for key, value in overrides.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@dataclass(frozen=True)
class Req:
    """`path` is relative to the workspace prefix ({id}: a fresh job id) or absolute from the host ('/...').

    `body(rest, job_id)` gives the body: dict/list (sent as JSON) or bytes (sent raw)."""

    name: str
    method: str
    path: str
    body: Callable[[Rest, str], Any] | None
    status: int
    code: str
    fragment: str = ""
    existing: bool = False  # {id} names a job submitted (Waiting) just before the request
    headers: tuple[tuple[str, str], ...] = ()


def _params(**params: Any) -> Callable[[Rest, str], dict]:
    return lambda rest, jid: job(rest, jid, inputParams={"params": params})


def _nested(depth: int) -> bytes:
    return b'{"id": ' + b"[" * depth + b"]" * depth + b"}"


REQUESTS = [
    # size and shape of the body
    Req("oversized PUT body", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, name="x" * (MAX_REQUEST_BYTES + 10)), 413, errors.PAYLOAD_TOO_LARGE, "larger than"),
    Req("oversized sasUri body", "POST", "storage/sasUri",
        lambda r, j: {"containerName": "job-" + "a" * 10, "pad": "p" * (MAX_REQUEST_BYTES * 2)}, 413,
        errors.PAYLOAD_TOO_LARGE),
    Req("gzip bomb as request body", "PUT", "jobs/{id}",
        lambda r, j: gzip.compress(b'{"name": "' + b"a" * (64 * 1024 * 1024) + b'"}'), 413, errors.PAYLOAD_TOO_LARGE,
        headers=(("Content-Encoding", "gzip"),)),
    Req("deeply nested JSON body", "PUT", "jobs/{id}", lambda r, j: _nested(25_000), 400, errors.BAD_REQUEST,
        "nested too deeply"),
    Req("huge list parameter", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, target=targets.PT, inputParams={"params": {"all_betas": [1] * 10_001}}), 400,
        errors.INVALID_PARAMETERS, "10001 items"),
    Req("body is not JSON", "PUT", "jobs/{id}", lambda r, j: b"id=1&target=x", 400, errors.BAD_REQUEST, "not valid JSON"),
    Req("body is not UTF-8", "PUT", "jobs/{id}", lambda r, j: b'{"id": "\xff\xfe"}', 400, errors.BAD_REQUEST),
    Req("empty body", "PUT", "jobs/{id}", lambda r, j: b"", 400, errors.BAD_REQUEST, "needs a JSON body"),
    Req("body is a JSON array", "PUT", "jobs/{id}", lambda r, j: [job(r, j)], 400, errors.INVALID_JOB_DEFINITION),
    # job definition fields
    Req("missing containerUri", "PUT", "jobs/{id}", lambda r, j: job(r, j, containerUri=DROP), 400,
        errors.INVALID_JOB_DEFINITION, "containerUri"),
    Req("containerUri of the wrong type", "PUT", "jobs/{id}", lambda r, j: job(r, j, containerUri=42), 400,
        errors.INVALID_JOB_DEFINITION, "containerUri"),
    Req("containerUri with path traversal", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, containerUri=f"{r.blob_base}/../../etc/passwd"), 400,
        errors.INVALID_JOB_DEFINITION),
    Req("containerUri with illegal characters", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, containerUri=f"{r.blob_base}/Job_{j}"), 400,
        errors.INVALID_JOB_DEFINITION, "invalid container name"),
    Req("inputDataUri with path traversal", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, inputDataUri=f"{r.blob_base}/job-{j}/../../secret"), 400,
        errors.INVALID_JOB_DEFINITION, "'..'"),
    Req("inputDataUri that is not a URL", "PUT", "jobs/{id}", lambda r, j: job(r, j, inputDataUri="file:///etc/passwd"),
        400, errors.INVALID_JOB_DEFINITION, "not a blob URL"),
    Req("body id differs from the path", "PUT", "jobs/{id}", lambda r, j: job(r, j, id="another-id"), 400,
        errors.INVALID_JOB_DEFINITION, "does not match"),
    Req("wrong inputDataFormat", "PUT", "jobs/{id}", lambda r, j: job(r, j, inputDataFormat="microsoft.qio.v9"), 400,
        errors.INVALID_JOB_DEFINITION, "inputDataFormat"),
    Req("metadata of the wrong type", "PUT", "jobs/{id}", lambda r, j: job(r, j, metadata={"a": [1]}), 400,
        errors.INVALID_JOB_DEFINITION, "metadata"),
    Req("tags of the wrong type", "PUT", "jobs/{id}", lambda r, j: job(r, j, tags="urgent"), 400,
        errors.INVALID_JOB_DEFINITION, "tags"),
    # targets and parameters
    Req("unknown target", "PUT", "jobs/{id}", lambda r, j: job(r, j, target="ionq.qpu"), 400,
        errors.INVALID_TARGET, "not offered"),
    Req("target of the wrong type", "PUT", "jobs/{id}", lambda r, j: job(r, j, target=["microsoft.tabu.cpu"]), 400,
        errors.INVALID_JOB_DEFINITION, "target"),
    Req("another provider's target", "PUT", "jobs/{id}", lambda r, j: job(r, j, providerId="1qbit"), 400,
        errors.INVALID_TARGET, "provider"),
    Req("target and provider swapped (an older SDK's Solver arguments)", "PUT", "jobs/{id}",
        lambda r, j: job(r, j, target="Microsoft", providerId="microsoft.tabu.cpu"), 400, errors.INVALID_TARGET,
        "the two look swapped (azure-quantum 0.27's Solver takes the target first: Solver(workspace, "
        "'microsoft.tabu.cpu', 'Microsoft', ...)"),
    Req("parameter of the wrong type", "PUT", "jobs/{id}", _params(sweeps="100"), 400, errors.INVALID_PARAMETERS,
        "'sweeps' must be an integer"),
    Req("parameter out of range", "PUT", "jobs/{id}", _params(sweeps=0), 400, errors.INVALID_PARAMETERS,
        "'sweeps' must be at least 1"),
    Req("enormous parameter", "PUT", "jobs/{id}", _params(sweeps=10**30), 400, errors.INVALID_PARAMETERS, "at most"),
    Req("NaN parameter", "PUT", "jobs/{id}", _params(timeout=float("nan")), 400, errors.INVALID_PARAMETERS,
        "'timeout' must be finite"),
    Req("infinite parameter", "PUT", "jobs/{id}", _params(beta_start=float("inf")), 400, errors.INVALID_PARAMETERS,
        "'beta_start' must be finite"),
    Req("unknown parameter", "PUT", "jobs/{id}", _params(sweep=10), 400, errors.INVALID_PARAMETERS, "not a parameter"),
    Req("flat inputParams", "PUT", "jobs/{id}", lambda r, j: job(r, j, inputParams={"sweeps": 10}), 400,
        errors.INVALID_PARAMETERS, "unknown keys"),
    Req("inputParams of the wrong type", "PUT", "jobs/{id}", lambda r, j: job(r, j, inputParams=[1, 2]), 400,
        errors.INVALID_PARAMETERS),
    # ids, names and paths
    Req("job id with a space", "GET", "jobs/bad%20id", None, 400, errors.BAD_REQUEST, "invalid job id"),
    Req("job id '..'", "PUT", "jobs/..%2F..%2Fsecret", lambda r, j: job(r, j), 400, errors.BAD_REQUEST, "invalid job id"),
    Req("job id too long", "DELETE", "jobs/" + "a" * 200, None, 400, errors.BAD_REQUEST, "invalid job id"),
    Req("job id with a NUL byte", "GET", "jobs/a%00b", None, 400, errors.BAD_REQUEST, "invalid job id"),
    Req("sasUri container with path traversal", "POST", "storage/sasUri",
        lambda r, j: {"containerName": "../job-1"}, 400, errors.BAD_REQUEST, "invalid container name"),
    Req("sasUri container with illegal characters", "POST", "storage/sasUri",
        lambda r, j: {"containerName": "Job_1?comp=list"}, 400, errors.BAD_REQUEST, "invalid container name"),
    Req("sasUri blob with path traversal", "POST", "storage/sasUri",
        lambda r, j: {"containerName": f"job-{j}", "blobName": "a/../../rawOutputData"}, 400, errors.BAD_REQUEST,
        "invalid blob name"),
    Req("sasUri blob with a control character", "POST", "storage/sasUri",
        lambda r, j: {"containerName": f"job-{j}", "blobName": "input\nData"}, 400, errors.BAD_REQUEST,
        "invalid blob name"),
    Req("sasUri body of the wrong type", "POST", "storage/sasUri", lambda r, j: ["job-1"], 400, errors.BAD_REQUEST),
    Req("path names another subscription", "GET", "/v1.0/subscriptions/../resourceGroups/openqio/providers/"
        "Microsoft.Quantum/workspaces/openqio/jobs", None, 404, errors.NOT_FOUND),
    # other routes
    Req("PATCH of an unknown job", "PATCH", "jobs/{id}", lambda r, j: [], 404, errors.JOB_NOT_FOUND),
    Req("PATCH body is not a patch", "PATCH", "jobs/{id}", lambda r, j: {"op": "add"}, 400, errors.BAD_REQUEST,
        "JSON Patch array", existing=True),
    Req("PATCH of another field", "PATCH", "jobs/{id}",
        lambda r, j: [{"op": "replace", "path": "/status", "value": "Succeeded"}], 400, errors.BAD_REQUEST,
        "only /tags", existing=True),
    Req("PATCH with an enormous tag index", "PATCH", "jobs/{id}",
        lambda r, j: [{"op": "remove", "path": "/tags/" + "9" * 40}], 400, errors.BAD_REQUEST, "existing tag",
        existing=True),
    Req("PATCH nested too deeply", "PATCH", "jobs/{id}", lambda r, j: _nested(25_000)[7:-1], 400, errors.BAD_REQUEST,
        "nested too deeply", existing=True),
    Req("events after a non-number", "GET", "jobs/{id}/events?after=abc", None, 400, errors.BAD_REQUEST, "'after'",
        existing=True),
    Req("stream after an enormous number", "GET", "jobs/{id}/stream?after=" + "9" * 30, None, 400, errors.BAD_REQUEST,
        "'after'", existing=True),
    Req("stream resumed from an enormous Last-Event-ID", "GET", "jobs/{id}/stream", None, 400, errors.BAD_REQUEST,
        "Last-Event-ID", existing=True, headers=(("Last-Event-ID", "1" + "0" * 25),)),
    Req("events after an enormous number", "GET", "jobs/{id}/events?after=" + "9" * 30, None, 400, errors.BAD_REQUEST,
        "'after'", existing=True),
    Req("lone surrogate in the name", "PUT", "jobs/{id}", lambda r, j: job(r, j, name="bad \ud800 name"), 400,
        errors.BAD_REQUEST, "surrogate"),
    Req("lone surrogate in metadata", "PUT", "jobs/{id}", lambda r, j: job(r, j, metadata={"k\udfff": "v"}), 400,
        errors.BAD_REQUEST, "surrogate"),
    Req("lone surrogate in a tag", "PATCH", "jobs/{id}", lambda r, j: [{"op": "add", "path": "/tags/-", "value": "\ud83d"}],
        400, errors.BAD_REQUEST, "surrogate", existing=True),
    Req("lone surrogate in the list cursor", "GET",
        "jobs?cursor=" + base64.urlsafe_b64encode(json.dumps(["\ud800", "x"]).encode()).decode().rstrip("="), None,
        400, errors.BAD_REQUEST, "cursor"),
    Req("bad list cursor", "GET", "jobs?cursor=%27%3B%20DROP%20TABLE%20jobs%3B--", None, 400, errors.BAD_REQUEST,
        "cursor"),
    Req("unknown route", "GET", "secrets", None, 404, errors.NOT_FOUND, "no route"),
    Req("wrong method", "POST", "jobs/{id}", lambda r, j: job(r, j), 405, errors.METHOD_NOT_ALLOWED),
]


# -- input blob rows: accepted at submit, then Failed with errorData ------------------------------------------------


@dataclass(frozen=True)
class Blob:
    name: str
    data: bytes
    code: str
    fragment: str
    content_type: str = "application/json"
    gzip: bool = False  # stored with Content-Encoding: gzip (the SDK's way)
    input_blob: str = "inputData"  # the blob inputDataUri names (another name: the blob is missing)
    target: str = targets.SA
    params: tuple[tuple[str, Any], ...] = (("sweeps", 10), ("seed", 1))


def _doc(cost_function: Any) -> bytes:
    return json.dumps({"metadata": {"name": "bad"}, "cost_function": cost_function}).encode()


def _corrupt_tar(member: str = "gzipinputfile_pb_0.pb") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        payload = b"\x0a\xff\xff\xff\xff\x0f"  # a cost_function whose length runs past the data
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(buf.getvalue())


_BOMB = gzip.compress(b"\0" * (40 * 1024 * 1024), compresslevel=9)  # ~40 KB that expand to 40 MiB

BLOBS = [
    Blob("gzip bomb", _BOMB, errors.PROBLEM_TOO_LARGE, f"exceeds the limit of {MAX_INPUT_BYTES}", gzip=True),
    Blob("input blob over the size limit", os.urandom(MAX_INPUT_BYTES + 1), errors.PROBLEM_TOO_LARGE,
         "over the limit"),
    Blob("truncated gzip", encode_json(seed_problem())[:40], errors.INVALID_INPUT_DATA, "AZQ105: gzip data is truncated",
         gzip=True),
    Blob("not JSON at all", b"\x00\x01binary\xff" * 20, errors.INVALID_INPUT_DATA, "AZQ105"),
    Blob("JSON with a syntax error", b'{"cost_function": {"type": "ising", "terms": [}', errors.INVALID_INPUT_DATA,
         "AZQ105: input is not valid JSON"),
    Blob("deeply nested JSON", b"[" * 100_000 + b"]" * 100_000, errors.INVALID_INPUT_DATA, "nested too deeply"),
    Blob("missing cost_function", json.dumps({"metadata": {}}).encode(), errors.INVALID_INPUT_DATA,
         "AZQ102: missing section 'cost_function'"),
    Blob("missing terms", _doc({"type": "ising"}), errors.INVALID_INPUT_DATA, "AZQ102"),
    Blob("unknown problem type", _doc({"type": "qubo", "terms": []}), errors.INVALID_INPUT_DATA,
         "AZQ103: cost_function.type"),
    Blob("terms of the wrong type", _doc({"type": "ising", "terms": {"c": 1}}), errors.INVALID_INPUT_DATA,
         "AZQ103: cost_function.terms must be a list"),
    Blob("coefficient of the wrong type", _doc({"type": "ising", "terms": [{"c": "1", "ids": [0]}]}),
         errors.INVALID_INPUT_DATA, "coefficient 'c' must be a number"),
    Blob("NaN coefficient", b'{"cost_function": {"type": "ising", "terms": [{"c": NaN, "ids": [0]}]}}',
         errors.INVALID_INPUT_DATA, "NaN is not a valid number"),
    Blob("infinite coefficient", b'{"cost_function": {"type": "pubo", "terms": [{"c": 1e999, "ids": [0]}]}}',
         errors.INVALID_INPUT_DATA, "must be finite"),
    Blob("negative variable id", _doc({"type": "ising", "terms": [{"c": 1, "ids": [-3]}]}), errors.INVALID_INPUT_DATA,
         "variable id -3 is outside"),
    Blob("enormous variable id", _doc({"type": "ising", "terms": [{"c": 1, "ids": [2**40]}]}),
         errors.INVALID_INPUT_DATA, f"variable id {2**40} is outside"),
    Blob("ising term repeats an index", _doc({"type": "ising", "terms": [{"c": 1, "ids": [1, 1]}]}),
         errors.INVALID_INPUT_DATA, "AZQ101"),
    Blob("bad initial_configuration value",
         _doc({"type": "ising", "terms": [{"c": 1, "ids": [0]}], "initial_configuration": {"0": 0}}),
         errors.INVALID_INPUT_DATA, "AZQ104"),
    Blob("bad initial_configuration key",
         _doc({"type": "pubo", "terms": [{"c": 1, "ids": [0]}], "initial_configuration": {"../x": 1}}),
         errors.INVALID_INPUT_DATA, "AZQ104"),
    Blob("term of too high degree", _doc({"type": "pubo", "terms": [{"c": 1, "ids": list(range(100))}]}),
         errors.INVALID_INPUT_DATA, "over the limit of 64"),
    Blob("more terms than configured", encode_json(problem_document("pubo", [(1, [i % 10]) for i in range(MAX_TERMS + 1)])),
         errors.PROBLEM_TOO_LARGE, f"exceed the limit of {MAX_TERMS}", gzip=True),
    Blob("more variables than configured",
         encode_json(problem_document("pubo", [(1, [i]) for i in range(MAX_VARIABLES + 1)])),
         errors.PROBLEM_TOO_LARGE, f"variables exceed the limit of {MAX_VARIABLES}", gzip=True),
    Blob("corrupt protobuf archive", _corrupt_tar(), errors.INVALID_INPUT_DATA, "AZQ105: protobuf input is malformed",
         content_type="application/x-protobuf", gzip=True),
    Blob("protobuf chunk named with a non-ASCII digit", _corrupt_tar("gzipinputfile_pb_\u00b2.pb"),
         errors.INVALID_INPUT_DATA, "AZQ105", content_type="application/x-protobuf", gzip=True),
    # issue 11 §8: these failed as SolverError (an OverflowError, int() of 5000 digits) or were taken as ids
    Blob("coefficient no float64 holds", b'{"cost_function": {"type": "pubo", "terms": [{"c": 1' + b"0" * 400
         + b', "ids": [0]}]}}', errors.INVALID_INPUT_DATA, "AZQ103"),
    Blob("protobuf chunk number of 5000 digits", _corrupt_tar("gzipinputfile_pb_" + "7" * 5000 + ".pb"),
         errors.INVALID_INPUT_DATA, "AZQ105", content_type="application/x-protobuf", gzip=True),
    Blob("variable id 1e0", b'{"cost_function": {"type": "pubo", "terms": [{"c": 1, "ids": [1e0]}]}}',
         errors.INVALID_INPUT_DATA, "AZQ103: terms[0]: variable ids must be integers"),
    Blob("variable id -0.0", b'{"cost_function": {"type": "pubo", "terms": [{"c": 1, "ids": [-0.0]}]}}',
         errors.INVALID_INPUT_DATA, "AZQ103: terms[0]: variable ids must be integers"),
    Blob("initial_configuration key ' 1 '",
         _doc({"type": "pubo", "terms": [{"c": 1, "ids": [1]}], "initial_configuration": {" 1 ": 1}}),
         errors.INVALID_INPUT_DATA, "AZQ104"),
    Blob("initial_configuration key '1_0'",
         _doc({"type": "pubo", "terms": [{"c": 1, "ids": [10]}], "initial_configuration": {"1_0": 1}}),
         errors.INVALID_INPUT_DATA, "AZQ104"),
    Blob("coefficients whose cost overflows float64",
         _doc({"type": "pubo", "terms": [{"c": -1e308, "ids": [0]}, {"c": -1e308, "ids": [1]}]}),
         errors.INVALID_INPUT_DATA, "would overflow float64"),
    Blob("protobuf content type on JSON bytes", encode_json(seed_problem(), compress=False), errors.INVALID_INPUT_DATA,
         "AZQ105", content_type="application/x-protobuf"),
    Blob("protobuf over the term limit",
         encode_protobuf("pubo", [(1.0, [i % 10]) for i in range(MAX_TERMS + 1)]), errors.PROBLEM_TOO_LARGE,
         "too many terms", content_type="application/x-protobuf", gzip=True),
    Blob("walkers beyond the runner's memory", encode_json(seed_problem()), errors.PROBLEM_TOO_LARGE, "GiB limit",
         gzip=True, target=targets.QMC, params=(("restarts", 100_000), ("trotter_number", 4096), ("sweeps", 1))),
    Blob("input blob missing", b"", errors.INPUT_NOT_FOUND, "does not exist", input_blob="notThere"),
]


# -- the tests ------------------------------------------------------------------------------------------------------


async def _send(rest: Rest, method: str, path: str, body: Any, headers: Any = ()) -> tuple[int, Any, str]:
    """Send exactly this path (no client-side normalisation of '..' or escapes)."""
    url = (rest.base + path) if path.startswith("/") else f"{rest.prefix}/{path}"
    kw: dict[str, Any] = {"headers": {**rest.headers(), **dict(headers)}}
    if isinstance(body, (bytes, bytearray)):
        kw["data"] = bytes(body)
        kw["headers"]["Content-Type"] = "application/json"
    elif body is not None:
        kw["data"] = json.dumps(body).encode()
        kw["headers"]["Content-Type"] = "application/json"
    assert rest.session is not None
    async with rest.session.request(method, yarl.URL(url, encoded=True), **kw) as resp:
        text = await resp.text(errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return resp.status, parsed, text


async def _still_serving(rest: Rest) -> None:
    assert rest.session is not None
    async with rest.session.get(f"{rest.base}/healthz") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "ok"


class HostileRest(Rest):
    blob_base = ""  # the storage account URL, for job bodies that need no upload


@pytest.fixture
async def rest(service, azurite):
    async with HostileRest(service) as client:
        client.blob_base = azurite.blob_url.rstrip("/")
        yield client


def test_the_table_is_big_enough():
    assert len(REQUESTS) + len(BLOBS) >= 30
    names = [row.name for row in [*REQUESTS, *BLOBS]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("row", REQUESTS, ids=lambda r: r.name)
async def test_hostile_request(rest: Rest, row: Req):
    job_id = str(uuid.uuid1())
    if row.existing:
        status, text = await _put(rest, job_id, job(rest, job_id, inputParams={"params": {"sweeps": 10}}))
        assert status == 200, text
    body = row.body(rest, job_id) if row.body is not None else None
    status, answer, text = await _send(rest, row.method, row.path.replace("{id}", job_id), body, row.headers)
    assert "Traceback" not in text and 'File "' not in text, text
    assert status == row.status, f"{row.name}: {status} {text[:500]}"
    assert isinstance(answer, dict) and set(answer) == {"error"}, text[:500]
    assert answer["error"]["code"] == row.code, answer
    assert row.fragment in answer["error"]["message"], answer
    if row.method == "PUT" and not row.existing and 400 <= status < 500 and "{id}" in row.path:
        status, _, _ = await _send(rest, "GET", f"jobs/{job_id}", None)
        assert status == 404, f"{row.name}: a refused job was stored"
    await _still_serving(rest)


@pytest.mark.parametrize("row", BLOBS, ids=lambda r: r.name)
async def test_hostile_input_blob_fails_the_job(rest: Rest, row: Blob):
    job_id = str(uuid.uuid1())
    container_uri = await rest.upload(job_id, row.data, row.content_type, gzip=row.gzip) if row.data else None
    if container_uri is None:  # nothing to upload: the job names a blob that is not there
        status, sas = await rest.request("POST", "storage/sasUri", json={"containerName": f"job-{job_id}"})
        assert status == 200, sas
        container_uri = sas["sasUri"]
    body = rest.job_body(job_id, container_uri, row.target, dict(row.params))
    body["inputDataUri"] = container_uri.split("?")[0] + "/" + row.input_blob
    status, text = await _put(rest, job_id, body)
    assert status == 200, text
    final = await rest.wait(job_id, timeout=60)
    assert final["status"] == "Failed", f"{row.name}: {final}"
    error = final["errorData"]
    assert error["code"] == row.code, error
    assert row.fragment in error["message"], error
    assert "Traceback" not in error["message"]
    await _still_serving(rest)


async def _put(rest: Rest, job_id: str, body: dict) -> tuple[int, str]:
    status, answer, text = await _send(rest, "PUT", f"jobs/{job_id}", body)
    return status, text


RAW_REQUESTS = [
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", id="header too large"),
    pytest.param(b"\x00\x01\x02 BLAH\r\n\r\n", id="garbage request line"),
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", id="negative length"),
    pytest.param(b"PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk"),
]


@pytest.mark.parametrize("raw", RAW_REQUESTS)
async def test_malformed_http_is_a_4xx_without_a_traceback(service, raw: bytes):
    """Below the application: aiohttp's own parser answers these; it must not leak internals either."""
    ssl_context = ssl.create_default_context(cafile=service.ca_file)
    host, port = yarl.URL(service.base_url).host, yarl.URL(service.base_url).port
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", status_line), answer[:300]
    assert b"Traceback" not in answer and b'File "' not in answer, answer[:1000]


async def test_plain_http_gets_no_answer(service):
    """TLS is the only way in: a plain-HTTP request on the service port never reaches a handler."""
    url = yarl.URL(service.base_url).with_scheme("http") / "healthz"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                assert resp.status >= 400  # some servers answer 400 in clear text; never a 200
                raise aiohttp.ClientError(f"answered {resp.status} in clear text")


async def test_reused_job_id_with_a_different_body_conflicts(rest: Rest):
    job_id = str(uuid.uuid1())
    status, text = await _put(rest, job_id, job(rest, job_id))
    assert status == 200, text
    status, text = await _put(rest, job_id, job(rest, job_id))  # the same body again: idempotent
    assert status == 200, text
    status, answer, text = await _send(rest, "PUT", f"jobs/{job_id}", job(rest, job_id, target=targets.PT))
    assert status == 409 and answer["error"]["code"] == errors.CONFLICT, text
    assert (await rest.get(job_id))["target"] == targets.SA
    await _still_serving(rest)


async def test_a_normal_job_still_succeeds_afterwards(rest: Rest):
    """Runs last in this module: everything above must have left the service able to solve."""
    job_id = await rest.submit(seed_problem(), targets.SA, {"sweeps": 50, "seed": 7})
    final = await rest.wait(job_id, timeout=90)
    assert final["status"] == "Succeeded", final
    assert (await rest.result(final))["cost"] == -17.0
