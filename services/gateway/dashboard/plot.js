// The best-cost plot: our own SVG (no library), best cost (y) against seconds since the run started (x).
// Best-so-far is a step function. Axes get "nice" ticks (1, 2, 5 × 10^k) and readable labels; durations read as
// ms / s / min. A run too short to show a curve (fewer than two distinct times, or under MIN_PLOT_S) gets a sentence
// instead of a lone dot at "3.03e-3 s".
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const [W, H, LEFT, RIGHT, TOP, BOTTOM] = [640, 260, 78, 18, 14, 46];
export const MIN_PLOT_S = 0.05;

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Seconds as a person reads them: "0.4 ms", "3 ms", "1.25 s", "42 s", "2 min 5 s".
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 0.001) return `${(seconds * 1000).toPrecision(1)} ms`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Number(seconds.toPrecision(3))} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - 60 * minutes)} s`;
}

// A cost as a person reads it: integers with digit groups, others to 6 significant digits, huge ones in e-notation.
export function formatCost(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e12 || (Math.abs(value) < 1e-4 && value !== 0)) return value.toExponential(3);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

// About `count` round values in steps of 1, 2 or 5 × 10^k: within [lo, hi], or (outer) from the last one at or
// below lo to the first one at or above hi, so that an axis can end on labelled values.
export function niceTicks(lo, hi, count = 5, outer = false) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const [first, last] = outer ? [Math.floor(lo / step), Math.ceil(hi / step)] : [Math.ceil(lo / step), Math.floor(hi / step)];
  const ticks = [];
  for (let i = first; i <= last; i += 1) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

// Seconds on the x axis, in the unit that suits the whole run.
function timeLabel(seconds, span) {
  if (span < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  if (span < 120) return `${Number(seconds.toPrecision(4))} s`;
  return `${Number((seconds / 60).toPrecision(3))} min`;
}

// Draws `points` ([{t, cost, final}]) into `plot` (an <svg>); `caption` gets the point count. Returns whether a
// curve was drawn. data-points on the svg is the number of points (what tests read).
export function renderPlot(plot, caption, points, note) {
  const children = [];
  plot.dataset.points = String(points.length);
  const times = new Set(points.map((p) => p.t));
  const tMax = Math.max(0, ...points.map((p) => p.t));
  caption.textContent = points.length ? `(${points.length} point${points.length === 1 ? "" : "s"})` : "";
  if (times.size < 2 || tMax < MIN_PLOT_S) {
    const last = points[points.length - 1];
    const text = !points.length ? note || "no progress reported yet"
      : `the run took ${formatDuration(tMax)}: too short to plot; best cost ${formatCost(last.cost)}`;
    plot.dataset.plotted = "false";
    plot.setAttribute("viewBox", `0 0 ${W} 56`); // a line of text, not an empty chart
    children.push(svg("text", { x: W / 2, y: 33, "text-anchor": "middle", class: "note" }, text));
    plot.replaceChildren(...children);
    return false;
  }
  plot.dataset.plotted = "true";
  plot.setAttribute("viewBox", `0 0 ${W} ${H}`);
  let yMin = Math.min(...points.map((p) => p.cost));
  let yMax = Math.max(...points.map((p) => p.cost));
  if (yMin === yMax) { yMin -= 1; yMax += 1; }
  const yTicks = niceTicks(yMin, yMax, 4, true);
  [yMin, yMax] = [yTicks[0], yTicks[yTicks.length - 1]];
  const x = (t) => LEFT + (t / tMax) * (W - LEFT - RIGHT);
  const y = (c) => TOP + ((yMax - c) / (yMax - yMin)) * (H - TOP - BOTTOM);
  for (const value of yTicks) {
    children.push(svg("line", { class: "grid", x1: LEFT, x2: W - RIGHT, y1: y(value), y2: y(value) }));
    children.push(svg("text", { x: LEFT - 8, y: y(value) + 4, "text-anchor": "end", class: "tick" }, formatCost(value)));
  }
  for (const t of niceTicks(0, tMax, 5)) {
    children.push(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: TOP, y2: H - BOTTOM }));
    children.push(svg("text", { x: x(t), y: H - BOTTOM + 17, "text-anchor": "middle", class: "tick" }, timeLabel(t, tMax)));
  }
  children.push(svg("line", { class: "axis", x1: LEFT, x2: LEFT, y1: TOP, y2: H - BOTTOM }));
  children.push(svg("line", { class: "axis", x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM }));
  children.push(svg("text", { x: (LEFT + W - RIGHT) / 2, y: H - 6, "text-anchor": "middle", class: "title" },
    "time since the run started"));
  children.push(svg("text", { x: 14, y: (TOP + H - BOTTOM) / 2, "text-anchor": "middle", class: "title",
    transform: `rotate(-90 14 ${(TOP + H - BOTTOM) / 2})` }, "best cost"));
  let d = `M ${x(points[0].t)} ${y(points[0].cost)}`;
  for (const p of points.slice(1)) d += ` H ${x(p.t)} V ${y(p.cost)}`;
  children.push(svg("path", { class: "line", d }));
  for (const p of points) {
    const dot = svg("circle", { class: p.final ? "pt final" : "pt", cx: x(p.t), cy: y(p.cost), r: p.final ? 4.5 : 3.5 });
    dot.append(svg("title", {}, `${formatDuration(p.t)}: ${formatCost(p.cost)}${p.final ? " (final)" : ""}`));
    children.push(dot);
  }
  plot.replaceChildren(...children);
  return true;
}
