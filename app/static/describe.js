// Plain-words descriptions of triggers and steps (template previews, builder summaries).
import { ACTION_LABELS, el, humanize, TRIGGER_LABELS } from "./core.js";

const list = (xs) => xs.map(humanize).join(", ");

export function describeTrigger(t) {
  const parts = [];
  if (t.type === "new_conversation") {
    parts.push("A conversation is created");
    if (t.channels?.length) parts.push(`on ${list(t.channels)}`);
    if (t.customer_segments?.length) parts.push(`by a ${t.customer_segments.join(" / ")} customer`);
  } else if (t.type === "new_message") {
    parts.push(t.sender_types?.length ? `A ${list(t.sender_types)} sends a message` : "A message is received");
    if (t.channels?.length) parts.push(`on ${list(t.channels)}`);
    if (t.content_patterns?.length) parts.push(`matching /${t.content_patterns.join("/ or /")}/`);
  } else if (t.type === "sla_breach") {
    parts.push(`The ${humanize(t.sla_type)} SLA passes ${t.threshold}${t.business_hours ? " of business time" : ""}`);
  } else if (t.type === "conversation_idle") {
    parts.push(`The conversation waits on the ${t.waiting_on} for ${t.idle_for}${t.business_hours ? " of business time" : ""}`);
    if (t.statuses?.length) parts.push(`while ${list(t.statuses)}`);
  } else if (t.type === "conversation_updated") {
    parts.push(t.fields?.length ? `The conversation's ${list(t.fields)} change` : "The conversation changes");
    if (t.tags_added?.length) parts.push(`(tag ${t.tags_added.join(" / ")} added)`);
    if (t.tags_removed?.length) parts.push(`(tag ${t.tags_removed.join(" / ")} removed)`);
  } else if (t.type === "status_change") {
    parts.push("The status changes");
    if (t.transitions?.length) parts.push(`(${t.transitions.map((x) => `${x.from} → ${x.to}`).join(", ")})`);
    else {
      if (t.from_statuses?.length) parts.push(`from ${list(t.from_statuses)}`);
      if (t.to_statuses?.length) parts.push(`to ${list(t.to_statuses)}`);
    }
  }
  return parts.join(" ");
}

function fmtValue(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  return JSON.stringify(v);
}

export function describeRule(r) {
  if (r.all || r.any) {
    const key = r.all ? "all" : "any";
    return `${key === "all" ? "all of" : "any of"} (${r[key].map(describeRule).join("; ")})`;
  }
  return `${r.field} ${humanize(r.operator)} ${fmtValue(r.value)}`.trim();
}

const WAIT_EVENTS = { customer_message: "the customer replies", agent_message: "an agent replies", status_change: "the status changes" };

export function describeStep(s) {
  if (s.type === "wait") return s.until ? "Wait until the schedule is open" : `Wait ${s.for}${s.business_hours ? " of business time" : ""}`;
  if (s.type === "wait_for") {
    const what = `${WAIT_EVENTS[s.event] || humanize(s.event)}${s.to_statuses?.length ? ` to ${list(s.to_statuses)}` : ""}`;
    const stops = [s.on_event === "stop" ? "stop if it happens" : "", s.on_timeout === "stop" ? "stop on timeout" : ""].filter(Boolean).join(", ");
    return `Wait up to ${s.timeout}${s.business_hours ? " of business time" : ""} until ${what}${stops ? ` (${stops})` : ""}`;
  }
  if (s.type === "branch") return `If ${describeRule(s.if)}: ${(s.then || []).length} step(s), else ${(s.else || []).length} step(s)`;
  if (s.type === "stop") return "Stop the run";
  if (s.type === "condition") {
    const onFalse = { stop: "otherwise stop", continue: "otherwise continue", skip_next: "otherwise skip the next step" }[s.on_false || "stop"];
    return `If ${describeRule(s)} — ${onFalse}`;
  }
  const p = s.params || {};
  switch (s.action) {
    case "auto_reply": return `Reply: “${p.message}”`;
    case "route": return `Route to ${p.team ? `team ${p.team}` : `agent ${p.agent}`}${p.strategy && p.strategy !== "direct" ? ` (${humanize(p.strategy)})` : ""}`;
    case "add_tag": return `Tag ${(p.tags || []).join(", ")}`;
    case "change_status": return `Set status to ${p.status}`;
    case "create_ticket": return `Create ${p.priority || "normal"} ticket “${p.title}”${p.team ? ` for ${p.team}` : ""}`;
    case "notify": return `Notify ${p.team ? `team ${p.team}` : `agent ${p.agent}`}: “${p.message}”`;
    case "escalate": return `Escalate (${p.priority || "urgent"})${p.to ? ` to ${p.to}` : ""}: ${p.reason}`;
    default: return ACTION_LABELS[s.action] || s.action;
  }
}

const KINDS = { condition: "Condition", wait: "Wait", wait_for: "Wait for", branch: "Branch", stop: "Stop" };

// A branch lists its then / else steps under it, indented.
export function stepsPreview(steps) {
  return el("ol", { class: "preview-steps" }, steps.map((s, i) =>
    el("li", {},
      el("span", { class: `step-num is-${s.type}`, "aria-hidden": "true" }, String(i + 1)),
      el("div", {},
        el("div", { class: "muted", style: "font-size:.75rem;font-weight:600;text-transform:uppercase;letter-spacing:.04em" },
          s.type === "action" ? ACTION_LABELS[s.action] || s.action : KINDS[s.type] || s.type),
        el("div", {}, describeStep(s)),
        ...(s.type === "branch" ? ["then", "else"].filter((side) => s[side]?.length).map((side) =>
          el("div", { class: "preview-path" }, el("span", { class: "muted small" }, side === "then" ? "Then" : "Else"), stepsPreview(s[side]))) : [])))));
}

export function triggerBlock(t) {
  return el("div", { class: "preview-trigger", style: "display:flex;gap:.6rem;align-items:center;margin-bottom:.8rem;flex-wrap:wrap" },
    el("span", { class: `badge badge-trigger trigger-${t.type}` }, TRIGGER_LABELS[t.type] || t.type),
    el("span", {}, describeTrigger(t)));
}
