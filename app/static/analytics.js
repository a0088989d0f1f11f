// Analytics: key figures, the execution trend as a stacked-bar SVG chart, an outcome donut, the
// most triggered workflows as bars and execution-time bands. Charts are inline SVG drawn here.
import { api, el, fmtDuration, fmtNumber, fmtPercent, prefix, toast } from "./core.js";

const NS = "http://www.w3.org/2000/svg";
const range = document.getElementById("a-range");
const wfSel = document.getElementById("a-workflow");
const COLORS = { completed: "#22c55e", stopped: "#a3a3a3", failed: "#ef4444", other: "#cbd5e1", running: "#3b82f6" };

function s(tag, attrs = {}, ...children) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") n.style.cssText = v; // CSSOM: the CSP refuses style attributes
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v);
}

function trendChart(trend, bucket) {
  const W = 720, H = 260, L = 40, R = 12, T = 12, B = 34;
  const max = niceMax(Math.max(1, ...trend.map((b) => b.started)));
  const bw = (W - L - R) / Math.max(1, trend.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const label = (iso) => {
    const d = new Date(iso);
    return bucket === "hour" ? d.toLocaleTimeString(undefined, { hour: "2-digit" }) : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  };
  const total = trend.reduce((a, b) => a + b.started, 0);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Executions per ${bucket}: ${total} in the period` });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef0f3" }));
    svg.append(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, fmtNumber(Math.round(v))));
  }
  const every = Math.ceil(trend.length / 12);
  trend.forEach((b, i) => {
    const x = L + i * bw + bw * 0.18;
    const w = Math.max(2, bw * 0.64);
    const other = b.cancelled + b.terminated;
    let acc = 0;
    const g = s("g", {});
    g.append(s("title", {}, `${label(b.start)}: ${b.started} started, ${b.completed} completed, ${b.failed} failed, ${b.running} running`));
    for (const [key, v] of [["completed", b.completed], ["failed", b.failed], ["other", other], ["running", b.running]]) {
      if (!v) continue;
      g.append(s("rect", { x, y: y(acc + v), width: w, height: Math.max(1, y(acc) - y(acc + v)), fill: COLORS[key], rx: 2 }));
      acc += v;
    }
    if (!acc) g.append(s("rect", { x, y: y(0) - 1, width: w, height: 1, fill: "#e5e7eb" }));
    svg.append(g);
    if (i % every === 0) svg.append(s("text", { x: x + w / 2, y: H - 12, "text-anchor": "middle" }, label(b.start)));
  });
  svg.append(s("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#d1d5db" }));
  // A readable table of the same numbers, for screen readers.
  const table = el("table", { class: "sr-only" }, el("caption", {}, "Executions per bucket"),
    el("tr", {}, el("th", {}, "Start"), el("th", {}, "Started"), el("th", {}, "Completed"), el("th", {}, "Failed")),
    ...trend.map((b) => el("tr", {}, el("td", {}, label(b.start)), el("td", {}, b.started), el("td", {}, b.completed), el("td", {}, b.failed))));
  return [svg, table];
}

function donut(totals, successRate, stopped) {
  const parts = [["Completed", totals.completed - stopped, COLORS.completed], ["Stopped by a condition", stopped, COLORS.stopped], ["Failed", totals.failed, COLORS.failed],
    ["Cancelled / terminated", totals.cancelled + totals.terminated, COLORS.other], ["Running", totals.running, COLORS.running]];
  const sum = parts.reduce((a, p) => a + p[1], 0);
  const r = 52, c = 2 * Math.PI * r;
  const svg = s("svg", { viewBox: "0 0 140 140", width: 150, height: 150, role: "img", "aria-label": `Success rate ${fmtPercent(successRate)}` });
  svg.append(s("circle", { cx: 70, cy: 70, r, fill: "none", stroke: "#f1f2f4", "stroke-width": 16 }));
  let offset = 0;
  for (const [, v, color] of parts) {
    if (!v) continue;
    const len = (v / sum) * c;
    svg.append(s("circle", { cx: 70, cy: 70, r, fill: "none", stroke: color, "stroke-width": 16, "stroke-dasharray": `${len} ${c - len}`, "stroke-dashoffset": -offset, transform: "rotate(-90 70 70)" }));
    offset += len;
  }
  svg.append(s("text", { x: 70, y: 68, "text-anchor": "middle", style: "font-size:22px;font-weight:700;fill:#111827" }, fmtPercent(successRate)));
  svg.append(s("text", { x: 70, y: 88, "text-anchor": "middle" }, "success"));
  const legend = el("ul", { class: "bar-list", style: "flex:1;min-width:160px" }, ...parts.map(([name, v, color]) =>
    el("li", {}, el("div", { class: "bar-label" }, el("span", {}, el("span", { "aria-hidden": "true", style: `display:inline-block;width:10px;height:10px;border-radius:3px;background:${color};margin-right:.4rem` }), name), el("strong", {}, fmtNumber(v))))));
  return [svg, legend];
}

function topList(top) {
  if (!top.length) return [el("li", { class: "muted" }, "No executions in this period.")];
  const max = Math.max(...top.map((t) => t.executions));
  return top.map((t) => el("li", {},
    el("div", { class: "bar-label" },
      t.name ? el("a", { href: `${prefix}/workflows/${encodeURIComponent(t.workflow_id)}/runs` }, t.name) : el("span", { class: "muted" }, `${t.workflow_id} (deleted)`),
      el("strong", {}, fmtNumber(t.executions))),
    el("div", { class: "bar-track", "aria-hidden": "true" }, el("div", { class: "bar-fill", style: `width:${(100 * t.executions) / max}%` }))));
}

function durations(d) {
  const bands = d.bands.filter((b) => b.runs > 0);
  if (!bands.length) return [el("p", { class: "muted" }, "No finished runs in this period.")];
  const max = Math.max(...bands.map((b) => b.runs));
  const label = (b) => (b.upper_seconds === null ? `≥ ${fmtDuration(b.lower_seconds)}` : `${fmtDuration(b.lower_seconds)} – ${fmtDuration(b.upper_seconds)}`);
  return [
    el("p", { style: "margin-bottom:.8rem" }, "Average ", el("strong", {}, fmtDuration(d.average_seconds)), " · p95 ", el("strong", {}, fmtDuration(d.p95_seconds)), ` · ${fmtNumber(d.runs_measured)} runs`),
    el("ol", { class: "bar-list" }, ...bands.map((b) => el("li", {},
      el("div", { class: "bar-label" }, el("span", {}, label(b)), el("strong", {}, fmtNumber(b.runs))),
      el("div", { class: "bar-track", "aria-hidden": "true" }, el("div", { class: "bar-fill", style: `width:${(100 * b.runs) / max}%;background:linear-gradient(90deg,#f59e0b,#fbbf24)` }))))),
    el("details", { class: "fine" }, el("summary", {}, "How exact are these figures?"), el("p", {}, d.accuracy)),
  ];
}

function set(key, value) { document.querySelector(`[data-k="${key}"]`).textContent = value; }

async function load() {
  const now = new Date();
  const hours = { "24h": 24, "7d": 24 * 7, "30d": 24 * 30 }[range.value];
  const p = new URLSearchParams({
    from: new Date(now.getTime() - hours * 3600e3).toISOString(),
    to: now.toISOString(),
    bucket: range.value === "24h" ? "hour" : "day",
    top: "8",
  });
  if (wfSel.value) p.set("workflow_id", wfSel.value);
  try {
    const r = await api("GET", `/analytics?${p}`);
    set("started", fmtNumber(r.totals.started));
    set("running-sub", `${fmtNumber(r.totals.running)} running now`);
    set("success", fmtPercent(r.success_rate));
    set("completed-sub", `${fmtNumber(r.totals.completed)} completed`);
    set("failure", fmtPercent(r.failure_rate));
    set("failed-sub", `${fmtNumber(r.totals.failed)} failed`);
    set("avg", fmtDuration(r.durations.average_seconds));
    set("p95-sub", r.durations.p95_seconds === null ? "" : `p95 ${fmtDuration(r.durations.p95_seconds)}`);
    document.getElementById("trend").replaceChildren(...trendChart(r.trend, r.window.bucket));
    document.getElementById("donut").replaceChildren(...donut(r.totals, r.success_rate, r.stopped || 0));
    document.getElementById("top").replaceChildren(...topList(r.top_workflows));
    document.getElementById("durations").replaceChildren(...durations(r.durations));
    document.getElementById("a-note").textContent = r.note;
  } catch (err) {
    toast(`Could not load analytics: ${err.message}`, "error");
  }
}

async function start() {
  const params = new URLSearchParams(location.search);
  try {
    const page = await api("GET", "/workflows?limit=200");
    wfSel.append(...page.data.map((w) => el("option", { value: w.id }, w.name)));
  } catch { /* the filter is optional */ }
  if (params.get("workflow_id")) wfSel.value = params.get("workflow_id");
  await load();
}
range.addEventListener("change", load);
wfSel.addEventListener("change", load);
start();
