"""services/azurite_disk_full.js: the Azurite openqio starts answers a request its full disk refused with a message
that says so (Azurite's own StorageError, 500 InternalError), and every other error as before. On a real full disk:
tests/integration/test_full_disk.py."""
from __future__ import annotations

import pytest

from services.azurite import DISK_FULL_JS, DISK_FULL_MESSAGE, DISK_FULL_SAID
from tests.conftest import disk_azurite, node_scenario

pytestmark = pytest.mark.integration

# argv[1]: the preload. Azurite's error middleware module and StorageError, as shaped in Azurite: the middleware is
# called through the module's `default`, with (context, err, req, res, next, logger).
_SCENARIO = r"""
const { install, MESSAGE } = require(process.argv[1]);
const seen = [];
const errorModule = { default: (context, err) => { seen.push(err); } };
class StorageError extends Error {
  constructor(statusCode, code, message, requestId) {
    super(message);
    Object.assign(this, { statusCode, storageErrorCode: code, storageRequestID: requestId });
  }
}
const installed = install(errorModule, StorageError);
const installedTwice = install(errorModule, StorageError);
const fail = (code) => Object.assign(new Error(`${code}: a write failed`), { code });
for (const err of [fail("ENOSPC"), fail("EDQUOT"), fail("EACCES"), new StorageError(404, "BlobNotFound", "gone", "r")]) {
  errorModule.default({ contextId: "request-1" }, err, {}, {}, () => {}, {});
}
console.log(JSON.stringify({
  installed, installedTwice, message: MESSAGE,
  seen: seen.map((e) => ({ storage: e instanceof StorageError, status: e.statusCode, code: e.storageErrorCode || e.code,
                           message: e.message, requestId: e.storageRequestID })),
}));
"""


def test_a_full_disk_becomes_a_storage_error_that_says_so_and_nothing_else_changes():
    r = node_scenario(_SCENARIO, str(DISK_FULL_JS))
    assert r["installed"] and not r["installedTwice"]
    full, quota, other, storage = r["seen"]
    for seen, code in ((full, "ENOSPC"), (quota, "EDQUOT")):
        assert seen["storage"] and seen["status"] == 500 and seen["code"] == "InternalError"
        assert seen["message"] == f"{r['message']} ({code})" and seen["requestId"] == "request-1"
    assert r["message"].startswith(DISK_FULL_MESSAGE)  # how the dispatcher tells a full disk from an outage
    assert "nothing of this request was stored" in r["message"]
    assert other == {"storage": False, "code": "EACCES", "message": "EACCES: a write failed"}  # as it came
    assert storage["storage"] and storage["status"] == 404 and storage["code"] == "BlobNotFound"


def test_the_azurite_openqio_starts_has_it(tmp_path):
    """Installed where Azurite keeps its error middleware and StorageError (it says so, or it would leave Azurite as it
    was without a word)."""
    with disk_azurite(tmp_path / "blobs") as azurite:
        assert DISK_FULL_SAID in azurite.installed
