"""BlobStore.read_input with the default (large) bound: one GET tells the size, larger blobs are read on in
chunks byte-exactly, and a blob over the bound is refused without reading it all."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import ContentSettings

from contracts import errors
from services.blobs import InputError
from services.blobs.azure_store import FIRST_GET_BYTES, BlobStore
from services.config import Settings

pytestmark = pytest.mark.integration


async def _store(blob_url: str, tmp_path: Path, max_input_bytes: int) -> BlobStore:
    store = BlobStore(Settings.from_env({}, data_dir=tmp_path, blob_url=blob_url, tokens={"t" * 20: "openqio"},
                                        max_input_bytes=max_input_bytes))
    await store.open()
    return store


async def _put(store: BlobStore, data: bytes, content_type: str = "application/x-protobuf") -> str:
    container = f"job-{uuid.uuid4().hex[:12]}"
    client = store.client.get_container_client(container)
    await client.create_container()
    await client.upload_blob("inputData", data, content_settings=ContentSettings(content_type=content_type))
    return f"{store.account_url}/{container}/inputData"


@pytest.mark.parametrize("size", [0, 1, FIRST_GET_BYTES - 1, FIRST_GET_BYTES, 2 * FIRST_GET_BYTES + 123])
async def test_inputs_of_every_size_are_read_exactly(azurite, tmp_path, size):
    store = await _store(azurite.blob_url, tmp_path, max_input_bytes=512 * 1024 * 1024)
    try:
        data = os.urandom(size)
        url = await _put(store, data)
        got, content_type = await store.read_input(url, "")
        assert got == data and content_type == "application/x-protobuf"
    finally:
        await store.close()


async def test_input_over_a_large_bound_is_refused(azurite, tmp_path):
    limit = FIRST_GET_BYTES + 1000  # above the first GET: the size comes from that GET's Content-Range
    store = await _store(azurite.blob_url, tmp_path, max_input_bytes=limit)
    try:
        ok = await _put(store, b"x" * limit, "application/json")
        assert len((await store.read_input(ok, ""))[0]) == limit
        too_big = await _put(store, b"x" * (limit + 1))
        with pytest.raises(InputError) as exc:
            await store.read_input(too_big, "")
        assert exc.value.code == errors.PROBLEM_TOO_LARGE and str(limit + 1) in exc.value.message
        # an explicit small bound is checked on the properties, before any download
        with pytest.raises(InputError) as exc:
            await store.read_input(ok, "", max_bytes=100)
        assert exc.value.code == errors.PROBLEM_TOO_LARGE
    finally:
        await store.close()
