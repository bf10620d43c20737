"""BlobStore against a real Azurite: job input reads (any container, either encoding, bounded), output writes,
and typed errors for missing blobs, bad URLs and storage that is down."""
from __future__ import annotations

import gzip
import json
import socket
import time
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import ContentSettings

from contracts import errors
from contracts.problems import decode_problem, encode_protobuf
from services.blobs import InputError, StorageUnavailable
from services.blobs.azure_store import BlobStore
from services.config import Settings

pytestmark = pytest.mark.integration

PROBLEM = {"cost_function": {"version": "1.0", "type": "ising", "terms": [{"c": -3, "ids": [0, 1]}]}}
PLAIN = json.dumps(PROBLEM).encode()


def settings_for(blob_url: str, tmp_path: Path, **kw) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path, blob_url=blob_url, tokens={"t" * 20: "openqio"}, **kw)


@pytest.fixture(scope="module")
async def blobs(azurite, tmp_path_factory):
    store = BlobStore(settings_for(azurite.blob_url, tmp_path_factory.mktemp("blobs"), max_input_bytes=64 * 1024))
    await store.open()
    yield store
    await store.close()


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def put(blobs: BlobStore, container: str, blob: str, data: bytes, content_type: str = "application/json",
              encoding: str | None = None) -> None:
    client = blobs.client.get_container_client(container)
    if not await client.exists():
        await client.create_container()
    await client.upload_blob(blob, data, overwrite=True,
                             content_settings=ContentSettings(content_type=content_type, content_encoding=encoding))


async def test_gzip_input_is_returned_as_stored(blobs: BlobStore):
    """The SDK uploads gzip with Content-Encoding: gzip; we read the stored bytes (no transparent decompression),
    and the codec takes them."""
    container = unique("job")
    await put(blobs, container, "inputData", gzip.compress(PLAIN), encoding="gzip")
    data, content_type = await blobs.read_input(f"{blobs.account_url}/{container}/inputData", "")
    assert data[:2] == b"\x1f\x8b" and gzip.decompress(data) == PLAIN
    assert content_type == "application/json"
    assert list(decode_problem(data, content_type).terms()) == [(-3.0, (0, 1))]


async def test_uncompressed_input_is_returned_as_stored(blobs: BlobStore):
    container = unique("job")
    await put(blobs, container, "inputData", PLAIN)
    data, _ = await blobs.read_input(None, f"{blobs.account_url}/{container}?sv=x&sig=y")  # containerUri + /inputData
    assert data == PLAIN
    assert list(decode_problem(data).terms()) == [(-3.0, (0, 1))]


async def test_protobuf_input_keeps_its_content_type(blobs: BlobStore):
    container = unique("job")
    body = encode_protobuf("pubo", [(-3, [1, 0]), (5, [2, 0])])
    await put(blobs, container, "inputData", body, content_type="application/x-protobuf", encoding="gzip")
    data, content_type = await blobs.read_input(None, f"{blobs.account_url}/{container}")
    assert data == body and content_type == "application/x-protobuf"
    assert decode_problem(data, content_type).n_terms == 2


async def test_inputs_outside_the_job_container(blobs: BlobStore):
    """qio-problems/inputData (Problem.upload) and <uuid>/<uuid> (StreamingProblem) with no SAS in the URL."""
    name = str(uuid.uuid1())
    await put(blobs, name, name, gzip.compress(PLAIN), encoding="gzip")
    data, _ = await blobs.read_input(f"{blobs.account_url}/{name}/{name}", f"{blobs.account_url}/job-{name}")
    assert gzip.decompress(data) == PLAIN
    await put(blobs, "qio-problems", "nested/dir/inputData", PLAIN)
    data, _ = await blobs.read_input(f"{blobs.account_url}/qio-problems/nested/dir/inputData", "")
    assert data == PLAIN


@pytest.mark.parametrize("which", ["blob", "container"])
async def test_missing_input_is_input_not_found(blobs: BlobStore, which: str):
    container = unique("job")
    if which == "blob":
        await blobs.client.create_container(container)
    with pytest.raises(InputError) as exc:
        await blobs.read_input(None, f"{blobs.account_url}/{container}")
    assert exc.value.code == errors.INPUT_NOT_FOUND and f"{container}/inputData" in exc.value.message


@pytest.mark.parametrize("uri", ["not a url", "http://127.0.0.1:1/devstoreaccount1/job-1", "ftp://x/a/b",
                                 "http://127.0.0.1:1/devstoreaccount1/job-1/../../etc"])
async def test_bad_input_urls_are_invalid_input(blobs: BlobStore, uri: str):
    with pytest.raises(InputError) as exc:
        await blobs.read_input(uri, "")
    assert exc.value.code == errors.INVALID_INPUT_DATA


async def test_oversized_input_is_refused_before_download(blobs: BlobStore):
    container = unique("job")
    await put(blobs, container, "inputData", b"x" * (64 * 1024 + 1))
    with pytest.raises(InputError) as exc:
        await blobs.read_input(None, f"{blobs.account_url}/{container}")
    assert exc.value.code == errors.PROBLEM_TOO_LARGE
    await put(blobs, container, "inputData", b"x" * (64 * 1024))  # exactly at the limit is fine
    data, _ = await blobs.read_input(None, f"{blobs.account_url}/{container}")
    assert len(data) == 64 * 1024


async def test_write_output_creates_overwrites_and_returns_the_plain_url(blobs: BlobStore):
    container = unique("job")  # missing: a URL submission whose container the client never created
    url = await blobs.write_output(container, b'{"cost": 1}')
    assert url == f"{blobs.account_url}/{container}/rawOutputData"
    url = await blobs.write_output(container, b'{"cost": 2}')  # a rerun after a crash replaces the answer
    client = blobs.client.get_blob_client(container, "rawOutputData")
    props = await client.get_blob_properties()
    assert props.content_settings.content_type == "application/json"
    assert not props.content_settings.content_encoding
    assert await (await client.download_blob()).readall() == b'{"cost": 2}'
    with pytest.raises(ValueError):
        await blobs.write_output("../escape", b"{}")


async def test_ping(blobs: BlobStore):
    assert await blobs.ping() is True


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_storage_down_is_storage_unavailable(tmp_path: Path):
    down = BlobStore(settings_for(f"http://127.0.0.1:{closed_port()}/devstoreaccount1", tmp_path))
    await down.open()
    started = time.monotonic()
    try:
        with pytest.raises(StorageUnavailable):
            await down.read_input(None, f"{down.account_url}/job-1")
        with pytest.raises(StorageUnavailable):
            await down.write_output("job-1", b"{}")
        assert await down.ping() is False
        # bounded in-call retries (the SDK default backoff made each call take ~40 s); a loose bound, not a benchmark
        assert time.monotonic() - started < 45
        # SAS URLs need no storage round trip, so job reads keep working while storage is down
        assert down.container_sas_url("job-1").startswith(f"{down.account_url}/job-1?")
    finally:
        await down.close()


async def test_wrong_key_is_not_mistaken_for_a_missing_blob(azurite, tmp_path: Path):
    """An authentication failure is a storage problem to report, not InputDataNotFound."""
    wrong = BlobStore(settings_for(azurite.blob_url, tmp_path, storage_key="d3Jvbmcta2V5" * 8))
    await wrong.open()
    try:
        with pytest.raises((InputError, StorageUnavailable)) as exc:
            await wrong.read_input(None, f"{wrong.account_url}/job-1")
        if isinstance(exc.value, InputError):
            assert exc.value.code != errors.INPUT_NOT_FOUND
    finally:
        await wrong.close()
