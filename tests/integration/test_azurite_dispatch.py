"""services/azurite_dispatch.js: the Azurite openqio starts finds each kind of request's operation once, and always the
operation Azurite's own dispatch finds (compared request by request on Azurite's own modules, then on a real Azurite
through the SDK's calls)."""
from __future__ import annotations

import pytest

from services.azurite import DISPATCH_JS, DISPATCH_KEPT
from tests.conftest import azurite_entry, node_scenario

pytestmark = pytest.mark.integration

# argv[1]: Azurite's blob entry script, argv[2]: the preload. Keeps Azurite's own dispatch, loads the preload as
# Azurite's process does (it replaces the module's `default`), then asks both about the same requests: one built to
# meet each operation's specification, each of those with an X-HTTP-Method, with one required input dropped or given
# a value no operation takes, and thousands of random ones (any method, pattern, X-HTTP-Method, required inputs
# absent, valid, bogus or repeated). Reports every disagreement. (Keys that left out header values, X-HTTP-Method or
# the pattern each gave hundreds.)
_SCENARIO = r"""
const fs = require("fs");
const path = require("path");
const gen = path.join(path.dirname(fs.realpathSync(process.argv[1])), "generated");
const dispatchModule = require(path.join(gen, "middleware", "dispatch.middleware.js"));
const operations = require(path.join(gen, "artifacts", "operation.js"));
const specifications = require(path.join(gen, "artifacts", "specifications.js"));
const own = dispatchModule.default;
const { install, requiredInputs, MAX_KEPT } = require(process.argv[2]);  // loading it installs it
const kept = dispatchModule.default;
const again = install(dispatchModule, operations, specifications);
const O = operations.default, S = specifications.default;

const logger = { verbose() {}, info() {}, error() {}, warn() {}, debug() {} };
function request(method, query, headers, urlPath) {
  const lower = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { getMethod: () => method, getHeader: (n) => lower[n.toLowerCase()], getQuery: (n) => query[n],
           getPath: () => urlPath };
}
function ask(fn, pattern, req) {
  const context = { contextId: "t" };
  if (pattern !== undefined) context.dispatchPattern = pattern;
  let calls = 0, error = null;
  fn(context, req, (err) => { calls += 1; if (err !== undefined) error = err.constructor.name; }, logger);
  return JSON.stringify([context.operation === undefined ? null : context.operation, error, calls]);
}
const cases = [];
function both(pattern, method, query, headers, urlPath = "/devstoreaccount1/c/b") {
  const req = request(method, query, headers, urlPath);
  const a = ask(own, pattern, req), b = ask(kept, pattern, req), c = ask(kept, pattern, req);
  cases.push(a === b && b === c ? null : { pattern, method, query, headers, own: a, kept: b, keptAgain: c });
}
const valueOf = (mapper) => mapper.isConstant ? `${mapper.defaultValue}`
  : mapper.type.name === "Enum" ? mapper.type.allowedValues[0] : "x";
const patterns = ["/", "/container", "/container/blob"];
let built = 0;
for (const key in O) {
  const spec = S[parseInt(key, 10)];
  if (spec === undefined) continue;
  const query = {}, headers = {};
  for (const p of spec.queryParameters || []) if (p.mapper.required) query[p.mapper.serializedName] = valueOf(p.mapper);
  for (const p of spec.headerParameters || []) if (p.mapper.required) headers[p.mapper.serializedName] = valueOf(p.mapper);
  for (const pattern of patterns) {
    built += 1;
    both(pattern, spec.httpMethod, query, headers);
    for (const override of ["GET", "DELETE", "MERGE", "PATCH", " PUT "]) {  // asked after the plain one was kept
      both(pattern, spec.httpMethod, query, { ...headers, "X-HTTP-Method": override });
    }
    for (const name of Object.keys(query)) {
      const { [name]: _, ...rest } = query;
      both(pattern, spec.httpMethod, rest, headers);
      both(pattern, spec.httpMethod, { ...query, [name]: "bogus" }, headers);
    }
    for (const name of Object.keys(headers)) {
      const { [name]: _, ...rest } = headers;
      both(pattern, spec.httpMethod, query, rest);
      both(pattern, spec.httpMethod, query, { ...headers, [name]: "BOGUS" });
    }
  }
}
const inputs = requiredInputs(O, S);
const choices = (mapperValues) => [undefined, "x", "bogus", "", ["a", "b"], ...mapperValues];
const values = new Map();
for (const key in O) {
  const spec = S[parseInt(key, 10)];
  for (const p of spec ? [...(spec.queryParameters || []), ...(spec.headerParameters || [])] : []) {
    const m = p.mapper;
    if (!m.required) continue;
    const list = values.get(m.serializedName) || [];
    if (m.isConstant) list.push(`${m.defaultValue}`, `${m.defaultValue}`.toUpperCase());
    if (m.type.name === "Enum") list.push(...m.type.allowedValues);
    values.set(m.serializedName, list);
  }
}
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const pick = (list) => list[rnd(list.length)];
for (let i = 0; i < 20000; i++) {
  const query = {}, headers = {};
  for (const [name] of inputs.query) { const v = pick(choices(values.get(name))); if (v !== undefined) query[name] = v; }
  for (const [name] of inputs.headers) {
    if (rnd(3) === 0) continue;
    const v = pick(choices(values.get(name)));
    if (v !== undefined && !Array.isArray(v)) headers[name] = v;
  }
  if (rnd(10) === 0) headers["X-HTTP-Method"] = pick(["GET", "MERGE", "PATCH", "DELETE", " DELETE ", "PUT", "get"]);
  const pattern = pick([...patterns, undefined]);
  both(pattern, pick(["GET", "PUT", "HEAD", "DELETE", "POST", "OPTIONS", "PATCH", "MERGE"]), query, headers,
       pick(["/devstoreaccount1", "/devstoreaccount1/c", "/devstoreaccount1/c/b", "/devstoreaccount1/c/b/d"]));
}
const disagreements = cases.filter((c) => c !== null);
console.log(JSON.stringify({
  installed: kept !== own && typeof kept.openqioKept === "object", again, built, asked: cases.length,
  disagreements: disagreements.length, examples: disagreements.slice(0, 3), kinds: kept.openqioKept.size,
  maxKept: MAX_KEPT, queryInputs: inputs.query.length, headerInputs: inputs.headers.length,
}));
"""


def test_every_request_gets_the_operation_azurites_own_dispatch_finds():
    r = node_scenario(_SCENARIO, azurite_entry(), str(DISPATCH_JS), timeout=300)
    assert r["installed"] and r["again"] is False  # installed once, when loaded
    assert r["built"] >= 3 * 60  # every operation of the specification, at each dispatch pattern
    assert r["disagreements"] == 0, r["examples"]
    assert r["asked"] > 20000
    # Answers were reused (each kind of request asked Azurite's dispatch once), and within the bound.
    assert 50 < r["kinds"] < r["asked"] / 4 and r["kinds"] <= r["maxKept"]
    assert r["queryInputs"] >= 2 and r["headerInputs"] >= 10  # comp, restype, ...; x-ms-blob-type, ...


def test_the_azurite_openqio_starts_dispatches_the_sdks_calls(azurite):
    assert DISPATCH_KEPT in azurite.installed
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    for round_ in range(2):  # the second round is answered from what the first kept
        container = service.create_container(f"dispatch-{round_}")
        container.set_container_metadata({"round": str(round_)})
        assert container.get_container_properties().metadata == {"round": str(round_)}
        blob = container.get_blob_client("b")
        blob.upload_blob(b"hello")
        blob.set_blob_metadata({"k": "v"})
        assert blob.get_blob_properties().metadata == {"k": "v"}
        assert blob.download_blob(offset=1, length=3).readall() == b"ell"
        block = container.get_blob_client("blocks")
        block.stage_block("YmxvY2sx", b"ab")
        block.commit_block_list(["YmxvY2sx"])
        assert block.download_blob().readall() == b"ab"
        assert sorted(b.name for b in container.list_blobs()) == ["b", "blocks"]
        blob.delete_blob()
        assert [b.name for b in container.list_blobs()] == ["blocks"]
        container.delete_container()
    assert not [c.name for c in service.list_containers() if c.name.startswith("dispatch-")]
