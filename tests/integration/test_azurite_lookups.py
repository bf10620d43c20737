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
