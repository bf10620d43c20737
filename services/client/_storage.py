"""Blob storage calls of the client (azure-storage-blob aio), made with the SAS URLs the service hands out.

Each helper opens its own storage client for the duration of one operation. `client_kwargs` go to the storage
client (e.g. `connection_verify=<CA bundle>` for an https blob endpoint signed by the local CA).
"""
from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, ContainerClient

MAX_CONCURRENCY = 4


def remove_sas(url: str) -> str:
    """The URL without its query (the SAS token), as the SDK's `remove_sas_token`."""
    index = url.find("?")
    return url if index == -1 else url[:index]


def blob_names(blob_url: str) -> tuple[str, str]:
    """(container, blob) of a blob URL; path-style (Azurite, 127.0.0.1) and host-style URLs both work."""
    client = BlobClient.from_blob_url(blob_url)
    return client.container_name, client.blob_name


async def create_container(container_uri: str, **client_kwargs: Any) -> None:
    """Create the container unless it exists (one call in the usual case: job containers are new)."""
    async with ContainerClient.from_container_url(container_uri, **client_kwargs) as container:
        try:
            await container.create_container()
        except ResourceExistsError:
            pass


async def upload_blob(container_uri: str, blob_name: str, data: bytes, content_type: str,
                      content_encoding: str | None = None, **client_kwargs: Any) -> str:
    """Upload a new blob (never overwriting, as the SDK) and return its URL without SAS."""
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
    async with BlobClient.from_blob_url(blob_url, **client_kwargs) as blob:
        stream = await blob.download_blob(max_concurrency=MAX_CONCURRENCY)
        return await stream.readall()
