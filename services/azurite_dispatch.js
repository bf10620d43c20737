// Preloaded into the Azurite that openqio starts (`node --require`, see services/azurite.py): Azurite finds which
// operation of the Blob API a request is once per kind of request, not once per request.
//
// Why: Azurite's dispatch step (dist/src/blob/generated/middleware/dispatch.middleware.js) tries all 72 operations of
// its specification for every request: for each one with the request's method it matches the URL against the
// operation's URI template and reads the query parameters and headers the operation requires. Profiled with tiny
// jobs, that matching was ~10 % of Azurite's CPU (benchmarks/README.md, "Where the cost grew with the backlog, and
// what changed").
//
// What decides the operation is all in a few inputs, and this preload keeps the answer per combination of them:
// the HTTP method and X-HTTP-Method header; the dispatch pattern ("/", "/container" or "/container/blob": Azurite
// matches that, not the URL itself, whenever its storage-context middleware set it); and, for every query parameter
// and header that any operation requires, its value where an operation compares the value (an enum or a constant:
// `comp`, `restype`, `x-ms-blob-type`, ...) and otherwise whether it is there. A request whose combination was seen
// gets the operation found then; any other goes through Azurite's own dispatch, and its answer is kept (not an
// unsupported request's: those stay errors from Azurite's own code). Requests without a dispatch pattern or with an
// operation already set, and values that are not strings, always take Azurite's way. At most MAX_KEPT combinations
// are kept. Anything unexpected (the modules not where Azurite has them) leaves Azurite exactly as it was.
"use strict";

const fs = require("fs");
const path = require("path");

const INSTALLED = "openqio: Azurite dispatches each kind of request once"; // services/azurite.py reads this line
const MAX_KEPT = 10000;

// Which query parameters and headers any operation requires, and whether one compares the value (true) or only
// looks for it (false).
function requiredInputs(operations, specifications) {
  const query = new Map();
  const headers = new Map();
  const note = (into, parameter) => {
    const mapper = parameter && parameter.mapper;
    if (!mapper || !mapper.required) return;
    const name = mapper.serializedName || "";
    const byValue = (mapper.type && mapper.type.name === "Enum") || Boolean(mapper.isConstant);
    into.set(name, into.get(name) === true || byValue);
  };
  for (const key in operations) {
    if (!Object.prototype.hasOwnProperty.call(operations, key)) continue;
    const spec = specifications[parseInt(key, 10)];
    if (spec === undefined) continue;
    for (const parameter of spec.queryParameters || []) note(query, parameter);
    for (const parameter of spec.headerParameters || []) note(headers, parameter);
  }
  return { query: [...query], headers: [...headers] };
}

function part(value, byValue) {
  if (value === undefined) return "\u0000";
  if (typeof value !== "string") return null; // an array (a repeated parameter) or an object: Azurite's way
  return byValue ? JSON.stringify(value) : "+"; // quoted: no value can pass for a separator and the next part
}

// The key of a request's combination of inputs (see the top), or null when its answer must not be kept.
function kindOf(context, req, inputs) {
  const pattern = context.dispatchPattern;
  if (typeof pattern !== "string") return null;
  const method = req.getMethod();
  const override = req.getHeader("X-HTTP-Method");
  if (typeof method !== "string" || (override !== undefined && typeof override !== "string")) return null;
  let key = JSON.stringify(method) + "\n" + (override === undefined ? "\u0000" : JSON.stringify(override));
  key += "\n" + pattern;
  for (const [name, byValue] of inputs.query) {
    const p = part(req.getQuery(name), byValue);
    if (p === null) return null;
    key += "\n" + p;
  }
  key += "\n";
  for (const [name, byValue] of inputs.headers) {
    const p = part(req.getHeader(name), byValue);
    if (p === null) return null;
    key += "\n" + p;
  }
  return key;
}

function keepingDispatch(dispatch, operations, specifications) {
  const inputs = requiredInputs(operations, specifications);
  const kept = new Map();
  function dispatchOnce(context, req, next, logger) {
    // (an operation set before dispatch, which Azurite's flows do not do, would be kept as the answer: not here)
    const key = context.operation === undefined ? kindOf(context, req, inputs) : null;
    if (key === null) return dispatch(context, req, next, logger);
    const operation = kept.get(key);
    if (operation !== undefined) {
      context.operation = operation;
      if (logger) logger.info(`DispatchMiddleware: Operation=${operations[operation]}`, context.contextId);
      return next();
    }
    return dispatch(context, req, (err) => {
      if (err === undefined && context.operation !== undefined && kept.size < MAX_KEPT) {
        kept.set(key, context.operation);
      }
      return err === undefined ? next() : next(err);
    }, logger);
  }
  dispatchOnce.openqioKept = kept;
  return dispatchOnce;
}

function install(dispatchModule, operationModule, specificationsModule) {
  const dispatch = dispatchModule && dispatchModule.default;
  const operations = operationModule && operationModule.default;
  const specifications = specificationsModule && specificationsModule.default;
  if (typeof dispatch !== "function" || dispatch.openqioKept || !operations || !specifications) return false;
  dispatchModule.default = keepingDispatch(dispatch, operations, specifications);
  return true;
}

function azuriteModules() {
  // Azurite's blob entry script is argv[1] (dist/src/blob/main.js); the generated modules sit beside it. Callers read
  // the module's `default` at each call, so replacing it there is what every caller uses.
  const generated = path.join(path.dirname(fs.realpathSync(process.argv[1])), "generated");
  return [
    require(path.join(generated, "middleware", "dispatch.middleware.js")),
    require(path.join(generated, "artifacts", "operation.js")),
    require(path.join(generated, "artifacts", "specifications.js")),
  ];
}

try {
  if (process.argv[1] && install(...azuriteModules())) console.log(INSTALLED);
} catch (err) {
  // never stop Azurite from starting: without the patch it is only slower
}

module.exports = { install, keepingDispatch, requiredInputs, MAX_KEPT };
