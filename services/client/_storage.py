"""Blob storage calls of the client, made with the SAS URLs the service hands out.

`client_kwargs` go to azure-storage-blob's client (e.g. `connection_verify=<CA bundle>` for an https blob endpoint
signed by the local CA). When they carry the workspace's kept-alive session (`transport=AioHttpTransport(session)`,
inside `async with Workspace()`), the calls every submission makes (create the job's container, upload its input,
download its result) are sent as plain requests on that session instead: azure-core's policy pipeline cost more of
the client's CPU per tiny job than everything else it does for the job. Storage sees the same requests (the same
SAS, headers and semantics: an upload never overwrites, `If-None-Match: *`); errors are azure-core's exceptions, as
before. Anything else (no session, names that need escaping, big blobs) goes through azure-storage-blob.
"""
from __future__ import annotations

import functools
import gzip
import re
import ssl
from typing import Any

import aiohttp
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, ContainerClient

MAX_CONCURRENCY = 4
API_VERSION = "2021-12-02"
PLAIN_MAX_BYTES = 4 * 1024 * 1024  # uploads up to this size go in one plain PUT (the SDK's single-shot limit is larger)
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_SAID = re.compile(rb"<Message>([^<\n]*)")  # the first line of an error's message (its others: request id, time)


def remove_sas(url: str) -> str:
    """The URL without its query (the SAS token), as the SDK's `remove_sas_token`."""
    index = url.find("?")
    return url if index == -1 else url[:index]


def blob_names(blob_url: str) -> tuple[str, str]:
    """(container, blob) of a blob URL; path-style (Azurite, 127.0.0.1) and host-style URLs both work."""
    client = BlobClient.from_blob_url(blob_url)
    return client.container_name, client.blob_name


def _session_of(client_kwargs: dict[str, Any]) -> tuple[aiohttp.ClientSession, Any] | None:
    """The kept-alive session (and its TLS setting) when the caller shares one, else None."""
    transport = client_kwargs.get("transport")
    if not isinstance(transport, AioHttpTransport):
        return None
    session = getattr(transport, "session", None)
    if session is None or session.closed:
        return None
    verify = transport.connection_config.verify
    return session, (_ssl_for(verify) if isinstance(verify, str) else None if verify else False)


@functools.lru_cache(maxsize=8)
def _ssl_for(ca_bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle)


def _with_path(url: str, suffix: str, query: str = "") -> str:
    base, _, sas = url.partition("?")
    return f"{base}{suffix}?{'&'.join(filter(None, (query, sas)))}"


async def _plain(plain: tuple[aiohttp.ClientSession, Any], method: str, url: str, headers: dict[str, str],
                 data: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body). A kept-alive connection storage closed meanwhile (Azurite: after 5 s idle) fails
    before the request is processed: it is sent once more, on a new connection; its status then has `retried`."""
    session, tls = plain
    for attempt in (1, 2):
        try:
            async with session.request(method, url, data=data, ssl=tls, headers={"x-ms-version": API_VERSION,
                                                                                      **headers}) as resp:
                answer = {k.lower(): v for k, v in resp.headers.items()}
                if attempt == 2:
                    answer["retried"] = "1"
                return resp.status, answer, await resp.read()
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if attempt == 2:
                raise ServiceRequestError(f"{type(exc).__name__}: {exc}", error=exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceRequestError(f"{type(exc).__name__}: {exc}", error=exc) from exc
    raise AssertionError("unreachable")


def _raise_for(status: int, headers: dict[str, str], what: str, body: bytes = b"") -> None:
    code = headers.get("x-ms-error-code", "")
    message = f"{what}: storage answered {status} {code}".rstrip()
    said = _SAID.search(body)
    if said and said.group(1).strip():  # e.g. Azurite's disk is full (services/azurite_disk_full.js)
        message += f": {said.group(1).decode(errors='replace').strip()}"
    kind = {404: ResourceNotFoundError, 409: ResourceExistsError, 401: ClientAuthenticationError,
            403: ClientAuthenticationError}.get(status, HttpResponseError)
    error = kind(message=message)
    error.status_code = status
    try:
        raise error
    finally:
        del error  # else the frame holds the exception that holds the frame: a cycle for the garbage collector


async def create_container(container_uri: str, **client_kwargs: Any) -> None:
    """Create the container unless it exists (one call in the usual case: job containers are new)."""
    plain = _session_of(client_kwargs)
    if plain is not None:
        status, headers, body = await _plain(plain, "PUT", _with_path(container_uri, "", "restype=container"), {})
        if status not in (201, 409):  # 409: it exists already
            _raise_for(status, headers, "create container", body)
        return
    async with ContainerClient.from_container_url(container_uri, **client_kwargs) as container:
        try:
            await container.create_container()
        except ResourceExistsError:
            pass


async def upload_blob(container_uri: str, blob_name: str, data: bytes, content_type: str,
                      content_encoding: str | None = None, **client_kwargs: Any) -> str:
    """Upload a new blob (never overwriting, as the SDK) and return its URL without SAS."""
    plain = _session_of(client_kwargs)
    if plain is not None and _PLAIN_NAME.match(blob_name) and len(data) <= PLAIN_MAX_BYTES:
        headers = {"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": content_type, "If-None-Match": "*"}
        if content_encoding:
            headers["x-ms-blob-content-encoding"] = content_encoding
        status, answer, body = await _plain(plain, "PUT", _with_path(container_uri, f"/{blob_name}"), headers, data)
        if status == 409 and answer.get("retried"):  # the first try was written after all (its answer was lost)
            status = 201
        if status != 201:
            _raise_for(status, answer, f"upload {blob_name}", body)
        return remove_sas(container_uri).rstrip("/") + f"/{blob_name}"
    async with ContainerClient.from_container_url(container_uri, **client_kwargs) as container:
        blob = container.get_blob_client(blob_name)
        await blob.upload_blob(
            data,
            content_settings=ContentSettings(content_type=content_type, content_encoding=content_encoding or None),
            max_concurrency=MAX_CONCURRENCY,
        )
        return remove_sas(blob.url)


async def download_blob(blob_url: str, **client_kwargs: Any) -> bytes:
    """The blob's bytes (a gzip Content-Encoding is undone on the way, as for the SDK)."""
    plain = _session_of(client_kwargs)
    if plain is not None:
        status, headers, body = await _plain(plain, "GET", blob_url, {})
        if status != 200:
            _raise_for(status, headers, "download", body)
        return gzip.decompress(body) if headers.get("content-encoding", "").lower() == "gzip" else body
    async with BlobClient.from_blob_url(blob_url, **client_kwargs) as blob:
        stream = await blob.download_blob(max_concurrency=MAX_CONCURRENCY)
        return await stream.readall()
