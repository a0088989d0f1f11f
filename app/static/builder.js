// The builder: create or edit a workflow (basics, trigger and its options, condition and action
// steps), save it, show the API's validation errors next to the fields they name (the error's
// `loc`), and dry-run it against a sample event in the Test panel.
import { api, canWrite, el, humanize, ICONS, prefix, statusBadge, svgIcon, toast } from "./core.js";
import { showWarnings } from "./pickers.js";
import { askAboutWaitingRuns, cancelWaitingRuns } from "./waiting.js";

const V = JSON.parse(document.getElementById("vocabulary").textContent);
let workflowId = JSON.parse(document.getElementById("workflow-id").textContent);
const FIELDS = Object.fromEntries(V.fields.map((f) => [f.path, f]));
const ACTIONS = Object.fromEntries(V.actions.map((a) => [a.value, a]));
const ATTR = "customer.attributes.";
const CONV_ATTR = "conversation.attributes.";
const attrPrefix = (path) => [ATTR, CONV_ATTR].find((p) => path?.startsWith(p));
// Operators whose value is a list (comma-separated in the form).
const LIST_OPS = ["in", "not_in", "contains_any_word", "contains_no_word"];
const TRIGGER_TYPES = V.trigger_types.map((t) => t.value);
const STEP_TYPES = V.step_types;
const MAX_BRANCH_DEPTH = V.max_branch_depth;

const form = document.getElementById("builder-form");
const stepsBox = document.getElementById("steps");
const triggerType = document.getElementById("trigger-type");
const triggerOptions = document.getElementById("trigger-options");
const errorsBox = document.getElementById("form-errors");

let model = {
  name: "", description: "", status: "draft",
  trigger: { type: "new_conversation", channels: [], customer_segments: [] },
  steps: [],
  schedule: null,
};
let version = null;
let savedStatus = null; // the status as last loaded or saved (to notice a deactivation)
let dirty = false;
let uid = 0;
const autoIds = new WeakSet(); // steps whose id was made up here (renamed with their action)
const ACTION_IDS = { auto_reply: "reply", route: "route", add_tag: "tag", change_status: "status", create_ticket: "ticket", notify: "notify", escalate: "escalate", remove_tag: "untag", set_priority: "priority", add_note: "note", set_attribute: "attribute" };
const nextId = () => `f${++uid}`;

// ------------------------------------------------------------------ small form builders

function field(label, control, { hint, loc, wide } = {}) {
  const id = control.id || (control.id = nextId());
  const wrap = el("div", { class: "field", style: wide ? "grid-column:1/-1" : undefined });
  if (loc) control.dataset.loc = loc;
  wrap.append(el("label", { for: id }, label), control);
  if (hint) {
    const h = el("span", { class: "hint", id: `${id}-hint` }, hint);
    control.setAttribute("aria-describedby", h.id);
    wrap.append(h);
  }
  return wrap;
}

function select(options, value, onChange, attrs = {}) {
  const s = el("select", attrs);
  for (const o of options) {
    if (o.group) {
      const g = el("optgroup", { label: o.group });
      for (const x of o.options) g.append(el("option", { value: x.value }, x.label));
      s.append(g);
    } else {
      const opt = typeof o === "string" ? { value: o, label: humanize(o) } : o;
      s.append(el("option", { value: opt.value }, opt.label));
    }
  }
  s.value = value ?? "";
  s.addEventListener("change", () => { onChange(s.value); changed(); });
  return s;
}

function text(value, onInput, attrs = {}) {
  const i = el(attrs.multiline ? "textarea" : "input", { type: attrs.multiline ? undefined : (attrs.type || "text"), ...attrs, multiline: undefined, rows: attrs.rows });
  i.value = value ?? "";
  i.addEventListener("input", () => { onInput(i.value); changed(); });
  return i;
}

function chips(legend, options, selected, onChange, loc) {
  const fs = el("fieldset", { class: "checks", dataset: { loc } }, el("legend", {}, legend));
  for (const o of options) {
    const box = el("input", { type: "checkbox", value: o, checked: selected.includes(o) || undefined });
    box.addEventListener("change", () => {
      const now = [...fs.querySelectorAll("input:checked")].map((x) => x.value);
      onChange(now); changed();
    });
    fs.append(el("label", { class: "chip" }, box, humanize(o)));
  }
  fs.append(el("span", { class: "hint", style: "flex-basis:100%" }, "None selected means any."));
  return fs;
}

const splitList = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

function changed() { dirty = true; updateTestNote(); renderAssume(); }

// ------------------------------------------------------------------ trigger

function renderTrigger() {
  const t = model.trigger;
  triggerType.value = t.type;
  const parts = [];
  if (t.type === "new_conversation") {
    parts.push(chips("Channels", V.channels, t.channels || [], (v) => { t.channels = v; }, "trigger.channels"));
    parts.push(field("Customer segments", text((t.customer_segments || []).join(", "), (v) => { t.customer_segments = splitList(v); }, { placeholder: "vip, enterprise" }),
      { loc: "trigger.customer_segments", hint: "Comma-separated; empty means any segment." }));
  } else if (t.type === "new_message") {
    parts.push(chips("Sender types", V.sender_types, t.sender_types || [], (v) => { t.sender_types = v; }, "trigger.sender_types"));
    parts.push(chips("Channels", V.channels, t.channels || [], (v) => { t.channels = v; }, "trigger.channels"));
    parts.push(field("Content patterns", text((t.content_patterns || []).join("\n"), (v) => { t.content_patterns = v.split("\n").map((x) => x.trim()).filter(Boolean); }, { multiline: true, rows: 3, placeholder: "refund|money back" }),
      { loc: "trigger.content_patterns", hint: "One regular expression per line (RE2, case-insensitive); any one matching is enough. Empty means any message." }));
  } else if (t.type === "sla_breach") {
    parts.push(el("div", { class: "grid-2" },
      field("SLA clock", select(V.sla_types, t.sla_type || "first_response", (v) => { t.sla_type = v; }), { loc: "trigger.sla_type" }),
      field("Threshold", text(t.threshold || "", (v) => { t.threshold = v; }, { placeholder: "30m" }),
        { loc: "trigger.threshold", hint: "How long the clock may run: 45s, 30m, 4h, 2d." })));
    parts.push(el("div", { class: "field" }, checkbox("Count the threshold in business hours", t.business_hours, (v) => { t.business_hours = v; }, "trigger.business_hours"), el("span", { class: "hint" }, BUSINESS_HINT)));
    if (!t.sla_type) t.sla_type = "first_response";
  } else if (t.type === "conversation_idle") {
    parts.push(el("div", { class: "grid-2" },
      field("Waiting on", select([{ value: "customer", label: "the customer (our message is the last)" }, { value: "agent", label: "an agent (the customer's message is the last)" }], t.waiting_on || "customer", (v) => { t.waiting_on = v; }), { loc: "trigger.waiting_on" }),
      field("Idle for", text(t.idle_for || "", (v) => { t.idle_for = v.trim(); }, { placeholder: "24h" }), { loc: "trigger.idle_for", hint: "Fires once per idle period: 30m, 4h, 2d." })));
    parts.push(el("div", { class: "field" }, checkbox("Count idle time in business hours", t.business_hours, (v) => { t.business_hours = v; }, "trigger.business_hours"), el("span", { class: "hint" }, BUSINESS_HINT)));
    parts.push(chips("While the status is", V.statuses, t.statuses || [], (v) => { t.statuses = v; }, "trigger.statuses"));
  } else if (t.type === "status_change") {
    parts.push(chips("From statuses", V.statuses, t.from_statuses || [], (v) => { t.from_statuses = v; }, "trigger.from_statuses"));
    parts.push(chips("To statuses", V.statuses, t.to_statuses || [], (v) => { t.to_statuses = v; }, "trigger.to_statuses"));
    t.transitions = t.transitions || [];
    const rows = el("div", { class: "stack", dataset: { loc: "trigger.transitions" } });
    t.transitions.forEach((tr, i) => {
      rows.append(el("div", { class: "rule-row", style: "grid-template-columns:1fr 1fr auto" },
        field(`Transition ${i + 1}: from`, select(V.statuses, tr.from, (v) => { tr.from = v; }), { loc: `trigger.transitions.${i}.from` }),
        field("to", select(V.statuses, tr.to, (v) => { tr.to = v; }), { loc: `trigger.transitions.${i}.to` }),
        el("button", { type: "button", class: "btn btn-icon", style: "align-self:end;margin-bottom:.3rem", "aria-label": `Remove transition ${i + 1}`,
          onclick: () => { t.transitions.splice(i, 1); changed(); renderTrigger(); } }, svgIcon(ICONS.x))));
    });
    parts.push(el("div", { class: "stack" },
      el("span", { class: "label" }, "Exact transitions (optional)"),
      rows,
      el("div", {}, el("button", { type: "button", class: "btn btn-ghost btn-sm",
        onclick: () => { t.transitions.push({ from: "open", to: "resolved" }); changed(); renderTrigger(); } }, "+ Add transition")),
      el("span", { class: "hint" }, "If given, only these exact status changes fire.")));
  }
  else if (t.type === "conversation_updated") {
    parts.push(chips("Changed fields", V.updated_fields, t.fields || [], (v) => { t.fields = v; }, "trigger.fields"));
    parts.push(el("div", { class: "grid-2" },
      field("Tags added", text((t.tags_added || []).join(", "), (v) => { t.tags_added = splitList(v); }, { placeholder: "vip" }),
        { loc: "trigger.tags_added", hint: "Comma-separated; fire only when one of these tags was added." }),
      field("Tags removed", text((t.tags_removed || []).join(", "), (v) => { t.tags_removed = splitList(v); }, { placeholder: "vip" }),
        { loc: "trigger.tags_removed", hint: "Comma-separated; fire only when one of these tags was removed." })));
  }
  triggerOptions.replaceChildren(...parts);
  syncTestPanel();
}

triggerType.replaceChildren(...V.trigger_types.map((t) => el("option", { value: t.value }, t.label)));
triggerType.addEventListener("change", () => {
  const type = triggerType.value;
  model.trigger = { type };
  if (type === "sla_breach") Object.assign(model.trigger, { sla_type: "first_response", threshold: "30m" });
  if (type === "conversation_idle") Object.assign(model.trigger, { waiting_on: "customer", idle_for: "24h", statuses: ["open", "pending"] });
  changed();
  renderTrigger();
});

// ------------------------------------------------------------------ conditions

// `steps.<wait_for id>.outcome` fields: one per wait_for of the definition (nested ones too).
const OUTCOME = /^steps\.([A-Za-z0-9_-]+)\.outcome$/;
const OUTCOMES = ["event", "timeout"];

function fieldOptions(current) {
  const groups = {};
  for (const f of V.fields) {
    const g = f.path.split(".")[0];
    const name = f.path.slice(g.length + 1).replace(/_/g, " ");
    (groups[g] = groups[g] || []).push({ value: f.path, label: `${g[0].toUpperCase()}${g.slice(1)} ${name}` });
  }
  groups.customer.push({ value: "__attr__", label: "Customer attribute…" });
  groups.conversation.push({ value: "__conv_attr__", label: "Conversation attribute…" });
  const outcomes = allSteps(model.steps).filter((s) => s.type === "wait_for").map((s) => `steps.${s.id}.outcome`);
  if (OUTCOME.test(current || "") && !outcomes.includes(current)) outcomes.push(current);
  if (outcomes.length) groups.steps = outcomes.map((p) => ({ value: p, label: `Outcome of wait ${p.match(OUTCOME)[1]}` }));
  return Object.entries(groups).map(([g, options]) => ({ group: g[0].toUpperCase() + g.slice(1), options }));
}

function typeOf(path) {
  if (attrPrefix(path)) return "attribute";
  return FIELDS[path]?.type || "string";
}

function allowedOf(path) {
  return OUTCOME.test(path || "") ? OUTCOMES : FIELDS[path]?.allowed || [];
}

function parseValue(raw, path, operator) {
  const type = typeOf(path);
  const one = (x) => {
    if (type === "number" || (type === "attribute" && /^(greater|less)/.test(operator))) {
      const n = Number(x);
      return x !== "" && !Number.isNaN(n) ? n : x;
    }
    return x;
  };
  if (LIST_OPS.includes(operator)) return splitList(raw).map(one);
  if (operator === "is_set" || operator === "is_not_set") return null;
  return one(raw);
}

function valueText(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

// One rule row: field, operator (only those that fit the field's type), value. A loaded rule is
// shown as it is (never rewritten), so an unchanged definition saves unchanged.
function ruleRow(rule, loc, onRemove) {
  const row = el("div", { class: "rule-row" });
  const render = () => {
    const prefixOf = attrPrefix(rule.field);
    const isAttr = Boolean(prefixOf);
    const type = typeOf(rule.field);
    const ops = V.operators_by_type[type];
    if (!ops.includes(rule.operator)) rule.operator = ops[0];
    const fieldSel = select(fieldOptions(rule.field), isAttr ? (prefixOf === ATTR ? "__attr__" : "__conv_attr__") : rule.field, (v) => {
      rule.field = v === "__attr__" ? `${ATTR}plan` : v === "__conv_attr__" ? `${CONV_ATTR}order_type` : v;
      rule.value = null;
      render();
    });
    const fieldCell = field("Field", fieldSel, { loc: `${loc}.field` });
    if (isAttr) {
      fieldCell.append(field("Attribute key", text(rule.field.slice(prefixOf.length), (v) => { rule.field = prefixOf + v.trim(); }, { placeholder: "plan" })));
    }
    const opSel = select(ops.map((o) => ({ value: o, label: V.operator_labels[o] })), rule.operator, (v) => {
      const wasList = LIST_OPS.includes(rule.operator);
      rule.operator = v;
      if (v === "is_set" || v === "is_not_set") rule.value = null;
      else if (wasList !== LIST_OPS.includes(v)) rule.value = parseValue(valueText(rule.value), rule.field, v);
      render();
    });
    let valueCtl;
    const allowed = allowedOf(rule.field);
    if (rule.operator === "is_set" || rule.operator === "is_not_set") {
      valueCtl = el("input", { type: "text", disabled: true, placeholder: "no value needed", value: "" });
    } else if (allowed.length && ["equals", "not_equals"].includes(rule.operator)) {
      if (rule.value === null || rule.value === undefined || rule.value === "") rule.value = allowed[0];
      const options = allowed.includes(rule.value) ? allowed : [...allowed, String(rule.value)];
      valueCtl = select(options, rule.value, (v) => { rule.value = v; });
    } else {
      const list = LIST_OPS.includes(rule.operator);
      valueCtl = text(valueText(rule.value), (v) => { rule.value = parseValue(v, rule.field, rule.operator); }, {
        placeholder: list ? (allowed.length ? allowed.slice(0, 3).join(", ") : "a, b, c") : type === "number" ? "0" : "value",
        inputmode: type === "number" ? "decimal" : undefined,
      });
    }
    const words = ["contains_any_word", "contains_no_word"].includes(rule.operator);
    const hint = words ? "Comma-separated words or phrases, matched whole, any case" : LIST_OPS.includes(rule.operator) ? "Comma-separated" : rule.operator === "matches" ? "RE2 regular expression" : OUTCOME.test(rule.field) ? "How that wait_for ended" : FIELDS[rule.field]?.description;
    const cells = [fieldCell, field("Operator", opSel, { loc: `${loc}.operator` }), field("Value", valueCtl, { loc: `${loc}.value`, hint })];
    if (onRemove) cells.push(el("button", { type: "button", class: "btn btn-icon", style: "align-self:center", "aria-label": "Remove rule", onclick: onRemove }, svgIcon(ICONS.x)));
    row.replaceChildren(...cells);
  };
  render();
  return row;
}

// `holder` is a condition step or a branch's `if`: a single rule, or an all/any group.
function matchSelect(holder) {
  const mode = holder.all ? "all" : holder.any ? "any" : "single";
  return select([
    { value: "single", label: "a single rule" },
    { value: "all", label: "all of these rules" },
    { value: "any", label: "any of these rules" },
  ], mode, (v) => {
    const rules = holder.all || holder.any || [{ field: holder.field, operator: holder.operator, value: holder.value }];
    delete holder.all; delete holder.any; delete holder.field; delete holder.operator; delete holder.value;
    if (v === "single") Object.assign(holder, rules[0]?.field ? rules[0] : { field: "customer.segment", operator: "equals", value: "vip" });
    else holder[v] = rules.filter((r) => r.field || r.all || r.any);
    if (v !== "single" && !holder[v].length) holder[v] = [{ field: "customer.segment", operator: "equals", value: "vip" }];
    renderSteps();
  });
}

function rulesBlock(holder, loc) {
  const mode = holder.all ? "all" : holder.any ? "any" : "single";
  if (mode === "single") return [ruleRow(holder, loc)];
  const rules = holder[mode];
  const group = el("div", { class: "rule-group", dataset: { loc: `${loc}.${mode}` } });
  rules.forEach((r, j) => {
    const remove = rules.length > 1 ? () => { rules.splice(j, 1); changed(); renderSteps(); } : null;
    if (r.all || r.any) {
      const area = text(JSON.stringify(r, null, 1), (v) => { try { rules[j] = JSON.parse(v); area.removeAttribute("aria-invalid"); } catch { area.setAttribute("aria-invalid", "true"); } }, { multiline: true, rows: 4, class: "mono" });
      group.append(field(`Nested group ${j + 1} (JSON)`, area, { loc: `${loc}.${mode}.${j}` }));
    } else {
      group.append(ruleRow(r, `${loc}.${mode}.${j}`, remove));
    }
  });
  return [group, el("div", {}, el("button", { type: "button", class: "btn btn-ghost btn-sm",
    onclick: () => { rules.push({ field: "conversation.channel", operator: "equals", value: "whatsapp" }); changed(); renderSteps(); } }, "+ Add rule"))];
}

function conditionBody(step, loc) {
  return el("div", { class: "step-body" },
    el("div", { class: "grid-2" },
      field("Match", matchSelect(step)),
      field("If false", select([
        { value: "stop", label: "Stop the run" },
        { value: "continue", label: "Continue anyway" },
        { value: "skip_next", label: "Skip the next step" },
      ], step.on_false || "stop", (v) => { step.on_false = v; }), { loc: `${loc}.on_false` })),
    ...rulesBlock(step, loc));
}

// ------------------------------------------------------------------ actions

function actionBody(step, loc) {
  const body = el("div", { class: "step-body" });
  const spec = ACTIONS[step.action];
  step.params = step.params || {};
  const p = step.params;
  body.append(field("Action", select(V.actions.map((a) => ({ value: a.value, label: a.label })), step.action, (v) => {
    step.action = v; step.params = defaultParams(v);
    if (autoIds.has(step)) { step.id = ""; step.id = uniqueStepId(ACTION_IDS[v]); }
    renderSteps();
  }), { loc: `${loc}.action` }));
  const grid = el("div", { class: "grid-2", dataset: { loc: `${loc}.params` } });
  for (const param of spec.params) {
    const ploc = `${loc}.params.${param.name}`;
    if (param.kind === "target") {
      const kind = p.agent !== undefined && p.agent !== null ? "agent" : "team";
      const who = text(p[kind] || "", (v) => { delete p.team; delete p.agent; p[kindSel.value] = v.trim(); }, { placeholder: kind === "team" ? "team id, e.g. vip-support" : "agent id" });
      const kindSel = select([{ value: "team", label: "A team" }, { value: "agent", label: "An agent" }], kind, (v) => {
        const value = p.team ?? p.agent ?? "";
        delete p.team; delete p.agent; p[v] = value;
        if (v === "agent") p.strategy = p.strategy && p.strategy !== "direct" ? "direct" : p.strategy;
        renderSteps();
      });
      grid.append(field(param.label, kindSel), field(kind === "team" ? "Team id" : "Agent id", who, { loc: `${loc}.params.${kind}` }));
    } else if (param.kind === "select") {
      const options = param.required ? param.options : ["", ...param.options];
      grid.append(field(param.label, select(options.map((o) => ({ value: o, label: o ? humanize(o) : (param.empty_label || "default") })), p[param.name] ?? "", (v) => {
        if (v) p[param.name] = v; else delete p[param.name];
      }), { loc: ploc, hint: param.help }));
    } else if (param.kind === "tags") {
      grid.append(field(param.label, text((p.tags || []).join(", "), (v) => { p.tags = splitList(v); }, { placeholder: "refund, billing" }), { loc: ploc, hint: param.help, wide: true }));
    } else {
      const multiline = param.kind === "template";
      grid.append(field(param.label, text(p[param.name] ?? "", (v) => {
        if (v || param.required) p[param.name] = v; else delete p[param.name];
      }, { multiline, rows: multiline ? 2 : undefined }), { loc: ploc, hint: param.help, wide: multiline }));
    }
  }
  body.append(grid);
  return body;
}

function defaultParams(action) {
  return {
    auto_reply: { message: "" },
    route: { team: "" },
    add_tag: { tags: [] },
    change_status: { status: "pending" },
    create_ticket: { title: "", priority: "normal" },
    notify: { team: "", message: "" },
    escalate: { reason: "" },
    remove_tag: { tags: [] },
    set_priority: { priority: "high" },
    add_note: { note: "" },
    set_attribute: { key: "", value: "" },
  }[action];
}

// ------------------------------------------------------------------ time steps (SPEC §2.3)

const BUSINESS_HINT = "Counts only the open hours of the workflow's schedule (Basics).";

function checkbox(label, checked, onChange, loc) {
  const box = el("input", { type: "checkbox", checked: checked || undefined, dataset: { loc } });
  box.addEventListener("change", () => { onChange(box.checked); changed(); });
  return el("label", { class: "check-line" }, box, ` ${label}`);
}

function waitBody(step, loc) {
  const mode = step.until ? "until" : "for";
  const body = el("div", { class: "step-body" }, field("Wait", select([
    { value: "for", label: "for a while" },
    { value: "until", label: "until the schedule is open" },
  ], mode, (v) => {
    for (const key of ["for", "business_hours", "until"]) delete step[key];
    if (v === "until") step.until = "open"; else Object.assign(step, { for: "4h", business_hours: false });
    renderSteps();
  })));
  if (mode === "for") {
    body.append(el("div", { class: "grid-2" },
      field("Duration", text(step.for || "", (v) => { step.for = v.trim(); }, { placeholder: "4h" }), { loc: `${loc}.for`, hint: "30m, 4h, 2d: at most 90 days." }),
      el("div", { class: "field" }, checkbox("In business hours", step.business_hours, (v) => { step.business_hours = v; }, `${loc}.business_hours`), el("span", { class: "hint" }, BUSINESS_HINT))));
  } else {
    body.append(el("p", { class: "hint" }, "The run goes on when the workflow's schedule next opens, at once if it is open."));
  }
  return body;
}

const WAIT_EVENTS = { customer_message: "the customer replies", agent_message: "an agent (or AI) replies", status_change: "the status changes" };
const AFTER = [{ value: "continue", label: "Continue" }, { value: "stop", label: "Stop the run" }];

function waitForBody(step, loc) {
  const body = el("div", { class: "step-body" }, el("div", { class: "grid-2" },
    field("Wait until", select(V.wait_events.map((e) => ({ value: e, label: WAIT_EVENTS[e] || humanize(e) })), step.event, (v) => {
      step.event = v;
      if (v !== "status_change") step.to_statuses = [];
      renderSteps();
    }), { loc: `${loc}.event`, hint: "On this conversation, after the wait began. Automated messages never count." }),
    field("At most", text(step.timeout || "", (v) => { step.timeout = v.trim(); }, { placeholder: "48h" }), { loc: `${loc}.timeout`, hint: "The timeout: 30m, 48h, 2d (at most 90 days)." })));
  if (step.event === "status_change") {
    body.append(chips("To statuses", V.statuses, step.to_statuses || [], (v) => { step.to_statuses = v; }, `${loc}.to_statuses`));
  }
  body.append(
    el("div", { class: "field" }, checkbox("Timeout in business hours", step.business_hours, (v) => { step.business_hours = v; }, `${loc}.business_hours`), el("span", { class: "hint" }, BUSINESS_HINT)),
    el("div", { class: "grid-2" },
      field("When it happens", select(AFTER, step.on_event || "continue", (v) => { step.on_event = v; }), { loc: `${loc}.on_event` }),
      field("When the timeout passes", select(AFTER, step.on_timeout || "continue", (v) => { step.on_timeout = v; }), { loc: `${loc}.on_timeout` })),
    el("p", { class: "hint" }, "Later steps can test ", el("code", {}, `steps.${step.id}.outcome`), ": event or timeout."));
  return body;
}

function branchBody(step, loc, depth, label) {
  step.if = step.if || { field: "conversation.status", operator: "equals", value: "pending" };
  step.then = step.then || [];
  step.else = step.else || [];
  const path = (side, title) => el("div", { class: `branch-path is-${side}`, role: "group", "aria-label": `Step ${label} ${side}` },
    el("div", { class: "branch-path-title" }, title),
    stepList(step[side], `${loc}.${side}`, depth + 1, `${label}.${side}.`));
  return el("div", { class: "step-body" },
    field("If", matchSelect(step.if)),
    ...rulesBlock(step.if, `${loc}.if`),
    path("then", "Then (the rule holds)"),
    path("else", "Else (otherwise)"),
    el("p", { class: "hint" }, "Afterwards the run goes on with the step after this branch."));
}

// ------------------------------------------------------------------ steps

const KIND_LABELS = { condition: "Condition", wait: "Wait", wait_for: "Wait for", branch: "Branch", stop: "Stop" };
const ADD_LABELS = { condition: "Condition", action: "Action", wait: "Wait", wait_for: "Wait for", branch: "Branch", stop: "Stop" };
const NEW_STEP = {
  condition: () => ({ id: uniqueStepId("check"), type: "condition", field: "customer.segment", operator: "equals", value: "vip", on_false: "stop" }),
  action: () => ({ id: uniqueStepId("reply"), type: "action", action: "auto_reply", params: { message: "" } }),
  wait: () => ({ id: uniqueStepId("wait"), type: "wait", for: "4h", business_hours: false }),
  wait_for: () => ({ id: uniqueStepId("wait-for"), type: "wait_for", event: "customer_message", to_statuses: [], timeout: "48h", business_hours: false, on_event: "continue", on_timeout: "continue" }),
  branch: () => ({ id: uniqueStepId("branch"), type: "branch", if: { field: "conversation.status", operator: "equals", value: "pending" }, then: [], else: [] }),
  stop: () => ({ id: uniqueStepId("stop"), type: "stop" }),
};

// Every step in run order, nested ones included.
function allSteps(list) {
  return list.flatMap((s) => [s, ...(s.type === "branch" ? [...allSteps(s.then || []), ...allSteps(s.else || [])] : [])]);
}

function uniqueStepId(base) {
  const ids = new Set(allSteps(model.steps).map((s) => s.id));
  if (!ids.has(base)) return base;
  let n = 2;
  while (ids.has(`${base}-${n}`)) n += 1;
  return `${base}-${n}`;
}

function addStep(list, type, where) {
  const step = NEW_STEP[type]();
  if (type === "condition" || type === "action") autoIds.add(step);
  list.push(step);
  changed(); renderSteps();
  const card = stepsBox.querySelector(`.step[data-loc="${CSS.escape(`${where}.${list.length - 1}`)}"]`);
  (card?.querySelector(".step-body select") || card?.querySelector("input"))?.focus();
}

// The "add a step" buttons of a nested list (the top level has its own in the page).
function addRow(list, loc, depth) {
  const types = Object.keys(ADD_LABELS).filter((t) => t !== "branch" || depth < MAX_BRANCH_DEPTH);
  return el("div", { class: "add-step add-step-nested" }, ...types.map((type) => el("button", {
    // Named by the path's group ("Step 2 then"), so "+ Action" needs no label of its own.
    type: "button", class: "btn btn-secondary btn-sm",
    onclick: () => addStep(list, type, loc),
  }, `+ ${ADD_LABELS[type]}`)));
}

function stepCard(list, i, loc, depth, label) {
  const step = list[i];
  const kind = step.type === "action" ? ACTIONS[step.action]?.label || "Action" : KIND_LABELS[step.type] || step.type;
  const titleId = `st-${loc.replace(/\./g, "-")}-title`;
  const idInput = text(step.id, (v) => { step.id = v.trim(); autoIds.delete(step); }, { class: "step-id", "aria-label": `Step ${label} id`, "data-loc": `${loc}.id` });
  const head = el("div", { class: "step-head" },
    el("span", { class: `step-num is-${step.type}`, "aria-hidden": "true" }, String(i + 1)),
    el("h3", { class: "step-kind", id: titleId }, `Step ${label} · ${kind}`),
    idInput,
    el("div", { class: "step-tools" },
      el("button", { type: "button", class: "btn btn-icon", "aria-label": `Move step ${label} up`, disabled: i === 0 || undefined,
        onclick: () => { move(list, i, -1, label); } }, svgIcon(ICONS.up)),
      el("button", { type: "button", class: "btn btn-icon", "aria-label": `Move step ${label} down`, disabled: i === list.length - 1 || undefined,
        onclick: () => { move(list, i, 1, label); } }, svgIcon(ICONS.down)),
      el("button", { type: "button", class: "btn btn-icon", "aria-label": `Remove step ${label}`,
        onclick: () => { list.splice(i, 1); changed(); renderSteps(); stepsBox.querySelector("button")?.focus(); } }, svgIcon(ICONS.trash))));
  const body = {
    condition: () => conditionBody(step, loc),
    action: () => actionBody(step, loc),
    wait: () => waitBody(step, loc),
    wait_for: () => waitForBody(step, loc),
    branch: () => branchBody(step, loc, depth, label),
    stop: () => el("div", { class: "step-body" }, el("p", { class: "hint" }, "The run ends here, with the outcome stopped.")),
  }[step.type];
  return el("div", { class: `step is-${step.type}`, role: "group", "aria-labelledby": titleId, dataset: { loc } },
    head, body ? body() : el("div", { class: "step-body" }, el("p", { class: "muted" }, `Unknown step type ${step.type}.`)));
}

// One list of steps (the top level, or a branch's then / else), `label` numbering its steps.
function stepList(list, loc, depth, label) {
  const nodes = [];
  list.forEach((_, i) => {
    if (i > 0) nodes.push(el("div", { class: "step-connector", "aria-hidden": "true" }));
    nodes.push(stepCard(list, i, `${loc}.${i}`, depth, `${label}${i + 1}`));
  });
  if (depth === 0) return nodes;
  if (!list.length) nodes.push(el("p", { class: "muted small" }, "No steps: nothing happens on this path."));
  return el("div", { class: "steps steps-nested", dataset: { loc } }, ...nodes, addRow(list, loc, depth));
}

function renderSteps() {
  const nodes = stepList(model.steps, "steps", 0, "");
  if (!model.steps.length) nodes.push(el("p", { class: "muted" }, "No steps yet: add a condition to filter, then actions to run."));
  stepsBox.replaceChildren(...nodes);
  if (!canWrite) stepsBox.querySelectorAll("input,select,textarea,button").forEach((x) => { x.disabled = true; });
  renderAssume();
}

function move(list, i, delta, label) {
  const [step] = list.splice(i, 1);
  list.splice(i + delta, 0, step);
  changed();
  renderSteps();
  const moved = label.replace(/\d+$/, String(i + delta + 1));
  stepsBox.querySelector(`[aria-label="Move step ${moved} ${delta < 0 ? "up" : "down"}"]`)?.focus();
}

for (const type of Object.keys(ADD_LABELS)) {
  document.getElementById(`add-${type.replace("_", "-")}`)?.addEventListener("click", () => addStep(model.steps, type, "steps"));
}

// ------------------------------------------------------------------ basics

const nameInput = document.getElementById("wf-name");
const descInput = document.getElementById("wf-description");
nameInput.addEventListener("input", () => { model.name = nameInput.value; changed(); });
descInput.addEventListener("input", () => { model.description = descInput.value; changed(); });
for (const r of form.querySelectorAll("input[name=status]")) {
  r.addEventListener("change", () => { model.status = r.value; changed(); });
}

// The schedule a definition's business-time steps follow: a text input that pickers.js turns
// into a list of GET /schedules (rendered afresh on each load so the picker sees its value).
function renderSchedule() {
  const input = text(model.schedule || "", (v) => { model.schedule = v.trim() || null; }, { id: "wf-schedule", placeholder: "schedule id, e.g. support-hours" });
  document.getElementById("schedule-field").replaceChildren(field("Business hours (schedule)", input, {
    loc: "schedule",
    hint: "Needed by waits, timeouts and conditions in business time. Editing a schedule later moves no deadline of a wait already running.",
  }));
}

function renderAll() {
  nameInput.value = model.name;
  descInput.value = model.description || "";
  form.querySelector(`input[name=status][value=${model.status}]`).checked = true;
  renderSchedule();
  renderTrigger();
  renderSteps();
}

function renderHeader(wf) {
  document.getElementById("page-title").textContent = wf.name;
  document.getElementById("crumb-name").textContent = wf.name;
  const meta = document.getElementById("page-meta");
  meta.replaceChildren(statusBadge(wf.status), ` Version ${wf.version} · ${wf.execution_count ?? "—"} executions · id `, el("code", {}, wf.id));
  const runs = document.getElementById("runs-link");
  runs.href = `${prefix}/workflows/${encodeURIComponent(wf.id)}/runs`;
  runs.hidden = false;
  document.title = `${wf.name} · supportflow`;
}

// ------------------------------------------------------------------ validation errors

// pydantic locations carry the union tags (trigger type, the step type, the action name, "rule",
// a group's "all"/"any" twice); drop them so a location names the form's own path, e.g.
// steps.1.then.0.params.team.
const STEP_LISTS = ["steps", "then", "else"];
function normaliseLoc(loc) {
  const raw = loc.filter((p) => p !== "body");
  const out = [];
  raw.forEach((p, i) => {
    const prev = raw[i - 1];
    if (prev === "trigger" && TRIGGER_TYPES.includes(p)) return;
    if (typeof prev === "number" && STEP_LISTS.includes(raw[i - 2]) && STEP_TYPES.includes(p) && raw.length > i + 1) return;
    if (prev === "action" && typeof raw[i - 2] === "number" && ACTIONS[p]) return;
    if ((p === "all" || p === "any") && prev === p) return;
    if (p === "rule" || p === "function-after[_compiles(), constrained-str]") return;
    out.push(p);
  });
  return out;
}

function humanLoc(parts) {
  if (!parts.length) return "Workflow";
  const out = [];
  let label = "";
  for (let i = 0; i < parts.length; i += 1) {
    const p = parts[i];
    if (STEP_LISTS.includes(p) && typeof parts[i + 1] === "number") {
      label += `${p === "steps" ? "" : `${p}.`}${parts[i + 1] + 1}`;
      if (parts[i + 2] !== "then" && parts[i + 2] !== "else") out.push(`Step ${label}`);
      else label += ".";
      i += 1;
    } else if (p === "params") continue;
    else if (typeof p === "number") out.push(`#${p + 1}`);
    else out.push(humanize(p));
  }
  return out.join(" › ");
}

function clearErrors() {
  errorsBox.hidden = true;
  errorsBox.replaceChildren();
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  form.querySelectorAll("[aria-invalid]").forEach((n) => {
    n.removeAttribute("aria-invalid");
    const d = (n.getAttribute("aria-describedby") || "").split(" ").filter((x) => !x.startsWith("err-")).join(" ");
    if (d) n.setAttribute("aria-describedby", d); else n.removeAttribute("aria-describedby");
  });
}

function findTarget(parts) {
  for (let n = parts.length; n > 0; n -= 1) {
    const key = parts.slice(0, n).join(".");
    const node = form.querySelector(`[data-loc="${CSS.escape(key)}"]`);
    if (node) return node;
  }
  return null;
}

function showErrors(err) {
  clearErrors();
  const items = [];
  let first = null;
  (err.details.length ? err.details : [{ loc: [], msg: err.message }]).forEach((d, k) => {
    const parts = normaliseLoc(d.loc || []);
    const target = parts.length ? findTarget(parts) : null;
    const where = humanLoc(parts);
    const msg = d.msg.replace(/^Value error, /, "");
    if (target) {
      const id = `err-${k}`;
      const p = el("p", { class: "field-error", id }, msg);
      const control = target.matches("input,select,textarea") ? target : target.querySelector("input,select,textarea");
      if (target.matches("input,select,textarea")) {
        target.setAttribute("aria-invalid", "true");
        target.setAttribute("aria-describedby", `${target.getAttribute("aria-describedby") || ""} ${id}`.trim());
        (target.closest(".field") || target.parentElement).append(p);
      } else {
        target.append(p);
        if (control && target.tagName === "FIELDSET") control.setAttribute("aria-describedby", id);
      }
      first = first || control || target;
    }
    const link = el("a", { href: "#", onclick: (e) => { e.preventDefault(); (target?.matches("input,select,textarea") ? target : target?.querySelector("input,select,textarea") || target)?.focus(); } }, where);
    items.push(el("li", {}, link, `: ${msg}`));
  });
  errorsBox.replaceChildren(el("div", { class: "alert alert-error", role: "alert" },
    el("strong", {}, err.status === 422 ? "The workflow was not saved: please fix the highlighted fields." : err.message),
    err.status === 422 ? el("ul", {}, items) : null));
  errorsBox.hidden = false;
  (first || errorsBox).focus();
  first?.scrollIntoView({ block: "center" });
}

// ------------------------------------------------------------------ save

function payload() {
  const clean = JSON.parse(JSON.stringify(model));
  const tidy = (holder) => {
    if (holder.all || holder.any) { delete holder.field; delete holder.operator; delete holder.value; }
    else if (holder.operator === "is_set" || holder.operator === "is_not_set") holder.value = null;
  };
  for (const s of allSteps(clean.steps)) {
    if (s.type === "condition") tidy(s);
    if (s.type === "branch" && s.if) tidy(s.if);
  }
  return clean;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!canWrite) return;
  const save = document.getElementById("save");
  save.disabled = true;
  try {
    const deactivating = workflowId && savedStatus === "active" && model.status === "draft";
    const choice = deactivating ? await askAboutWaitingRuns({ id: workflowId, name: model.name }) : "keep";
    if (!choice) return;
    let wf;
    if (workflowId) wf = await api("PUT", `/workflows/${encodeURIComponent(workflowId)}`, { ...payload(), version });
    else wf = await api("POST", "/workflows", payload());
    clearErrors();
    const created = !workflowId;
    workflowId = wf.id;
    version = wf.version;
    savedStatus = wf.status;
    if (choice === "cancel") await cancelWaitingRuns(wf);
    dirty = false;
    if (created) history.replaceState(null, "", `${prefix}/workflows/${encodeURIComponent(wf.id)}`);
    renderHeader(wf);
    updateTestNote();
    showWarnings(wf.warnings);
    toast(created ? `Created “${wf.name}”.` : `Saved “${wf.name}” (version ${wf.version}).`, "success");
  } catch (err) {
    if (err.status === 409) toast("Someone saved this workflow meanwhile. Reload the page to see their version.", "error");
    showErrors(err);
  } finally {
    save.disabled = false;
  }
});

window.addEventListener("beforeunload", (e) => { if (dirty && canWrite) { e.preventDefault(); e.returnValue = ""; } });

// ------------------------------------------------------------------ test panel

const t = (id) => document.getElementById(id);
t("t-type").replaceChildren(...V.event_types.map((x) => el("option", { value: x }, { "conversation.created": "Conversation created", "message.created": "Message received", "conversation.status_changed": "Status changed", "conversation.updated": "Conversation updated" }[x] || x)));
t("t-channel").replaceChildren(...V.channels.map((x) => el("option", { value: x }, humanize(x))));
t("t-from").replaceChildren(...V.statuses.map((x) => el("option", { value: x }, x)));
t("t-to").replaceChildren(...V.statuses.map((x) => el("option", { value: x }, x)));
t("t-sla-type").replaceChildren(...V.sla_types.map((x) => el("option", { value: x }, humanize(x))));
t("t-to").value = "resolved";
t("t-type").addEventListener("change", syncTestFields);

function syncTestPanel() {
  const trig = model.trigger;
  const eventType = { new_conversation: "conversation.created", new_message: "message.created", status_change: "conversation.status_changed", sla_breach: "message.created", conversation_updated: "conversation.updated", conversation_idle: "message.created" }[trig.type];
  t("t-type").value = eventType;
  if (trig.channels?.length) t("t-channel").value = trig.channels[0];
  else if (!t("t-channel").dataset.touched) t("t-channel").value = "whatsapp";
  if (trig.type === "sla_breach" && trig.sla_type) t("t-sla-type").value = trig.sla_type;
  syncTestFields();
}

function syncTestFields() {
  const type = t("t-type").value;
  document.querySelector("[data-test=message]").hidden = type !== "message.created";
  t("t-sender").closest(".field").hidden = type !== "message.created";
  document.querySelector("[data-test=status]").hidden = type !== "conversation.status_changed";
  document.querySelector("[data-test=sla]").hidden = model.trigger.type !== "sla_breach";
}

function updateTestNote() {
  const note = t("test-note");
  if (!workflowId) { note.textContent = "Save the workflow first; the test runs the saved version."; note.hidden = false; }
  else if (dirty) { note.textContent = "You have unsaved changes: the test runs the last saved version."; note.hidden = false; }
  else note.hidden = true;
}

function sampleEvent() {
  const type = t("t-type").value;
  const stamp = Date.now().toString(36);
  const event = {
    id: `test-${stamp}`,
    type,
    occurred_at: new Date().toISOString(),
    conversation: { id: `test-conv-${stamp}`, channel: t("t-channel").value, status: type === "conversation.status_changed" ? t("t-to").value : "open" },
    customer: { id: `test-cust-${stamp}`, name: t("t-name").value || null, lifecycle: t("t-lifecycle").value || null, segment: t("t-segment").value || null },
  };
  // An idle trigger fires only in its statuses: the sample conversation is in one of them.
  const idle = model.trigger.type === "conversation_idle" ? model.trigger.statuses || [] : [];
  if (idle.length && !idle.includes(event.conversation.status)) event.conversation.status = idle[0];
  if (type === "message.created") event.message = { id: `test-msg-${stamp}`, sender_type: t("t-sender").value, content: t("t-content").value };
  if (type === "conversation.status_changed") { event.from_status = t("t-from").value; event.to_status = t("t-to").value; }
  if (type === "conversation.updated") {
    // A sample update: the trigger's first watched tag added (or removed), else a priority change.
    const trig = model.trigger;
    if (trig.tags_added?.length) { event.conversation.tags = [trig.tags_added[0]]; event.changes = { tags: { from: [], to: [trig.tags_added[0]] } }; }
    else if (trig.tags_removed?.length) { event.conversation.tags = []; event.changes = { tags: { from: [trig.tags_removed[0]], to: [] } }; }
    else { const f = trig.fields?.[0] || "priority"; event.changes = { [f]: f === "priority" ? { from: "normal", to: "high" } : {} }; if (f === "priority") event.conversation.priority = "high"; }
  }
  const body = { event, assume: assumed() };
  if (model.trigger.type === "sla_breach") body.sla = { type: t("t-sla-type").value, elapsed_minutes: Number(t("t-sla-elapsed").value || 0), threshold: model.trigger.threshold || "30m" };
  return body;
}

// How each wait_for ends in the dry run (the API's `assume`): one choice per wait_for, kept
// across re-renders of the steps.
const assumeChoice = {};
function renderAssume() {
  const waits = allSteps(model.steps).filter((s) => s.type === "wait_for" && s.id);
  t("t-assume").replaceChildren(...waits.map((s) => {
    // Not the builder's select(): a test choice is not a change to the workflow.
    const choice = el("select", { id: `t-assume-${s.id}`, dataset: { wait: s.id } },
      el("option", { value: "timeout" }, "the timeout passes"),
      el("option", { value: "event" }, `it happens: ${WAIT_EVENTS[s.event] || humanize(s.event)}`));
    choice.value = assumeChoice[s.id] || "timeout";
    choice.addEventListener("change", () => { assumeChoice[s.id] = choice.value; });
    return field(`Wait ${s.id} ends when`, choice, { hint: `Waits at most ${s.timeout || "?"}: assume either way.` });
  }));
}

function assumed() {
  const ids = new Set(allSteps(model.steps).filter((s) => s.type === "wait_for").map((s) => s.id));
  return Object.fromEntries(Object.entries(assumeChoice).filter(([id]) => ids.has(id)));
}

function fmt(v) { return v === null || v === undefined ? "∅" : JSON.stringify(v); }

const STATUS_TEXT = { would_wait: "would wait", not_taken: "not taken", would_run: "would run" };

function reportTitle(s) {
  if (s.step_type === "action") return `${ACTIONS[s.action]?.label || s.action} (${s.step_id})`;
  return `${KIND_LABELS[s.step_type] || s.step_type} · ${s.step_id}`;
}

// A nested step's depth: its path names the branch it sits in (`<branch id>.then`).
function depthOf(s, depths) {
  const depth = s.path ? (depths[s.path.replace(/\.(then|else)$/, "")] ?? 0) + 1 : 0;
  depths[s.step_id] = depth;
  return depth;
}

function renderReport(report) {
  const box = t("test-result");
  const depths = {};
  const steps = report.steps.map((s) => {
    const depth = depthOf(s, depths);
    const head = [el("span", { class: "trace-title" }, reportTitle(s)), el("span", { class: `badge run-${s.status}` }, s.step_type === "branch" && s.result !== null ? String(s.result) : STATUS_TEXT[s.status] || humanize(s.status))];
    if (s.path) head.splice(1, 0, el("span", { class: "trace-path muted" }, `in ${s.path.replace(".", " › ")}`));
    const children = [el("div", { class: "trace-head" }, ...head)];
    if (s.wait) children.push(el("div", { class: "trace-wait" }, s.wait));
    if (s.branch_taken) children.push(el("div", { class: "trace-taken" }, `takes the ${s.branch_taken} path`));
    for (const r of s.rules || []) {
      children.push(el("div", { class: "trace-rule" },
        `${r.field} ${humanize(r.operator)} ${fmt(r.expected)} — value ${fmt(r.resolved)} `,
        el("span", { class: r.result ? "ok" : "no" }, r.result ? "✓ true" : "✗ false")));
    }
    if (s.effect) children.push(el("div", { class: "muted", style: "margin-top:.3rem" }, s.effect));
    for (const [k, v] of Object.entries(s.rendered || {})) children.push(el("div", { class: "trace-rule" }, `${k}: ${v}`));
    const params = Object.entries(s.params || {});
    if (params.length) children.push(el("div", { class: "trace-rule" }, params.map(([k, v]) => `${k}: ${fmt(v)}`).join(" · ")));
    if (s.reason) children.push(el("div", { class: "muted", style: "margin-top:.3rem" }, s.reason));
    return el("li", { class: `trace-item is-${s.status}${depth ? ` trace-depth-${Math.min(depth, 3)}` : ""}`, dataset: { step: s.step_id, status: s.status } }, ...children);
  });
  box.replaceChildren(
    el("div", { class: `outcome outcome-${report.outcome}`, id: "test-outcome" }, report.summary),
    el("p", { style: "font-size:.85rem;margin-bottom:.6rem" }, el("strong", {}, "Trigger: "), report.trigger.matched ? "matches this event" : report.trigger.reason),
    el("ol", { class: "trace", "aria-label": "Dry-run trace" }, ...steps));
}

t("t-channel").addEventListener("change", () => { t("t-channel").dataset.touched = "1"; });
t("run-test").addEventListener("click", async () => {
  if (!workflowId) { toast("Save the workflow first, then test it.", "error"); updateTestNote(); return; }
  const button = t("run-test");
  button.disabled = true;
  try {
    renderReport(await api("POST", `/workflows/${encodeURIComponent(workflowId)}/test`, sampleEvent()));
  } catch (err) {
    t("test-result").replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, err.message));
  } finally {
    button.disabled = false;
  }
});

// ------------------------------------------------------------------ start

async function start() {
  if (workflowId) {
    try {
      const wf = await api("GET", `/workflows/${encodeURIComponent(workflowId)}`);
      // Every key of the definition (PUT replaces it whole): what is loaded saves unchanged.
      model = { name: wf.name, description: wf.description, status: wf.status, trigger: wf.trigger, steps: wf.steps, schedule: wf.schedule ?? null, on_failure: wf.on_failure ?? null };
      version = wf.version;
      savedStatus = wf.status;
      renderHeader(wf);
      showWarnings(wf.warnings);
      if (new URLSearchParams(location.search).get("created") === "template") {
        toast("Draft created from the template. Adapt it, save, test, then activate.", "success");
        history.replaceState(null, "", location.pathname);
      }
    } catch (err) {
      errorsBox.replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, `Could not load this workflow: ${err.message}`));
      errorsBox.hidden = false;
      return;
    }
  } else {
    model.steps = [];
  }
  renderAll();
  dirty = false;
  updateTestNote();
}
start();
