// Shared helpers of the console pages: the JSON API over the session cookie (with the CSRF
// token on unsafe calls), small DOM builders, toasts and formatting.

export const prefix = document.body.dataset.prefix || "/console";
export const canWrite = document.body.dataset.canWrite === "true";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "error";
    this.details = err.details || [];
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign(`${prefix}/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, null);
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the Content-Security-Policy (style-src 'self') refuses style attributes.
    else if (key === "style") node.style.cssText = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svgIcon(path, size = 16) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", path);
  p.setAttribute("fill", "none");
  p.setAttribute("stroke", "currentColor");
  p.setAttribute("stroke-width", "2");
  p.setAttribute("stroke-linecap", "round");
  p.setAttribute("stroke-linejoin", "round");
  svg.append(p);
  return svg;
}

export const ICONS = {
  dots: "M12 5h.01M12 12h.01M12 19h.01",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4",
  copy: "M8 8h12v12H8zM4 16V4h12",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  play: "M6 4l14 8-14 8z",
  bolt: "M13 2L4 14h7l-1 8 9-12h-7z",
  steps: "M4 6h16M4 12h16M4 18h10",
  up: "M12 19V5M5 12l7-7 7 7",
  down: "M12 5v14M5 12l7 7 7-7",
  x: "M6 6l12 12M18 6L6 18",
  plus: "M12 5v14M5 12h14",
  back: "M19 12H5M12 19l-7-7 7-7",
  external: "M14 4h6v6M20 4l-9 9M18 14v6H4V6h6",
  retry: "M4 4v6h6M20 20v-6h-6M5 15a8 8 0 0 0 14 2M19 9A8 8 0 0 0 5 7",
  clock: "M12 7v5l3 3M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z",
};

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add("is-leaving"), 3600);
  setTimeout(() => item.remove(), 4000);
}

export const TRIGGER_LABELS = {
  new_conversation: "New conversation",
  new_message: "New message",
  sla_breach: "SLA breach",
  status_change: "Status change",
  conversation_updated: "Conversation updated",
  conversation_idle: "Conversation idle",
};

export const ACTION_LABELS = {
  auto_reply: "Auto-reply",
  route: "Route",
  add_tag: "Add tags",
  change_status: "Change status",
  create_ticket: "Create ticket",
  notify: "Notify",
  escalate: "Escalate",
  remove_tag: "Remove tags",
  set_priority: "Set priority",
  add_note: "Add note",
  set_attribute: "Set attribute",
};

export const CATEGORY_LABELS = {
  customer_service: "Customer Service",
  sales: "Sales",
  operations: "Operations",
};

export function humanize(text) {
  return String(text ?? "").replace(/_/g, " ");
}

export function fmtNumber(n) {
  if (n === null || n === undefined) return "—";
  return new Intl.NumberFormat().format(n);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function fmtPercent(x) {
  if (x === null || x === undefined) return "—";
  return `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)}%`;
}

export function relTime(iso) {
  if (!iso) return "—";
  const then = new Date(iso).getTime();
  const diff = (Date.now() - then) / 1000;
  if (diff < 45) return "just now";
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.round(diff / 3600)} h ago`;
  if (diff < 86400 * 30) return `${Math.round(diff / 86400)} d ago`;
  return new Date(iso).toLocaleDateString();
}

export function fmtDateTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

export function statusBadge(status) {
  const label = status === "active" ? "Active" : status === "draft" ? "Draft" : humanize(status);
  return el("span", { class: `badge badge-${status}` }, label);
}

export function runStatusBadge(status) {
  return el("span", { class: `badge run-${status}` }, humanize(status));
}

// A menu button (three dots) with a popup of actions; keyboard: Enter/Space opens, arrows move,
// Escape closes and returns focus.
export function menuButton(label, items) {
  const wrap = el("div", { class: "menu" });
  const button = el("button", {
    type: "button", class: "btn btn-icon", "aria-haspopup": "menu", "aria-expanded": "false",
    "aria-label": label,
  }, svgIcon(ICONS.dots, 18));
  const list = el("div", { class: "menu-list", role: "menu", hidden: true });
  const close = (focus = true) => {
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focus) button.focus();
  };
  const open = () => {
    document.querySelectorAll(".menu-list:not([hidden])").forEach((m) => { m.hidden = true; });
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    list.querySelector("[role=menuitem]:not([disabled])")?.focus();
  };
  button.addEventListener("click", (e) => { e.stopPropagation(); list.hidden ? open() : close(); });
  for (const item of items) {
    const entry = el("button", {
      type: "button", role: "menuitem", class: `menu-item${item.danger ? " is-danger" : ""}`,
      disabled: item.disabled || undefined,
    }, svgIcon(item.icon, 16), item.label);
    entry.addEventListener("click", (e) => { e.stopPropagation(); close(false); item.onSelect(); });
    list.append(entry);
  }
  list.addEventListener("keydown", (e) => {
    const entries = [...list.querySelectorAll("[role=menuitem]:not([disabled])")];
    const i = entries.indexOf(document.activeElement);
    if (e.key === "Escape") { e.preventDefault(); close(); }
    else if (e.key === "ArrowDown") { e.preventDefault(); entries[(i + 1) % entries.length]?.focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); entries[(i - 1 + entries.length) % entries.length]?.focus(); }
    else if (e.key === "Tab") close(false);
  });
  wrap.append(button, list);
  return wrap;
}

document.addEventListener("click", () => {
  document.querySelectorAll(".menu-list:not([hidden])").forEach((m) => {
    m.hidden = true;
    m.previousElementSibling?.setAttribute("aria-expanded", "false");
  });
});

export function confirmDialog(dialog, text) {
  return new Promise((resolve) => {
    dialog.querySelector("[id$=text]").textContent = text;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

// Run ids look like run:wf_…:evt-…; keep the colons readable in page URLs.
export function runHref(runId) {
  return `${prefix}/runs/${encodeURIComponent(runId).replace(/%3A/gi, ":")}`;
}
