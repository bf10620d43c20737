"""json_body: what a request body must be (JSON, text) whichever way it is spelled, including the bodies that skip the
second pass (ASCII without a \\u escape)."""
from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts.errors import ContractError
from services.gateway.request import json_body


async def _echo(request: web.Request) -> web.Response:
    try:
        body = await json_body(request)
    except ContractError as exc:
        return web.json_response({"code": exc.code, "message": exc.message}, status=400)
    return web.json_response({"body": body})


async def _post(raw: bytes) -> tuple[int, dict]:
    app = web.Application()
    app.router.add_post("/", _echo)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/", data=raw, headers={"Content-Type": "application/json"})
        return resp.status, await resp.json()


@pytest.mark.asyncio
@pytest.mark.parametrize("raw", [
    b'{"a": "\\ud800"}',  # a lone high surrogate, escaped
    b'{"a": "x\\uDFFFy"}',  # a lone low surrogate, escaped in capitals
    b'{"k\\udc00": 1}',  # in a key
    '{"a": "\ud800"}'.encode("utf-8", "surrogatepass"),  # encoded as UTF-8 bytes: not ASCII
    '{"a": "\ud800"}'.encode("utf-16-le", "surrogatepass"),  # a UTF-16 body (json.loads detects it)
])
async def test_a_lone_surrogate_is_refused_however_it_is_spelled(raw: bytes) -> None:
    status, answer = await _post(raw)
    assert status == 400, answer
    assert "surrogate" in answer["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize("value", ["plain", "caf\u00e9 \u65e5\u672c", "\U0001f600 paired", "C:\\users\\u0041", ""])
@pytest.mark.parametrize("ensure_ascii", [True, False])
async def test_text_comes_through_whichever_way_it_is_encoded(value: str, ensure_ascii: bool) -> None:
    raw = json.dumps({"name": value, "n": [1, 2.5, None, True]}, ensure_ascii=ensure_ascii).encode("utf-8")
    status, answer = await _post(raw)
    assert status == 200, answer
    assert answer["body"] == {"name": value, "n": [1, 2.5, None, True]}


@pytest.mark.asyncio
@pytest.mark.parametrize("raw, words", [
    (b"", "needs a JSON body"),
    (b"{not json", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
async def test_bodies_that_are_not_json_are_refused(raw: bytes, words: str) -> None:
    status, answer = await _post(raw)
    assert status == 400
    assert words in answer["message"]
