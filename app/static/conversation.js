// One conversation as the desk mirror holds it: status, assignment, tags, messages, tickets,
// notifications, and the runs of that conversation (ConversationId search attribute).
import { api, el, fmtDateTime, fmtDuration, humanize, relTime, runHref, runStatusBadge } from "./core.js";

const conversationId = JSON.parse(document.getElementById("conversation-id").textContent);
const content = document.getElementById("conv-content");

function panel(id, title, ...body) {
  return el("section", { class: "panel", "aria-labelledby": id },
    el("div", { class: "panel-head" }, el("h2", { id }, title)),
    el("div", { class: "panel-body" }, ...body));
}

function list(items, render, empty) {
  if (!items.length) return el("p", { class: "muted" }, empty);
  return el("ul", { class: "plain-list" }, ...items.map((item) => el("li", {}, ...render(item))));
}

function message(m) {
  return [
    el("div", { class: "row-between" }, el("span", { class: `badge sender-${m.sender_type}` }, humanize(m.sender_type)),
      el("span", { class: "muted smaller", title: fmtDateTime(m.created_at) }, relTime(m.created_at))),
    el("p", { class: "msg-text" }, m.content),
  ];
}

function runsTable(runs, names) {
  if (!runs.length) return el("p", { class: "muted" }, "No runs for this conversation.");
  return el("div", { class: "table-wrap" }, el("table", { class: "table" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Status"), el("th", { scope: "col" }, "Workflow"), el("th", { scope: "col" }, "Started"), el("th", { scope: "col" }, "Duration"))),
    el("tbody", { id: "conv-runs" }, ...runs.map((r) => el("tr", { dataset: { status: r.status } },
      el("td", {}, runStatusBadge(r.status)),
      el("td", {}, el("a", { href: runHref(r.run_id) }, names[r.workflow_id] || r.workflow_id || r.run_id)),
      el("td", { title: fmtDateTime(r.started_at) }, relTime(r.started_at)),
      el("td", {}, fmtDuration(r.duration_seconds)))))));
}

async function load() {
  let conv;
  try {
    conv = await api("GET", `/conversations/${encodeURIComponent(conversationId)}`);
  } catch (err) {
    content.replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, `Could not load the conversation: ${err.message}`));
    return;
  }
  let runs = [];
  let runsError = null;
  const names = {};
  try {
    for (const wf of (await api("GET", "/workflows?limit=200")).data) names[wf.id] = wf.name;
  } catch { /* names are a nicety */ }
  try {
    runs = (await api("GET", `/runs?${new URLSearchParams({ conversation_id: conversationId, limit: "50" })}`)).data;
  } catch (err) { runsError = err.message; }
  document.getElementById("conv-title").textContent = conv.subject || `Conversation on ${humanize(conv.channel)}`;
  const who = conv.customer ? `${conv.customer.name || conv.customer.id}${conv.customer.segment ? ` · ${conv.customer.segment}` : ""}` : "—";
  const details = panel("conv-details", "Details", el("dl", { class: "kv" },
    el("dt", {}, "Status"), el("dd", {}, el("span", { class: "badge badge-cat" }, conv.status)),
    el("dt", {}, "Priority"), el("dd", {}, conv.priority),
    el("dt", {}, "Channel"), el("dd", {}, humanize(conv.channel)),
    el("dt", {}, "Customer"), el("dd", {}, who),
    el("dt", {}, "Team"), el("dd", { id: "conv-team" }, conv.assignment.team || "—"),
    el("dt", {}, "Agent"), el("dd", { id: "conv-agent" }, conv.assignment.agent || "—"),
    el("dt", {}, "Tags"), el("dd", { id: "conv-tags" }, conv.tags.length ? conv.tags.map((t) => el("span", { class: "badge badge-cat tag" }, t)) : "—"),
    el("dt", {}, "Created"), el("dd", {}, fmtDateTime(conv.created_at))));
  const tickets = panel("conv-tickets", `Tickets (${conv.tickets.length})`, list(conv.tickets,
    (t) => [el("strong", {}, t.title), " ", el("span", { class: "muted smaller" }, `${t.priority}${t.team ? ` · ${t.team}` : ""}`)], "No tickets."));
  const notes = panel("conv-notifications", `Notifications (${conv.notifications.length})`, list(conv.notifications,
    (n) => [el("span", { class: "mono" }, n.recipient_agent), ": ", n.message], "No notifications."));
  const messages = panel("conv-messages", `Messages (${conv.messages.length})`, list(conv.messages, message, "No messages."));
  const runsPanel = panel("conv-runs-title", "Runs", runsError ? el("div", { class: "alert alert-error" }, runsError) : runsTable(runs, names));
  content.replaceChildren(el("div", { class: "analytics-grid" },
    el("div", { class: "stack" }, messages, runsPanel),
    el("div", { class: "stack" }, details, tickets, notes)));
}

load();
