// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): the random ids Azurite
// makes (a request id for every request, an id for every new extent) come from Node's `crypto.randomUUID`.
//
// Why: Azurite takes them from the `uuid` package of version 3, whose v4 calls `crypto.randomBytes(16)` for each id:
// a synchronous trip to OpenSSL and a new Buffer per request. `crypto.randomUUID` hands out ids from a cached block of
// random bytes. Profiled, the old way was 2.5-3.6 % of Azurite's CPU per job (benchmarks/README.md, "Where the cost
// grew with the backlog, and what changed").
//
// The ids are the same kind: random (version 4, RFC 4122) lowercase UUID strings. Calls with options or a buffer (none
// of Azurite's) go to the package as before. Anything unexpected (the package not where Azurite would load it) leaves
// Azurite exactly as it was.
"use strict";

const crypto = require("crypto");
const path = require("path");

const INSTALLED = "openqio: Azurite makes its ids with crypto.randomUUID"; // services/azurite.py reads this line

function randomV4(v4) {
  function fastV4(options, buffer, offset) {
    if (options !== undefined || buffer !== undefined) return v4(options, buffer, offset);
    return crypto.randomUUID();
  }
  Object.assign(fastV4, v4); // uuid's index exports v4 with .v1 and .v4 beside it
  if (v4.v4 === v4) fastV4.v4 = fastV4;
  fastV4.openqioRandomUUID = true;
  return fastV4;
}

function install(main) {
  if (typeof crypto.randomUUID !== "function") return false;
  let done = false;
  for (const name of ["uuid/v4", "uuid"]) {
    const id = require.resolve(name, { paths: [main] });
    const v4 = require(id);
    if (typeof v4 !== "function" || v4.openqioRandomUUID) continue;
    require.cache[id].exports = randomV4(v4);
    done = true;
  }
  return done;
}

try {
  const main = process.argv[1] ? path.dirname(require("fs").realpathSync(process.argv[1])) : process.cwd();
  if (install(main)) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { install, randomV4 };
