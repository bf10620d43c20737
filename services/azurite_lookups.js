// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): makes Azurite's
// container and blob lookups use an index instead of scanning every container and blob of the account.
//
// Why: Azurite 3.x keeps its blob metadata in LokiJS and looks a container up with
// `findOne({accountName, name})`, a blob with `findOne({accountName, containerName, name, snapshot})`. LokiJS uses a
// binary index only for the *first* property of such a query, and `accountName` is the same for every document of
// the account, so every lookup (several per request: the public-access check, the container check, the blob itself)
// walked all containers or blobs of the account. Each job has its own container, so Azurite's CPU per request grew
// with the number of jobs ever run: it was the largest share of its time after a few thousand jobs.
//
// The fix only reorders the properties of a findOne query so that `accountName` comes last: the conditions are
// AND-ed, so the result is the same document, and the first property is then `name` (containers) or `containerName`
// (blobs, blocks), which Azurite indexes. A lookup costs a binary search instead of a scan, however many jobs the
// account holds. Anything unexpected (another LokiJS, no findOne) leaves Azurite exactly as it was.
"use strict";

const path = require("path");

const INSTALLED = "openqio: Azurite looks containers and blobs up by index"; // services/azurite.py reads this line

function lokiOfAzurite() {
  // Resolve LokiJS from Azurite's own location (argv[1] is Azurite's entry script), so the patched module is the one
  // Azurite loads, wherever npm placed it.
  const main = process.argv[1] ? path.dirname(require("fs").realpathSync(process.argv[1])) : process.cwd();
  return require(require.resolve("lokijs", { paths: [main] }));
}

function accountLast(query) {
  if (query === null || typeof query !== "object" || Array.isArray(query)) return query;
  const keys = Object.keys(query);
  if (keys.length < 2 || keys[0] !== "accountName") return query;
  const reordered = {};
  for (const key of keys.slice(1)) reordered[key] = query[key];
  reordered.accountName = query.accountName;
  return reordered;
}

function install(loki) {
  const proto = loki && loki.Collection && loki.Collection.prototype;
  if (!proto || typeof proto.findOne !== "function" || proto.findOne.openqioIndexed) return false;
  const findOne = proto.findOne;
  proto.findOne = function openqioFindOne(query) {
    return findOne.call(this, accountLast(query));
  };
  proto.findOne.openqioIndexed = true;
  return true;
}

try {
  if (install(lokiOfAzurite())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { accountLast, install };
