// openqio dashboard: job list, job details, input summary, a best-cost plot and a finished job's result, from the
// authenticated REST API. No framework, no build step, nothing loaded from elsewhere (the page's CSP allows only this
// origin); api.js, plot.js and result.js are the ES modules beside this one.
// The token comes from the URL fragment (#token=..., never sent to a server) or the form, and is kept in
// sessionStorage for this tab only. A job is linked as #job=<id>. Data goes into the page with textContent only.
"use strict";

import { HttpError, api, apiJson, pollEvents, session, streamEvents } from "./api.js";
import { formatCost, formatDuration, renderPlot } from "./plot.js";
import { hideResult, showResult } from "./result.js";

const TOKEN_KEY = "openqio.token";
const TERMINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
const TERMINAL_EVENTS = new Set(["succeeded", "failed", "cancelled"]);
const LIST_REFRESH_MS = 3000;
const EVENTS_POLL_MS = 1000;
const PAGES_PER_REFRESH = 50;
const MAX_JOBS = 1000;
const MAX_STATUS_CHECKS = 20;

const state = {
  jobs: new Map(), // id -> job (wire form)
  selected: null, // job id
  follow: 0, // generation counter: a newer selection stops the older follower
  streamWorks: null, // null: not tried yet; false: the server has no usable /stream, poll /events instead
  points: [], // [{t, cost, final}]
  listTimer: null,
  lastPage: null, // link of the last list page read: the next refresh starts there
  refreshing: false,
  streamAbort: null, // aborts the open event stream when another job is selected
  download: null, // blob: URL of the shown result's download
};

// The CLI's short target names (services/cli/params.py SHORT_NAMES; a unit test keeps the two in step).
const SHORT_TARGETS = {
  simulatedannealing: "sa", paralleltempering: "pt", tabu: "tabu", qmc: "qmc", populationannealing: "pa",
  substochasticmontecarlo: "ssmc",
};
const CATALOG_TARGETS = {
  "toshiba.sbm.ising": "sbm", "1qbit.tabu": "1qbit-tabu", "1qbit.pathrelinking": "pr", "1qbit.pticm": "pticm",
};

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- token and start-up --------------------------------------------------------------------------------------------

function fragment() {
  return new URLSearchParams(window.location.hash.replace(/^#/, ""));
}

function tokenFromFragment() {
  const params = fragment();
  const token = params.get("token");
  if (token) {
    // keep the token out of the address bar, history and bookmarks; a job link (#job=<id>) stays
    const job = params.get("job");
    history.replaceState(null, "", window.location.pathname + window.location.search + (job ? `#job=${encodeURIComponent(job)}` : ""));
  }
  return token;
}

function showTokenPanel(message) {
  $("main").hidden = true;
  $("sign-out").hidden = true;
  $("token-panel").hidden = false;
  $("token-error").textContent = message || "";
  $("token-input").focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  state.follow += 1;
  state.jobs = new Map();
  state.lastPage = null;
  state.selected = null;
  if (state.streamAbort) state.streamAbort.abort();
  $("details").hidden = true;
  clearInterval(state.listTimer);
  showTokenPanel(message);
}

async function connect(token) {
  session.token = token;
  let info;
  try {
    info = await apiJson("/dashboard/workspace");
  } catch (err) {
    if (err.status !== 401) showTokenPanel(`Could not connect: ${err.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  session.prefix = info.prefix;
  $("workspace-name").textContent = `workspace ${info.workspace} · ${info.resourceGroup} · ${info.location}`;
  $("token-panel").hidden = true;
  $("main").hidden = false;
  $("sign-out").hidden = false;
  await refreshJobs();
  scheduleListRefresh();
  const linked = fragment().get("job");
  if (linked) selectJob(linked);
}

function scheduleListRefresh() {
  clearInterval(state.listTimer);
  state.listTimer = setInterval(() => {
    if ($("auto-refresh").checked && session.token) refreshJobs();
  }, LIST_REFRESH_MS);
}

// ---- job list ------------------------------------------------------------------------------------------------------

// The list API pages oldest first with an opaque cursor, and new jobs are appended at the end. So the first load
// walks the pages (at most PAGES_PER_REFRESH per refresh; a large workspace is caught up over a few refreshes) and
// remembers the link of the last page; each refresh then reads from that page on (new jobs), and re-reads the
// unfinished jobs it did not just see, newest first (bounded), so statuses move without walking every page.
// The table keeps the newest MAX_JOBS jobs.
async function refreshJobs() {
  refreshLoad(); // one small read: also while a slow list refresh is still in flight (a click must not be lost)
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const seen = new Set();
    let link = state.lastPage || "jobs";
    for (let page = 0; page < PAGES_PER_REFRESH; page += 1) {
      const body = await apiJson(link);
      for (const job of body.value) {
        state.jobs.set(job.id, job);
        seen.add(job.id);
      }
      state.lastPage = link;
      if (!body.nextLink) break;
      link = body.nextLink;
      state.lastPage = link; // continue from here next time (also when this refresh stops at its page limit)
    }
    const stale = newestFirst([...state.jobs.values()].filter((job) => !seen.has(job.id) && !TERMINAL.has(job.status)));
    await Promise.all(stale.slice(0, MAX_STATUS_CHECKS).map(async (job) => {
      try {
        state.jobs.set(job.id, await apiJson(`jobs/${encodeURIComponent(job.id)}`));
      } catch (err) {
        if (err.status === 404) state.jobs.delete(job.id);
      }
    }));
    const all = newestFirst([...state.jobs.values()]);
    for (const job of all.slice(MAX_JOBS)) state.jobs.delete(job.id);
    $("jobs-error").textContent = all.length > MAX_JOBS ? `showing the newest ${MAX_JOBS} jobs` : "";
    renderJobs();
    if (state.selected && state.jobs.has(state.selected)) renderDetails(state.jobs.get(state.selected));
  } catch (err) {
    $("jobs-error").textContent = `Could not list jobs: ${err.message}`;
  } finally {
    state.refreshing = false;
  }
}

// ---- the service's load ------------------------------------------------------------------------------------------

// One line above the list, from GET /dashboard/load: whether the service admits new jobs or answers 429 (and why:
// the backlog, the queueing delay it estimates, its limits), its runners, and the submissions refused so far.
async function refreshLoad() {
  const line = $("service-load");
  try {
    line.textContent = describeLoad(await apiJson("/dashboard/load"));
    line.hidden = false;
  } catch (err) {
    line.hidden = err.status === 403; // this workspace may not read it (the service's OPENQIO_LOAD_VIEWERS)
    line.textContent = line.hidden ? "" : `Service load unavailable: ${err.message}`;
  }
}

function describeLoad(load) {
  const admitting = load.admitting ? "admitting new jobs" : "at capacity: new jobs refused (429, Retry-After)";
  const parts = [load.diskFullSeconds == null ? admitting
    : `the job database's disk has been full for ${load.diskFullSeconds} s: new jobs refused (507)`,
    `${load.waiting} waiting`];
  if (load.blobDiskFull) {
    parts.splice(1, 0, `blob storage's disk has been full for ${load.blobDiskFull.seconds} s: `
      + `${load.blobDiskFull.resultsWaiting} finished job(s) wait to store their results`);
  }
  for (const disk of (load.disks || []).filter((d) => d.low)) {
    parts.splice(1, 0, `the disk holding ${disk.holds.join(" and ")} is running low: ${size(disk.freeBytes)} free of `
      + `${size(disk.totalBytes)}`);
  }
  if (load.beingSubmitted) parts.push(`${load.beingSubmitted} being submitted`);
  if (load.promised) parts.push(`${load.promised} place(s) promised to refused clients`);
  if (load.runners) parts.push(`${load.runners.busy} of ${load.runners.total} runner(s) busy`);
  if (load.pacePerSecond) {
    parts.push(load.paceMeasured ? `pace ${load.pacePerSecond} jobs a second while jobs wait`
      : `pace about ${load.pacePerSecond} jobs a second (estimated: the runners not busy lately)`);
  }
  if (load.queueingDelaySeconds) parts.push(`about ${load.queueingDelaySeconds.toFixed(1)} s of queueing`);
  const limits = [load.limits.maxWaiting ? `${load.limits.maxWaiting} waiting` : "",
    load.limits.maxQueueDelaySeconds ? `${load.limits.maxQueueDelaySeconds} s of queueing` : ""].filter(Boolean);
  parts.push(limits.length ? `limit: ${limits.join(" or ")}` : "no limit");
  parts.push(`${load.refusedSinceStart} refused since the service started`);
  return `Service: ${parts.join(" · ")}`;
}

// bytes for people, as services/disks.py's size(): 812 B, 3.4 MiB, 12.0 GiB
function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

function newestFirst(jobs) {
  return jobs.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)) || String(b.id).localeCompare(String(a.id)));
}

function statusBadge(status) {
  const span = document.createElement("span");
  span.className = `status ${status || ""}`;
  span.textContent = status || "?";
  return span;
}

function formatTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

// The list's compact time: the time of day for today's jobs, else the date and time, without seconds' decimals.
function shortTime(value) {
  const date = new Date(value || "");
  if (Number.isNaN(date.getTime())) return value ? String(value) : "—";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

// "microsoft.simulatedannealing-parameterfree.cpu" -> "sa-pf", "1qbit.pticm" -> "pticm" (unknown ids are shown whole).
function shortTarget(target) {
  if (CATALOG_TARGETS[target]) return CATALOG_TARGETS[target];
  const match = /^microsoft\.([a-z]+)(-parameterfree)?\.cpu$/.exec(target || "");
  const base = match && SHORT_TARGETS[match[1]];
  return base ? base + (match[2] ? "-pf" : "") : target || "";
}

function renderJobs() {
  const body = $("jobs").querySelector("tbody");
  const jobs = newestFirst([...state.jobs.values()]);
  const rows = jobs.map((job) => {
    const tr = document.createElement("tr");
    tr.dataset.jobId = job.id;
    tr.dataset.status = job.status;
    if (job.id === state.selected) tr.className = "selected";
    // compact cells, the whole value in the tooltip: the table fits its half of the page
    const cells = [
      [job.name || "", job.name || ""], [null, job.status], [shortTarget(job.target), job.target],
      [shortTime(job.creationTime), formatTime(job.creationTime)], [String(job.id).slice(0, 8), job.id],
    ];
    cells.forEach(([text, full], i) => {
      const td = document.createElement("td");
      td.className = `col-${["name", "status", "target", "created", "id"][i]}`;
      td.title = full || "";
      if (i === 1) td.append(statusBadge(job.status));
      else td.textContent = text;
      tr.append(td);
    });
    tr.addEventListener("click", () => selectJob(job.id));
    return tr;
  });
  body.replaceChildren(...rows);
  $("jobs-count").textContent = `(${jobs.length})`;
}

// ---- job details ---------------------------------------------------------------------------------------------------

function renderDetails(job) {
  $("details").hidden = false;
  $("detail-id").textContent = job.id;
  $("detail-link").href = `#job=${encodeURIComponent(job.id)}`;
  $("detail-name").textContent = job.name || "";
  $("detail-status").replaceWith(Object.assign(statusBadge(job.status), { id: "detail-status" }));
  const cancelling = Boolean(job.isCancelling) && !TERMINAL.has(job.status);
  $("cancel-job").hidden = TERMINAL.has(job.status) || !job.status;
  $("cancel-job").disabled = cancelling;
  $("cancel-job").textContent = cancelling ? "Cancelling…" : "Cancel job";
  $("detail-target").textContent = job.target || "";
  $("detail-created").textContent = formatTime(job.creationTime);
  $("detail-begin").textContent = formatTime(job.beginExecutionTime);
  $("detail-end").textContent = formatTime(job.endExecutionTime);
  const params = job.inputParams && job.inputParams.params !== undefined ? job.inputParams.params : job.inputParams;
  $("detail-params").textContent = JSON.stringify(params || {});
  $("detail-error").textContent = job.errorData ? `${job.errorData.code}: ${job.errorData.message}` : "—";
  $("detail-tags").textContent = (job.tags || []).join(", ") || "—";
}

async function selectJob(jobId) {
  state.selected = jobId;
  const generation = ++state.follow;
  if (state.streamAbort) state.streamAbort.abort();
  if (fragment().get("job") !== jobId) history.replaceState(null, "", `#job=${encodeURIComponent(jobId)}`);
  for (const tr of $("jobs").querySelectorAll("tbody tr")) tr.classList.toggle("selected", tr.dataset.jobId === jobId);
  state.points = [];
  drawPlot();
  $("detail-cost").textContent = "—";
  $("live-note").textContent = "";
  hideResult($);
  if (state.jobs.has(jobId)) renderDetails(state.jobs.get(jobId));
  loadSummary(jobId, generation);
  try {
    const job = await apiJson(`jobs/${encodeURIComponent(jobId)}`);
    if (generation !== state.follow) return;
    state.jobs.set(job.id, job);
    renderDetails(job);
    renderJobs();
  } catch (err) {
    if (generation !== state.follow) return;
    $("details").hidden = false;
    $("detail-id").textContent = jobId;
    $("live-note").textContent = `Could not load the job: ${err.message}`;
    return;
  }
  follow(jobId, generation);
}

async function cancelSelected() {
  const jobId = state.selected;
  if (!jobId || !window.confirm(`Cancel job ${jobId}?`)) return;
  $("cancel-job").disabled = true;
  try {
    await api(`jobs/${encodeURIComponent(jobId)}`, { method: "DELETE" });
    $("live-note").textContent = "cancel requested";
  } catch (err) {
    $("live-note").textContent = `Could not cancel: ${err.message}`;
  }
  try {
    const job = await apiJson(`jobs/${encodeURIComponent(jobId)}`);
    state.jobs.set(job.id, job);
    if (state.selected === jobId) renderDetails(job);
    renderJobs();
  } catch (_) { /* the list refresh will catch up */ }
}

// A Succeeded job's rawOutputData, from the service's own copy.
async function loadResult(jobId, generation) {
  hideResult($, "loading the result…");
  try {
    const text = await (await api(`jobs/${encodeURIComponent(jobId)}/output`)).text();
    if (generation !== state.follow) return;
    state.download = showResult($, jobId, text, state.download);
    const cost = JSON.parse(text).cost;
    if (Number.isFinite(cost)) $("detail-cost").textContent = formatCost(cost);
  } catch (err) {
    if (generation === state.follow) hideResult($, `Could not load the result: ${err.message}`);
  }
}

const SUMMARY_FIELDS = [
  ["summary-type", "problemType"], ["summary-variables", "variables"], ["summary-terms", "terms"],
  ["summary-grouped", "groupedTerms"], ["summary-degree", "maxDegree"], ["summary-bytes", "inputBytes"],
];

async function loadSummary(jobId, generation) {
  for (const [id] of SUMMARY_FIELDS) $(id).textContent = "…";
  $("summary-note").textContent = "";
  let summary;
  try {
    summary = await apiJson(`jobs/${encodeURIComponent(jobId)}/summary`);
  } catch (err) {
    summary = { available: false, reason: err.message };
  }
  if (generation !== state.follow) return;
  for (const [id, key] of SUMMARY_FIELDS) {
    const value = summary[key];
    $(id).textContent = value === undefined || value === null ? "—" : typeof value === "number" ? value.toLocaleString("en-US") : String(value);
    if (key === "inputBytes" && typeof value === "number") $(id).textContent += " bytes";
  }
  $("summary-note").textContent = summary.available ? "" : `Input not summarised: ${summary.reason}`;
}

// ---- events: stream first, polling as the fallback -------------------------------------------------------------------

function applyEvent(event, jobId) {
  const data = event.data || {};
  if (event.kind === "started") {
    state.points = []; // a rerun (after a runner crash or a restart) starts a new series
  } else if (event.kind === "progress" && Number.isFinite(data.best_cost)) {
    state.points.push({ t: Number(data.elapsed_s) || 0, cost: data.best_cost, final: false });
    $("detail-cost").textContent = `${formatCost(data.best_cost)} (after ${data.sweeps_done ?? "?"} sweeps, ${formatDuration(Number(data.elapsed_s))})`;
  } else if (event.kind === "succeeded" && Number.isFinite(data.cost)) {
    const last = state.points.length ? state.points[state.points.length - 1].t : 0;
    state.points.push({ t: Math.max(Number(data.elapsed_s) || 0, last), cost: data.cost, final: true });
    $("detail-cost").textContent = formatCost(data.cost);
  }
  if (state.selected === jobId) drawPlot();
}

async function follow(jobId, generation) {
  let after = 0;
  let finished = false;
  const onEvent = (event) => {
    if (TERMINAL_EVENTS.has(event.kind)) finished = true;
    applyEvent(event, jobId);
  };
  const live = () => generation === state.follow;
  try {
    after = await pollEvents(jobId, after, live, onEvent);
    while (live() && !finished && !TERMINAL.has(state.jobs.get(jobId)?.status)) {
      if (state.streamWorks !== false) {
        $("live-note").textContent = "live: following the job's event stream";
        try {
          state.streamAbort = new AbortController();
          after = await streamEvents(jobId, after, live, onEvent, state.streamAbort);
          state.streamWorks = true;
        } catch (err) {
          if (err instanceof HttpError && err.status !== 401) state.streamWorks = false;
          else await sleep(EVENTS_POLL_MS);
        }
      } else {
        $("live-note").textContent = "live: polling the job's events";
        await sleep(EVENTS_POLL_MS);
        if (!live()) return;
        after = await pollEvents(jobId, after, live, onEvent);
      }
    }
    if (!live()) return;
    after = await pollEvents(jobId, after, live, onEvent); // nothing missed between stream and end
    const job = await apiJson(`jobs/${encodeURIComponent(jobId)}`);
    if (!live()) return;
    state.jobs.set(job.id, job);
    renderDetails(job);
    renderJobs();
    $("live-note").textContent = "";
    if (job.status === "Succeeded") await loadResult(jobId, generation);
  } catch (err) {
    if (live()) $("live-note").textContent = `Live updates stopped: ${err.message}`;
  }
}

// ---- plot (plot.js) ----------------------------------------------------------------------------------------------

function drawPlot() {
  const job = state.jobs.get(state.selected);
  const waiting = job && (job.status === "Waiting" || !job.beginExecutionTime);
  renderPlot($("cost-plot"), $("plot-caption"), state.points, waiting ? "the job has not started yet" : undefined);
}

// ---- wiring ----------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  session.onUnauthorized = () => signOut("The token was refused (401). Paste a valid one.");
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    $("token-input").value = "";
    if (token) connect(token);
  });
  $("refresh").addEventListener("click", () => session.token && refreshJobs());
  $("sign-out").addEventListener("click", () => signOut(""));
  $("cancel-job").addEventListener("click", cancelSelected);
  window.addEventListener("hashchange", () => {
    const linked = fragment().get("job");
    if (session.token && linked && linked !== state.selected) selectJob(linked);
  });
  drawPlot();
  const token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
  if (token) connect(token);
  else showTokenPanel("");
});
