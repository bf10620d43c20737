"""services/azurite_templates.js: the Azurite openqio starts parses each URI template of its REST specification once,
and matches every URL as before (parses counted on Azurite's own matching code, never timed)."""
from __future__ import annotations

import pytest

from services.azurite import TEMPLATES_JS, TEMPLATES_PARSED_ONCE
from tests.conftest import azurite_entry, node_scenario

pytestmark = pytest.mark.integration

# argv[1]: Azurite's blob entry script (where the preload resolves from, as in Azurite), argv[2]: the preload.
# Matches every path of Azurite's Blob API specification against a few URLs with Azurite's own
# `isURITemplateMatch`, first as Azurite comes, then with the preload, counting the parses of each.
_COUNT = r"""
const path = require("path");
const blob = path.dirname(process.argv[1]);
const id = require.resolve("uri-templates", { paths: [blob] });
const parse = require(id);
let parses = 0;
require.cache[id].exports = function counted(template) { parses++; return parse(template); };
const utilsId = path.join(blob, "generated", "utils", "utils.js");
const spec = require(path.join(blob, "generated", "artifacts", "specifications.js")).default;
const paths = Object.values(spec).map((s) => (s.path ? (s.path.startsWith("/") ? s.path : "/" + s.path) : "/"));
// the three dispatch paths Azurite matches (blobStorageContext.middleware.js: the account left out), and others
const urls = ["/", "/container", "/container/blob", "/job-1/inputData", "/a/b/c%20d", "/$logs", ""];
const matchAll = (utils) => urls.map((u) => paths.map((p) => utils.isURITemplateMatch(u, p)));

const plain = matchAll(require(utilsId));
const plainParses = parses;
require(process.argv[2]);  // loading it installs it (it resolves from argv[1], as Azurite's preload does)
const installed = require.cache[id].exports.openqioKept !== undefined;
delete require.cache[utilsId];
const utils = require(utilsId);  // Azurite's matching code, loaded as Azurite loads it once the preload ran
parses = 0;
const once = matchAll(utils);
const twice = matchAll(utils);

const { memoising, MAX_KEPT } = require(process.argv[2]);
const capped = memoising(parse);
for (let i = 0; i < MAX_KEPT + 50; i++) capped(`/x${i}/{y}`);
console.log(JSON.stringify({
  installed, plainParses, parses, distinct: new Set(paths).size, calls: urls.length * paths.length,
  same: JSON.stringify(plain) === JSON.stringify(once) && JSON.stringify(once) === JSON.stringify(twice),
  matches: once.map((row) => row.filter(Boolean).length), kept: capped.openqioKept.size, maxKept: MAX_KEPT,
}));
"""


def _count() -> dict:
    return node_scenario(_COUNT, azurite_entry(), str(TEMPLATES_JS))


def test_each_template_is_parsed_once_and_every_url_matches_as_before():
    r = _count()
    assert r["installed"]
    assert r["plainParses"] == r["calls"]  # what Azurite does by itself: a parse per URL and operation
    assert r["parses"] == r["distinct"]  # with the preload: once per template, however many URLs follow
    assert r["same"]  # the same answers for every URL and operation
    assert all(n > 0 for n in r["matches"][:4])  # (Azurite's paths do match operations: not a vacuous comparison)
    assert r["kept"] == r["maxKept"]  # templates built from input would not grow the memo without bound


def test_the_azurite_openqio_starts_parses_templates_once(azurite):
    assert TEMPLATES_PARSED_ONCE in azurite.installed
