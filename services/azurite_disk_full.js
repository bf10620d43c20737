// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): a request that fails
// because the disk holding Azurite's data is full is answered with a message that says so, not a bare 500.
//
// Why: Azurite answers every error that is not one of its own storage errors with 500 and an empty body. An upload
// that did not fit told its client only "Internal Server Error" (the azure-storage SDK added "Unexpected return
// type", about the empty body; the native client "storage answered 500"), while the cause sat in a log nobody reads.
//
// How: Azurite's error middleware (dist/src/blob/generated/middleware/error.middleware.js, called through its module's
// `default` at each error) is wrapped: an error whose code is ENOSPC or EDQUOT (a failed write of an upload, on
// Azurite's own path or services/azurite_writes.js's) becomes Azurite's StorageError: status 500 as before (clients
// retry as they did), code `InternalError`, and a message saying that the disk is full, that nothing of the request
// was stored (Azurite cuts a failed write off its extent), and to send it again once space is freed. The data
// directory is not named: that is for the operator's log, not for clients. Every other error reaches the middleware as
// before; anything unexpected at installation leaves Azurite exactly as it was.
"use strict";

const fs = require("fs");
const path = require("path");

const INSTALLED = "openqio: Azurite says when its disk is full"; // services/azurite.py reads this line
const FULL = new Set(["ENOSPC", "EDQUOT"]);
const MESSAGE = "no space left on the disk that holds this storage's data: nothing of this request was stored; "
  + "send it again once space is freed";

function install(errorModule, StorageError) {
  const handle = errorModule && errorModule.default;
  if (typeof handle !== "function" || handle.openqioDiskFull || typeof StorageError !== "function") return false;
  function saysDiskFull(context, err, req, res, next, logger) {
    if (err && FULL.has(err.code)) {
      const requestId = context && context.contextId;
      err = new StorageError(500, "InternalError", `${MESSAGE} (${err.code})`, requestId);
    }
    return handle(context, err, req, res, next, logger);
  }
  saysDiskFull.openqioDiskFull = true;
  errorModule.default = saysDiskFull;
  return true;
}

function blobModules() {
  // Azurite's blob entry script is argv[1] (dist/src/blob/main.js); the modules sit beside it.
  const blob = path.dirname(fs.realpathSync(process.argv[1]));
  return [require(path.join(blob, "generated", "middleware", "error.middleware.js")),
          require(path.join(blob, "errors", "StorageError.js")).default];
}

try {
  if (process.argv[1] && install(...blobModules())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch a full disk is only a bare 500
}

module.exports = { install, MESSAGE };
