// One run: summary, the error in words, the step timeline (condition values, action outputs,
// attempts), the pinned event, Retry for a failed run, and the link to the Temporal UI. While a
// run runs, the page re-reads it every few seconds, so a webhook delivery that Temporal retries
// shows each new attempt and the last error as it happens.
import {
  ACTION_LABELS, api, canWrite, confirmDialog, el, fmtDateTime, fmtDuration, humanize, prefix, runHref, runStatusBadge, toast,
} from "./core.js";

const runId = JSON.parse(document.getElementById("run-id-json").textContent);
const content = document.getElementById("run-content");
const retry = document.getElementById("retry");
const cancel = document.getElementById("cancel");
const conversationHref = (id) => `${prefix}/conversations/${encodeURIComponent(id)}`;

const fmt = (v) => (v === null || v === undefined ? "∅" : typeof v === "string" ? v : JSON.stringify(v));

const KINDS = { condition: "Condition", wait: "Wait", wait_for: "Wait for", branch: "Branch", stop: "Stop" };
const WOKEN = { timer: "the timer", event: "the event", cancelled: "a cancellation" };

// A wait's entry: what for, from when, its deadline (fixed when it began) and what woke it.
function waitLines(w) {
  const lines = [`Waits for ${humanize(w.waiting_for)} · from ${fmtDateTime(w.started_at)} · deadline ${fmtDateTime(w.deadline)}`];
  if (w.woken_by) lines.push(`Woken by ${WOKEN[w.woken_by] || w.woken_by}${w.ended_at ? ` at ${fmtDateTime(w.ended_at)}` : ""}${w.outcome ? ` · outcome ${w.outcome}` : ""}${w.matched ? ` (${w.matched})` : ""}`);
  else lines.push("Still waiting.");
  return lines.map((text) => el("div", { class: "trace-rule" }, text));
}

function stepItem(s) {
  const title = s.step_type === "action" ? `${ACTION_LABELS[s.action] || s.action} · ${s.step_id}` : `${KINDS[s.step_type] || s.step_type} · ${s.step_id}`;
  const timing = s.started_at && s.finished_at ? fmtDuration((new Date(s.finished_at) - new Date(s.started_at)) / 1000) : "";
  const meta = [timing, s.attempts > 1 ? `${s.attempts} attempts` : ""].filter(Boolean).join(" · ");
  const parts = [el("div", { class: "tl-head" }, el("span", { class: "tl-title" }, title), runStatusBadge(s.status), el("span", { class: "tl-meta" }, meta))];
  if (s.path) parts.push(el("div", { class: "muted", style: "font-size:.8rem" }, `in ${s.path.replace(".", " › ")}`));
  if (s.wait) parts.push(...waitLines(s.wait));
  if (s.branch_taken) parts.push(el("div", { class: "trace-taken" }, `took the ${s.branch_taken} path`));
  if (s.condition) {
    for (const r of s.condition.rules) {
      parts.push(el("div", { class: "trace-rule" }, `${r.field} ${humanize(r.operator)} ${fmt(r.expected)} — value was ${fmt(r.actual)} `,
        el("span", { class: r.result ? "ok" : "no" }, r.result ? "✓ true" : "✗ false")));
    }
    if (s.condition.result === false && s.on_false) parts.push(el("div", { class: "muted", style: "margin-top:.3rem;font-size:.85rem" }, `False → ${humanize(s.on_false)}`));
  }
  for (const [k, v] of Object.entries(s.rendered || {})) {
    if (s.output && JSON.stringify(s.output[k]) === JSON.stringify(v)) continue;
    parts.push(el("div", { class: "trace-rule" }, `${k}: ${fmt(v)}`));
  }
  if (s.output && Object.keys(s.output).length) {
    parts.push(el("dl", { class: "kv", style: "margin-top:.45rem" }, ...Object.entries(s.output).flatMap(([k, v]) => [el("dt", {}, humanize(k)), el("dd", { class: "mono" }, fmt(v))])));
  }
  if (s.error) parts.push(el("div", { class: "alert alert-error", style: "margin-top:.45rem" }, s.error));
  if (s.note) parts.push(el("div", { class: "muted", style: "margin-top:.3rem;font-size:.85rem" }, s.note));
  const icon = { passed: "✓", completed: "✓", failed: "✗", error: "!", skipped: "–", running: "…", waiting: "⏳", cancelled: "–" }[s.status] || "•";
  return el("li", {}, el("span", { class: `tl-dot tl-${s.status}`, "aria-hidden": "true" }, icon), el("div", { class: "tl-card" }, ...parts));
}

const REFRESH_MS = 3000;
let refreshTimer = null;

// One webhook delivery or event dispatch Temporal is retrying: attempt, when, the last error.
function pendingBox(p) {
  const when = p.state === "started" ? "in flight" : p.next_attempt_at ? `next try ${fmtDateTime(p.next_attempt_at)}` : humanize(p.state);
  const where = p.step_id ? ` (step ${p.step_id})` : "";
  return el("div", { class: "alert alert-error", role: "status", "data-pending": p.activity, style: "margin-bottom:1rem" },
    el("strong", {}, `Retrying the ${p.what}${where}: attempt ${p.attempt}`), ` · ${when}`,
    p.last_error ? el("div", { style: "margin-top:.3rem" }, `Attempt ${p.attempt - 1} failed: ${p.last_error}`) : null,
    p.expires_at ? el("div", { class: "muted", style: "margin-top:.3rem;font-size:.85rem" }, `Gives up ${fmtDateTime(p.expires_at)}.`) : null);
}

function render(run) {
  document.getElementById("run-title").replaceChildren(run.workflow_name || "Run", " ", runStatusBadge(run.status));
  document.getElementById("run-id").textContent = run.run_id;
  document.title = `Run of ${run.workflow_name} · supportflow`;
  if (run.workflow_id) {
    const crumb = document.getElementById("crumb-runs");
    crumb.href = `${prefix}/workflows/${encodeURIComponent(run.workflow_id)}/runs`;
  }
  const link = document.getElementById("temporal-link");
  link.href = run.temporal_ui_url;
  link.hidden = false;
  retry.hidden = run.status !== "failed";
  cancel.hidden = !["running", "waiting"].includes(run.status);
  const outcomeText = {
    completed: "Completed every step.",
    stopped: `Stopped by condition ${run.stopped_at}.`,
    failed: "Failed.",
  }[run.outcome] || (run.status === "running" ? "Running…" : run.status === "waiting" ? `Waiting for ${humanize(run.waiting_for || "?")}${run.waiting_until ? ` until ${fmtDateTime(run.waiting_until)}` : ""}.` : humanize(run.status));
  const summary = el("section", { class: "panel", "aria-labelledby": "details-title" },
    el("div", { class: "panel-head" }, el("h2", { id: "details-title" }, "Details")),
    el("div", { class: "panel-body" },
      el("dl", { class: "kv" },
        el("dt", {}, "Workflow"), el("dd", {}, run.workflow_id ? el("a", { href: `${prefix}/workflows/${encodeURIComponent(run.workflow_id)}` }, run.workflow_name) : run.workflow_name, ` · version ${run.workflow_version ?? "—"}`),
        el("dt", {}, "Outcome"), el("dd", {}, outcomeText),
        el("dt", {}, "Trigger"), el("dd", {}, humanize(run.trigger_type || "—"), ` · event `, el("code", {}, run.event.id), ` (${run.event.type})`),
        el("dt", {}, "Conversation"), el("dd", { class: "mono" }, run.conversation_id ? el("a", { href: conversationHref(run.conversation_id) }, run.conversation_id) : "—"),
        el("dt", {}, "Started"), el("dd", {}, fmtDateTime(run.started_at)),
        el("dt", {}, "Duration"), el("dd", {}, fmtDuration(run.duration_seconds)),
        run.retry_of ? el("dt", {}, "Retry of") : null,
        run.retry_of ? el("dd", {}, el("a", { href: runHref(run.retry_of) }, run.retry_of)) : null)));
  const nodes = (run.pending || []).map(pendingBox);
  if (run.error) {
    nodes.push(el("div", { class: "error-box", role: "alert", style: "margin-bottom:1rem" },
      el("strong", {}, "Why it failed:"), el("span", {}, run.error)));
  }
  nodes.push(el("div", { class: "analytics-grid" },
    el("section", { class: "panel", "aria-labelledby": "tl-title" },
      el("div", { class: "panel-head" }, el("h2", { id: "tl-title" }, "Step timeline"), el("span", { class: "muted", style: "font-size:.8rem" }, `trace from ${run.trace_source}`)),
      el("div", { class: "panel-body" }, run.trace.length ? el("ol", { class: "timeline" }, ...run.trace.map(stepItem)) : el("p", { class: "muted" }, "No steps recorded."))),
    el("div", { class: "stack", style: "align-content:start" },
      summary,
      el("section", { class: "panel", "aria-labelledby": "ev-title" },
        el("div", { class: "panel-head" }, el("h2", { id: "ev-title" }, "Event")),
        el("div", { class: "panel-body" }, el("pre", { class: "json" }, JSON.stringify(run.event, null, 2)))))));
  if (run.note) nodes.push(el("p", { class: "fine" }, run.note));
  content.replaceChildren(...nodes);
}

async function load() {
  clearTimeout(refreshTimer);
  try {
    const run = await api("GET", `/runs/${encodeURIComponent(runId)}`);
    render(run);
    if (run.status === "running") refreshTimer = setTimeout(load, REFRESH_MS);
  } catch (err) {
    content.replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, `Could not load the run: ${err.message}`));
  }
}

retry.addEventListener("click", async () => {
  if (!canWrite) return;
  retry.disabled = true;
  try {
    const answer = await api("POST", `/runs/${encodeURIComponent(runId)}/retry`);
    toast("Retry started. Steps that already took effect are not repeated.", "success");
    location.assign(runHref(answer.run_id));
  } catch (err) {
    toast(`Could not retry: ${err.message}`, "error");
    retry.disabled = false;
  }
});
cancel.addEventListener("click", async () => {
  if (!canWrite) return;
  const answer = await confirmDialog(document.getElementById("confirm-cancel"),
    "The run stops at its next step. Steps that already took effect stay done.");
  if (answer !== "cancel") return;
  cancel.disabled = true;
  try {
    await api("POST", `/runs/${encodeURIComponent(runId)}/cancel`);
    toast("Cancellation requested.", "success");
    for (let i = 0; i < 20; i++) {
      const run = await api("GET", `/runs/${encodeURIComponent(runId)}`);
      if (!["running", "waiting"].includes(run.status)) { render(run); break; }
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    toast(`Could not cancel: ${err.message}`, "error");
  } finally {
    cancel.disabled = false;
  }
});
load();
