// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): Azurite reads a small
// blob range with one positioned read on a file descriptor it keeps open, instead of a read stream per range.
//
// Why: for every GET, Azurite's FSExtentStore.readExtent (dist/src/common/persistence/FSExtentStore.js) opens a
// `fs.createReadStream` on the extent file that holds the blob: an open, a read and a close, each a trip through
// libuv's thread pool, and a stream built and torn down around them. A job's blobs are a few hundred bytes, and
// those steps were about a sixth of Azurite's CPU per job (benchmarks/README.md, "Where the cost grew with the
// backlog, and what changed").
//
// Extent files are named by a random id and only ever appended to while Azurite runs, so a descriptor opened once
// reads what a new one would. Up to MAX_OPEN are kept, least recently used first to go; one is closed only when no
// read is using it, and at once when Azurite deletes its extent (garbage collection) or closes the store. Ranges
// larger than MAX_BYTES, and anything that fails here (a missing file, an error opening it), take Azurite's own
// path, so answers and errors are Azurite's. Anything unexpected while installing leaves Azurite as it was.
//
// A range of at most SYNC_BYTES is read with `fs.readSync` on Azurite's own thread: a job's blobs were just written,
// so the read is a copy out of the page cache, cheaper than a trip through the thread pool and the wake-ups around it
// (benchmarks/README.md, "Azurite's small reads and writes on its own thread"). Larger ranges are read in the pool.
"use strict";

const fs = require("fs");
const path = require("path");
const { promisify } = require("util");

const INSTALLED = "openqio: Azurite reads small ranges through kept descriptors"; // services/azurite.py reads this
const MAX_OPEN = 64;
const MAX_BYTES = 1 << 20;
const SYNC_BYTES = 64 << 10;

const open = promisify(fs.open);
const read = promisify(fs.read);
const close = promisify(fs.close);

// One store's kept descriptors: path -> {fd (a promise of it), users, doomed}; Map order is the LRU order.
class Descriptors {
  constructor() {
    this.kept = new Map();
  }

  async acquire(file) {
    let entry = this.kept.get(file);
    if (entry !== undefined) {
      this.kept.delete(file); // most recently used goes last
      this.kept.set(file, entry);
    } else {
      entry = { fd: open(file, "r"), users: 0, doomed: false };
      this.kept.set(file, entry);
      this.evict();
    }
    entry.users += 1;
    try {
      await entry.fd;
    } catch (err) {
      this.release(file, entry);
      if (this.kept.get(file) === entry) this.kept.delete(file);
      throw err;
    }
    return entry;
  }

  release(file, entry) {
    entry.users -= 1;
    if (entry.users === 0 && entry.doomed) this.closeEntry(entry);
  }

  // Forget `file` (its extent is being deleted): closed now if idle, else once its last read ends.
  forget(file) {
    const entry = this.kept.get(file);
    if (entry === undefined) return;
    this.kept.delete(file);
    this.doom(entry);
  }

  evict() {
    for (const [file, entry] of this.kept) {
      if (this.kept.size <= MAX_OPEN) break;
      this.kept.delete(file);
      this.doom(entry);
    }
  }

  doom(entry) {
    entry.doomed = true;
    if (entry.users === 0) this.closeEntry(entry);
  }

  closeEntry(entry) {
    entry.fd.then((fd) => close(fd)).catch(() => {});
  }

  closeAll() {
    for (const file of [...this.kept.keys()]) this.forget(file);
  }
}

function install(FSExtentStore, zeroExtentId, BufferStream) {
  const proto = FSExtentStore && FSExtentStore.prototype;
  if (!proto || typeof proto.readExtent !== "function" || proto.readExtent.openqioKept) return false;
  if (typeof proto.deleteExtents !== "function" || typeof proto.generateExtentPath !== "function") return false;
  const readExtent = proto.readExtent;
  const deleteExtents = proto.deleteExtents;
  const closeStore = proto.close;

  function descriptors(store) {
    if (store.openqioDescriptors === undefined) store.openqioDescriptors = new Descriptors();
    return store.openqioDescriptors;
  }

  async function readSmall(store, chunk) {
    const locationId = await store.metadataStore.getExtentLocationId(chunk.id);
    const file = store.generateExtentPath(locationId, chunk.id);
    const kept = descriptors(store);
    const entry = await kept.acquire(file);
    try {
      const fd = await entry.fd;
      const buffer = Buffer.allocUnsafe(chunk.count);
      let got = 0;
      const sync = chunk.count <= SYNC_BYTES;
      while (got < chunk.count) {
        const bytesRead = sync ? fs.readSync(fd, buffer, got, chunk.count - got, chunk.offset + got)
          : (await read(fd, buffer, got, chunk.count - got, chunk.offset + got)).bytesRead;
        if (bytesRead === 0) break; // past the end: a read stream would end here too
        got += bytesRead;
      }
      return new BufferStream(got === chunk.count ? buffer : buffer.subarray(0, got));
    } finally {
      kept.release(file, entry);
    }
  }

  proto.readExtent = async function (chunk, contextId) {
    if (chunk === undefined || chunk.count === 0 || chunk.count > MAX_BYTES || chunk.id === zeroExtentId) {
      return readExtent.call(this, chunk, contextId);
    }
    try {
      return await readSmall(this, chunk);
    } catch (err) {
      return readExtent.call(this, chunk, contextId); // Azurite's own path, with its own answer or error
    }
  };
  proto.readExtent.openqioKept = true;

  proto.deleteExtents = async function (extents) {
    const ids = [...extents];
    if (this.openqioDescriptors !== undefined) {
      for (const id of ids) {
        try {
          const locationId = await this.metadataStore.getExtentLocationId(id);
          this.openqioDescriptors.forget(this.generateExtentPath(locationId, id));
        } catch (err) {
          // an extent Azurite cannot place is one this never opened
        }
      }
    }
    return deleteExtents.call(this, ids);
  };

  if (typeof closeStore === "function") {
    proto.close = async function (...args) {
      if (this.openqioDescriptors !== undefined) this.openqioDescriptors.closeAll();
      return closeStore.apply(this, args);
    };
  }
  return true;
}

function azuriteModules() {
  // Azurite's blob entry script is argv[1] (dist/src/blob/main.js); its store modules sit beside it.
  const main = path.dirname(fs.realpathSync(process.argv[1]));
  const dist = path.join(main, "..");
  const store = require(path.join(dist, "common", "persistence", "FSExtentStore.js"));
  const metadata = require(path.join(dist, "blob", "persistence", "IBlobMetadataStore.js"));
  const buffers = require(path.join(dist, "common", "utils", "BufferStream.js"));
  return [store.default, metadata.ZERO_EXTENT_ID, buffers.default];
}

try {
  if (process.argv[1] && install(...azuriteModules())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { install, Descriptors, MAX_OPEN, MAX_BYTES, SYNC_BYTES };
