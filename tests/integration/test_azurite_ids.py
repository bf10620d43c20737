"""services/azurite_ids.js: the Azurite openqio starts makes its request and extent ids with crypto.randomUUID, ids of
the same kind as the `uuid` package's v4 (checked on the modules Azurite loads, and on a real Azurite's answers)."""
from __future__ import annotations

import re

import pytest

from services.azurite import IDS_JS, RANDOM_UUIDS
from tests.conftest import azurite_entry, disk_azurite, node_scenario

pytestmark = pytest.mark.integration

V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# argv[1]: Azurite's blob entry script, argv[2]: the preload. Makes an id with the package as it comes, loads the
# preload as Azurite's process does, then the `uuid` modules from where Azurite loads them, and reports what they
# hand out.
_IDS = r"""
const path = require("path");
const main = path.dirname(process.argv[1]);
const plain = require(require.resolve("uuid/v4", { paths: [main] }))();  // the package as Azurite has it
delete require.cache[require.resolve("uuid/v4", { paths: [main] })];
const { install } = require(process.argv[2]);  // loading it installs it (argv[1] is Azurite's entry, as in Azurite)
const again = install(main);
const v4 = require(require.resolve("uuid/v4", { paths: [main] }));
const uuid = require(require.resolve("uuid", { paths: [main] }));
const ids = Array.from({ length: 10000 }, () => v4()).concat(Array.from({ length: 100 }, () => uuid()));
console.log(JSON.stringify({
  plain, replaced: v4.openqioRandomUUID === true && uuid.openqioRandomUUID === true, again,
  sample: ids.slice(0, 50), distinct: new Set(ids).size, count: ids.length, v4Prop: uuid.v4().length,
  v1: typeof uuid.v1, binary: Array.isArray(v4("binary")) && v4("binary").length,
}));
"""


def test_ids_are_random_v4_uuids_from_the_modules_azurite_loads():
    r = node_scenario(_IDS, azurite_entry(), str(IDS_JS))
    assert V4.match(r["plain"])  # what the package makes, the kind the preload must keep
    assert r["replaced"] and r["again"] is False  # installed once, when loaded
    assert all(V4.match(i) for i in r["sample"]) and r["distinct"] == r["count"]
    assert r["v4Prop"] == 36 and r["v1"] == "function"  # the package's other exports are still there
    assert r["binary"] == 16  # calls with arguments go to the package


def test_the_azurite_openqio_starts_answers_with_v4_request_ids(azurite):
    assert RANDOM_UUIDS in azurite.installed
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    ids = {service.get_account_information()["request_id"] for _ in range(20)}
    assert len(ids) == 20 and all(V4.match(i) for i in ids)


# Preloaded ahead of openqio's (NODE_OPTIONS that Azurite is started with come first): counts the calls that reach
# crypto.randomBytes from the `uuid` package, and writes the count when Azurite exits.
_COUNT_UUID_BYTES = r"""
const crypto = require("crypto");
const fs = require("fs");
const randomBytes = crypto.randomBytes;
let fromUuid = 0;
crypto.randomBytes = function (...args) {
  if (/[\\/]uuid[\\/]/.test(new Error().stack)) fromUuid += 1;
  return randomBytes.apply(this, args);
};
process.on("exit", () => fs.writeFileSync(process.env.OPENQIO_TEST_UUID_COUNT, String(fromUuid)));
"""


def test_no_id_of_a_real_azurite_comes_from_the_uuid_package(tmp_path, monkeypatch):
    """Request ids and the ids of new extents alike (Azurite's extent queue binds `uuid` when its module loads, which
    another preload does early: the ids preload must come first)."""
    from azure.storage.blob import BlobServiceClient

    counter = tmp_path / "count_uuid_bytes.js"
    counter.write_text(_COUNT_UUID_BYTES)
    count = tmp_path / "uuid_bytes.txt"
    monkeypatch.setenv("NODE_OPTIONS", f'--require "{counter}"')
    monkeypatch.setenv("OPENQIO_TEST_UUID_COUNT", str(count))
    with disk_azurite(tmp_path / "data") as azurite:  # on disk: every upload appends an extent through the queue
        container = BlobServiceClient.from_connection_string(azurite.connection_string).create_container("ids")
        for i in range(20):
            container.upload_blob(f"b{i}", b"x" * 100)
        assert container.get_blob_client("b7").download_blob().readall() == b"x" * 100
    assert count.read_text() == "0"
