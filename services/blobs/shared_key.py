"""The blob calls the service makes for every job (GET its input at submission, PUT its result, HEAD it once), as
plain HTTP requests signed with the account key (Shared Key), without azure-storage-blob's pipeline.

Why: for a tiny job those three calls through azure-core's policy pipeline (request objects, a dozen policies,
header dictionaries, response wrappers) cost more of the service's CPU than all its SQLite work and request handling
together. Storage sees the same requests as before: the same Shared Key authentication (a SAS-signed variant was
tried and made Azurite, the busiest process, spend 15-25 % more per job). services/blobs/azure_store.py uses this
for those calls when the service holds the account key, and keeps azure-storage-blob for everything else (Entra ID
auth, inputs larger than one GET, creating a missing container, names that need escaping).

Signing follows the Blob service's Shared Key rules (string-to-sign: verb, standard headers, canonicalized x-ms-*
headers, /account/path, canonicalized query); tests/unit/services/test_shared_key.py checks it against the
azure-storage-blob policy's own string for the same request.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import formatdate
from urllib.parse import urlsplit
from urllib.request import getproxies

import aiohttp

from services.blobs import StorageUnavailable

API_VERSION = "2021-12-02"  # served by Azure Storage and by every Azurite 3.x openqio starts
KEEPALIVE_S = 4.0  # an idle connection is kept this long (Azurite closes its side after 5 s)
# What a request on a kept-alive connection the server has just closed fails with: it was not processed, and the
# calls made here (GET, HEAD, PUT that overwrites) may be sent again.
STALE_CONNECTION = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
_SIMPLE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")  # names that need no escaping in a URL
_STANDARD = ("content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
             "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")


def string_to_sign(method: str, account: str, path: str, headers: dict[str, str], query: dict[str, str]) -> str:
    """The Shared Key string-to-sign of a request (`path` as in its URL; header names lowercase)."""
    standard = [headers.get(name, "") for name in _STANDARD]
    if standard[2] == "0":  # Content-Length: empty when zero (API versions since 2015-02-21)
        standard[2] = ""
    canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(h for h in headers if h.startswith("x-ms-")))
    canonical_query = "".join(f"\n{name.lower()}:{value}" for name, value in sorted(query.items()))
    return f"{method}\n" + "\n".join(standard) + "\n" + canonical_headers + f"/{account}{path}" + canonical_query


class SharedKeyBlobs:
    """GET (a first range), PUT and HEAD of single blobs of one storage account, on one kept-alive session."""

    def __init__(self, account_url: str, account: str, key: str):
        self.account_url = account_url.rstrip("/")
        self.account = account
        self._key = base64.b64decode(key)
        self._session: aiohttp.ClientSession | None = None

    @staticmethod
    def handles(container: str, blob: str) -> bool:
        """Whether this client takes the blob (plain names); others go through azure-storage-blob."""
        return bool(_SIMPLE.match(container) and _SIMPLE.match(blob))

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            # idle connections are dropped before Azurite's keep-alive timeout (5 s) closes them under our feet
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=5),
            auto_decompress=False,  # inputs are read as stored (gzip stays gzip: the codec bounds its expansion)
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=bool(getproxies()),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, container: str, blob: str, headers: dict[str, str] | None = None,
                      data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        """(status, response headers, body). StorageUnavailable when storage cannot be reached or times out."""
        if self._session is None:
            raise RuntimeError("blob client is not open")
        url = f"{self.account_url}/{container}/{blob}"
        for attempt in (1, 2):
            sent = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION, **(headers or {})}
            if data is not None:  # (aiohttp would add this Content-Type itself, after signing)
                sent.update({"content-length": str(len(data)), "content-type": "application/octet-stream"})
            signature = hmac.new(self._key, string_to_sign(method, self.account, urlsplit(url).path, sent,
                                                           {}).encode(), hashlib.sha256).digest()
            sent["authorization"] = f"SharedKey {self.account}:{base64.b64encode(signature).decode()}"
            try:
                async with self._session.request(method, url, headers=sent, data=data) as resp:
                    body = await resp.read()
                    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body
            except STALE_CONNECTION:
                if attempt == 2:  # a kept-alive connection storage had closed: once more, on a new one
                    raise StorageUnavailable(f"{method} {container}/{blob}: the connection closed twice") from None
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise StorageUnavailable(f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
        raise AssertionError("unreachable")
