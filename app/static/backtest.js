// Backtest panels: what a workflow (builder) or a template (templates page) would have done with
// the events recorded over the last 7 days — counts, matches per day as a small SVG bar chart,
// and sample conversations with their rendered texts. Read-only: viewers may run it too.
import { ACTION_LABELS, api, el, fmtNumber, humanize } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
}

/** Matches per day as bars; each bar's <title> is its tooltip. */
export function dayChart(days) {
  const width = 280, height = 72, gap = 3;
  const max = Math.max(1, ...days.map((d) => d.matched));
  const bar = Math.max(2, (width - gap * (days.length - 1)) / Math.max(1, days.length));
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height + 14}`, class: "bt-chart", role: "img",
    "aria-label": `Matches per day: ${days.map((d) => `${d.day} ${d.matched}`).join(", ")}`,
  });
  days.forEach((d, i) => {
    const h = d.matched ? Math.max(2, (d.matched / max) * height) : 0;
    const x = i * (bar + gap);
    chart.append(svg("rect", { x, y: height - h, width: bar, height: h, rx: 2, class: "bt-bar", "data-day": d.day },
      svg("title", {}, `${d.day}: ${d.matched} match${d.matched === 1 ? "" : "es"}`)));
  });
  chart.append(svg("line", { x1: 0, x2: width, y1: height + 0.5, y2: height + 0.5, class: "bt-axis" }));
  if (days.length) {
    chart.append(svg("text", { x: 0, y: height + 12, class: "bt-label" }, days[0].day.slice(5)));
    chart.append(svg("text", { x: width, y: height + 12, class: "bt-label", "text-anchor": "end" }, days.at(-1).day.slice(5)));
  }
  return chart;
}

function counts(entries, label) {
  const items = Object.entries(entries);
  if (!items.length) return null;
  return el("div", { class: "bt-counts" }, el("h4", {}, label),
    el("ul", { class: "bt-list" }, items.map(([key, n]) => el("li", {}, el("span", {}, label === "Actions" ? (ACTION_LABELS[key] || humanize(key)) : key), el("strong", {}, fmtNumber(n))))));
}

function sample(s) {
  const where = s.stopped_at ? ` at ${s.stopped_at}` : s.waiting_at ? ` in ${s.waiting_at}` : "";
  return el("li", { class: "bt-sample" },
    el("div", { class: "row-between" },
      el("strong", {}, s.conversation_id),
      el("span", { class: `badge bt-outcome bt-${s.outcome}` }, `${humanize(s.outcome)}${where}`)),
    el("div", { class: "muted smaller" }, `${s.event_type} · ${s.received_at.slice(0, 16).replace("T", " ")} UTC`),
    s.waits.map((w) => el("div", { class: "smaller" }, w)),
    s.actions.map((a) => el("div", { class: "bt-action" },
      el("span", { class: "badge" }, ACTION_LABELS[a.action] || humanize(a.action)),
      Object.values(a.rendered).map((text) => el("q", {}, text)))));
}

/** The report as a panel: counts, chart, breakdowns and samples. */
export function renderBacktest(r) {
  const o = r.outcomes;
  return el("div", { class: "bt-report stack", id: "backtest-report" },
    el("div", { class: "bt-stats" },
      el("div", {}, el("strong", { id: "bt-scanned" }, fmtNumber(r.events_scanned)), el("span", {}, "events scanned")),
      el("div", {}, el("strong", { id: "bt-matched" }, fmtNumber(r.matched)), el("span", {}, `matched (${fmtNumber(r.conversations)} conversations)`)),
      el("div", {}, el("strong", { id: "bt-complete" }, fmtNumber(o.would_complete)), el("span", {}, "would complete")),
      el("div", {}, el("strong", { id: "bt-stop" }, fmtNumber(o.would_stop)), el("span", {}, "would stop")),
      el("div", {}, el("strong", { id: "bt-wait" }, fmtNumber(o.would_wait)), el("span", {}, "still waiting"))),
    r.truncated ? el("p", { class: "alert alert-info" }, `Only the first ${fmtNumber(r.events_scanned)} events of the window were read.`) : null,
    dayChart(r.matches_per_day),
    counts(r.actions, "Actions"),
    counts(r.stopped_by_step, "Stopped at step"),
    counts(r.waiting_by_step, "Still waiting in"),
    r.samples.length ? el("div", {}, el("h4", {}, "Sample conversations"), el("ul", { class: "bt-samples", id: "bt-samples" }, r.samples.map(sample))) : null,
    el("p", { class: "muted smaller" }, r.state_note));
}

async function run(button, box, call) {
  button.disabled = true;
  box.replaceChildren(el("p", { class: "muted" }, "Replaying the last 7 days…"));
  try {
    box.replaceChildren(renderBacktest(await call()));
  } catch (err) {
    box.replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, err.message));
  } finally {
    button.disabled = false;
  }
}

// Builder: the saved version of the workflow on the page.
const builderButton = document.getElementById("run-backtest");
if (builderButton) {
  const workflowId = JSON.parse(document.getElementById("workflow-id")?.textContent || "null");
  const box = document.getElementById("backtest-result");
  if (!workflowId) {
    builderButton.disabled = true;
    box.replaceChildren(el("p", { class: "muted smaller" }, "Save the workflow first; the backtest replays the saved version."));
  }
  builderButton.addEventListener("click", () =>
    run(builderButton, box, () => api("POST", `/workflows/${encodeURIComponent(workflowId)}/backtest`, {})));
}

// Templates: the template in the preview dialog (templates.js sets its id on the dialog).
const templateButton = document.getElementById("preview-backtest");
if (templateButton) {
  const dialog = document.getElementById("preview");
  const box = document.getElementById("preview-backtest-result");
  dialog.addEventListener("close", () => box.replaceChildren());
  templateButton.addEventListener("click", () =>
    run(templateButton, box, async () => {
      const tpl = await api("GET", `/templates/${encodeURIComponent(dialog.dataset.templateId)}`);
      return api("POST", "/backtest", { definition: tpl.definition });
    }));
}
