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
//
// And only the indices those lookups use are kept. A LokiJS binary index is an array of document positions sorted by
// the property, so every insert splices the new position in: a move of the array's elements past that point. Azurite
// indexes containers by `accountName` and `name`, blobs by `accountName`, `containerName`, `name` and `snapshot`:
// four of the six hold one value (the account, the empty snapshot) or two (`inputData`, `rawOutputData`), so each
// insert went to the start of its value's range and moved every position after it: a job's container and two blobs
// moved about seven times as many positions as the account has blobs. With 35 000 jobs stored that was ~0.26 ms of
// Azurite's CPU per job, growing with every job ever run (a profile of 2026-12-08). Every query Azurite makes names
// the account first, so after the reordering above `name` (containers) and `containerName` (blobs, blocks) are the
// only indices any lookup uses: the others are dropped where a collection is made or loaded, and a job's inserts
// move about one and a quarter times the blobs. A query whose first property is no longer indexed (listing a
// container's blobs by account and container) scans the collection, as it did through the account's index, and finds
// the same documents.
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

// The binary indices each of Azurite's collections keeps: the first property of its lookups once reordered.
const KEPT_INDICES = new Map([
  ["$CONTAINERS_COLLECTION$", ["name"]],
  ["$BLOBS_COLLECTION$", ["containerName"]],
  ["$BLOCKS_COLLECTION$", ["containerName"]],
]);

function dropUnusedIndices(coll) {
  const kept = coll && KEPT_INDICES.get(coll.name);
  if (!kept || !coll.binaryIndices) return;
  for (const property of Object.keys(coll.binaryIndices)) {
    if (!kept.includes(property)) delete coll.binaryIndices[property];
  }
}

function install(loki) {
  const proto = loki && loki.Collection && loki.Collection.prototype;
  const db = loki && loki.prototype;
  if (!proto || typeof proto.findOne !== "function" || proto.findOne.openqioIndexed) return false;
  if (!db || typeof db.addCollection !== "function" || typeof db.loadJSONObject !== "function") return false;
  const findOne = proto.findOne;
  proto.findOne = function openqioFindOne(query) {
    return findOne.call(this, accountLast(query));
  };
  proto.findOne.openqioIndexed = true;
  const addCollection = db.addCollection;
  db.addCollection = function openqioAddCollection(name, options) {
    const coll = addCollection.call(this, name, options);
    dropUnusedIndices(coll);
    return coll;
  };
  const loadJSONObject = db.loadJSONObject;
  db.loadJSONObject = function openqioLoadJSONObject(dbObject, options) {
    const loaded = loadJSONObject.call(this, dbObject, options);
    for (const coll of this.collections) dropUnusedIndices(coll);
    return loaded;
  };
  return true;
}

try {
  if (install(lokiOfAzurite())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { accountLast, install };
