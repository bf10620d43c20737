// A finished job's result: best cost, configuration (the first MAX_SHOWN variables), the other solutions' costs, the
// parameters the solver used, and a download of the whole rawOutputData document. The document comes from the
// authenticated `GET {prefix}/jobs/{id}/output` (the service's durable copy); the download is made from what was
// fetched (a blob: URL), so it needs no second request and no SAS URL.
"use strict";

import { formatCost } from "./plot.js";

const MAX_SHOWN = 64;

function variableOrder(a, b) {
  return Number(a[0]) - Number(b[0]) || String(a[0]).localeCompare(String(b[0]));
}

export function configurationText(configuration) {
  const items = Object.entries(configuration || {}).sort(variableOrder);
  const shown = items.slice(0, MAX_SHOWN).map(([k, v]) => `${k}=${v > 0 ? "+" : ""}${v}`).join(" ");
  const more = items.length - MAX_SHOWN;
  return { count: items.length, text: more > 0 ? `${shown} … and ${more.toLocaleString("en-US")} more (in the download)` : shown };
}

// Fills the result section `$` (the page's getElementById) from a rawOutputData document; `old` is the previous
// download URL (revoked here). Returns the new download URL.
export function showResult($, jobId, text, old) {
  if (old) URL.revokeObjectURL(old);
  const doc = JSON.parse(text);
  const solutions = Array.isArray(doc.solutions) ? doc.solutions : [];
  // Toshiba's and 1QBit's formats have no root cost: their best solution comes first
  const best = "cost" in doc ? doc : solutions[0] || {};
  const { count, text: shown } = configurationText(best.configuration);
  $("result-cost").textContent = formatCost(Number(best.cost));
  $("result-variables").textContent = count.toLocaleString("en-US");
  $("result-configuration").textContent = shown || "—";
  $("result-solutions").textContent = solutions.length > 1
    ? `${solutions.length}: costs ${solutions.map((s) => formatCost(Number(s.cost))).join(", ")}` : String(solutions.length || 1);
  $("result-parameters").textContent = JSON.stringify(doc.parameters || doc.input_params || best.parameters || {});
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = $("result-download");
  link.href = url;
  link.download = `${jobId}-rawOutputData.json`;
  link.textContent = `rawOutputData (${new Blob([text]).size.toLocaleString("en-US")} bytes)`;
  $("result-note").textContent = "";
  $("result").hidden = false;
  return url;
}

export function hideResult($, note) {
  $("result").hidden = note === undefined;
  for (const id of ["result-cost", "result-variables", "result-configuration", "result-solutions", "result-parameters"]) {
    $(id).textContent = "—";
  }
  $("result-download").removeAttribute("href");
  $("result-download").textContent = "";
  $("result-note").textContent = note || "";
}
