"""services/azurite_writes.js: the Azurite openqio starts writes a small upload on its own thread and syncs it before
answering, with Azurite's outcomes for failed and cut-short uploads, and leaves larger ones to Azurite's own path
(bytes, calls and outcomes checked, never timed)."""
from __future__ import annotations

import os

import pytest

from services.azurite import SMALL_WRITES, WRITES_JS
from tests.conftest import disk_azurite, node_scenario

pytestmark = pytest.mark.integration

# argv[1]: the preload, argv[2]: a scratch directory. A store with Azurite's streamPipe signature (its own path
# records the call), the preload installed, and uploads shaped like Azurite's: the request stream with its headers.
_SCENARIO = r"""
const fs = require("fs");
const path = require("path");
const { PassThrough } = require("stream");
const synced = [];  // the descriptors fdatasync was called on
const fdatasync = fs.fdatasync;
fs.fdatasync = (fd, done) => { synced.push(fd); fdatasync(fd, done); };
const { install, SYNC_BYTES } = require(process.argv[1]);
const dir = process.argv[2];

const own = [];
class Store { async streamPipe(rs, ws, fd) { own.push(fd); return "own"; } }
const installed = install(Store);
const installedTwice = install(Store);
const store = new Store();

// an upload: `chunks` arriving one by one, then the end (or `stop(stream)` instead of the end)
function upload(chunks, length, stop) {
  const stream = new PassThrough();
  stream.headers = length === undefined ? {} : { "content-length": String(length) };
  (async () => {
    for (const chunk of chunks) { await new Promise((ok) => setImmediate(ok)); stream.write(chunk); }
    await new Promise((ok) => setImmediate(ok));
    if (stop) stop(stream); else stream.end();
  })();
  return stream;
}
const outcome = (promise) => promise.then((value) => ({ value }), (err) => ({ error: err.code || err.message }));
const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, k) => (k * 13 + seed) % 251));

(async () => {
  const file = path.join(dir, "extent");
  fs.writeFileSync(file, "0123456789");  // an extent already holding another blob
  const fd = fs.openSync(file, "a");
  const parts = [bytes(300, 1), bytes(500, 2), bytes(200, 3)];
  const small = await outcome(store.streamPipe(upload(parts, 1000), null, fd));
  const smallFile = fs.readFileSync(file).equals(Buffer.concat([Buffer.from("0123456789"), ...parts]));
  const smallSynced = synced.includes(fd);

  const whole = await outcome(store.streamPipe(upload([bytes(SYNC_BYTES, 4)], SYNC_BYTES), null, fd));
  const large = await outcome(store.streamPipe(upload([], SYNC_BYTES + 1), null, fd));
  const unknown = await outcome(store.streamPipe(upload([], undefined), null, fd));
  const noFd = await outcome(store.streamPipe(upload([], 10), null, undefined));
  const ownCalls = own.length;

  // a request cut short ('close' without 'end'): what arrived is written and counted, as Azurite's path does
  const cutBefore = fs.statSync(file).size;
  const cut = await outcome(store.streamPipe(upload([bytes(100, 5)], 1000, (s) => s.destroy()), null, fd));
  const cutWritten = fs.statSync(file).size - cutBefore;
  // a request that fails mid-way, and a write that fails (a closed descriptor): rejected with their errors
  const broken = await outcome(store.streamPipe(upload([bytes(10, 6)], 1000, (s) => s.destroy(new Error("boom"))),
                                                null, fd));
  fs.closeSync(fd);
  const badFd = await outcome(store.streamPipe(upload([bytes(10, 7)], 10), null, fd));
  console.log(JSON.stringify({ installed, installedTwice, small, smallFile, smallSynced, whole, large, unknown, noFd,
                               ownCalls, cut, cutWritten, broken, badFd, syncBytes: SYNC_BYTES }));
})().catch((err) => { console.error(err); process.exit(1); });
"""


def test_small_uploads_are_written_and_synced_with_azurites_outcomes(tmp_path):
    r = node_scenario(_SCENARIO, str(WRITES_JS), str(tmp_path))
    assert r["installed"] and not r["installedTwice"]
    assert r["small"] == {"value": 1000} and r["smallFile"] and r["smallSynced"]  # appended in order, synced
    assert r["whole"] == {"value": r["syncBytes"]}
    # past SYNC_BYTES, of unknown length, or without a descriptor: Azurite's own path, once each
    assert r["large"] == r["unknown"] == r["noFd"] == {"value": "own"} and r["ownCalls"] == 3
    assert r["cut"] == {"value": 100} and r["cutWritten"] == 100
    assert r["broken"] == {"error": "boom"}
    assert r["badFd"] == {"error": "EBADF"}


def test_the_azurite_openqio_starts_stores_uploads_of_every_size(tmp_path):
    """Real Azurite on disk: uploads on both sides of the preload's limit read back whole, and again after a restart
    on the same data."""
    from azure.storage.blob import BlobServiceClient

    sizes = [0, 1, 700, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 1 << 20]
    stored = {k: os.urandom(size) for k, size in enumerate(sizes)}
    with disk_azurite(tmp_path / "blobs") as azurite:
        assert SMALL_WRITES in azurite.installed
        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        for k, data in stored.items():
            service.create_container(f"job-{k}").upload_blob("inputData", data)
        for k, data in stored.items():
            assert service.get_blob_client(f"job-{k}", "inputData").download_blob().readall() == data
    with disk_azurite(tmp_path / "blobs") as azurite:
        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        for k, data in stored.items():
            assert service.get_blob_client(f"job-{k}", "inputData").download_blob().readall() == data
