// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): Azurite writes a small
// upload to its extent file on its own thread, then syncs it in the background, instead of through a write stream.
//
// Why: FSExtentStore.streamPipe (dist/src/common/persistence/FSExtentStore.js) pipes every upload into a
// `fs.createWriteStream` on the extent file: each write is a trip through libuv's thread pool, and then so is the
// fdatasync. For a job's blobs (a few hundred bytes, two uploads a job), the write is a copy into the page cache
// that takes microseconds, and the trip costs a worker's wake-up and Azurite's thread another one when it ends;
// with jobs arriving one at a time, every one of those wakes a sleeping thread (benchmarks/README.md, "Azurite's
// small reads and writes on its own thread").
//
// How: an upload whose declared length (the request's content-length) is at most SYNC_BYTES is written with
// `fs.writeSync` as its data arrives, then `fs.fdatasync` runs in the thread pool as before, and the upload is
// answered only once that is done: an acknowledged upload is on disk exactly as with Azurite's own path. Errors are
// Azurite's: a failed write or sync rejects, and Azurite truncates the extent back; a request that ends early ('close'
// before 'end') stops the write with what arrived, and Azurite compares that count with the content-length. Larger
// uploads, uploads of unknown length and anything else take Azurite's own path (a long run of writes on Azurite's
// one thread would stall every other request). Anything unexpected while installing leaves Azurite as it was.
"use strict";

const fs = require("fs");
const path = require("path");

const INSTALLED = "openqio: Azurite writes small uploads on its own thread"; // services/azurite.py reads this
const SYNC_BYTES = 64 << 10;

// The length an upload declares: a request's content-length; undefined when it declares none (chunked, a buffer).
function declaredLength(rs) {
  const value = rs && rs.headers && rs.headers["content-length"];
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : undefined;
}

function writeThenSync(rs, fd) {
  return new Promise((resolve, reject) => {
    let count = 0;
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve(count)));
    };
    rs.on("data", (data) => {
      if (settled) return;
      try {
        for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done);
        count += data.length;
      } catch (err) {
        fail(err);
      }
    });
    rs.on("end", finish).on("close", finish).on("error", fail);
  });
}

function install(FSExtentStore) {
  const proto = FSExtentStore && FSExtentStore.prototype;
  if (!proto || typeof proto.streamPipe !== "function" || proto.streamPipe.openqioSync) return false;
  const streamPipe = proto.streamPipe;
  proto.streamPipe = function (rs, ws, fd, contextId) {
    const length = declaredLength(rs);
    if (typeof fd !== "number" || length === undefined || length > SYNC_BYTES) {
      return streamPipe.call(this, rs, ws, fd, contextId);
    }
    return writeThenSync(rs, fd); // `ws` (made by appendExtent on the kept fd, autoClose off) is left unused
  };
  proto.streamPipe.openqioSync = true;
  return true;
}

function extentStore() {
  // Azurite's blob entry script is argv[1] (dist/src/blob/main.js); its store modules sit beside it.
  const dist = path.join(path.dirname(fs.realpathSync(process.argv[1])), "..");
  return require(path.join(dist, "common", "persistence", "FSExtentStore.js")).default;
}

try {
  if (process.argv[1] && install(extentStore())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { install, SYNC_BYTES };
