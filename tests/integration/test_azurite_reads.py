"""services/azurite_reads.js: the Azurite openqio starts reads small blob ranges through descriptors it keeps open,
with the same bytes as Azurite's read streams, never more than MAX_OPEN kept, and none left open for a deleted extent
(bytes and descriptors counted, never timed)."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from services.azurite import KEPT_DESCRIPTORS, READS_JS
from tests.conftest import disk_azurite, node_scenario

pytestmark = pytest.mark.integration

# argv[1]: the preload, argv[2]: a scratch directory. A store shaped like Azurite's FSExtentStore (the methods the
# preload wraps, a metadata store that places extents) with the preload installed, driven through concurrent reads
# over more extent files than are kept, deletions while reads are under way, a missing file and a closed store.
_SCENARIO = r"""
const fs = require("fs");
const path = require("path");
const { Readable } = require("stream");
const { install, MAX_OPEN, MAX_BYTES, SYNC_BYTES } = require(process.argv[1]);
const dir = process.argv[2];

class BufferStream extends Readable {
  constructor(buffer) { super(); this.buffer = buffer; }
  _read() { this.push(this.buffer.length ? this.buffer : null); this.buffer = Buffer.alloc(0); }
}
const own = [];  // the ranges Azurite's own path was asked for
class Store {
  constructor() { this.metadataStore = { getExtentLocationId: async (id) => (id === "unplaced" ? undefined : "loc") }; }
  generateExtentPath(location, id) { return path.join(dir, id); }
  async readExtent(chunk) {
    own.push(chunk.id);
    if (chunk.id === "*ZERO*") return new BufferStream(Buffer.alloc(chunk.count));
    return fs.createReadStream(this.generateExtentPath("loc", chunk.id),
                               { start: chunk.offset, end: chunk.offset + chunk.count - 1 });
  }
  async deleteExtents(ids) { let n = 0; for (const id of ids) { fs.unlinkSync(path.join(dir, id)); n++; } return n; }
  async close() { this.closed = true; }
}
const installed = install(Store, "*ZERO*", BufferStream);
const installedTwice = install(Store, "*ZERO*", BufferStream);

const fds = () => fs.readdirSync("/proc/self/fd").filter((fd) => {  // descriptors of the extent files
  try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir); } catch (err) { return false; }
}).length;
const text = (stream) => new Promise((ok, fail) => {
  const parts = []; stream.on("data", (d) => parts.push(d)); stream.on("end", () => ok(Buffer.concat(parts)));
  stream.on("error", fail);
});
let seed = 7;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };

(async () => {
  const files = 3 * MAX_OPEN;
  const content = [];
  for (let i = 0; i < files; i++) {
    content.push(Buffer.from(Array.from({ length: 2000 + i }, (_, k) => (k * 31 + i) % 251)));
    fs.writeFileSync(path.join(dir, `e${i}`), content[i]);
  }
  const before = fds();
  const store = new Store();
  // 2000 concurrent reads of random ranges over 3 × MAX_OPEN files (some past each file's end)
  const ranges = Array.from({ length: 2000 }, () => {
    const i = rand(files); const offset = rand(content[i].length + 10); return { i, offset, count: 1 + rand(600) };
  });
  const got = await Promise.all(ranges.map((r) => store.readExtent({ id: `e${r.i}`, offset: r.offset, count: r.count })
    .then(text)));
  const same = ranges.every((r, k) => got[k].equals(content[r.i].subarray(r.offset, r.offset + r.count)));
  const kept = store.openqioDescriptors.kept.size;
  const fdsKept = fds() - before;
  const ownAfterReads = own.length;

  // delete extents while reads of them are under way: the reads finish with the right bytes, the files' descriptors close
  const doomed = Array.from(store.openqioDescriptors.kept.keys()).slice(0, 10).map((f) => path.basename(f));
  const during = doomed.map((id) => store.readExtent({ id, offset: 5, count: 100 }).then(text));
  await store.deleteExtents(doomed);
  const duringSame = (await Promise.all(during)).every((b, k) => b.equals(content[+doomed[k].slice(1)].subarray(5, 105)));
  await new Promise((ok) => setTimeout(ok, 50));
  const afterDelete = fds() - before;
  const forgotten = doomed.every((id) => !store.openqioDescriptors.kept.has(path.join(dir, id)));

  // a deleted extent, the zero extent, an empty and a large range take Azurite's own path
  own.length = 0;
  let missing = "";
  try { await text(await store.readExtent({ id: doomed[0], offset: 0, count: 10 })); } catch (err) { missing = err.code; }
  await text(await store.readExtent({ id: "*ZERO*", offset: 0, count: 10 }));
  const big = Buffer.alloc(MAX_BYTES + 1, 7); fs.writeFileSync(path.join(dir, "big"), big);
  const bigSame = (await text(await store.readExtent({ id: "big", offset: 0, count: MAX_BYTES + 1 }))).equals(big);
  const ownPaths = own.slice();
  // a range past SYNC_BYTES (read in the thread pool, not on the thread) is still this path's, with the same bytes
  const mid = Buffer.from(Array.from({ length: 3 * SYNC_BYTES }, (_, k) => (k * 7) % 253));
  fs.writeFileSync(path.join(dir, "mid"), mid);
  const midSame = (await text(await store.readExtent({ id: "mid", offset: 10, count: 2 * SYNC_BYTES })))
    .equals(mid.subarray(10, 10 + 2 * SYNC_BYTES)) && own.length === ownPaths.length;

  await store.close();
  await new Promise((ok) => setTimeout(ok, 50));
  console.log(JSON.stringify({
    installed, installedTwice, same, kept, fdsKept, maxOpen: MAX_OPEN, ownAfterReads, duringSame, afterDelete,
    forgotten, missing, bigSame, midSame, ownPaths, closed: store.closed === true, afterClose: fds() - before,
    keptAfterClose: store.openqioDescriptors.kept.size,
  }));
})().catch((err) => { console.error(err); process.exit(1); });
"""


def test_reads_through_kept_descriptors_are_the_same_bytes_and_descriptors_are_bounded(tmp_path):
    r = node_scenario(_SCENARIO, str(READS_JS), str(tmp_path))
    assert r["installed"] and not r["installedTwice"]
    assert r["same"]  # every range, past the end included, the bytes a read stream gives
    assert r["ownAfterReads"] == 0  # none of them took Azurite's own path
    assert r["kept"] == r["maxOpen"] and 0 < r["fdsKept"] <= r["maxOpen"]  # bounded, least recently used closed
    assert r["duringSame"] and r["forgotten"]  # reads under way when their extent is deleted end well
    assert r["afterDelete"] <= r["maxOpen"] - 10  # and the deleted extents' descriptors are closed
    assert r["missing"] == "ENOENT"  # Azurite's own answer for a missing file
    assert r["ownPaths"] == ["e" + r["ownPaths"][0][1:], "*ZERO*", "big"]  # missing, zero extent, large: Azurite's path
    assert r["bigSame"] and r["midSame"]
    assert r["closed"] and r["afterClose"] == 0 and r["keptAfterClose"] == 0


def test_the_azurite_openqio_starts_reads_back_what_it_stored(tmp_path):
    """Real Azurite on disk (where the preload applies): blobs of assorted sizes, whole and by range, read back."""
    with disk_azurite(tmp_path / "blobs") as azurite:
        assert KEPT_DESCRIPTORS in azurite.installed
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        rng = random.Random(3)
        sizes = [0, 1, 600, 64 * 1024 + 1, (1 << 20), (1 << 20) + 1, 3 * (1 << 20)] + [rng.randrange(1, 5000)
                                                                                      for _ in range(60)]
        stored = {}
        for k, size in enumerate(sizes):
            data = os.urandom(size)
            service.create_container(f"job-{k}").upload_blob("inputData", data)
            stored[k] = data
        for k, data in stored.items():
            blob = service.get_blob_client(f"job-{k}", "inputData")
            assert blob.download_blob().readall() == data
            if len(data) > 10:
                offset = rng.randrange(len(data) - 5)
                length = rng.randrange(1, len(data) - offset)
                assert blob.download_blob(offset=offset, length=length).readall() == data[offset:offset + length]
        assert azurite.pid is not None
        open_files = sum(1 for fd in Path(f"/proc/{azurite.pid}/fd").iterdir()
                         if str(fd.resolve()).startswith(str(tmp_path)))
        assert open_files <= 64 + 8  # the kept descriptors and Azurite's own (its index, the extent being written)
