"""The gateway's bounds against abuse (issue 11 §6 and §8), in-process on real TLS, SQLite and Azurite:
a job's stored size, request bodies that are declared too large, never arrive or stop half-way, and paging links
that must not follow a request's Host header.
"""
from __future__ import annotations

import asyncio
import logging

import pytest
import yarl

from services.gateway import app as gateway_app
from services.gateway import bounds
from tests.integration.test_gateway_api import (  # noqa: F401, F811 - gateway and http are fixtures
    PAGE,
    TOKEN,
    TOKEN_PAGING,
    Gateway,
    call,
    gateway,
    http,
    job_body,
    new_id,
    submit,
)

pytestmark = pytest.mark.integration


# -- a job's size (issue 11 §6) ----------------------------------------------------------------------------------------

async def test_the_40_patch_attack_is_refused(gateway: Gateway, http):
    """40 PATCHes, each under the request limit, once grew one job to 36 000 tags (36 MB per GET)."""
    job = await submit(http, gateway, tags=["keep"])
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    tag = "t" * 900
    per_patch = gateway.settings.max_request_bytes // (len(tag) + 50)  # one PATCH just under the request limit
    refused = 0
    for _ in range(40):
        ops = [{"op": "add", "path": "/tags/-", "value": tag} for _ in range(per_patch)]
        status, body, _ = await call(http, "PATCH", url, json=ops)
        if status == 413:
            refused += 1
            assert body["error"]["code"] == "PayloadTooLarge"
            assert str(bounds.MAX_JOB_FIELDS_BYTES) in body["error"]["message"], body
        else:
            assert status == 200, body
    assert refused >= 40 - bounds.MAX_JOB_FIELDS_BYTES // (per_patch * len(tag))
    status, got, resp = await call(http, "GET", url)
    assert status == 200 and len(got["tags"]) * len(tag) <= bounds.MAX_JOB_FIELDS_BYTES
    assert resp.content_length is None or resp.content_length < 2 * bounds.MAX_JOB_FIELDS_BYTES
    # shrinking is always allowed, and so is growing again within the bound
    status, body, _ = await call(http, "PATCH", url, json=[{"op": "replace", "path": "/tags", "value": ["a"]}])
    assert status == 200 and body["tags"] == ["a"]


async def test_too_many_tags_in_small_patches_are_refused(gateway: Gateway, http):
    job = await submit(http, gateway)
    url = f"{gateway.prefix()}/jobs/{job['id']}"
    status, body, _ = await call(http, "PATCH", url, json=[{"op": "replace", "path": "/tags",
                                                            "value": ["x"] * bounds.MAX_TAGS}])
    assert status == 200, body
    status, body, _ = await call(http, "PATCH", url, json=[{"op": "add", "path": "/tags/-", "value": "y"}])
    assert status == 413 and f"at most {bounds.MAX_TAGS} tags" in body["error"]["message"], body
    status, got, _ = await call(http, "GET", url)
    assert len(got["tags"]) == bounds.MAX_TAGS


@pytest.mark.parametrize("field,value,fragment", [  # (the byte bound at PUT: tests/unit/services/test_job_bounds.py)
    ("name", "n" * (bounds.MAX_NAME_CHARS + 1), f"at most {bounds.MAX_NAME_CHARS} characters"),
    ("tags", ["t"] * (bounds.MAX_TAGS + 1), f"at most {bounds.MAX_TAGS} tags"),
])
async def test_put_refuses_a_job_over_a_bound(gateway: Gateway, http, field, value, fragment):
    job_id = new_id()
    body = job_body(gateway, job_id, **{field: value})
    status, answer, _ = await call(http, "PUT", f"{gateway.prefix()}/jobs/{job_id}", json=body)
    assert status == 413 and answer["error"]["code"] == "PayloadTooLarge", answer
    assert fragment in answer["error"]["message"]
    status, _, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job_id}")
    assert status == 404


# -- request bodies (issue 11 §8) --------------------------------------------------------------------------------------

async def _raw(gateway: Gateway, head: str, body: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = yarl.URL(gateway.base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port, ssl=gateway.ssl)
    writer.write(head.encode() + body)
    await writer.drain()
    return reader, writer


def _head(gateway: Gateway, method: str, path: str, length: int) -> str:
    host = yarl.URL(gateway.base_url).authority
    return (f"{method} {yarl.URL(gateway.prefix() + path).raw_path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n")


async def test_a_declared_length_over_the_limit_is_413_before_the_body(gateway: Gateway):
    reader, writer = await _raw(gateway, _head(gateway, "PUT", f"/jobs/{new_id()}", 10**12))
    try:
        answer = await asyncio.wait_for(reader.read(65536), timeout=30)  # no body byte was sent
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"PayloadTooLarge" in answer and b"Connection: close" in answer


async def test_a_body_shorter_than_its_length_times_out(gateway: Gateway, monkeypatch):
    """A Content-Length larger than the body held the connection until aiohttp's keep-alive gave up (75 s and
    more); now the body must arrive within BODY_READ_TIMEOUT_S (shortened here) and the connection is closed."""
    monkeypatch.setattr(gateway_app, "BODY_READ_TIMEOUT_S", 1.0)
    reader, writer = await _raw(gateway, _head(gateway, "PATCH", f"/jobs/{new_id()}", 1000), b"[")
    try:
        answer = await asyncio.wait_for(reader.read(65536), timeout=30)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b"RequestTimeout" in answer and b"Connection: close" in answer
        while await asyncio.wait_for(reader.read(65536), timeout=30):  # and the server closes the connection
            pass
    finally:
        writer.close()


async def test_a_client_gone_mid_body_is_one_quiet_line(gateway: Gateway, http, caplog):
    caplog.set_level(logging.DEBUG)
    job = await submit(http, gateway)
    reader, writer = await _raw(gateway, _head(gateway, "PATCH", f"/jobs/{job['id']}", 5000), b'[{"op": "add"')
    await asyncio.sleep(0.2)
    writer.transport.abort()  # gone, without finishing the body
    lines: list[logging.LogRecord] = []
    for _ in range(100):
        lines = [r for r in caplog.records if "disconnected before its request body" in r.getMessage()]
        if lines:
            break
        await asyncio.sleep(0.1)
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], \
        [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    status, body, _ = await call(http, "GET", f"{gateway.prefix()}/jobs/{job['id']}")
    assert status == 200 and body["tags"] == []  # the half-sent PATCH changed nothing


# -- links (issue 11 §8) -------------------------------------------------------------------------------------------------

async def test_next_link_ignores_the_host_header(gateway: Gateway, http):
    for _ in range(PAGE + 1):
        await submit(http, gateway, token=TOKEN_PAGING, workspace="paging")
    status, body, _ = await call(http, "GET", f"{gateway.prefix('paging')}/jobs", token=TOKEN_PAGING,
                                 headers={"Host": "attacker.example"})
    assert status == 200 and body["nextLink"], body
    assert body["nextLink"].startswith(f"{gateway.prefix('paging')}/jobs?cursor="), body["nextLink"]
    assert "attacker" not in body["nextLink"]


async def test_next_link_uses_the_configured_public_url(gateway: Gateway, http, monkeypatch):
    monkeypatch.setattr(type(gateway.settings), "public_base_url", lambda self, port: "https://q.example.org/proxy/")
    status, body, _ = await call(http, "GET", f"{gateway.prefix('paging')}/jobs", token=TOKEN_PAGING)
    assert status == 200 and body["nextLink"], body
    path = yarl.URL(gateway.prefix("paging")).path
    assert body["nextLink"].startswith(f"https://q.example.org/proxy{path}/jobs?cursor="), body["nextLink"]
