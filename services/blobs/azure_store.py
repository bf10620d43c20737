"""Blob storage (azure-storage-blob, aio) against Azurite or Azure: SAS URLs, job input reads, output writes.

The service reads inputs with its own account credentials, so inputs may live outside the job container
(`qio-problems/inputData`, a StreamingProblem's `<uuid>/<uuid>`) and need no SAS. Input bytes are read
compressed as stored (`decompress=False`): the problem codec decompresses with a bound, so a gzip bomb never
expands in memory here.

One `BlobStore` per storage account. `WorkspaceBlobs` holds one per account the workspaces use
(OPENQIO_WORKSPACE_STORAGE, or generated with `--with-azurite`): `for_workspace(ws)` is the store every SAS, input
read and output write of that workspace goes through, so no SAS a workspace is handed is signed with another one's
key. A URL naming another workspace's account is refused (ForeignAccount). A lone `BlobStore` answers
`for_workspace` with itself.

Credentials: the service's own calls use the account key, or with OPENQIO_STORAGE_AUTH=entra a Microsoft Entra ID
token (azure-identity's DefaultAzureCredential: managed identity, workload identity, AZURE_CLIENT_* variables, a
developer's `az login`; the identity needs "Storage Blob Data Contributor"). Every SAS is signed with the account key
either way: `sasUri` must answer an account SAS (contract §3.6), and no Entra-signed (user delegation) SAS can create
or inspect containers as the SDK's upload does. URLs handed to clients use the account's public URL
(OPENQIO_PUBLIC_BLOB_URL), the service itself talks to its blob URL; both parse back to the same blobs.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    AccountSasPermissions,
    BlobSasPermissions,
    ContainerSasPermissions,
    ContentSettings,
    ResourceTypes,
    generate_account_sas,
    generate_blob_sas,
    generate_container_sas,
)
from azure.storage.blob.aio import BlobServiceClient, LinearRetry

from contracts import errors
from services.azurite import DISK_FULL_MESSAGE
from services.blobs import InputError, StorageFull, StorageUnavailable
from services.blobs.shared_key import SharedKeyBlobs
from services.config import Settings, StorageAccount

log = logging.getLogger(__name__)

OUTPUT_BLOB = "rawOutputData"
INPUT_BLOB = "inputData"
# First GET of an input: one round trip for every problem up to this size; a larger blob is read on in chunks of
# the same size, and one over the limit is refused after at most this much has been transferred.
FIRST_GET_BYTES = 4 * 1024 * 1024
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


class InvalidName(ValueError):
    pass


@dataclass(frozen=True)
class InputProbe:
    """What the submission-time check of an input found (BlobStore.probe_input)."""

    size: int  # stored bytes
    data: bytes | None  # the stored bytes, when they came with the first GET (up to FIRST_GET_BYTES)
    content_type: str | None


class ForeignAccount(InvalidName):
    """A URL names a storage account of another workspace: answered like a container that does not exist."""


def check_container_name(name: str) -> str:
    """Azure's rules: 3–63 characters, lowercase letters, digits and single hyphens, starting with a letter/digit."""
    if not isinstance(name, str) or not _CONTAINER.match(name):
        raise InvalidName(f"invalid container name {name!r}: use 3-63 lowercase letters, digits and single hyphens")
    return name


def check_blob_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 1024 or "\\" in name or any(ord(ch) < 32 for ch in name):
        raise InvalidName(f"invalid blob name {name!r}")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidName(f"invalid blob name {name!r}: no empty, '.' or '..' path segments")
    return name


def _output_error(status: int | None, said: str) -> StorageUnavailable:
    """A refused output write: StorageFull where storage said its disk is full, else StorageUnavailable."""
    if DISK_FULL_MESSAGE in said:
        return StorageFull(f"storage answered {status} writing the output: its disk is full")
    return StorageUnavailable(f"storage answered {status} writing the output")


def _input_error(exc: AzureError, container: str, blob: str) -> Exception:
    """What a storage error while reading an input means to the dispatcher: InputError (missing, or refused for good)
    or StorageUnavailable (worth retrying: connection errors and 5xx)."""
    if isinstance(exc, ResourceNotFoundError):
        return InputError(errors.INPUT_NOT_FOUND, f"input blob {container}/{blob} does not exist")
    if isinstance(exc, HttpResponseError) and (exc.status_code is None or exc.status_code < 500):
        return InputError(errors.INVALID_INPUT_DATA, f"input blob {container}/{blob} could not be read ({exc.status_code})")
    if isinstance(exc, HttpResponseError):
        return StorageUnavailable(f"storage answered {exc.status_code}")
    return StorageUnavailable(str(exc).splitlines()[0])


class BlobStore:
    """One storage account (default: OPENQIO_STORAGE_ACCOUNT at OPENQIO_BLOB_URL)."""

    def __init__(self, settings: Settings, account: StorageAccount | None = None):
        self.settings = settings
        account = account or settings.default_storage
        self.account_url = account.blob_url.rstrip("/")  # where this service reaches the account
        self.public_url = account.client_url.rstrip("/")  # where clients do: the base of every URL handed out
        self.account = account.name
        self._key = account.key
        self._credential: Any = None  # an azure-identity credential with OPENQIO_STORAGE_AUTH=entra
        # the other accounts this service knows: a URL naming one of them is another workspace's
        self._foreign = {a.name for a in (*settings.storage_accounts, settings.default_storage)} - {self.account}
        # (host, path segments) of the two URLs this account is known by, split once: every job URL parsed (three
        # per rendered job, one render per poll) is matched against them
        self._own_bases = [(parts.netloc.lower(), [unquote(s) for s in parts.path.split("/") if s])
                           for parts in map(urlsplit, dict.fromkeys((self.public_url, self.account_url)))]
        self._client: BlobServiceClient | None = None
        self._plain: SharedKeyBlobs | None = None  # the per-job calls without azure-core's pipeline (key auth)

    def for_workspace(self, workspace: str) -> BlobStore:
        return self

    async def open(self) -> None:
        credential: Any = {"account_name": self.account, "account_key": self._key}
        if self.settings.storage_auth == "entra":
            from azure.identity.aio import DefaultAzureCredential  # the `entra` extra; checked by Settings

            credential = self._credential = DefaultAzureCredential()
        self._client = BlobServiceClient(
            self.account_url,
            credential=credential,
            # Short in-call retries (two, ~1 s apart): the SDK's default waits 15 s then 18 s, so one call to a storage
            # that is down took ~40 s. Callers (the dispatcher) retry StorageUnavailable with their own backoff.
            retry_policy=LinearRetry(backoff=1, retry_total=2, random_jitter_range=0.5),  # type: ignore[arg-type]
            connection_timeout=5,
            read_timeout=60,
            max_single_get_size=FIRST_GET_BYTES,
            max_chunk_get_size=FIRST_GET_BYTES,
            # With env settings on, aiohttp looks up proxy variables and ~/.netrc in a thread on every request (a
            # tenth of the service's CPU per tiny job); do it only where a proxy is configured, which needs it.
            use_env_settings=bool(getproxies()),
        )
        if self.settings.storage_auth == "key":
            self._plain = SharedKeyBlobs(self.account_url, self.account, self._key)
            await self._plain.open()

    async def close(self) -> None:
        if self._plain is not None:
            await self._plain.close()
            self._plain = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._credential is not None:
            await self._credential.close()
            self._credential = None

    @property
    def client(self) -> BlobServiceClient:
        if self._client is None:
            raise RuntimeError("blob store is not open")
        return self._client

    # -- SAS URLs handed to clients --------------------------------------------------------------------------------

    def _expiry(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.sas_ttl_s)

    def container_url(self, container: str) -> str:
        return f"{self.public_url}/{container}"

    def blob_url(self, container: str, blob: str) -> str:
        return f"{self.public_url}/{container}/{blob}"

    def container_sas_url(self, container: str) -> str:
        """An account SAS (ss=b, srt=co, sp=racw): the only kind Azurite accepts for the SDK's container calls
        (exists, create, upload). It is not bound to `container`: hand it out only from `sasUri`, where the SDK needs
        it; job answers carry `job_container_sas_url` instead. No list, no delete: the SDK uses neither."""
        check_container_name(container)
        sas = generate_account_sas(
            self.account,
            self._key,
            resource_types=ResourceTypes(container=True, object=True),
            permission=AccountSasPermissions(read=True, add=True, create=True, write=True),
            expiry=self._expiry(),
            start=datetime.now(UTC) - timedelta(minutes=5),
        )
        return f"{self.container_url(container)}?{sas}"

    def job_container_sas_url(self, container: str) -> str:
        """A service SAS bound to one container (sr=c, sp=rl): a job's `containerUri`, for reading its blobs."""
        check_container_name(container)
        sas = generate_container_sas(
            self.account,
            container,
            account_key=self._key,
            permission=ContainerSasPermissions(read=True, list=True),
            expiry=self._expiry(),
            start=datetime.now(UTC) - timedelta(minutes=5),
        )
        return f"{self.container_url(container)}?{sas}"

    def blob_sas_url(self, container: str, blob: str, permission: str = "r") -> str:
        check_container_name(container)
        check_blob_name(blob)
        sas = generate_blob_sas(
            self.account,
            container,
            blob,
            account_key=self._key,
            permission=BlobSasPermissions.from_string(permission),
            expiry=self._expiry(),
            start=datetime.now(UTC) - timedelta(minutes=5),
        )
        return f"{self.blob_url(container, blob)}?{sas}"

    # -- URLs written by clients -------------------------------------------------------------------------------------

    def parse_blob_uri(self, uri: str) -> tuple[str, str]:
        """(container, blob) out of a path-style (`/account/container/blob`) or host-style blob URL."""
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.path:
            raise InvalidName(f"not a blob URL: {uri!r}")
        segments = self._own_segments(parts, [unquote(s) for s in parts.path.strip("/").split("/")])
        if len(segments) < 2:
            raise InvalidName(f"blob URL {uri!r} names no blob")
        return check_container_name(segments[0]), check_blob_name("/".join(segments[1:]))

    def parse_container_uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        segments = self._own_segments(parts, [unquote(s) for s in parts.path.strip("/").split("/") if s])
        if len(segments) != 1:
            raise InvalidName(f"containerUri {uri!r} does not name one container")
        return check_container_name(segments[0])

    def _own_segments(self, parts, segments: list[str]) -> list[str]:
        """The path below this account; ForeignAccount when the URL's path (path-style) or host (host-style) names
        another account this service knows. A URL below this account's public or own blob URL (whatever its path
        prefix, e.g. a reverse proxy's) is this account's."""
        netloc = parts.netloc.lower()
        for host, prefix in self._own_bases:
            if netloc == host and segments[:len(prefix)] == prefix:
                return segments[len(prefix):]
        if segments and segments[0] == self.account:
            return segments[1:]
        named = segments[0] if segments and segments[0] in self._foreign else (parts.hostname or "").split(".")[0]
        if named in self._foreign:
            raise ForeignAccount(f"storage account {named!r} was not found")
        return segments

    # -- job data --------------------------------------------------------------------------------------------------

    async def read_input(self, input_data_uri: str | None, container_uri: str,
                         max_bytes: int | None = None) -> tuple[bytes, str | None]:
        """The input blob's stored bytes and Content-Type. InputError: missing/too large; StorageUnavailable: retry.

        `max_bytes` (default OPENQIO_MAX_INPUT_BYTES) bounds the stored size. One GET reads a blob up to
        FIRST_GET_BYTES and tells its full size, so a typical job costs one storage round trip; a blob over the bound
        is refused after at most FIRST_GET_BYTES. A bound below FIRST_GET_BYTES (a caller that wants little) is
        checked against the blob's properties first, before anything is downloaded."""
        limit = self.settings.max_input_bytes if max_bytes is None else max_bytes
        container, blob = self._input_blob(input_data_uri, container_uri)
        blob_client = self.client.get_blob_client(container, blob)
        try:
            if limit < FIRST_GET_BYTES:
                props = await blob_client.get_blob_properties()
                if props.size > limit:
                    raise InputError(errors.PROBLEM_TOO_LARGE, f"input blob is {props.size} bytes, over the limit of {limit}")
            stream = await blob_client.download_blob(decompress=False, max_concurrency=1)
            if stream.size > limit:  # known from the first GET's Content-Range; the rest is never fetched
                raise InputError(errors.PROBLEM_TOO_LARGE, f"input blob is {stream.size} bytes, over the limit of {limit}")
            return await stream.readall(), stream.properties.content_settings.content_type
        except AzureError as exc:
            raise _input_error(exc, container, blob) from None

    def _input_blob(self, input_data_uri: str | None, container_uri: str) -> tuple[str, str]:
        try:
            return self.input_location(input_data_uri, container_uri)
        except InvalidName as exc:
            raise InputError(errors.INVALID_INPUT_DATA, str(exc)) from None

    def input_location(self, input_data_uri: str | None, container_uri: str) -> tuple[str, str]:
        """(container, blob) of a job's input: `inputDataUri` when given, else `inputData` in its container.
        InvalidName for URLs that name none."""
        if input_data_uri:
            return self.parse_blob_uri(input_data_uri)
        return self.parse_container_uri(container_uri), INPUT_BLOB

    def output_location(self, output_data_uri: str | None, container_uri: str) -> tuple[str, str]:
        """(container, blob) of a job's `rawOutputData`."""
        if output_data_uri:
            return self.parse_blob_uri(output_data_uri)
        return self.parse_container_uri(container_uri), OUTPUT_BLOB

    async def probe_input(self, input_data_uri: str | None, container_uri: str) -> InputProbe:
        """Check a job's input at submission with one GET: its stored size, and its bytes when they fit in that GET
        (FIRST_GET_BYTES), so the dispatcher can start the job without reading it again. InputError when it is
        missing or unreadable; StorageUnavailable at once (no in-call retries: the submission must not wait)."""
        container, blob = self._input_blob(input_data_uri, container_uri)
        if self._plain is not None and self._plain.handles(container, blob):
            probe = await self._plain_probe(container, blob)
            if probe is not None:
                return probe
        try:
            stream = await self.client.get_blob_client(container, blob).download_blob(
                decompress=False, max_concurrency=1, retry_total=0)
            size = stream.size
            data = await stream.readall() if size <= FIRST_GET_BYTES else None  # no further request when it fits
            return InputProbe(size=size, data=data, content_type=stream.properties.content_settings.content_type)
        except AzureError as exc:
            raise _input_error(exc, container, blob) from None

    async def _plain_probe(self, container: str, blob: str) -> InputProbe | None:
        """probe_input's GET without azure-core; None where azure-storage-blob must do it (an empty blob: 416)."""
        assert self._plain is not None
        status, headers, body = await self._plain.request("GET", container, blob,
                                                          {"x-ms-range": f"bytes=0-{FIRST_GET_BYTES - 1}"})
        if status in (200, 206):
            total = headers.get("content-range", "").rpartition("/")[2]
            size = int(total) if status == 206 and total.isdigit() else len(body)
            return InputProbe(size=size, data=body if size <= FIRST_GET_BYTES else None,
                              content_type=headers.get("content-type"))
        if status == 404:
            raise InputError(errors.INPUT_NOT_FOUND, f"input blob {container}/{blob} does not exist")
        if status >= 500:
            raise StorageUnavailable(f"storage answered {status}")
        if status == 416:
            return None
        raise InputError(errors.INVALID_INPUT_DATA, f"input blob {container}/{blob} could not be read ({status})")

    async def blob_size(self, container: str, blob: str) -> int | None:
        """The stored size of a blob, or None when it does not exist. StorageUnavailable when storage cannot say."""
        if self._plain is not None and self._plain.handles(container, blob):
            status, headers, _ = await self._plain.request("HEAD", container, blob)
            if status == 200 and headers.get("content-length", "").isdigit():
                return int(headers["content-length"])
            if status == 404:
                return None
            raise StorageUnavailable(f"storage answered {status} to HEAD {container}/{blob}")
        try:
            props = await self.client.get_blob_client(container, blob).get_blob_properties(retry_total=0)
            return int(props.size)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StorageUnavailable(str(exc).splitlines()[0]) from None

    async def write_output(self, container: str, data: bytes) -> str:
        """Write `rawOutputData` (overwriting: a rerun after a crash replaces a partial answer). Returns its URL."""
        check_container_name(container)
        if self._plain is not None:
            status, _, body = await self._plain.request("PUT", container, OUTPUT_BLOB, {
                "x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "application/json"}, data)
            if status == 201:
                return self.blob_url(container, OUTPUT_BLOB)
            if status != 404:  # 404: the container is gone; azure-storage-blob below creates it
                raise _output_error(status, body.decode(errors="replace"))
        blob_client = self.client.get_blob_client(container, OUTPUT_BLOB)
        settings = ContentSettings(content_type="application/json")
        try:
            try:
                await blob_client.upload_blob(data, overwrite=True, content_settings=settings)
            except ResourceNotFoundError:
                try:
                    await self.client.create_container(container)
                except ResourceExistsError:
                    pass
                await blob_client.upload_blob(data, overwrite=True, content_settings=settings)
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise StorageUnavailable(str(exc).splitlines()[0]) from None
        except HttpResponseError as exc:
            raise _output_error(exc.status_code, str(exc)) from None
        except AzureError as exc:
            raise StorageUnavailable(str(exc).splitlines()[0]) from None
        return self.blob_url(container, OUTPUT_BLOB)

    async def ping(self) -> bool:
        try:
            await self.client.get_account_information()
            return True
        except AzureError:
            return False


class WorkspaceBlobs:
    """One BlobStore per storage account the workspaces use; `for_workspace` picks the workspace's."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.stores = {account.name: BlobStore(settings, account) for account in settings.storage_accounts}

    def for_workspace(self, workspace: str) -> BlobStore:
        store = self.stores.get(self.settings.storage_for(workspace).name)
        if store is None:  # a workspace outside the settings: no account to fall back on
            raise LookupError(f"workspace {workspace!r} has no storage account")
        return store

    async def open(self) -> None:
        for store in self.stores.values():
            await store.open()

    async def close(self) -> None:
        for store in self.stores.values():
            await store.close()

    async def ping(self) -> bool:
        return all([await store.ping() for store in self.stores.values()])
