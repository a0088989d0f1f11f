// Runs: recent runs (of one workflow, or all), filter by status, page with the cursor. A waiting
// run says what it waits for and until when.
import { api, el, fmtDateTime, fmtDuration, humanize, prefix, relTime, runHref, runStatusBadge, toast } from "./core.js";

const workflowId = JSON.parse(document.getElementById("workflow-id").textContent);
const body = document.getElementById("runs-body");
const more = document.getElementById("more");
const status = document.getElementById("r-status");
status.value = new URLSearchParams(location.search).get("status") || "";  // e.g. from a card
let cursor = null;
const names = {};

async function loadNames() {
  if (workflowId) {
    try {
      const wf = await api("GET", `/workflows/${encodeURIComponent(workflowId)}`);
      names[wf.id] = wf.name;
      document.getElementById("runs-title").textContent = `Recent runs · ${wf.name}`;
      const crumb = document.getElementById("crumb-wf");
      if (crumb) crumb.textContent = wf.name;
    } catch { /* deleted workflow: its runs are still listed */ }
  } else {
    try {
      const page = await api("GET", "/workflows?limit=200");
      for (const wf of page.data) names[wf.id] = wf.name;
    } catch { /* names are a nicety */ }
  }
}

function waitNote(run) {
  if (run.status !== "waiting") return null;
  const until = run.waiting_until ? ` until ${fmtDateTime(run.waiting_until)}` : "";
  return el("span", { class: "wait-note", "data-field": "waiting" }, `for ${humanize(run.waiting_for || "?")}${until}`);
}

function row(run) {
  const href = runHref(run.run_id);
  const cells = [el("td", {}, runStatusBadge(run.status), run.is_retry ? el("span", { class: "badge badge-cat", style: "margin-left:.3rem" }, "retry") : null, waitNote(run))];
  if (!workflowId) cells.push(el("td", {}, names[run.workflow_id] || el("span", { class: "mono" }, run.workflow_id || "—")));
  cells.push(
    el("td", { class: "mono" }, run.conversation_id ? el("a", { href: `${prefix}/conversations/${encodeURIComponent(run.conversation_id)}` }, run.conversation_id) : "—"),
    el("td", { title: fmtDateTime(run.started_at) }, relTime(run.started_at)),
    el("td", {}, fmtDuration(run.duration_seconds)),
    el("td", {}, run.workflow_version ? `v${run.workflow_version}` : "—"),
    el("td", { style: "text-align:right" }, el("a", { class: "btn btn-ghost btn-sm", href, "aria-label": `Open run ${run.run_id}` }, "Details →")));
  return el("tr", { dataset: { runId: run.run_id, status: run.status } }, ...cells);
}

async function load(reset = true) {
  const p = new URLSearchParams({ limit: "25" });
  if (workflowId) p.set("workflow_id", workflowId);
  if (status.value) p.set("status", status.value);
  if (!reset && cursor) p.set("cursor", cursor);
  try {
    const page = await api("GET", `/runs?${p}`);
    const rows = page.data.map(row);
    if (reset) body.replaceChildren(...rows); else body.append(...rows);
    if (reset && !rows.length) body.replaceChildren(el("tr", {}, el("td", { colspan: "7", class: "muted", style: "padding:2rem;text-align:center" }, "No runs yet. Runs appear here when an event matches an active workflow.")));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    document.getElementById("runs-count").textContent = `${page.count} run${page.count === 1 ? "" : "s"}`;
  } catch (err) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "7" }, el("div", { class: "alert alert-error" }, err.message))));
  }
}

status.addEventListener("change", () => load(true));
more.addEventListener("click", () => load(false));
document.getElementById("refresh").addEventListener("click", () => { load(true); toast("Refreshed."); });
loadNames().then(() => load(true));
