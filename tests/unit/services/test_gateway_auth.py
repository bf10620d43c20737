"""Bearer-token checks (issue 6): every configured token is compared with hmac.compare_digest and the loop never
stops early, so neither the answer's timing nor its content says which token (or how much of one) matched; and the
filter that keeps aiohttp's refusals of malformed HTTP out of the log as tracebacks."""
from __future__ import annotations

import hmac
import logging
from pathlib import Path
from unittest import mock

from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.test_utils import TestClient, TestServer

from services.config import Settings
from services.gateway import auth
from services.gateway.app import QuietMalformedRequests, create_app

TOKENS = {f"token-{i}-0123456789abcdef": f"ws{i}" for i in range(4)}


class Store:
    async def list(self, workspace, *, limit, after=None):
        return [], None


async def _client(tmp_path: Path) -> TestClient:
    settings = Settings.from_env({}, data_dir=tmp_path, tokens=TOKENS, workspace="ws0")
    client = TestClient(TestServer(create_app(settings, Store(), object(), object())))
    await client.start_server()
    return client


def _jobs(workspace: str) -> str:
    return (f"/v1.0/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/openqio/providers/"
            f"Microsoft.Quantum/workspaces/{workspace}/jobs")


async def test_every_token_is_compared_in_constant_time_without_stopping_early(tmp_path: Path):
    client = await _client(tmp_path)
    real = hmac.compare_digest
    try:
        for presented, expect in [("token-0-0123456789abcdef", 200), ("token-3-0123456789abcdef", 200),
                                  ("token-0-0123456789abcdeX", 401), ("x", 401)]:
            calls: list[tuple[bytes, bytes]] = []

            def spy(a, b, calls=calls):
                calls.append((a, b))
                return real(a, b)

            with mock.patch.object(auth.hmac, "compare_digest", side_effect=spy):
                workspace = TOKENS.get(presented, "ws0")
                resp = await client.get(_jobs(workspace), headers={"Authorization": f"Bearer {presented}"})
            assert resp.status == expect, await resp.text()
            # one comparison per configured token, whether the first, the last or none of them matched
            assert sorted(b for _, b in calls) == sorted(t.encode() for t in TOKENS)
            assert all(a == presented.encode() for a, _ in calls)
    finally:
        await client.close()


async def test_a_token_grants_only_its_workspace(tmp_path: Path):
    client = await _client(tmp_path)
    try:
        resp = await client.get(_jobs("ws1"), headers={"Authorization": "Bearer token-2-0123456789abcdef"})
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "NotFound"
        resp = await client.get(_jobs("ws2"), headers={"Authorization": "Bearer token-2-0123456789abcdef"})
        assert resp.status == 200
    finally:
        await client.close()


def _record(exc: BaseException) -> logging.LogRecord:
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
                             ("127.0.0.1",), (type(exc), exc, None))


def test_malformed_request_records_lose_traceback_and_offending_bytes():
    for exc in (LineTooLong(b"Authorization: Bearer secret-token".decode(), "8190"),
                BadHttpMessage("Invalid header value char: b'Authorization: Bearer secret-token\\x01'")):
        record = _record(exc)
        assert QuietMalformedRequests().filter(record)
        assert record.levelno == logging.WARNING and record.exc_info is None
        text = logging.Formatter().format(record)
        assert "secret-token" not in text and "Traceback" not in text
        assert type(exc).__name__ in text and "400" in text


def test_other_server_errors_keep_their_traceback():
    record = _record(RuntimeError("a real bug"))
    assert QuietMalformedRequests().filter(record)
    assert record.levelno == logging.ERROR and record.exc_info is not None
