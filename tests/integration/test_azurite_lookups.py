"""services/azurite_lookups.js: the Azurite openqio starts finds a container or blob by index, so its cost per request
does not grow with the number of jobs the account holds (counted in LokiJS comparisons, never timed)."""
from __future__ import annotations

import pytest

from services.azurite import INDEXED_LOOKUPS, LOOKUPS_JS, ROOT
from tests.conftest import _unavailable, node_scenario

pytestmark = pytest.mark.integration

# Builds LokiJS collections as Azurite 3.x does (same indices, same query shapes) with `n` containers and two blobs
# each, and counts the $eq comparisons one container lookup and one blob lookup make, before and after the preload.
_COUNT = r"""
const loki = require(process.argv[1]);
const n = Number(process.argv[3]);
const db = new loki("count.db");
const containers = db.addCollection("$CONTAINERS_COLLECTION$", { indices: ["accountName", "name"] });
const blobs = db.addCollection("$BLOBS_COLLECTION$", { indices: ["accountName", "containerName", "name", "snapshot"] });
for (let i = 0; i < n; i++) {
  containers.insert({ accountName: "devstoreaccount1", name: `job-${i}` });
  for (const name of ["inputData", "rawOutputData"])
    blobs.insert({ accountName: "devstoreaccount1", containerName: `job-${i}`, name, snapshot: "" });
}
let eq = 0;
const realEq = loki.LokiOps.$eq;
loki.LokiOps.$eq = function (a, b) { eq++; return realEq(a, b); };
const k = Math.floor(n / 2);  // a container in the middle of the account
function cost() {
  eq = 0;
  const c = containers.findOne({ accountName: "devstoreaccount1", name: `job-${k}` });
  const b = blobs.findOne({ accountName: "devstoreaccount1", containerName: `job-${k}`, name: "rawOutputData",
                            snapshot: "" });
  if (!c || !b || b.containerName !== `job-${k}` || b.name !== "rawOutputData") throw new Error("wrong document");
  return eq;
}
const before = cost();
require(process.argv[2]).install(loki);  // (loading it installs it already when it resolves this same LokiJS)
console.log(JSON.stringify({ before, after: cost() }));
"""


def _comparisons(containers: int) -> dict[str, int]:
    loki = ROOT / "node_modules" / "lokijs"
    if not loki.exists():
        _unavailable("node_modules/lokijs (npm ci) is needed")
    return node_scenario(_COUNT, str(loki), str(LOOKUPS_JS), str(containers))


def test_a_lookup_costs_the_same_with_ten_or_ten_thousand_containers():
    small, large = _comparisons(10), _comparisons(10_000)
    assert large["before"] >= 10_000  # what Azurite does by itself: a scan of the account
    assert large["after"] == small["after"] <= 10  # by index: the same few comparisons at any size


def test_the_azurite_openqio_starts_has_the_indexed_lookups(azurite):
    assert INDEXED_LOOKUPS in azurite.installed


# A job's container and two blobs inserted into collections made as Azurite makes them, with `n` jobs already there:
# the binary index insertions they cost, and the index positions those insertions moved, before and after the
# preload; then the indices a database saved with Azurite's six keeps once loaded with the preload, and the same
# documents found through them.
_INSERTS = r"""
const loki = require(process.argv[1]);
const n = Number(process.argv[3]);
const CONTAINER_INDICES = ["accountName", "name"];
const BLOB_INDICES = ["accountName", "containerName", "name", "snapshot"];
const BLOCK_INDICES = ["accountName", "containerName", "blobName", "name"];
let inserts = 0, moved = 0;
const realInsert = loki.Collection.prototype.adaptiveBinaryIndexInsert;
loki.Collection.prototype.adaptiveBinaryIndexInsert = function (position, property) {
  realInsert.call(this, position, property);
  const values = this.binaryIndices[property].values;
  inserts++;
  moved += values.length - 1 - values.indexOf(position);
};
const name = (i) => `job-${(i * 7919) % 100003}`;  // spread over the sorted order, as job ids are
function account() {
  const db = new loki("jobs.db");
  const collections = {
    containers: db.addCollection("$CONTAINERS_COLLECTION$", { indices: CONTAINER_INDICES }),
    blobs: db.addCollection("$BLOBS_COLLECTION$", { indices: BLOB_INDICES }),
    blocks: db.addCollection("$BLOCKS_COLLECTION$", { indices: BLOCK_INDICES }),
  };
  return { db, ...collections };
}
function addJob(a, i) {
  a.containers.insert({ accountName: "devstoreaccount1", name: name(i) });
  for (const blob of ["inputData", "rawOutputData"])
    a.blobs.insert({ accountName: "devstoreaccount1", containerName: name(i), name: blob, snapshot: "" });
}
function oneJob(a) {
  for (let i = 0; i < n; i++) addJob(a, i);
  inserts = 0; moved = 0;
  addJob(a, n);
  return { inserts, moved };
}
function found(a) {
  const k = Math.floor(n / 3);
  const c = a.containers.findOne({ accountName: "devstoreaccount1", name: name(k) });
  const b = a.blobs.findOne({ accountName: "devstoreaccount1", containerName: name(k), name: "rawOutputData",
                              snapshot: "" });
  const listed = a.blobs.find({ accountName: "devstoreaccount1", containerName: name(k) }).map((d) => d.name);
  return { container: c && c.name, blob: b && `${b.containerName}/${b.name}`, listed: listed.sort() };
}
const indices = (a) => ({ containers: Object.keys(a.containers.binaryIndices),
                          blobs: Object.keys(a.blobs.binaryIndices), blocks: Object.keys(a.blocks.binaryIndices) });
const plain = account();
const before = { ...oneJob(plain), found: found(plain) };
const saved = plain.db.serialize();
require(process.argv[2]).install(loki);
const made = account();
const after = { ...oneJob(made), found: found(made), indices: indices(made) };
const loaded = new loki("jobs.db");
loaded.loadJSON(saved);
const reloaded = { containers: loaded.getCollection("$CONTAINERS_COLLECTION$"),
                   blobs: loaded.getCollection("$BLOBS_COLLECTION$"), blocks: loaded.getCollection("$BLOCKS_COLLECTION$") };
inserts = 0; moved = 0;
addJob(reloaded, n + 1);
console.log(JSON.stringify({ before, after, loaded: { indices: indices(reloaded), found: found(reloaded), inserts } }));
"""


def _inserts(jobs: int) -> dict:
    loki = ROOT / "node_modules" / "lokijs"
    if not loki.exists():
        _unavailable("node_modules/lokijs (npm ci) is needed")
    return node_scenario(_INSERTS, str(loki), str(LOOKUPS_JS), str(jobs))


def test_only_the_indices_lookups_use_are_kept_so_a_job_moves_less_of_them():
    jobs = 5000
    result = _inserts(jobs)
    before, after, loaded = result["before"], result["after"], result["loaded"]
    assert before["inserts"] == 2 + 2 * 4  # Azurite by itself: a container in two indices, each blob in four
    assert after["inserts"] == loaded["inserts"] == 1 + 2  # the container by name, each blob by its container
    kept = {"containers": ["name"], "blobs": ["containerName"], "blocks": ["containerName"]}
    assert after["indices"] == loaded["indices"] == kept  # made by Azurite, or loaded from an index saved without us
    # the one-valued indices moved every position at each insert: more than the job's three inserts now move at most
    assert before["moved"] > 2 * 2 * jobs > after["moved"]
    assert before["moved"] > 3 * after["moved"]
    expected = before["found"]
    assert expected["container"] and expected["blob"] and expected["listed"] == ["inputData", "rawOutputData"]
    assert after["found"] == loaded["found"] == expected  # the same documents, found through what is kept
