"""services/blobs/shared_key.py signs exactly as azure-storage-blob's Shared Key policy does (the same Authorization
header for the same request), path-style (Azurite) and host-style (Azure) URLs alike; it and the native client's plain
storage calls send a request once more when storage had closed the kept-alive connection. Against real Azurite:
tests/integration/test_gateway_blobs.py and test_blob_input_reads.py."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

from services.blobs.shared_key import SharedKeyBlobs, string_to_sign

KEY = base64.b64encode(b"k" * 64).decode()


def ours(method: str, account: str, url: str, headers: dict[str, str]) -> str:
    digest = hmac.new(base64.b64decode(KEY), string_to_sign(method, account, urlsplit(url).path, headers, {}).encode(),
                      hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode()}"


def theirs(method: str, account: str, url: str, headers: dict[str, str]) -> str:
    request = PipelineRequest(HttpRequest(method, url, headers=dict(headers)), PipelineContext(None))
    SharedKeyCredentialPolicy(account, KEY).on_request(request)
    return request.http_request.headers["Authorization"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:10000/devstoreaccount1/job-1/inputData",
                                 "https://acct.blob.core.windows.net/job-1/qio/input.json"])
@pytest.mark.parametrize("method, headers", [
    ("GET", {"x-ms-range": "bytes=0-4194303"}),
    ("HEAD", {}),
    ("PUT", {"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "application/json", "content-length": "17",
             "content-type": "application/octet-stream"}),
    ("PUT", {"x-ms-blob-type": "BlockBlob", "content-length": "0"}),
])
def test_the_signature_is_the_one_azure_storage_blob_makes(url: str, method: str, headers: dict[str, str]):
    account = "devstoreaccount1" if "127.0.0.1" in url else "acct"
    sent = {"x-ms-date": "Tue, 02 Dec 2026 06:40:04 GMT", "x-ms-version": "2021-12-02", **headers}
    assert ours(method, account, url, sent) == theirs(method, account, url, sent)


@pytest.mark.parametrize("container, blob, plain", [
    ("job-1", "inputData", True), ("qio-problems", "a/b.json", True),
    ("job-1", "with space", False), ("job-1", "a//b", False), ("job-1", "ü", False),
])
def test_only_plain_names_go_this_way(container: str, blob: str, plain: bool):
    assert SharedKeyBlobs.handles(container, blob) is plain


class ClosesFirstConnection:
    """A stand-in for storage that drops the first request's connection unanswered (what a kept-alive connection
    that storage closed meanwhile looks like to the client), then answers."""

    def __init__(self) -> None:
        self.seen = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen += 1
        if self.seen == 1:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never sent
        return web.Response(status=201 if request.method == "PUT" else 200, body=b"ok")

    @contextlib.asynccontextmanager
    async def serving(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        finally:
            await runner.cleanup()


async def test_a_connection_storage_closed_is_tried_once_more_on_a_new_one():
    storage = ClosesFirstConnection()
    async with storage.serving() as base:
        blobs = SharedKeyBlobs(f"{base}/devstoreaccount1", "devstoreaccount1", KEY)
        await blobs.open()
        try:
            status, _, body = await blobs.request("PUT", "job-1", "rawOutputData", {"x-ms-blob-type": "BlockBlob"},
                                                  b"{}")
        finally:
            await blobs.close()
    assert (status, body, storage.seen) == (201, b"ok", 2)


async def test_the_clients_plain_calls_try_a_closed_connection_once_more():
    from azure.core.pipeline.transport import AioHttpTransport

    from services.client import _storage

    storage = ClosesFirstConnection()
    async with storage.serving() as base, aiohttp.ClientSession() as session:
        transport = AioHttpTransport(session=session, session_owner=False)
        url = await _storage.upload_blob(f"{base}/devstoreaccount1/job-1?sv=x&sig=y", "inputData", b"{}",
                                         "application/json", "gzip", transport=transport)
    assert url == f"{base}/devstoreaccount1/job-1/inputData" and storage.seen == 2
