"""Blob storage for job input and output: the interfaces the gateway, the dispatcher and the output keeper use
(`BlobAccess` for one storage account, `WorkspaceStorage` for every workspace's), and the errors they distinguish.
The implementation is services.blobs.azure_store (azure-storage-blob against Azurite or Azure Storage)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from services.blobs.azure_store import InputProbe


class InputError(Exception):
    """The input blob is missing or unreadable for a reason retrying will not fix. `code` is a wire error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class StorageUnavailable(Exception):
    """Blob storage could not be reached or failed on its side; worth retrying."""


class StorageFull(StorageUnavailable):
    """Blob storage refused a write because its disk is full (the Azurite openqio supervises says so); worth
    retrying once space is freed, however long that takes."""


class BlobAccess(Protocol):
    """One storage account: SAS URLs for clients (local signing, no storage call), URL parsing (InvalidName for a
    URL that names no container/blob of this account), and the service's own reads and writes."""

    account: str

    def container_sas_url(self, container: str) -> str: ...
    def job_container_sas_url(self, container: str) -> str: ...
    def blob_sas_url(self, container: str, blob: str, permission: str = "r") -> str: ...
    def parse_container_uri(self, uri: str) -> str: ...
    def parse_blob_uri(self, uri: str) -> tuple[str, str]: ...
    def output_location(self, output_data_uri: str | None, container_uri: str) -> tuple[str, str]: ...

    async def probe_input(self, input_data_uri: str | None, container_uri: str) -> InputProbe: ...
    async def read_input(self, input_data_uri: str | None, container_uri: str,
                         max_bytes: int | None = None) -> tuple[bytes, str | None]: ...
    async def write_output(self, container: str, data: bytes) -> str: ...
    async def blob_size(self, container: str, blob: str) -> int | None: ...


class WorkspaceStorage(Protocol):
    """Each workspace's storage account (services.blobs.azure_store.WorkspaceBlobs)."""

    def for_workspace(self, workspace: str) -> BlobAccess: ...
    async def ping(self) -> bool: ...
