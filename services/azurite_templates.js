// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): Azurite parses each
// URI template of its REST specification once, instead of once per request and operation.
//
// Why: to find which operation a request is, Azurite's dispatch step (dist/src/blob/generated/middleware/
// dispatch.middleware.js) tries every operation of the Blob API, and for each one with the request's HTTP method
// `isURITemplateMatch` (generated/utils/utils.js) builds a new UriTemplate from the operation's path string, a parse
// that allocates a closure set per variable, only to match one URL against it and drop it. Parsing and its garbage
// were the largest share of Azurite's CPU that does not touch a file or a socket (benchmarks/README.md, "Where the
// cost grew with the backlog, and what changed").
//
// The fix hands Azurite a memoising `uri-templates`: the same template string gives the same parsed template. A
// parsed template keeps nothing between calls (`fromUri` and `fill` build a new result from their arguments each
// time), so matching against a kept one gives the same answers. Only template strings are keys, and Azurite's are
// the constants of its specification; past MAX_KEPT distinct strings (a caller building templates from input) new
// ones are parsed as before and not kept. Anything unexpected (the module not found where Azurite would load it)
// leaves Azurite exactly as it was.
"use strict";

const path = require("path");

const INSTALLED = "openqio: Azurite parses each URI template once"; // services/azurite.py reads this line
const MAX_KEPT = 1000;

function memoising(parse) {
  const kept = new Map();
  function parseOnce(template) {
    let parsed = kept.get(template);
    if (parsed === undefined) {
      parsed = parse(template);
      if (typeof template === "string" && kept.size < MAX_KEPT) kept.set(template, parsed);
    }
    return parsed;
  }
  Object.assign(parseOnce, parse); // whatever else the module exports
  parseOnce.openqioKept = kept;
  return parseOnce;
}

function install(main) {
  // Resolve the module from Azurite's own location (argv[1] is Azurite's entry script), so the module replaced in
  // the require cache is the one Azurite's code loads, wherever npm placed it.
  const id = require.resolve("uri-templates", { paths: [main] });
  const parse = require(id);
  if (typeof parse !== "function" || parse.openqioKept) return false;
  require.cache[id].exports = memoising(parse);
  return true;
}

try {
  const main = process.argv[1] ? path.dirname(require("fs").realpathSync(process.argv[1])) : process.cwd();
  if (install(main)) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { install, memoising, MAX_KEPT };
