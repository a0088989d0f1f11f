// The Workflows page: summary bar, search and filters, one card per workflow with its toggle,
// Edit, Runs and the three-dot menu (Duplicate, Delete with confirmation). A card counts the runs
// waiting now; deactivating a workflow that has some asks whether to cancel them (SPEC §2.3).
import {
  api, canWrite, confirmDialog, debounce, el, fmtNumber, ICONS, menuButton, prefix, relTime,
  statusBadge, svgIcon, toast, TRIGGER_LABELS,
} from "./core.js";
import { askAboutWaitingRuns, cancelWaitingRuns } from "./waiting.js";

const cards = document.getElementById("cards");
const empty = document.getElementById("empty");
const count = document.getElementById("count");
const q = document.getElementById("q");
const fStatus = document.getElementById("f-status");
const fTrigger = document.getElementById("f-trigger");
const dialog = document.getElementById("confirm-delete");

// Filters live in the URL so a filtered view can be bookmarked and the back button works.
const params = new URLSearchParams(location.search);
q.value = params.get("q") || "";
fStatus.value = params.get("status") || "";
fTrigger.value = params.get("trigger_type") || "";

async function loadSummary() {
  try {
    const summary = await api("GET", "/workflows/summary");
    for (const node of document.querySelectorAll("[data-stat]")) {
      node.textContent = fmtNumber(summary[node.dataset.stat]);
    }
  } catch (err) {
    toast(`Could not load the summary: ${err.message}`, "error");
  }
}

function query() {
  const p = new URLSearchParams();
  if (q.value.trim()) p.set("q", q.value.trim());
  if (fStatus.value) p.set("status", fStatus.value);
  if (fTrigger.value) p.set("trigger_type", fTrigger.value);
  return p;
}

async function loadCards() {
  const p = query();
  history.replaceState(null, "", p.toString() ? `?${p}` : location.pathname);
  p.set("limit", "200");
  cards.setAttribute("aria-busy", "true");
  try {
    const page = await api("GET", `/workflows?${p}`);
    cards.replaceChildren(...page.data.map(card));
    empty.hidden = page.data.length > 0;
    count.textContent = `${page.count} workflow${page.count === 1 ? "" : "s"}`;
  } catch (err) {
    toast(`Could not load workflows: ${err.message}`, "error");
  } finally {
    cards.setAttribute("aria-busy", "false");
  }
}

function refresh() { return Promise.all([loadSummary(), loadCards()]); }

function toggle(wf) {
  const on = wf.status === "active";
  const button = el("button", {
    type: "button", role: "switch", class: "switch", "aria-checked": String(on),
    "aria-label": `Active: ${wf.name}`, disabled: !canWrite || undefined,
    title: canWrite ? (on ? "Deactivate" : "Activate") : "Viewers cannot change workflows",
  }, el("span", { class: "switch-knob", "aria-hidden": "true" }));
  button.addEventListener("click", async () => {
    const next = wf.status === "active" ? "draft" : "active";
    button.disabled = true;
    const choice = next === "draft" ? await askAboutWaitingRuns(wf) : "keep";
    if (!choice) { button.disabled = false; button.focus(); return; }
    button.setAttribute("aria-checked", String(next === "active"));
    try {
      const updated = await api("PATCH", `/workflows/${encodeURIComponent(wf.id)}`, { status: next, version: wf.version });
      toast(`${wf.name} is now ${next === "active" ? "active" : "a draft"}.`, "success");
      Object.assign(wf, { status: updated.status, version: updated.version });
      if (choice === "cancel") {
        await cancelWaitingRuns(wf);
        wf.waiting = 0;
      }
      const fresh = card(wf);
      button.closest(".card").replaceWith(fresh);
      fresh.querySelector(".switch")?.focus();
      loadSummary();
    } catch (err) {
      button.setAttribute("aria-checked", String(wf.status === "active"));
      button.disabled = false;
      toast(err.status === 409 ? "Someone changed this workflow meanwhile; reloaded." : `Could not change it: ${err.message}`, "error");
      if (err.status === 409) loadCards();
    }
  });
  return button;
}

function card(wf) {
  const editHref = `${prefix}/workflows/${encodeURIComponent(wf.id)}`;
  const menu = menuButton(`More actions for ${wf.name}`, [
    {
      label: "Duplicate", icon: ICONS.copy, disabled: !canWrite,
      onSelect: async () => {
        try {
          const copy = await api("POST", `/workflows/${encodeURIComponent(wf.id)}/duplicate`);
          toast(`Created “${copy.name}” as a draft.`, "success");
          await refresh();
        } catch (err) { toast(`Could not duplicate: ${err.message}`, "error"); }
      },
    },
    {
      label: "Delete", icon: ICONS.trash, danger: true, disabled: !canWrite,
      onSelect: async () => {
        const answer = await confirmDialog(dialog, `“${wf.name}” will be deleted. Runs already in flight finish with their frozen copy. This cannot be undone.`);
        if (answer !== "delete") return;
        try {
          await api("DELETE", `/workflows/${encodeURIComponent(wf.id)}`);
          toast(`Deleted “${wf.name}”.`, "success");
          await refresh();
        } catch (err) { toast(`Could not delete: ${err.message}`, "error"); }
      },
    },
  ]);
  const execs = wf.execution_count;
  return el("article", { class: "card wf-card", dataset: { id: wf.id }, "aria-labelledby": `wf-${wf.id}` },
    el("div", { class: "card-top" },
      el("div", { class: "card-title-row" },
        el("h2", { class: "card-title", id: `wf-${wf.id}` }, el("a", { href: editHref }, wf.name)),
        statusBadge(wf.status)),
      menu),
    el("p", { class: "card-desc" }, wf.description || el("span", { class: "muted" }, "No description")),
    el("div", { class: "card-badges" },
      el("span", { class: `badge badge-trigger trigger-${wf.trigger_type}` }, svgIcon(ICONS.bolt, 12), TRIGGER_LABELS[wf.trigger_type] || wf.trigger_type),
      wf.waiting ? el("a", { class: "badge badge-waiting", "data-field": "waiting", href: `${editHref}/runs?status=waiting`, title: "Runs waiting now (in a wait or a wait for)" },
        `${fmtNumber(wf.waiting)} waiting`) : null,
      wf.failed_24h ? el("a", { class: "badge badge-failed-recent", "data-field": "failed-24h", href: `${editHref}/runs?status=failed`, title: "Runs that failed in the last 24 hours" },
        `${fmtNumber(wf.failed_24h)} failed in 24 h`) : null),
    el("dl", { class: "card-meta" },
      el("div", {}, el("dt", {}, "Steps"), el("dd", { "data-field": "steps" }, String(wf.steps_count))),
      el("div", {}, el("dt", {}, "Executions"), el("dd", { "data-field": "executions" }, execs === null ? "—" : fmtNumber(execs))),
      el("div", {}, el("dt", {}, "Updated"), el("dd", {}, relTime(wf.updated_at)))),
    el("div", { class: "card-foot" },
      el("label", { class: "switch-wrap" }, toggle(wf), el("span", { class: "switch-text", "aria-hidden": "true" }, wf.status === "active" ? "On" : "Off")),
      el("div", { class: "card-foot-actions" },
        el("a", { class: "btn btn-ghost btn-sm", href: `${editHref}/runs` }, svgIcon(ICONS.play, 14), "Runs"),
        el("a", { class: "btn btn-secondary btn-sm", href: editHref, "aria-label": `Edit ${wf.name}` }, svgIcon(ICONS.edit, 14), canWrite ? "Edit" : "View"))));
}

q.addEventListener("input", debounce(loadCards, 250));
fStatus.addEventListener("change", loadCards);
fTrigger.addEventListener("change", loadCards);
refresh();
