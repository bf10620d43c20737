// openqio dashboard: job list, job details, input summary and a best-cost plot, from the authenticated REST API.
// No framework, no build step, nothing loaded from elsewhere (the page's CSP allows only this origin).
// The token comes from the URL fragment (#token=..., never sent to a server) or the form, and is kept in
// sessionStorage for this tab only. Data is put into the page with textContent, never as HTML.
"use strict";

const TOKEN_KEY = "openqio.token";
const TERMINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
const TERMINAL_EVENTS = new Set(["succeeded", "failed", "cancelled"]);
const LIST_REFRESH_MS = 3000;
const EVENTS_POLL_MS = 1000;
const PAGES_PER_REFRESH = 50;
const MAX_JOBS = 1000;
const MAX_STATUS_CHECKS = 20;

const state = {
  token: null,
  prefix: null,
  jobs: new Map(), // id -> job (wire form)
  selected: null, // job id
  follow: 0, // generation counter: a newer selection stops the older follower
  streamWorks: null, // null: not tried yet; false: the server has no usable /stream, poll /events instead
  points: [], // [{t, cost, final}]
  listTimer: null,
  lastPage: null, // link of the last list page read: the next refresh starts there
  refreshing: false,
  streamAbort: null, // aborts the open event stream when another job is selected
};

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---- API ---------------------------------------------------------------------------------------------------------

async function api(path, options = {}) {
  const url = path.startsWith("https://") || path.startsWith("http://") ? path : path.startsWith("/") ? path : `${state.prefix}/${path}`;
  const resp = await fetch(url, { ...options, headers: { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) } });
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.error) message = `${body.error.code}: ${body.error.message}`;
    } catch (_) { /* not JSON */ }
    if (resp.status === 401) signOut("The token was refused (401). Paste a valid one.");
    throw new HttpError(resp.status, message);
  }
  return resp;
}

async function apiJson(path) {
  return (await api(path)).json();
}

// ---- token and start-up --------------------------------------------------------------------------------------------

function tokenFromFragment() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token) {
    // keep the token out of the address bar, history and bookmarks
    history.replaceState(null, "", window.location.pathname + window.location.search);
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
  state.token = null;
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
  state.token = token;
  let info;
  try {
    info = await apiJson("/dashboard/workspace");
  } catch (err) {
    if (err.status !== 401) showTokenPanel(`Could not connect: ${err.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.prefix = info.prefix;
  $("workspace-name").textContent = `workspace ${info.workspace} · ${info.resourceGroup} · ${info.location}`;
  $("token-panel").hidden = true;
  $("main").hidden = false;
  $("sign-out").hidden = false;
  await refreshJobs();
  scheduleListRefresh();
}

function scheduleListRefresh() {
  clearInterval(state.listTimer);
  state.listTimer = setInterval(() => {
    if ($("auto-refresh").checked && state.token) refreshJobs();
  }, LIST_REFRESH_MS);
}

// ---- job list ------------------------------------------------------------------------------------------------------

// The list API pages oldest first with an opaque cursor, and new jobs are appended at the end. So the first load
// walks the pages (at most PAGES_PER_REFRESH per refresh; a large workspace is caught up over a few refreshes) and
// remembers the link of the last page; each refresh then reads from that page on (new jobs), and re-reads the
// unfinished jobs it did not just see, newest first (bounded), so statuses move without walking every page.
// The table keeps the newest MAX_JOBS jobs.
async function refreshJobs() {
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

function renderJobs() {
  const body = $("jobs").querySelector("tbody");
  const jobs = newestFirst([...state.jobs.values()]);
  const rows = jobs.map((job) => {
    const tr = document.createElement("tr");
    tr.dataset.jobId = job.id;
    tr.dataset.status = job.status;
    if (job.id === state.selected) tr.className = "selected";
    const cells = [job.name || "", null, job.target || "", formatTime(job.creationTime), job.id];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.className = `col-${["name", "status", "target", "created", "id"][i]}`;
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
  $("detail-name").textContent = job.name || "";
  $("detail-status").replaceWith(Object.assign(statusBadge(job.status), { id: "detail-status" }));
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
  for (const tr of $("jobs").querySelectorAll("tbody tr")) tr.classList.toggle("selected", tr.dataset.jobId === jobId);
  state.points = [];
  renderPlot();
  $("detail-cost").textContent = "—";
  if (state.jobs.has(jobId)) renderDetails(state.jobs.get(jobId));
  loadSummary(jobId, generation);
  try {
    const job = await apiJson(`jobs/${encodeURIComponent(jobId)}`);
    if (generation !== state.follow) return;
    state.jobs.set(job.id, job);
    renderDetails(job);
    renderJobs();
  } catch (err) {
    $("live-note").textContent = `Could not load the job: ${err.message}`;
    return;
  }
  follow(jobId, generation);
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
  } else if (event.kind === "succeeded" && Number.isFinite(data.cost)) {
    const last = state.points.length ? state.points[state.points.length - 1].t : 0;
    state.points.push({ t: Math.max(Number(data.elapsed_s) || 0, last), cost: data.cost, final: true });
    $("detail-cost").textContent = String(data.cost);
  }
  if (event.kind === "progress" && Number.isFinite(data.best_cost)) {
    $("detail-cost").textContent = `${data.best_cost} (after ${data.sweeps_done ?? "?"} sweeps, ${Number(data.elapsed_s).toFixed(1)} s)`;
  }
  if (state.selected === jobId) renderPlot();
}

async function pollEvents(jobId, after, generation, onEvent) {
  // every event after `after`, in pages; returns the last sequence number seen
  for (;;) {
    const body = await apiJson(`jobs/${encodeURIComponent(jobId)}/events?after=${after}`);
    if (generation !== state.follow) return after;
    for (const event of body.value) {
      after = Math.max(after, event.seq);
      onEvent(event);
    }
    if (body.value.length < 1000) return after;
  }
}

async function streamEvents(jobId, after, generation, onEvent) {
  // Server-sent events read with fetch() (EventSource cannot send the Authorization header).
  // Returns the last sequence number; throws when the server has no usable stream.
  const controller = new AbortController();
  state.streamAbort = controller;
  const resp = await fetch(`${state.prefix}/jobs/${encodeURIComponent(jobId)}/stream?after=${after}`, {
    headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
    signal: controller.signal,
  });
  const type = resp.headers.get("Content-Type") || "";
  if (!resp.ok || !type.startsWith("text/event-stream") || !resp.body) {
    controller.abort();
    if (resp.status === 401) signOut("The token was refused (401). Paste a valid one.");
    throw new HttpError(resp.status, `no event stream (${resp.status})`);
  }
  state.streamWorks = true;
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || generation !== state.follow) break;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).replace(/^ /, ""));
        if (!data.length) continue; // a keep-alive comment
        const event = JSON.parse(data.join("\n"));
        after = Math.max(after, event.seq || 0);
        onEvent(event);
      }
    }
  } finally {
    controller.abort();
  }
  return after;
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
    after = await pollEvents(jobId, after, generation, onEvent);
    while (live() && !finished && !TERMINAL.has(state.jobs.get(jobId)?.status)) {
      if (state.streamWorks !== false) {
        $("live-note").textContent = "live: following the job's event stream";
        try {
          after = await streamEvents(jobId, after, generation, onEvent);
        } catch (err) {
          if (err instanceof HttpError && err.status !== 401) state.streamWorks = false;
          else await sleep(EVENTS_POLL_MS);
        }
      } else {
        $("live-note").textContent = "live: polling the job's events";
        await sleep(EVENTS_POLL_MS);
        if (!live()) return;
        after = await pollEvents(jobId, after, generation, onEvent);
      }
    }
    if (!live()) return;
    after = await pollEvents(jobId, after, generation, onEvent); // nothing missed between stream and end
    const job = await apiJson(`jobs/${encodeURIComponent(jobId)}`);
    if (!live()) return;
    state.jobs.set(job.id, job);
    renderDetails(job);
    renderJobs();
    $("live-note").textContent = "";
  } catch (err) {
    if (live()) $("live-note").textContent = `Live updates stopped: ${err.message}`;
  }
}

// ---- plot: our own SVG, best cost (y) against seconds since the run started (x) -------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-2 && value !== 0)) return value.toExponential(2);
  return String(Math.round(value * 100) / 100);
}

function renderPlot() {
  const plot = $("cost-plot");
  const points = state.points;
  const [W, H, left, right, top, bottom] = [640, 240, 70, 16, 14, 34];
  const children = [];
  plot.dataset.points = String(points.length);
  $("plot-caption").textContent = points.length ? `(${points.length} point${points.length === 1 ? "" : "s"})` : "";
  if (!points.length) {
    children.push(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no progress reported yet"));
    plot.replaceChildren(...children);
    return;
  }
  const tMax = Math.max(...points.map((p) => p.t), 1e-9);
  let yMin = Math.min(...points.map((p) => p.cost));
  let yMax = Math.max(...points.map((p) => p.cost));
  if (yMin === yMax) { yMin -= 1; yMax += 1; }
  const x = (t) => left + (t / tMax) * (W - left - right);
  const y = (c) => top + ((yMax - c) / (yMax - yMin)) * (H - top - bottom);
  for (const frac of [0, 0.5, 1]) {
    const value = yMin + frac * (yMax - yMin);
    children.push(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(value), y2: y(value) }));
    children.push(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, niceNumber(value)));
  }
  children.push(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: H - bottom }));
  children.push(svg("line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom }));
  children.push(svg("text", { x: left, y: H - bottom + 16, "text-anchor": "middle" }, "0"));
  children.push(svg("text", { x: W - right, y: H - bottom + 16, "text-anchor": "end" }, `${niceNumber(tMax)} s`));
  children.push(svg("text", { x: (left + W - right) / 2, y: H - 4, "text-anchor": "middle" }, "seconds since the run started"));
  // best-so-far is a step function: it holds its value until the next improvement
  let d = `M ${x(points[0].t)} ${y(points[0].cost)}`;
  for (const p of points.slice(1)) d += ` H ${x(p.t)} V ${y(p.cost)}`;
  children.push(svg("path", { class: "line", d }));
  for (const p of points) {
    const dot = svg("circle", { class: p.final ? "pt final" : "pt", cx: x(p.t), cy: y(p.cost), r: p.final ? 4 : 3 });
    dot.append(svg("title", {}, `${niceNumber(p.t)} s: ${p.cost}${p.final ? " (final)" : ""}`));
    children.push(dot);
  }
  plot.replaceChildren(...children);
}

// ---- wiring ----------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    $("token-input").value = "";
    if (token) connect(token);
  });
  $("refresh").addEventListener("click", () => state.token && refreshJobs());
  $("sign-out").addEventListener("click", () => signOut(""));
  renderPlot();
  const token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
  if (token) connect(token);
  else showTokenPanel("");
});
